// zoo_sgns_loss: skip-gram's negative-sampling loss read straight from the two embedding tables.
//
//   c = W_in[center[b]],  s0 = c . W_out[context[b]],  s_k = c . W_out[neg(b, k)]
//   loss[b] = softplus(-s0) + w * sum_k softplus(s_k)          (softplus(x) = log(1 + e^x), w = negative_weight)
//
// The numbers of Embedding lookups -> DotScorer -> (Pairwise)CandidateScorer -> NegativeSamplingLoss, without the
// (batch, K, dim) copies of the rows: the forward pass reads the rows of each pair once, and the backward pass
// writes both tables' gradients directly, as row_sparse arrays over the rows the batch used (sparse_grad=1) or
// dense tables (sparse_grad=0). With a handful of negatives a pair (word2vec's 5) this is 5-10x less work than
// scoring dozens of negatives shared by the batch with a matrix product.
//
// Inputs: center, context (batch,) int32; negatives (batch, K) int32, each pair its own, or (K,), shared by the
// batch; W_in, W_out (vocab, dim). Outputs: loss (batch,) and the scores (batch, 1 + K), which the backward pass
// reuses.
#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"
#include "rows.h"

using namespace zoo;  // lib_api's types, Attrs, attr, rows.h

namespace {  // each source file registers its own functions under these names

enum { kCenter, kContext, kNegatives, kIn, kOut, kNumInputs };

inline float softplus(float x) { return std::max(x, 0.f) + std::log1p(std::exp(-std::fabs(x))); }
inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// The pairs and their targets: target 0 of pair b is its context word, target k > 0 its negative k - 1.
struct Targets {
  const int32_t *context, *negatives;
  int64_t k;        // negatives a pair
  bool shared;      // negatives (K,) for the whole batch, else (batch, K)
  int32_t operator()(int64_t b, int64_t t) const {
    return t == 0 ? context[b] : negatives[(shared ? 0 : b * k) + t - 1];
  }
};

Targets targets(std::vector<MXTensor>& x) {
  const bool shared = x[kNegatives].shape.size() == 1;
  return {x[kContext].data<int32_t>(), x[kNegatives].data<int32_t>(),
          shared ? x[kNegatives].shape[0] : x[kNegatives].shape[1], shared};
}

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  auto& x = *in;
  const int32_t* center = x[kCenter].data<int32_t>();
  const Targets target = targets(x);
  const float *w_in = x[kIn].data<float>(), *w_out = x[kOut].data<float>();
  float *loss = (*out)[0].data<float>(), *scores = (*out)[1].data<float>();
  const float weight = attr(attrs, "negative_weight", 1);
  const int64_t n = x[kCenter].shape[0], d = x[kIn].shape[1], vocab = x[kIn].shape[0], t = target.k + 1;
  const int64_t negatives = x[kNegatives].shape.size() == 1 ? target.k : n * target.k;
  const char* names[] = {"center", "context", "negative"};
  for (int i : {kCenter, kContext, kNegatives}) {
    const int64_t k = bad_id(x[i].data<int32_t>(), i == kNegatives ? negatives : n, vocab);
    if (k >= 0) {
      MX_ERROR_MSG << "zoo_sgns_loss: " << names[i] << " id " << x[i].data<int32_t>()[k] << " (entry " << k
                   << ") is outside the vocabulary [0, " << vocab << ")";
      return MX_FAIL;
    }
  }
#pragma omp parallel for num_threads(threads())
  for (int64_t b = 0; b < n; ++b) {
    if (b + 2 < n) {  // the rows of the pair after next, so they are in the cache when it comes
      prefetch_row(w_in + center[b + 2] * d, d);
      for (int64_t j = 0; j < (target.shared ? 1 : t); ++j) prefetch_row(w_out + target(b + 2, j) * d, d);
    }
    const float* c = w_in + center[b] * d;
    float total = 0;
    for (int64_t j = 0; j < t; ++j) {
      const float* o = w_out + target(b, j) * d;
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < d; ++i) s += c[i] * o[i];
      scores[b * t + j] = s;
      total += j == 0 ? softplus(-s) : weight * softplus(s);
    }
    loss[b] = total;
  }
  return MX_SUCCESS;
}

// One contribution to a row's gradient: coef times the other table's row ``other``.
struct Term {
  int32_t other;
  float coef;
};

// Row s of a table gets sum coef * other[other id] over its records; threads own disjoint rows.
void table_gradient(const Grouped<Term>& side, const float* other, int64_t d, float* grad, bool dense) {
  const int64_t m = side.rows.size(), n = side.records.size();
  const Term* rec = side.records.data();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t s = 0; s < m; ++s) {
    const int64_t row = side.rows[s];
    float* g = grad + (dense ? row : s) * d;
    std::fill(g, g + d, 0.f);
    for (int64_t p = side.start[row]; p < side.start[row + 1]; ++p) {
      if (p + kAhead < n) prefetch_row(other + rec[p + kAhead].other * d, d);
      const float* o = other + rec[p].other * d;
      const float w = rec[p].coef;
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) g[i] += w * o[i];
    }
  }
}

// Backward inputs: the gradients of loss and scores, the forward inputs, then loss and scores. Outputs: the
// gradients of the forward inputs (the ids get zeros).
MXReturnValue backward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                       const OpResource& res) {
  auto& x = *in;
  const float* g = x[0].data<float>();
  std::vector<MXTensor> fwd(x.begin() + 2, x.begin() + 2 + kNumInputs);
  const int32_t* center = fwd[kCenter].data<int32_t>();
  const Targets target = targets(fwd);
  const float *w_in = fwd[kIn].data<float>(), *w_out = fwd[kOut].data<float>();
  const float* scores = x[2 + kNumInputs + 1].data<float>();
  const float weight = attr(attrs, "negative_weight", 1);
  const bool dense = !sparse_grad(attrs);
  const int64_t n = fwd[kCenter].shape[0], d = fwd[kIn].shape[1], vocab = fwd[kIn].shape[0], t = target.k + 1;

  // d loss / d score, per (pair, target): -sigmoid(-s0) for the context, w sigmoid(s_k) for the negatives.
  std::vector<float> coef(n * t);
#pragma omp parallel for num_threads(threads())
  for (int64_t e = 0; e < n * t; ++e)
    coef[e] = g[e / t] * (e % t == 0 ? -sigmoid(-scores[e]) : weight * sigmoid(scores[e]));
  Grouped<Term> by_center, by_target;
#pragma omp parallel sections num_threads(2)  // the two tables' groupings side by side
  {
#pragma omp section
    by_center = group_by_row<Term>(n * t, vocab, [&](int64_t e) { return center[e / t]; },
                                   [&](int64_t e) { return Term{target(e / t, e % t), coef[e]}; });
#pragma omp section
    by_target = group_by_row<Term>(n * t, vocab, [&](int64_t e) { return target(e / t, e % t); },
                                   [&](int64_t e) { return Term{center[e / t], coef[e]}; });
  }
  float* grads[2] = {table_gradient_output(out, kIn, by_center.rows, dense, res),
                     table_gradient_output(out, kOut, by_target.rows, dense, res)};
  table_gradient(by_center, w_out, d, grads[0], dense);
  table_gradient(by_target, w_in, d, grads[1], dense);
  for (int i : {kCenter, kContext, kNegatives}) zero_ids_gradient(&(*out)[i]);
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = kNumInputs;
  *num_out = 2;
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return ids_then_floats("zoo_sgns_loss", kIn, in, out);
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return table_gradients_stype("zoo_sgns_loss", kNumInputs, kIn, kOut, sparse_grad(attrs), in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  using Shape = std::vector<unsigned int>;
  const unsigned int n = s[kCenter].size() == 1 ? s[kCenter][0] : 0;
  const auto& neg = s[kNegatives];
  const unsigned int k = neg.size() == 1 ? neg[0] : (neg.size() == 2 && neg[0] == n ? neg[1] : 0);
  if (n == 0 || k == 0 || s[kContext] != Shape{n} || s[kIn].size() != 2 || s[kOut] != s[kIn]) {
    MX_ERROR_MSG << "zoo_sgns_loss: expected center, context (batch,); negatives (batch, K) or (K,); "
                 << "W_in and W_out of one (vocab, dim) shape";
    return MX_FAIL;
  }
  (*out)[0] = {n};
  (*out)[1] = {n, k + 1};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(zoo_sgns_loss)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu")
    .setParseAttrs(parseAttrs)
    .setInferType(inferType)
    .setInferSType(inferSType)
    .setInferShape(inferShape);
