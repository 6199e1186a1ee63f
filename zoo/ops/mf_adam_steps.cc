// zoo_mf_adam_steps: several training steps of biased matrix factorization with lazy Adam, in one call.
//
// The examples are cut into steps of `batch` (the last may be shorter). For each step in order, with the tables
// as the steps before left them:
//   e[n]    = offset + P[u].Q[i] + bu[u] + bi[i] - r[n]
//   loss[n] = e[n]^2 + reg * (|P[u]|^2 + |Q[i]|^2 + bu[u]^2 + bi[i]^2)                 (zoo_mf_loss's objective)
// the gradient of the step's summed loss (every row's from the tables before the step), then Adam's update of
// the rows the step used (lazy, as zoo_lazy_adam and MXNet's adam_update with lazy_update) and of the offset:
//   g = clip(rescale * grad + wd * w, clip_gradient);  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   w -= lr * m / (sqrt(v) + epsilon)
// That is exactly what one GradientStep(FusedMF) + Trainer.step with zoo's FusedAdam makes on each step's batch
// (the tests compare the two), without the per-step costs of Python, the engine and operator launches, which on
// small data sets (80,000 ratings, batches of 128) are nearly all of a step's time.
//
// One thread: a step of 128 examples is too small to share, and the steps follow one another.
//
// Inputs: users, items (n,) int32; ratings (n,); hyper (steps, 5, 2): each step's lr (bias correction included)
// and wd for P, Q, bu, bi, offset; rescale (steps,); P (num_users, dim), Q (num_items, dim), bu (num_users, 1),
// bi (num_items, 1), offset (1,); then the Adam mean and variance of each of the five, in that order. The
// tables and the moments are updated in place. Output: loss (n,), each example's loss before its step.
// Attributes: batch, reg, beta1, beta2, epsilon, clip_gradient (-1: none).
// 512-bit vectors where the processor has them: gcc prefers 256-bit ones on AVX-512 machines, and these loops,
// bound by the rows they read and write, run faster with half the instructions (zoo/ops/README.md).
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

enum { kUsers, kItems, kRatings, kHyper, kRescale, kP, kQ, kBu, kBi, kOffset, kMoments, kNumInputs = kMoments + 10 };

// The rows one step uses on one side, `weight` the penalty's (2 reg a use).
struct Side : StepRows {
  using StepRows::StepRows;
  // Adam on the step's rows of this side's table and bias, then forget them.
  void update(float* table, float* bias, float* const* moments, int64_t d, const float* hyper, float rescale,
              const Adam& adam) {
    for (size_t s = 0; s < ids.size(); ++s) {
      const int64_t row = ids[s];
      if (s + 2 < ids.size()) {  // the rows two updates ahead, which may be anywhere in the tables
        const int64_t ahead = ids[s + 2] * d;
        prefetch_row<1>(table + ahead, d), prefetch_row<1>(moments[0] + ahead, d);
        prefetch_row<1>(moments[1] + ahead, d);
      }
      float* w = table + row * d;
      float* g = grad.data() + s * d;
#pragma omp simd
      for (int64_t k = 0; k < d; ++k) g[k] += weight[s] * w[k];  // the penalty's part, from the old row
      const float gb = bias_grad[s] + weight[s] * bias[row];
      adam.row(w, moments[0] + row * d, moments[1] + row * d, g, d, hyper[0], hyper[1], rescale);
      adam.row(bias + row, moments[2] + row, moments[3] + row, &gb, 1, hyper[2], hyper[3], rescale);
    }
    forget();
  }
};

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  auto& x = *in;
  const int32_t *users = x[kUsers].data<int32_t>(), *items = x[kItems].data<int32_t>();
  const float* r = x[kRatings].data<float>();
  const float *hyper = x[kHyper].data<float>(), *rescale = x[kRescale].data<float>();
  float *P = x[kP].data<float>(), *Q = x[kQ].data<float>(), *bu = x[kBu].data<float>(), *bi = x[kBi].data<float>();
  float* offset = x[kOffset].data<float>();
  float* mom[10];
  for (int j = 0; j < 10; ++j) mom[j] = x[kMoments + j].data<float>();
  float* loss = (*out)[0].data<float>();
  const int64_t n = x[kUsers].shape[0], d = x[kP].shape[1], steps = x[kRescale].shape[0];
  const int64_t batch = static_cast<int64_t>(attr(attrs, "batch", 0));
  const float reg = attr(attrs, "reg", 0);
  const Adam adam{attr(attrs, "beta1", 0.9f), attr(attrs, "beta2", 0.999f), attr(attrs, "epsilon", 1e-8f),
                  attr(attrs, "clip_gradient", -1)};
  if (batch <= 0 || (n + batch - 1) / batch != steps) {
    MX_ERROR_MSG << "zoo_mf_adam_steps: " << n << " examples in steps of " << batch << " are not " << steps
                 << " steps";
    return MX_FAIL;
  }
  if (check_rating_ids("zoo_mf_adam_steps", users, items, n, x[kP].shape[0], x[kQ].shape[0]) != MX_SUCCESS)
    return MX_FAIL;
  Side by_user(x[kP].shape[0], batch, d), by_item(x[kQ].shape[0], batch, d);
  for (int64_t s = 0; s < steps; ++s) {
    const float* h = hyper + s * 10;  // (lr, wd) of P, Q, bu, bi, offset
    float offset_grad = 0;
    for (int64_t k = s * batch; k < std::min(n, (s + 1) * batch); ++k) {
      // the rows of the example kAhead on: random rows of the tables, which the processor cannot guess
      if (k + kAhead < n) prefetch_row(P + users[k + kAhead] * d, d), prefetch_row(Q + items[k + kAhead] * d, d);
      const float *a = P + users[k] * d, *b = Q + items[k] * d;
      const float ub = bu[users[k]], ib = bi[items[k]];
      float dot = 0, squares = 0;
#pragma omp simd reduction(+ : dot, squares)
      for (int64_t j = 0; j < d; ++j) {
        dot += a[j] * b[j];
        squares += a[j] * a[j] + b[j] * b[j];
      }
      const float e = offset[0] + dot + ub + ib - r[k];
      loss[k] = e * e + reg * (squares + ub * ub + ib * ib);
      const float ge = 2 * e, gr = 2 * reg;
      const int32_t su = by_user.place(users[k], d), si = by_item.place(items[k], d);
      float *gu = by_user.grad.data() + su * d, *gi = by_item.grad.data() + si * d;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) {
        gu[j] += ge * b[j];
        gi[j] += ge * a[j];
      }
      by_user.bias_grad[su] += ge;
      by_user.weight[su] += gr;
      by_item.bias_grad[si] += ge;
      by_item.weight[si] += gr;
      offset_grad += ge;
    }
    // every gradient is taken; now the updates (the user side's rows read by the item side's gradient above)
    float* user_moments[4] = {mom[0], mom[1], mom[4], mom[5]};
    float* item_moments[4] = {mom[2], mom[3], mom[6], mom[7]};
    const float user_hyper[4] = {h[0], h[1], h[4], h[5]}, item_hyper[4] = {h[2], h[3], h[6], h[7]};
    by_user.update(P, bu, user_moments, d, user_hyper, rescale[s], adam);
    by_item.update(Q, bi, item_moments, d, item_hyper, rescale[s], adam);
    adam.row(offset, mom[8], mom[9], &offset_grad, 1, h[8], h[9], rescale[s]);
  }
  return MX_SUCCESS;
}

ZOO_DENSE_IDS_THEN_FLOATS("zoo_mf_adam_steps", kRatings)

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  const auto& s = *in;
  using Shape = std::vector<unsigned int>;
  const unsigned int n = length_1d(s[kUsers]), steps = length_1d(s[kRescale]);
  bool ok = n > 0 && steps > 0 && s[kItems] == Shape{n} && s[kRatings] == Shape{n} &&
            s[kHyper] == (Shape{steps, 5, 2}) && s[kP].size() == 2 && s[kQ].size() == 2 && s[kP][1] == s[kQ][1] &&
            s[kBu] == (Shape{s[kP][0], 1}) && s[kBi] == (Shape{s[kQ][0], 1}) && s[kOffset] == Shape{1};
  for (int j = 0; ok && j < 10; ++j) ok = s[kMoments + j] == s[kP + j / 2];  // a mean and a variance a parameter
  if (!ok) {
    MX_ERROR_MSG << "zoo_mf_adam_steps: expected users, items, ratings (n,); hyper (steps, 5, 2); rescale "
                 << "(steps,); P (users, dim), Q (items, dim), bu (users, 1), bi (items, 1), offset (1,); and two "
                 << "moments of each parameter's shape";
    return MX_FAIL;
  }
  (*out)[0] = {n};
  return MX_SUCCESS;
}

MXReturnValue mutateInputs(const Attrs& attrs, std::vector<int>* indices) {
  *indices = {};
  for (int j = kP; j < kNumInputs; ++j) indices->push_back(j);
  return MX_SUCCESS;
}

}  // namespace

ZOO_REGISTER_IN_PLACE_OP(zoo_mf_adam_steps, kNumInputs);
