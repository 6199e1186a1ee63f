// zoo_sgns_sgd: word2vec's training step, SGD applied one skip-gram pair at a time, in place in the two tables.
//
// For each pair b in order, with c = W_in[center[b]] and o_j = W_out[target(b, j)] (j = 0 the context word, j > 0
// its negatives) as they stand when the pair comes:
//   s_j = c . o_j,  loss[b] = softplus(-s_0) + w * sum_{j>0} softplus(s_j)        (w = negative_weight)
//   o_j -= lr * clip(d loss[b] / d o_j),  c -= lr * clip(d loss[b] / d c)
// every gradient taken before the pair's updates (so a row named twice in one pair gets the sum of its two
// gradients, once), clip(x) = min(max(x, -clip_gradient), clip_gradient) entry-wise when clip_gradient >= 0.
// That is exactly one step of plain SGD on a batch of this one pair (loss_fn(model(pair)), lr, clip_gradient):
// the composite path with train.batch_size 1, which the tests compare it with. The next pair sees the updated
// rows: word2vec's behaviour, which a step on the summed gradient of many pairs does not have (a frequent word,
// the target of thousands of pairs a batch, gets them all computed from its old row).
//
// Threads split the batch into contiguous shares and update the tables without locks (Hogwild, as word2vec.c and
// gensim do): a row two threads update at once may lose one update, rarely, as rows are many and pairs spread
// over them. With one thread the result is exactly the sequential one; a thread gets at least kMinPairs pairs,
// so small batches (and the tests) run on one.
//
// Inputs: center, context (batch,) int32; negatives (batch, K) int32, each pair its own, or (K,), shared by the
// batch; W_in, W_out (vocab, dim) float32, updated in place. Output: loss (batch,), each pair's loss before its
// update. Attributes: lr, negative_weight (1), clip_gradient (-1: none).
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"
#include "rows.h"
#include "sgns.h"
#include "vec.h"

using namespace zoo;        // lib_api's types, Attrs, attr, rows.h
using namespace zoo::sgns;  // the inputs, Targets

namespace {  // each source file registers its own functions under these names

// Below this many pairs a thread, starting another costs more than it saves.
constexpr int64_t kMinPairs = 4096;
// Rows are fetched this many pairs ahead (each pair reads 2 + K rows).
constexpr int64_t kPairsAhead = 2;

// o -= lr * clip(coef * x) entry-wise (clip < 0: none), for the d floats of o and x.
inline void step_row(float* o, const float* x, float coef, float lr, float clip, int64_t d) {
  if (clip < 0) {
    const float a = -lr * coef;
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) o[i] += a * x[i];
  } else {
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) o[i] -= lr * clip_to(coef * x[i], clip);
  }
}

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  MXTensor* x = in->data();
  if (check_ids("zoo_sgns_sgd", x) != MX_SUCCESS) return MX_FAIL;
  const int32_t* center = x[kCenter].data<int32_t>();
  const Targets target = targets(x);
  float *w_in = x[kIn].data<float>(), *w_out = x[kOut].data<float>();
  float* loss = (*out)[0].data<float>();
  const float weight = attr(attrs, "negative_weight", 1), lr = attr(attrs, "lr", 0);
  const float clip = attr(attrs, "clip_gradient", -1);
  const int64_t n = x[kCenter].shape[0], d = x[kIn].shape[1], t = target.k + 1;
  const int num_threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads(), n / kMinPairs)));
#pragma omp parallel num_threads(num_threads)
  {
    std::vector<float*> rows(t);
    std::vector<float> s(t), coef(t), neu(d);
    const int64_t share = omp_get_thread_num(), shares = omp_get_num_threads();
    const int64_t first = n * share / shares, last = n * (share + 1) / shares;
    for (int64_t b = first; b < last; ++b) {
      const int64_t ahead = b + kPairsAhead;
      if (ahead < last) {
        prefetch_row(w_in + center[ahead] * d, d);
        for (int64_t j = 0; j < t; ++j) prefetch_row(w_out + target(ahead, j) * d, d);
      }
      float* c = w_in + center[b] * d;
      for (int64_t j = 0; j < t; ++j) rows[j] = w_out + target(b, j) * d;
      dots(c, rows.data(), t, d, s.data());
      // coef[j] = d loss / d s_j: -sigmoid(-s_0) for the context word, w sigmoid(s_j) for a negative.
      float total = 0;
      for (int64_t j = 0; j < t; ++j) {
        float soft, sig;
        const float sign = j == 0 ? -1.f : 1.f, scale = j == 0 ? 1.f : weight;
        softplus_sigmoid(sign * s[j], &soft, &sig);
        total += scale * soft;
        coef[j] = sign * scale * sig;
      }
      loss[b] = total;
      // A row named twice in the pair (a negative drawn twice, or equal to the context word) gets one update with
      // the sum of its coefficients.
      for (int64_t j = 1; j < t; ++j)
        for (int64_t i = 0; i < j; ++i)
          if (rows[i] == rows[j]) {
            coef[i] += coef[j], coef[j] = 0, rows[j] = nullptr;
            break;
          }
      // d loss / d c = sum_j coef[j] o_j and d loss / d o_j = coef[j] c, both from the rows before the updates.
      int64_t m = 0;
      for (int64_t j = 0; j < t; ++j)
        if (rows[j]) rows[m] = rows[j], coef[m] = coef[j], ++m;
      weighted_sum_of(rows.data(), coef.data(), m, d, neu.data(), false);
      for (int64_t j = 0; j < m; ++j) step_row(rows[j], c, coef[j], lr, clip, d);
      step_row(c, neu.data(), 1.f, lr, clip, d);
    }
  }
  return MX_SUCCESS;
}

ZOO_DENSE_IDS_THEN_FLOATS("zoo_sgns_sgd", kIn)

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  unsigned int n, k;
  if (pair_shapes("zoo_sgns_sgd", *in, &n, &k) != MX_SUCCESS) return MX_FAIL;
  (*out)[0] = {n};
  return MX_SUCCESS;
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {kIn, kOut};
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_sgns_sgd, kNumInputs);
