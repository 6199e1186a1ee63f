// Kernels on float rows that keep the vector units busy: several dot products at once, weighted sums of rows held
// in registers, and exp / softplus / sigmoid written so that loops over them vectorize (libm's are scalar calls).
#ifndef ZOO_OPS_VEC_H_
#define ZOO_OPS_VEC_H_

#include <cstdint>
#include <cstring>

namespace zoo {

// Eight floats in one vector (one AVX register, two SSE ones without AVX), loaded from any float address.
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

inline v8 load8(const float* p) { return *reinterpret_cast<const v8*>(p); }
inline void store8(float* p, v8 v) { *reinterpret_cast<v8*>(p) = v; }
inline float sum8(v8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

// out[j] = x . rows[j] for M rows of d floats. The M sums are independent, so the multiply-adds of one row do
// not wait on the previous one's latency (as one running sum a row would), and x is loaded
// once for all of them.
template <int M>
inline void dots_of(const float* x, const float* const* rows, int64_t d, float* out) {
  v8 acc[M] = {};
  int64_t i = 0;
  for (; i + 8 <= d; i += 8) {
    const v8 xi = load8(x + i);
    for (int j = 0; j < M; ++j) acc[j] += xi * load8(rows[j] + i);
  }
  for (int j = 0; j < M; ++j) {
    float s = sum8(acc[j]);
    for (int64_t k = i; k < d; ++k) s += x[k] * rows[j][k];
    out[j] = s;
  }
}

// out[j] = x . rows[j] for j < m.
inline void dots(const float* x, const float* const* rows, int64_t m, int64_t d, float* out) {
  int64_t j = 0;
  for (; j + 4 <= m; j += 4) dots_of<4>(x, rows + j, d, out + j);
  switch (m - j) {
    case 3: dots_of<3>(x, rows + j, d, out + j); break;
    case 2: dots_of<2>(x, rows + j, d, out + j); break;
    case 1: dots_of<1>(x, rows + j, d, out + j); break;
  }
}

// out (+)= sum over k < n of w[k] * rows[k], rows of d floats: added to out when ``add``, else stored. Each
// stretch of 32 floats of ``out`` is summed in registers over all the rows and stored once, instead of loaded
// and stored again for every row.
inline void weighted_sum_of(const float* const* rows, const float* w, int64_t n, int64_t d, float* out, bool add) {
  int64_t i = 0;
  for (; i + 32 <= d; i += 32) {
    v8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    if (add) a0 = load8(out + i), a1 = load8(out + i + 8), a2 = load8(out + i + 16), a3 = load8(out + i + 24);
    for (int64_t k = 0; k < n; ++k) {
      const float* r = rows[k] + i;
      a0 += w[k] * load8(r), a1 += w[k] * load8(r + 8), a2 += w[k] * load8(r + 16), a3 += w[k] * load8(r + 24);
    }
    store8(out + i, a0), store8(out + i + 8, a1), store8(out + i + 16, a2), store8(out + i + 24, a3);
  }
  for (; i + 8 <= d; i += 8) {
    v8 a = add ? load8(out + i) : v8{};
    for (int64_t k = 0; k < n; ++k) a += w[k] * load8(rows[k] + i);
    store8(out + i, a);
  }
  for (; i < d; ++i) {
    float a = add ? out[i] : 0.f;
    for (int64_t k = 0; k < n; ++k) a += w[k] * rows[k][i];
    out[i] = a;
  }
}

// out = the sum of w * row over the pairs (row, w) that ``each(add)`` passes to ``add(row, w)`` (zeros for none),
// taken a few dozen at a time.
template <class Each>
inline void weighted_sum(Each each, int64_t d, float* out) {
  constexpr int64_t kGather = 64;
  const float* rows[kGather];
  float w[kGather];
  int64_t m = 0;
  bool add = false;
  each([&](const float* row, float weight) {
    rows[m] = row, w[m] = weight;
    if (++m == kGather) weighted_sum_of(rows, w, m, d, out, add), add = true, m = 0;
  });
  if (m || !add) weighted_sum_of(rows, w, m, d, out, add);
}

// e^x for x <= 0, within 2 float roundings of libm's expf (Cephes' expf: x = n ln2 + r, a degree-7 polynomial
// in r, n added to the exponent bits). 0 below -87, where e^x leaves the normal floats.
inline float exp_nonpositive(float x) {
  const bool tiny = x < -87.f;
  x = tiny ? -87.f : x;
  const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln 2 in two parts, for an exact first one
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-126, 0]
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return tiny ? 0.f : p * scale;
}

// log(1 + y) for y in [0, 1]: 2 atanh(s) with s = y / (2 + y) <= 1/3, whose series' terms fall 9x each (seven
// terms: relative error below 2e-8). Exact for small y, where 1 + y would lose y's digits.
inline float log1p_unit(float y) {
  const float s = y / (2.f + y), z = s * s;
  float p = 1.f / 13;
  p = p * z + 1.f / 11;
  p = p * z + 1.f / 9;
  p = p * z + 1.f / 7;
  p = p * z + 1.f / 5;
  p = p * z + 1.f / 3;
  p = p * z + 1.f;
  return 2.f * s * p;
}

// softplus(x) = log(1 + e^x), and its derivative sigmoid(x) = 1 / (1 + e^-x), from one exponential. For |x| > 60
// e^-|x| is taken as 0 (an error below 1e-26): gradients of 1e-30 times a table's entries would be denormal
// numbers, each of which costs the processor a hundred cycles.
inline void softplus_sigmoid(float x, float* softplus, float* sigmoid) {
  const float a = x < 0 ? -x : x;
  const float e = a > 60.f ? 0.f : exp_nonpositive(-a);  // e^-|x|: never overflows
  *softplus = (x > 0 ? x : 0.f) + log1p_unit(e);
  const float q = 1.f / (1.f + e);
  *sigmoid = x >= 0 ? q : e * q;
}

}  // namespace zoo

#endif  // ZOO_OPS_VEC_H_
