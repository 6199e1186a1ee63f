// zoo_sgns_loss: skip-gram's negative-sampling loss read straight from the two embedding tables.
//
//   c = W_in[center[b]],  s0 = c . W_out[context[b]],  s_k = c . W_out[neg(b, k)]
//   loss[b] = softplus(-s0) + w * sum_k softplus(s_k)          (softplus(x) = log(1 + e^x), w = negative_weight)
//
// The numbers of Embedding lookups -> DotScorer -> (Pairwise)CandidateScorer -> NegativeSamplingLoss, without the
// (batch, K, dim) copies of the rows: the forward pass reads the rows of each pair once, scoring a pair's 1 + K
// targets side by side (independent sums keep the vector units busy) and computing the softplus and sigmoid
// values of a block of pairs in one vectorized pass, and stores d loss / d score for the backward pass. That one
// writes both tables' gradients directly, as row_sparse arrays over the rows the batch used (sparse_grad=1) or
// dense tables (sparse_grad=0), each row summed once in registers over the entries that name it. With a handful
// of negatives a pair (word2vec's 5) this is 5-10x less work than scoring dozens of negatives shared by the batch
// with a matrix product. What is left is memory traffic: rows read at random from tables larger than the cache.
// (Timings, and what was tried: zoo/ops/README.md.)
//
// Inputs: center, context (batch,) int32; negatives (batch, K) int32, each pair its own, or (K,), shared by the
// batch; W_in, W_out (vocab, dim). Outputs: loss (batch,) and, for the backward pass, d loss[b] / d s_j
// (batch, 1 + K), which is not differentiated (its gradient is ignored).
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"
#include "rows.h"
#include "sgns.h"
#include "vec.h"

using namespace zoo;  // lib_api's types, Attrs, attr, rows.h
using namespace zoo::sgns;  // the inputs, Targets

namespace {  // each source file registers its own functions under these names

enum { kLoss, kScoreGrad, kNumOutputs };

// Pairs scored together: after their dot products, one vectorized pass computes all their softplus and sigmoid
// values.
constexpr int64_t kBlock = 16;
// Rows are fetched this many pairs ahead (each pair reads 2 + K rows).
constexpr int64_t kPairsAhead = 2;

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  MXTensor* x = in->data();
  const int32_t* center = x[kCenter].data<int32_t>();
  const Targets target = targets(x);
  const float *w_in = x[kIn].data<float>(), *w_out = x[kOut].data<float>();
  float* loss = (*out)[kLoss].data<float>();
  float* dscore = (*out)[kScoreGrad].data<float>();
  const float weight = attr(attrs, "negative_weight", 1);
  const int64_t n = x[kCenter].shape[0], d = x[kIn].shape[1], t = target.k + 1;
  if (check_ids("zoo_sgns_loss", x) != MX_SUCCESS) return MX_FAIL;
  // Entry j of a pair contributes scale[j] * softplus(sign[j] * s_j), whose derivative is
  // sign[j] * scale[j] * sigmoid(sign[j] * s_j): sign -1 and scale 1 for the context, +1 and w for a negative.
  std::vector<float> sign(kBlock * t, 1.f), scale(kBlock * t, weight);
  for (int64_t e = 0; e < kBlock * t; e += t) sign[e] = -1.f, scale[e] = 1.f;
#pragma omp parallel num_threads(threads())
  {
    std::vector<const float*> rows(kBlock * t);
    std::vector<float> arg(kBlock * t), soft(kBlock * t), sig(kBlock * t);
#pragma omp for schedule(static)
    for (int64_t first = 0; first < n; first += kBlock) {
      const int64_t m = std::min(kBlock, n - first);
      for (int64_t q = 0; q < m; ++q) {
        const int64_t b = first + q, ahead = b + kPairsAhead;
        if (ahead < n) {
          prefetch_row(w_in + center[ahead] * d, d);
          for (int64_t j = 0; j < t; ++j) prefetch_row(w_out + target(ahead, j) * d, d);
        }
        for (int64_t j = 0; j < t; ++j) rows[q * t + j] = w_out + target(b, j) * d;
        dots(w_in + center[b] * d, &rows[q * t], t, d, &arg[q * t]);
      }
#pragma omp simd
      for (int64_t e = 0; e < m * t; ++e) softplus_sigmoid(sign[e] * arg[e], &soft[e], &sig[e]);
      for (int64_t q = 0; q < m; ++q) {
        const int64_t b = first + q;
        float total = 0;
        for (int64_t j = 0; j < t; ++j) {
          total += scale[q * t + j] * soft[q * t + j];
          dscore[b * t + j] = sign[q * t + j] * scale[q * t + j] * sig[q * t + j];
        }
        loss[b] = total;
      }
    }
  }
  return MX_SUCCESS;
}

// A contribution to a row of W_out's gradient: coef times the row ``center`` of W_in.
struct Term {
  int32_t center;
  float coef;
};

// Row s of a table's gradient: ``sum(first, last, add)`` passes each (row, weight) of the records [first, last)
// of row s to ``add``. Threads take rows in small chunks as they finish: frequent words, which have many
// records, sit together at the front of the vocabulary, so a static split would leave one thread most of the work.
template <class Record, class Sum>
void table_gradient(const Grouped<Record>& side, Sum sum, int64_t d, float* grad, bool dense) {
  const int64_t m = side.rows.size();
#pragma omp parallel for num_threads(threads()) schedule(dynamic, 16)
  for (int64_t s = 0; s < m; ++s) {
    const int64_t r = side.rows[s];
    const Record *first = side.records.data() + side.start[r], *last = side.records.data() + side.start[r + 1];
    weighted_sum([&](auto add) { sum(first, last, add); }, d, grad + (dense ? r : s) * d);
  }
}

// Backward inputs: the gradients of the outputs, the forward inputs, then the outputs. Outputs: the gradients of
// the forward inputs (the ids get zeros).
MXReturnValue backward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                       const OpResource& res) {
  const float* g = (*in)[kLoss].data<float>();
  MXTensor* x = in->data() + kNumOutputs;
  MXTensor* y = x + kNumInputs;
  const int32_t* center = x[kCenter].data<int32_t>();
  const Targets target = targets(x);
  const float *w_in = x[kIn].data<float>(), *w_out = x[kOut].data<float>();
  const float* dscore = y[kScoreGrad].data<float>();
  const bool dense = !sparse_grad(attrs);
  const int64_t n = x[kCenter].shape[0], d = x[kIn].shape[1], vocab = x[kIn].shape[0], t = target.k + 1;

  // W_in's row of a center word: the sum of g[b] dscore[b, j] W_out[target(b, j)] over its pairs b and their
  // targets j. W_out's row of a target word: the sum of g[b] dscore[b, j] W_in[center[b]] over its entries (b, j).
  std::vector<int32_t> word(n * t);
  std::vector<Term> term(n * t);
#pragma omp parallel for num_threads(threads())
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t j = 0; j < t; ++j) {  // flat, so that no pass below divides an entry's index by t
      word[b * t + j] = target(b, j);
      term[b * t + j] = {center[b], g[b] * dscore[b * t + j]};
    }
  }
  const Grouped<int32_t> by_center = group_by_row<int32_t>(
      n, vocab, [&](int64_t b) { return center[b]; }, [&](int64_t b) { return static_cast<int32_t>(b); },
      threads());
  const Grouped<Term> by_target = group_by_row<Term>(
      n * t, vocab, [&](int64_t e) { return word[e]; }, [&](int64_t e) { return term[e]; }, threads());
  float* grad_in = table_gradient_output(out, kIn, by_center.rows, dense, res);
  float* grad_out = table_gradient_output(out, kOut, by_target.rows, dense, res);
  table_gradient(by_center, [&](const int32_t* first, const int32_t* last, auto add) {
    for (const int32_t* b = first; b != last; ++b)
      for (int64_t j = 0; j < t; ++j) add(w_out + word[*b * t + j] * d, term[*b * t + j].coef);
  }, d, grad_in, dense);
  table_gradient(by_target, [&](const Term* first, const Term* last, auto add) {
    for (const Term* r = first; r != last; ++r) add(w_in + r->center * d, r->coef);
  }, d, grad_out, dense);
  for (int i : {kCenter, kContext, kNegatives}) zero_ids_gradient(&(*out)[i]);
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = kNumInputs;
  *num_out = kNumOutputs;
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
  unsigned int n, k;
  if (pair_shapes("zoo_sgns_loss", *in, &n, &k) != MX_SUCCESS) return MX_FAIL;
  (*out)[kLoss] = {n};
  (*out)[kScoreGrad] = {n, k + 1};
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
