// zoo_svdpp_sgd_steps: several training steps of SVD++ with plain SGD on each step's summed gradient, in one call.
//
// The examples are cut into steps of `batch` (the last may be shorter). Step s's examples carry their users' rows
// of rated items as the rows [row_start[s], row_start[s + 1]) of one CSR matrix (indptr, indices, values) and
// each example's row `which[n]` in it, as the data hands them to the model (SharedRows). For each step in order,
// with the tables as the steps before left them:
//   z[n]    = P[u] + sum_k values[k] Y[indices[k]]   over the row's entries k       (ImplicitUserTower)
//   e[n]    = offset + z[n].Q[i] + bu[u] + bi[i] - r[n]
//   loss[n] = e[n]^2 + reg * (|z[n]|^2 + |Q[i]|^2 + bu[u]^2 + bi[i]^2)              (Objective(SVDpp))
// the gradient of the step's summed loss (every part's from the tables before the step), then SGD's update of the
// rows the step used and of the offset, w -= lr * rescale * grad, each parameter at its own lr (lr_mult, the
// schedule). That is what GradientStep(Objective(SVDpp), sum_gradients=True) + Trainer.step with SGD (no momentum,
// no weight decay, no clipping) makes on each step's batch (the tests compare the two), without a trip through
// Python, the engine and autograd for each step, and with the rated items' sums and their gradient in vectorized
// loops over the rows.
//
// The users' sums of rated items, and their table's update, are the work: threads share them by rows of the sums
// and by rows of Y (each Y row updated by one thread, its terms in the rows' order, so the result does not depend
// on the thread count). The rest of a step is small and done on one thread.
//
// Inputs: users, items, which (n,) int32; row_start (steps + 1,) int32; indptr (rows + 1,) int32; indices (nnz,)
// int32; values (nnz,); ratings (n,); lr (steps, 6): each step's rate for P, Q, bu, bi, offset, Y; P (num_users,
// dim), Q (num_items, dim), bu (num_users, 1), bi (num_items, 1), offset (1,), Y (num_items, dim), updated in place.
// Output: loss (n,), each example's loss before its step. Attributes: batch, reg, rescale_grad.
#pragma GCC target("prefer-vector-width=512")

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include "common.h"
#include "lib_api.h"
#include "rows.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

enum { kUsers, kItems, kWhich, kRowStart, kIndptr, kIndices, kValues, kRatings, kLr, kP, kQ, kBu, kBi, kOffset, kY,
       kNumInputs };
constexpr int kNumIds = kValues;  // the inputs before it are int32

// The rows of one table that a step's examples use, with their summed gradients.
struct Side : StepRows {
  using StepRows::StepRows;
  // SGD on the step's rows of this side's table and bias, then forget them.
  void update(float* table, float* bias, int64_t d, float lr, float bias_lr, float rescale) {
    for (size_t s = 0; s < ids.size(); ++s) {
      float* w = table + ids[s] * d;
      const float* g = grad.data() + s * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) w[k] -= lr * (rescale * g[k]);
      bias[ids[s]] -= bias_lr * (rescale * bias_grad[s]);
    }
    forget();
  }
};

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  auto& x = *in;
  const int32_t *users = x[kUsers].data<int32_t>(), *items = x[kItems].data<int32_t>();
  const int32_t *which = x[kWhich].data<int32_t>(), *row_start = x[kRowStart].data<int32_t>();
  const int32_t *indptr = x[kIndptr].data<int32_t>(), *indices = x[kIndices].data<int32_t>();
  const float *values = x[kValues].data<float>(), *r = x[kRatings].data<float>(), *lrs = x[kLr].data<float>();
  float *P = x[kP].data<float>(), *Q = x[kQ].data<float>(), *bu = x[kBu].data<float>(), *bi = x[kBi].data<float>();
  float *offset = x[kOffset].data<float>(), *Y = x[kY].data<float>();
  float* loss = (*out)[0].data<float>();
  const int64_t n = x[kUsers].shape[0], d = x[kP].shape[1], steps = x[kLr].shape[0];
  const int64_t rows = x[kIndptr].shape[0] - 1, nnz = x[kIndices].shape[0], num_items = x[kY].shape[0];
  const int64_t batch = static_cast<int64_t>(attr(attrs, "batch", 0));
  const float reg = attr(attrs, "reg", 0), rescale = attr(attrs, "rescale_grad", 1);
  const char* op = "zoo_svdpp_sgd_steps";
  if (batch <= 0 || (n + batch - 1) / batch != steps) {
    MX_ERROR_MSG << op << ": " << n << " examples in steps of " << batch << " are not " << steps << " steps";
    return MX_FAIL;
  }
  if (check_rating_ids(op, users, items, n, x[kP].shape[0], x[kQ].shape[0]) != MX_SUCCESS) return MX_FAIL;
  if (row_start[0] != 0 || row_start[steps] != rows || indptr[0] != 0 || indptr[rows] != nnz) {
    MX_ERROR_MSG << op << ": row_start must go from 0 to the " << rows << " rows, indptr from 0 to the " << nnz
                 << " entries";
    return MX_FAIL;
  }
  for (int64_t s = 0; s < steps; ++s)
    for (int64_t k = s * batch; k < std::min(n, (s + 1) * batch); ++k)
      if (which[k] < row_start[s] || which[k] >= row_start[s + 1]) {
        MX_ERROR_MSG << op << ": example " << k << "'s row " << which[k] << " is not among its step's rows ["
                     << row_start[s] << ", " << row_start[s + 1] << ")";
        return MX_FAIL;
      }
  const int64_t bad = bad_id(indices, nnz, num_items);
  if (bad >= 0) {
    MX_ERROR_MSG << op << ": rated item " << indices[bad] << " (entry " << bad << ") is outside [0, " << num_items
                 << ")";
    return MX_FAIL;
  }
  int64_t most_rows = 0;
  for (int64_t s = 0; s < steps; ++s) most_rows = std::max<int64_t>(most_rows, row_start[s + 1] - row_start[s]);
  std::vector<float> bags(most_rows * d), bag_grads(most_rows * d);
  Side by_user(x[kP].shape[0], batch, d), by_item(x[kQ].shape[0], batch, d);
  const int nt = threads();
  for (int64_t s = 0; s < steps; ++s) {
    const float* lr = lrs + s * 6;  // P, Q, bu, bi, offset, Y
    const int64_t first = row_start[s], count = row_start[s + 1] - first;
    // the users' sums of rated items: a row each, read-only on Y
#pragma omp parallel for num_threads(nt) schedule(dynamic, 4)
    for (int64_t row = 0; row < count; ++row) {
      float* bag = bags.data() + row * d;
      std::fill(bag, bag + d, 0.f);
      std::fill(bag_grads.data() + row * d, bag_grads.data() + (row + 1) * d, 0.f);
      for (int64_t k = indptr[first + row]; k < indptr[first + row + 1]; ++k) {
        if (k + kAhead < indptr[first + row + 1]) prefetch_row(Y + indices[k + kAhead] * d, d);
        const float* y = Y + static_cast<int64_t>(indices[k]) * d;
        const float v = values[k];
#pragma omp simd
        for (int64_t j = 0; j < d; ++j) bag[j] += v * y[j];
      }
    }
    float offset_grad = 0;
    for (int64_t k = s * batch; k < std::min(n, (s + 1) * batch); ++k) {
      const float *p = P + users[k] * d, *q = Q + items[k] * d, *bag = bags.data() + (which[k] - first) * d;
      const float ub = bu[users[k]], ib = bi[items[k]];
      float dot = 0, squares = 0;
#pragma omp simd reduction(+ : dot, squares)
      for (int64_t j = 0; j < d; ++j) {
        const float z = p[j] + bag[j];
        dot += z * q[j];
        squares += z * z + q[j] * q[j];
      }
      const float e = offset[0] + dot + ub + ib - r[k];
      loss[k] = e * e + reg * (squares + ub * ub + ib * ib);
      const float ge = 2 * e, gr = 2 * reg;
      const int32_t su = by_user.place(users[k], d), si = by_item.place(items[k], d);
      float *gu = by_user.grad.data() + su * d, *gi = by_item.grad.data() + si * d;
      float* gb = bag_grads.data() + (which[k] - first) * d;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) {
        const float z = p[j] + bag[j];
        const float gz = ge * q[j] + gr * z;
        gu[j] += gz;
        gb[j] += gz;
        gi[j] += ge * z + gr * q[j];
      }
      by_user.bias_grad[su] += ge + gr * ub;
      by_item.bias_grad[si] += ge + gr * ib;
      offset_grad += ge;
    }
    // every gradient is taken; now the updates. Y's rows: thread t owns the ids equal to t modulo the thread
    // count and applies their terms in the rows' order.
#pragma omp parallel num_threads(nt)
    {
      const int t = omp_get_thread_num(), T = omp_get_num_threads();
      for (int64_t row = 0; row < count; ++row) {
        const float* g = bag_grads.data() + row * d;
        for (int64_t k = indptr[first + row]; k < indptr[first + row + 1]; ++k) {
          if (indices[k] % T != t) continue;
          float* y = Y + static_cast<int64_t>(indices[k]) * d;
          const float step = lr[5] * values[k];
#pragma omp simd
          for (int64_t j = 0; j < d; ++j) y[j] -= step * (rescale * g[j]);
        }
      }
    }
    by_user.update(P, bu, d, lr[0], lr[2], rescale);
    by_item.update(Q, bi, d, lr[1], lr[3], rescale);
    offset[0] -= lr[4] * (rescale * offset_grad);
  }
  return MX_SUCCESS;
}

ZOO_DENSE_IDS_THEN_FLOATS("zoo_svdpp_sgd_steps", kNumIds)

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  using Shape = std::vector<unsigned int>;
  const unsigned int n = length_1d(s[kUsers]), nnz = length_1d(s[kIndices]);
  const unsigned int steps = s[kLr].size() == 2 ? s[kLr][0] : 0;
  const bool ok = n > 0 && steps > 0 && s[kItems] == Shape{n} && s[kWhich] == Shape{n} &&
                  s[kRatings] == Shape{n} && s[kRowStart] == Shape{steps + 1} && s[kIndptr].size() == 1 &&
                  s[kValues] == Shape{nnz} && s[kLr] == (Shape{steps, 6}) && s[kP].size() == 2 &&
                  s[kQ].size() == 2 && s[kP][1] == s[kQ][1] && s[kBu] == (Shape{s[kP][0], 1}) &&
                  s[kBi] == (Shape{s[kQ][0], 1}) && s[kOffset] == Shape{1} && s[kY] == s[kQ];
  if (!ok) {
    MX_ERROR_MSG << "zoo_svdpp_sgd_steps: expected users, items, which (n,); row_start (steps + 1,); indptr "
                 << "(rows + 1,); indices, values (nnz,); ratings (n,); lr (steps, 6); P (users, dim), Q (items, "
                 << "dim), bu (users, 1), bi (items, 1), offset (1,), Y (items, dim)";
    return MX_FAIL;
  }
  (*out)[0] = {n};
  return MX_SUCCESS;
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {kP, kQ, kBu, kBi, kOffset, kY};
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_svdpp_sgd_steps, kNumInputs);
