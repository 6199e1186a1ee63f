// zoo_lazy_sgd: SGD's update of the rows a row_sparse gradient names, in place, on every core.
//
// The same arithmetic as MXNet's sgd_update (no momentum) with lazy_update=True:
//   w -= lr * (clip(rescale_grad * grad, clip_gradient) + wd * w)
// Inputs: weight (rows, dim), grad row_sparse (rows, dim); weight is updated in place. Output: (1,), the number
// of rows updated.
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
  const float lr = attr(attrs, "lr", 0), wd = attr(attrs, "wd", 0);
  const float scale = attr(attrs, "rescale_grad", 1), clip = attr(attrs, "clip_gradient", -1);
  const int64_t d = (*in)[0].shape[1], rows = grad->indices_len;
  const float* gdata = static_cast<const float*>(grad->data);
#pragma omp parallel for num_threads(threads())
  for (int64_t j = 0; j < rows; ++j) {
    const float* gj = gdata + j * d;
    float* wr = w + grad->indices[j] * d;
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) {
      float g = scale * gj[k];
      if (clip >= 0) g = clip_to(g, clip);
      wr[k] -= lr * (g + wd * wr[k]);
    }
  }
  (*out)[0].data<float>()[0] = static_cast<float>(rows);
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::float32_only("zoo_lazy_sgd", in, out);
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::lazy_update_stype("zoo_lazy_sgd", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  return zoo::lazy_update_shape("zoo_lazy_sgd", in, out);
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {0};
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_lazy_sgd, 2);
