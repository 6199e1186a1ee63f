// zoo_mf_loss: biased matrix factorization's training loss read straight from the embedding tables.
//
//   e[n]    = offset + P[u[n]].Q[i[n]] + bu[u[n]] + bi[i[n]] - r[n]
//   loss[n] = e[n]^2 + reg * (|P[u[n]]|^2 + |Q[i[n]]|^2 + bu[u[n]]^2 + bi[i[n]]^2)
//
// The same numbers as Embedding -> zoo_rating_loss, without the (batch, dim) copies of the rows in between: the
// forward pass reads each example's two rows once, and the backward pass writes the tables' gradients directly,
// as row_sparse arrays over the rows the batch used (sparse_grad=1, what Embedding(sparse_grad=True) gives) or
// as dense tables (sparse_grad=0). The row_sparse gradients list their rows in increasing order, as MXNet's do.
//
// Inputs: users, items (batch,) int32; P (num_users, dim), Q (num_items, dim); bu (num_users, 1),
// bi (num_items, 1); offset (1,); r (batch,). Outputs: loss (batch,) and the residual e (batch,), which the
// backward pass reuses.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include "common.h"
#include "lib_api.h"
#include "rows.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

enum { kUsers, kItems, kP, kQ, kBu, kBi, kOffset, kR, kNumInputs };

// A record of one example's contribution to a row's gradient.
struct Example {
  int32_t other;  // the other side's id
  float ge, gr;   // 2 g e and 2 g reg
};

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  auto& x = *in;
  const int32_t *users = x[kUsers].data<int32_t>(), *items = x[kItems].data<int32_t>();
  const float *P = x[kP].data<float>(), *Q = x[kQ].data<float>();
  const float *bu = x[kBu].data<float>(), *bi = x[kBi].data<float>();
  const float offset = x[kOffset].data<float>()[0], *r = x[kR].data<float>();
  float *loss = (*out)[0].data<float>(), *e = (*out)[1].data<float>();
  const float reg = attr(attrs, "reg", 0);
  const int64_t n = x[kUsers].shape[0], d = x[kP].shape[1];
  if (check_rating_ids("zoo_mf_loss", users, items, n, x[kP].shape[0], x[kQ].shape[0]) != MX_SUCCESS)
    return MX_FAIL;
#pragma omp parallel for num_threads(threads())
  for (int64_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      prefetch_row(P + users[k + kAhead] * d, d);
      prefetch_row(Q + items[k + kAhead] * d, d);
    }
    const float *a = P + users[k] * d, *b = Q + items[k] * d;
    const float ub = bu[users[k]], ib = bi[items[k]];
    float dot = 0, squares = 0;
#pragma omp simd reduction(+ : dot, squares)
    for (int64_t j = 0; j < d; ++j) {
      dot += a[j] * b[j];
      squares += a[j] * a[j] + b[j] * b[j];
    }
    e[k] = offset + dot + ub + ib - r[k];
    loss[k] = e[k] * e[k] + reg * (squares + ub * ub + ib * ib);
  }
  return MX_SUCCESS;
}

// The gradients of one side's table and bias. Row s of the table gets, over its examples,
//   sum ge * other[other id] + (sum gr) * table[row]      (ge = 2 g e, gr = 2 g reg)
// and its bias sum ge + (sum gr) * bias[row]. Rows are split among the threads, so none share a row.
void side_gradient(const Grouped<Example>& side, const float* table, const float* other, const float* bias,
                   int64_t d, float* dtable, float* dbias, bool dense) {
  const int64_t m = side.rows.size(), n = side.records.size();
  const Example* ex = side.records.data();
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (int64_t s = 0; s < m; ++s) {
    const int64_t row = side.rows[s], at = dense ? row : s;  // where row s's gradient goes
    const int64_t first = side.start[row], last = side.start[row + 1];
    float reg_weight = 0, bias_grad = 0;
    for (int64_t p = first; p < last; ++p) {
      reg_weight += ex[p].gr;
      bias_grad += ex[p].ge;
    }
    float* g = dtable + at * d;
    const float* a = table + row * d;
#pragma omp simd
    for (int64_t j = 0; j < d; ++j) g[j] = reg_weight * a[j];
    for (int64_t p = first; p < last; ++p) {
      if (p + kAhead < n) prefetch_row(other + ex[p + kAhead].other * d, d);
      const float* b = other + ex[p].other * d;
      const float w = ex[p].ge;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) g[j] += w * b[j];
    }
    dbias[at] = bias_grad + reg_weight * bias[row];
  }
}

// Backward inputs: the gradients of loss and e, the forward inputs, then loss and e. Outputs: the gradients of
// the forward inputs (the ids get zeros).
MXReturnValue backward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                       const OpResource& res) {
  auto& x = *in;
  const float* g = x[0].data<float>();
  MXTensor* fwd = x.data() + 2;
  const int32_t *users = fwd[kUsers].data<int32_t>(), *items = fwd[kItems].data<int32_t>();
  const float *P = fwd[kP].data<float>(), *Q = fwd[kQ].data<float>();
  const float *bu = fwd[kBu].data<float>(), *bi = fwd[kBi].data<float>();
  const float* e = x[2 + kNumInputs + 1].data<float>();
  const float reg = attr(attrs, "reg", 0);
  const bool dense = !sparse_grad(attrs);
  const int64_t n = fwd[kUsers].shape[0], d = fwd[kP].shape[1];
  const int64_t num_users = fwd[kP].shape[0], num_items = fwd[kQ].shape[0];

  std::vector<float> ge(n), gr(n);
  float total = 0;
#pragma omp parallel for num_threads(threads()) reduction(+ : total)
  for (int64_t k = 0; k < n; ++k) {
    ge[k] = 2 * g[k] * e[k];
    gr[k] = 2 * g[k] * reg;
    total += ge[k];
  }
  Grouped<Example> by_user, by_item;
#pragma omp parallel sections num_threads(2)  // the two tables' groupings side by side
  {
#pragma omp section
    by_user = group_by_row<Example>(n, num_users, [&](int64_t k) { return users[k]; },
                                    [&](int64_t k) { return Example{items[k], ge[k], gr[k]}; }, 1);
#pragma omp section
    by_item = group_by_row<Example>(n, num_items, [&](int64_t k) { return items[k]; },
                                    [&](int64_t k) { return Example{users[k], ge[k], gr[k]}; }, 1);
  }

  float* grads[4];  // P, Q, bu, bi
  const Grouped<Example>* used[4] = {&by_user, &by_item, &by_user, &by_item};
  for (int o = 0; o < 4; ++o) grads[o] = table_gradient_output(out, kP + o, used[o]->rows, dense, res);
  side_gradient(by_user, P, Q, bu, d, grads[0], grads[2], dense);
  side_gradient(by_item, Q, P, bi, d, grads[1], grads[3], dense);

  (*out)[kOffset].data<float>()[0] = total;
  float* dr = (*out)[kR].data<float>();
  for (int64_t k = 0; k < n; ++k) dr[k] = -ge[k];
  for (int o : {kUsers, kItems}) zero_ids_gradient(&(*out)[o]);
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = kNumInputs;
  *num_out = 2;
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return ids_then_floats("zoo_mf_loss", kP, in, out);
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return table_gradients_stype("zoo_mf_loss", kNumInputs, kP, kBi, sparse_grad(attrs), in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  using Shape = std::vector<unsigned int>;
  const unsigned int n = s[kUsers].size() == 1 ? s[kUsers][0] : 0;
  const bool ok = n > 0 && s[kItems] == Shape{n} && s[kR] == Shape{n} && s[kP].size() == 2 &&
                  s[kQ].size() == 2 && s[kP][1] == s[kQ][1] && s[kBu] == Shape{s[kP][0], 1} &&
                  s[kBi] == Shape{s[kQ][0], 1} && s[kOffset] == Shape{1};
  if (!ok) {
    MX_ERROR_MSG << "zoo_mf_loss: expected users, items (batch,); P (users, dim), Q (items, dim); "
                 << "bu (users, 1), bi (items, 1); offset (1,); r (batch,)";
    return MX_FAIL;
  }
  (*out)[0] = {n};
  (*out)[1] = {n};
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(zoo_mf_loss)
    .setForward(forward, "cpu")
    .setBackward(backward, "cpu")
    .setParseAttrs(parseAttrs)
    .setInferType(inferType)
    .setInferSType(inferSType)
    .setInferShape(inferShape);
