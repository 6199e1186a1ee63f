// zoo_random_normal: float32 numbers drawn from N(loc, scale^2), the same from a seed whatever the thread count.
//
// MXNet's sampler (std::normal_distribution on Mersenne twisters) is slow enough that initializing a small data
// set's tables cost more than an epoch of training it (zoo/ops/README.md). Here the output is cut
// into blocks of kBlock numbers and each block draws from a generator of its own, a SplitMix64 sequence (Steele,
// Lea and Flood 2014) whose start is the seed's mix plus the block's number times 2^20 steps, so that no two
// blocks share a state; pairs of normals come from Marsaglia's polar method. The blocks are shared among the
// threads, and the numbers depend on the seed and their place only.
//
// Input: seed (1,) int32, e.g. from MXNet's own generator, so that mx.random.seed repeats the draw.
// Attributes: shape (the output's, as "(rows, cols)"), loc (0), scale (1). Output: float32 of that shape.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"
#include "lib_api.h"

using namespace zoo;  // lib_api's types, Attrs, attr

namespace {  // each source file registers its own functions under these names

constexpr int64_t kBlock = 4096;            // numbers a generator draws: a few microseconds of work
constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ull;  // SplitMix64's increment (odd, so 2^64 steps are distinct)

inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The numbers out[0, n) of one block, from the generator state `state`.
void fill_block(float* out, int64_t n, uint64_t state, float loc, float scale) {
  constexpr float kUnit = 1.0f / (1 << 23);  // 24 bits to a uniform in [-1, 1)
  for (int64_t k = 0; k < n;) {
    const uint64_t bits = mix(state += kGamma);
    const float a = static_cast<float>(bits >> 40) * kUnit - 1;
    const float b = static_cast<float>((bits >> 8) & 0xFFFFFF) * kUnit - 1;
    const float s = a * a + b * b;
    if (s >= 1 || s == 0) continue;  // outside the unit disc (21% of the pairs): draw again
    const float f = std::sqrt(-2 * std::log(s) / s);
    out[k++] = loc + scale * a * f;
    if (k < n) out[k++] = loc + scale * b * f;
  }
}

// The integers of a shape attribute such as "(9724, 128)".
std::vector<int64_t> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  for (size_t i = 0; i < text.size();) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    dims.push_back(std::stoll(text.substr(i), &end));
    i += end;
  }
  return dims;
}

MXReturnValue forward(const Attrs& attrs, std::vector<MXTensor>* in, std::vector<MXTensor>* out,
                      const OpResource& res) {
  const int32_t seed = (*in)[0].data<int32_t>()[0];
  float* y = (*out)[0].data<float>();
  int64_t n = 1;
  for (auto d : (*out)[0].shape) n *= d;
  const float loc = attr(attrs, "loc", 0), scale = attr(attrs, "scale", 1);
  const uint64_t start = mix(static_cast<uint64_t>(static_cast<uint32_t>(seed)) * kGamma + 1);
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(blocks > 1 ? threads() : 1) schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    // a block draws fewer than 2^20 pairs (kBlock / 2 pairs, 1.27 tries each), so blocks 2^20 steps apart never meet
    const uint64_t state = start + static_cast<uint64_t>(b) * (kGamma << 20);
    fill_block(y + b * kBlock, std::min(kBlock, n - b * kBlock), state, loc, scale);
  }
  return MX_SUCCESS;
}

MXReturnValue parseAttrs(const Attrs& attrs, int* num_in, int* num_out) {
  *num_in = 1;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  if ((*in)[0] != mxnet::ext::kInt32) {
    MX_ERROR_MSG << "zoo_random_normal: the seed must be int32";
    return MX_FAIL;
  }
  (*out)[0] = mxnet::ext::kFloat32;
  return MX_SUCCESS;
}

MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {
  return dense_only("zoo_random_normal", in, out);
}

MXReturnValue inferShape(const Attrs& attrs, std::vector<std::vector<unsigned int>>* in,
                         std::vector<std::vector<unsigned int>>* out) {
  auto it = attrs.find("shape");
  const std::vector<int64_t> dims = it == attrs.end() ? std::vector<int64_t>() : parse_shape(it->second);
  if ((*in)[0] != std::vector<unsigned int>{1} || dims.empty()) {
    MX_ERROR_MSG << "zoo_random_normal: expected a seed of shape (1,) and a shape attribute such as (rows, cols)";
    return MX_FAIL;
  }
  (*out)[0].assign(dims.begin(), dims.end());
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(zoo_random_normal)
    .setForward(forward, "cpu")
    .setParseAttrs(parseAttrs)
    .setInferType(inferType)
    .setInferSType(inferSType)
    .setInferShape(inferShape);
