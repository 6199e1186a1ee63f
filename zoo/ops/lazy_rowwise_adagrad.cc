// zoo_lazy_rowwise_adagrad: row-wise AdaGrad's update of the rows a row_sparse gradient names, in place: one
// accumulator per row instead of one per entry (LIBMF's AdaGrad, TorchRec's row-wise AdaGrad), so a row's update
// reads and writes the row and one scalar, where Adam moves the row and two moment rows.
//
// The same arithmetic as MXNet's contrib.group_adagrad_update:
//   g = clip(rescale_grad * grad, clip_gradient);  h += mean(g^2 over the row);  w -= lr * g / sqrt(h + epsilon)
// Inputs: weight (rows, dim), grad row_sparse (rows, dim), history (rows, 1); weight and history are updated in
// place. Output: (1,), the number of rows updated.
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
  float* h = (*in)[2].data<float>();
  const float lr = attr(attrs, "lr", 0), eps = attr(attrs, "epsilon", 1e-5f);
  const float scale = attr(attrs, "rescale_grad", 1), clip = attr(attrs, "clip_gradient", -1);
  const int64_t d = (*in)[0].shape[1], rows = grad->indices_len;
  const float* gdata = static_cast<const float*>(grad->data);
#pragma omp parallel for num_threads(threads())
  for (int64_t j = 0; j < rows; ++j) {
    if (j + 4 < rows) {  // the rows are sorted but not contiguous: ask for the next ones' weight ahead
      const int64_t ahead = grad->indices[j + 4] * d;
      for (int64_t k = 0; k < d; k += 16) __builtin_prefetch(w + ahead + k, 1);
    }
    const int64_t row = grad->indices[j];
    const float* gj = gdata + j * d;
    float* wr = w + row * d;
    float squares = 0;
#pragma omp simd reduction(+ : squares)
    for (int64_t k = 0; k < d; ++k) {
      float g = scale * gj[k];
      if (clip >= 0) g = clip_to(g, clip);
      squares += g * g;
    }
    h[row] += squares / d;
    const float step = lr / std::sqrt(h[row] + eps);
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) {
      float g = scale * gj[k];
      if (clip >= 0) g = clip_to(g, clip);
      wr[k] -= step * g;
    }
  }
  (*out)[0].data<float>()[0] = static_cast<float>(rows);
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::float32_only("zoo_lazy_rowwise_adagrad", in, out);
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::lazy_update_stype("zoo_lazy_rowwise_adagrad", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  if (s[0].size() != 2 || s[1] != s[0] || s[2] != std::vector<unsigned int>{s[0][0], 1}) {
    MX_ERROR_MSG << "zoo_lazy_rowwise_adagrad: expected weight and grad (rows, dim), history (rows, 1)";
    return MX_FAIL;
  }
  (*out)[0] = {1};
  return MX_SUCCESS;
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {0, 2};
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_lazy_rowwise_adagrad, 3);
