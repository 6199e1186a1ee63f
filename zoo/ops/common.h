// Helpers shared by zoo's operators.
#ifndef ZOO_OPS_COMMON_H_
#define ZOO_OPS_COMMON_H_

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include "lib_api.h"

namespace zoo {

using mxnet::ext::MX_FAIL;
using mxnet::ext::MX_SUCCESS;
using mxnet::ext::MXReturnValue;
using mxnet::ext::MXSparse;
using mxnet::ext::MXTensor;
using mxnet::ext::OpResource;
using Attrs = std::unordered_map<std::string, std::string>;

// A float attribute (MXNet passes them as strings), or ``fallback`` when it was not given.
inline float attr(const Attrs& attrs, const char* name, float fallback) {
  auto it = attrs.find(name);
  return it == attrs.end() ? fallback : std::stof(it->second);
}

// g clipped to [-bound, bound], as mshadow's clip does it. Written with selects, which vectorize (std::fmin and
// std::fmax, which must mind NaNs, compile to calls that keep the loop scalar).
inline float clip_to(float g, float bound) { return g > bound ? bound : (g < -bound ? -bound : g); }

// Adam's update of one row of d floats in place, w with its mean m and variance v, from the gradient g before
// rescaling: the arithmetic of MXNet's adam_update (lazy_update applies it to the rows a gradient names):
//   x = clip(rescale * g + wd * w, clip);  m = b1 m + (1 - b1) x;  v = b2 v + (1 - b2) x^2
//   w -= lr m / (sqrt(v) + eps)
struct Adam {
  float b1, b2, eps, clip;  // clip < 0: none
  inline void row(float* w, float* m, float* v, const float* g, int64_t d, float lr, float wd, float rescale) const {
#pragma omp simd
    for (int64_t k = 0; k < d; ++k) {
      float x = rescale * g[k] + wd * w[k];
      if (clip >= 0) x = clip_to(x, clip);
      m[k] = b1 * m[k] + (1 - b1) * x;
      v[k] = b2 * v[k] + (1 - b2) * x * x;
      w[k] -= lr * m[k] / (std::sqrt(v[k]) + eps);
    }
  }
};

// Threads for an operator's parallel loops. MXNet runs operators on engine threads whose OpenMP default is one
// thread, so the loops ask for this many explicitly: $OMP_NUM_THREADS when set, else every processor.
inline int threads() {
  static const int n = [] {
    const char* env = std::getenv("OMP_NUM_THREADS");
    const int want = env ? std::atoi(env) : 0;
    return want > 0 ? want : omp_get_num_procs();
  }();
  return n;
}

// inferType for operators on float32 only: every input float32, every output float32.
inline mxnet::ext::MXReturnValue float32_only(const char* op, std::vector<int>* in, std::vector<int>* out) {
  for (int t : *in)
    if (t != mxnet::ext::kFloat32) {
      MX_ERROR_MSG << op << ": every input must be float32";
      return mxnet::ext::MX_FAIL;
    }
  for (int& t : *out) t = mxnet::ext::kFloat32;
  return mxnet::ext::MX_SUCCESS;
}

// inferSType of an operator whose inputs and outputs are all dense.
inline MXReturnValue dense_only(const char* op, std::vector<int>* in, std::vector<int>* out) {
  for (int t : *in)
    if (t != mxnet::ext::kDefaultStorage) {
      MX_ERROR_MSG << op << ": every input must be dense";
      return MX_FAIL;
    }
  for (int& t : *out) t = mxnet::ext::kDefaultStorage;
  return MX_SUCCESS;
}

// inferSType and inferShape of a lazy optimizer update: (weight, row_sparse grad, dense states...) of one
// (rows, dim) shape, updated in place; the one output (1,) is the number of rows updated.
inline MXReturnValue lazy_update_stype(const char* op, std::vector<int>* in, std::vector<int>* out) {
  for (size_t k = 0; k < in->size(); ++k)
    if ((*in)[k] != (k == 1 ? mxnet::ext::kRowSparseStorage : mxnet::ext::kDefaultStorage)) {
      MX_ERROR_MSG << op << ": expected a row_sparse gradient (input 1) and every other input dense";
      return MX_FAIL;
    }
  (*out)[0] = mxnet::ext::kDefaultStorage;
  return MX_SUCCESS;
}

inline MXReturnValue lazy_update_shape(const char* op, std::vector<std::vector<unsigned int>>* in,
                                       std::vector<std::vector<unsigned int>>* out) {
  for (const auto& shape : *in)
    if ((*in)[0].size() != 2 || shape != (*in)[0]) {
      MX_ERROR_MSG << op << ": the weight, its gradient and its states must have one (rows, dim) shape";
      return MX_FAIL;
    }
  (*out)[0] = {1};
  return MX_SUCCESS;
}

// The length of a one-dimensional shape; 0 for a shape of any other rank (which inferShape then refuses).
inline unsigned int length_1d(const std::vector<unsigned int>& shape) { return shape.size() == 1 ? shape[0] : 0; }

// parseAttrs of an operator that takes kInputs inputs and makes one output.
template <int kInputs>
inline MXReturnValue one_output(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = kInputs;
  *num_out = 1;
  return MX_SUCCESS;
}

}  // namespace zoo

// Registers `name`, an operator that updates some of its inputs in place and makes one output (an optimizer's
// update, training steps): its file's forward, inferType, inferSType, inferShape and mutateInputs, and its number
// of inputs.
#define ZOO_REGISTER_IN_PLACE_OP(name, num_inputs)  \
  REGISTER_OP(name)                                 \
      .setForward(forward, "cpu")                   \
      .setParseAttrs(zoo::one_output<num_inputs>)   \
      .setInferType(inferType)                      \
      .setInferSType(inferSType)                    \
      .setInferShape(inferShape)                    \
      .setMutateInputs(mutateInputs)

#endif  // ZOO_OPS_COMMON_H_
