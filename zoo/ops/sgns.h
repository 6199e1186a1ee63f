// What zoo_sgns_loss and zoo_sgns_sgd share: a batch of skip-gram pairs and their targets, the check of its ids,
// and its shapes.
#ifndef ZOO_OPS_SGNS_H_
#define ZOO_OPS_SGNS_H_

#include <cstdint>
#include <vector>

#include "common.h"
#include "rows.h"

namespace zoo {
namespace sgns {

// The inputs of both operators: the pairs' ids, then the two tables.
enum { kCenter, kContext, kNegatives, kIn, kOut, kNumInputs };

// The pairs and their targets: target 0 of pair b is its context word, target k > 0 its negative k - 1.
struct Targets {
  const int32_t *context, *negatives;
  int64_t k;        // negatives a pair
  bool shared;      // negatives (K,) for the whole batch, else (batch, K)
  int32_t operator()(int64_t b, int64_t t) const {
    return t == 0 ? context[b] : negatives[(shared ? 0 : b * k) + t - 1];
  }
};

inline Targets targets(MXTensor* x) {
  const bool shared = x[kNegatives].shape.size() == 1;
  return {x[kContext].data<int32_t>(), x[kNegatives].data<int32_t>(),
          shared ? x[kNegatives].shape[0] : x[kNegatives].shape[1], shared};
}

// MX_SUCCESS when every id names a row of the tables, else the error naming the first that does not.
inline MXReturnValue check_ids(const char* op, MXTensor* x) {
  const bool shared = x[kNegatives].shape.size() == 1;
  const int64_t n = x[kCenter].shape[0], vocab = x[kIn].shape[0];
  const int64_t negatives = shared ? x[kNegatives].shape[0] : n * x[kNegatives].shape[1];
  const char* names[] = {"center", "context", "negative"};
  for (int i : {kCenter, kContext, kNegatives}) {
    const int64_t k = bad_id(x[i].data<int32_t>(), i == kNegatives ? negatives : n, vocab);
    if (k >= 0) {
      MX_ERROR_MSG << op << ": " << names[i] << " id " << x[i].data<int32_t>()[k] << " (entry " << k
                   << ") is outside the vocabulary [0, " << vocab << ")";
      return MX_FAIL;
    }
  }
  return MX_SUCCESS;
}

// The batch size n and negatives a pair k of the inputs' shapes, or MX_FAIL with the shapes expected.
inline MXReturnValue pair_shapes(const char* op, const std::vector<std::vector<unsigned int>>& s, unsigned int* n,
                                 unsigned int* k) {
  using Shape = std::vector<unsigned int>;
  *n = s[kCenter].size() == 1 ? s[kCenter][0] : 0;
  const auto& neg = s[kNegatives];
  *k = neg.size() == 1 ? neg[0] : (neg.size() == 2 && neg[0] == *n ? neg[1] : 0);
  if (*n == 0 || *k == 0 || s[kContext] != Shape{*n} || s[kIn].size() != 2 || s[kOut] != s[kIn]) {
    MX_ERROR_MSG << op << ": expected center, context (batch,); negatives (batch, K) or (K,); "
                 << "W_in and W_out of one (vocab, dim) shape";
    return MX_FAIL;
  }
  return MX_SUCCESS;
}

}  // namespace sgns
}  // namespace zoo

#endif  // ZOO_OPS_SGNS_H_
