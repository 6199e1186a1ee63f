// zoo_lazy_adam: Adam's update of the rows a row_sparse gradient names, in one pass over each row, in place.
//
// The same arithmetic as MXNet's adam_update with lazy_update=True:
//   g = clip(rescale_grad * grad + wd * w, clip_gradient);  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   w -= lr * m / (sqrt(v) + epsilon)
// Inputs: weight (rows, dim), grad row_sparse (rows, dim), mean, var (rows, dim); weight, mean and var are
// updated in place. Output: (1,), the number of rows updated.
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  float* w = (*in)[0].data<float>();
  const MXSparse* grad = (*in)[1].data<MXSparse>();
  float *m = (*in)[2].data<float>(), *v = (*in)[3].data<float>();
  const float lr = attr(attrs, "lr", 0), wd = attr(attrs, "wd", 0), b1 = attr(attrs, "beta1", 0.9f);
  const float b2 = attr(attrs, "beta2", 0.999f), eps = attr(attrs, "epsilon", 1e-8f);
  const float scale = attr(attrs, "rescale_grad", 1), clip = attr(attrs, "clip_gradient", -1);
  const int64_t d = (*in)[0].shape[1], rows = grad->indices_len;
  const float* gdata = static_cast<const float*>(grad->data);
  const Adam adam{b1, b2, eps, clip};
#pragma omp parallel for num_threads(threads())
  for (int64_t j = 0; j < rows; ++j) {
    if (j + 4 < rows) {  // the rows are sorted but not contiguous: ask for the next ones' weight and moments
      const int64_t ahead = grad->indices[j + 4] * d;
      for (int64_t k = 0; k < d; k += 16) {
        __builtin_prefetch(w + ahead + k, 1);
        __builtin_prefetch(m + ahead + k, 1);
        __builtin_prefetch(v + ahead + k, 1);
      }
    }
    const int64_t row = grad->indices[j];
    adam.row(w + row * d, m + row * d, v + row * d, gdata + j * d, d, lr, wd, scale);
  }
  (*out)[0].data<float>()[0] = static_cast<float>(rows);
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::float32_only("zoo_lazy_adam", in, out);
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::lazy_update_stype("zoo_lazy_adam", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  return zoo::lazy_update_shape("zoo_lazy_adam", in, out);
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {0, 2, 3};
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_lazy_adam, 4);
