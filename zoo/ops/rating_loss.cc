// zoo_rating_loss: the loss of biased matrix factorization in one pass over each row.
//
//   loss[n] = (offset + u[n].v[n] + bu[n] + bi[n] - r[n])^2 + reg * (|u[n]|^2 + |v[n]|^2 + bu[n]^2 + bi[n]^2)
//
// MXNet's CPU wheel runs each element-wise step of this formula as its own pass over (batch, dim) arrays, and on
// arrays larger than the cache every pass costs a trip through memory; here forward and backward read each row
// once. Inputs: u, v (batch, dim); bu, bi (batch, 1); offset (1,); r (batch,). Output: loss (batch,).
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  const float *u = (*in)[0].data<float>(), *v = (*in)[1].data<float>();
  const float *bu = (*in)[2].data<float>(), *bi = (*in)[3].data<float>();
  const float offset = (*in)[4].data<float>()[0], *r = (*in)[5].data<float>();
  float* loss = (*out)[0].data<float>();
  const float reg = attr(attrs, "reg", 0);
  const int64_t n = (*in)[0].shape[0], d = (*in)[0].shape[1];
#pragma omp parallel for num_threads(threads())
  for (int64_t i = 0; i < n; ++i) {
    const float *a = u + i * d, *b = v + i * d;
    float dot = 0, squares = 0;
#pragma omp simd reduction(+ : dot, squares)
    for (int64_t k = 0; k < d; ++k) {
      dot += a[k] * b[k];
      squares += a[k] * a[k] + b[k] * b[k];
    }
    const float e = offset + dot + bu[i] + bi[i] - r[i];
    loss[i] = e * e + reg * (squares + bu[i] * bu[i] + bi[i] * bi[i]);
  }
  return MX_SUCCESS;
}

// Inputs: the loss's gradient (batch,), then the forward inputs. Outputs: their gradients, in the same order.
MXReturnValue backward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                       const OpResource& res) {
  const float* g = (*in)[0].data<float>();
  const float *u = (*in)[1].data<float>(), *v = (*in)[2].data<float>();
  const float *bu = (*in)[3].data<float>(), *bi = (*in)[4].data<float>();
  const float offset = (*in)[5].data<float>()[0], *r = (*in)[6].data<float>();
  float *du = (*out)[0].data<float>(), *dv = (*out)[1].data<float>();
  float *dbu = (*out)[2].data<float>(), *dbi = (*out)[3].data<float>();
  float *doffset = (*out)[4].data<float>(), *dr = (*out)[5].data<float>();
  const float reg = attr(attrs, "reg", 0);
  const int64_t n = (*in)[1].shape[0], d = (*in)[1].shape[1];
  float total = 0;
#pragma omp parallel for num_threads(threads()) reduction(+ : total)
  for (int64_t i = 0; i < n; ++i) {
    const float *a = u + i * d, *b = v + i * d;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int64_t k = 0; k < d; ++k) dot += a[k] * b[k];
    const float ge = 2 * g[i] * (offset + dot + bu[i] + bi[i] - r[i]), gr = 2 * g[i] * reg;
    float *x = du + i * d, *y = dv + i * d;
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) {
      x[k] = ge * b[k] + gr * a[k];
      y[k] = ge * a[k] + gr * b[k];
    }
    dbu[i] = ge + gr * bu[i];
    dbi[i] = ge + gr * bi[i];
    dr[i] = -ge;
    total += ge;
  }
  doffset[0] = total;
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = 6;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::float32_only("zoo_rating_loss", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  const unsigned int n = s[0].size() == 2 ? s[0][0] : 0;
  if (n == 0 || s[1] != s[0] || s[2] != std::vector<unsigned int>{n, 1} ||
      s[3] != std::vector<unsigned int>{n, 1} || s[4] != std::vector<unsigned int>{1} ||
      s[5] != std::vector<unsigned int>{n}) {
    MX_ERROR_MSG << "zoo_rating_loss: expected u, v (batch, dim), bu, bi (batch, 1), offset (1,), r (batch,)";
    return MX_FAIL;
  }
  (*out)[0] = {n};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(zoo_rating_loss)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu")
    .setParseAttrs(parseAttrs)
    .setInferType(inferType)
    .setInferShape(inferShape);

MXReturnValue initialize(int version) { return MX_SUCCESS; }
