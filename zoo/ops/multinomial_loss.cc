// zoo_multinomial_loss: the multinomial log-likelihood loss of a row of scores over a catalog (Mult-DAE/VAE),
//
//   loss[n] = -sum_j t[n, j] * log softmax(s[n])_j = T[n] * logsumexp(s[n]) - sum_j t[n, j] s[n, j],
//
// T[n] = sum_j t[n, j]; gradient g[n] * (T[n] * softmax(s[n])_j - t[n, j]). MXNet's CPU wheel runs log_softmax,
// the product with the targets and the row sum as separate unvectorized passes over (batch, catalog) arrays,
// each with its backward; here the forward reads a row twice and the backward three times, with a vectorized
// exponential. Inputs: s, t (batch, catalog). Output: loss (batch,).
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"
#include "vec.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

// logsumexp of a row, T and sum t*s: two passes (the maximum, then the sums).
inline void row_stats(const float* s, const float* t, int64_t m, float* lse, float* total, float* dot) {
  float top = -INFINITY;
  for (int64_t j = 0; j < m; ++j) top = s[j] > top ? s[j] : top;
  float z = 0, tt = 0, ts = 0;
#pragma omp simd reduction(+ : z, tt, ts)
  for (int64_t j = 0; j < m; ++j) {
    z += exp_nonpositive(s[j] - top);
    tt += t[j];
    ts += t[j] * s[j];
  }
  *lse = top + std::log(z);
  *total = tt;
  *dot = ts;
}

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  const float *s = (*in)[0].data<float>(), *t = (*in)[1].data<float>();
  float* loss = (*out)[0].data<float>();
  const int64_t n = (*in)[0].shape[0], m = (*in)[0].shape[1];
#pragma omp parallel for num_threads(threads())
  for (int64_t i = 0; i < n; ++i) {
    float lse, total, dot;
    row_stats(s + i * m, t + i * m, m, &lse, &total, &dot);
    loss[i] = total * lse - dot;
  }
  return MX_SUCCESS;
}

// Inputs: the loss's gradient (batch,), then s, t. Outputs: the gradients of s and of t (g * (lse - s)).
MXReturnValue backward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                       const OpResource& res) {
  const float *g = (*in)[0].data<float>(), *s = (*in)[1].data<float>(), *t = (*in)[2].data<float>();
  float *ds = (*out)[0].data<float>(), *dt = (*out)[1].data<float>();
  const int64_t n = (*in)[1].shape[0], m = (*in)[1].shape[1];
#pragma omp parallel for num_threads(threads())
  for (int64_t i = 0; i < n; ++i) {
    const float *si = s + i * m, *ti = t + i * m;
    float lse, total, dot;
    row_stats(si, ti, m, &lse, &total, &dot);
    const float gi = g[i], scale = gi * total;
    float *dsi = ds + i * m, *dti = dt + i * m;
#pragma omp simd
    for (int64_t j = 0; j < m; ++j) {
      const float x = si[j] - lse;  // log softmax <= 0 (up to rounding)
      dsi[j] = scale * exp_nonpositive(x < 0 ? x : 0.f) - gi * ti[j];
      dti[j] = -gi * x;
    }
  }
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = 2;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return zoo::float32_only("zoo_multinomial_loss", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  if (s[0].size() != 2 || s[1] != s[0]) {
    MX_ERROR_MSG << "zoo_multinomial_loss: expected scores and targets of one shape (batch, catalog)";
    return MX_FAIL;
  }
  (*out)[0] = {s[0][0]};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(zoo_multinomial_loss)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu")
    .setParseAttrs(parseAttrs)
    .setInferType(inferType)
    .setInferShape(inferShape);
