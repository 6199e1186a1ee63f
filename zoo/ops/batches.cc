// Plain C functions for making batches, called from Python through ctypes (zoo.ops.arrays: permutation, take,
// alias_sample). Timings: zoo/ops/README.md.
//
// zoo_permutation: a uniformly random permutation of 0 .. n-1, for shuffling a data set each epoch.
// numpy's permutation swaps across the whole array, one trip to memory per element. This one sends every element to one of 256 buckets at random
// (a counting sort: sequential passes), then shuffles each bucket, which fits in the cache. That is still a
// uniform permutation: bucket sizes are multinomial, and a given order arises from exactly one assignment of
// elements to buckets (probability 256^-n) followed by the one right shuffle of each bucket (1 / prod n_b!),
// which summed over the bucket sizes gives 1 / n!.
//
// zoo_take: the rows of a batch gathered from the data set's arrays (numpy's a[rows] waits for each row's trip
// to memory; here the rows are asked for ahead).
//
// zoo_alias_sample: draws from a discrete distribution in alias form, for skip-gram's negatives.
//
// zoo_grouped_positions, zoo_scatter: a data set reordered once so that examples come grouped by a key (e.g. the
// tile of a rating matrix they fall in), in random order within a group: counting passes and writes into one
// sequential stream a group, where a gather by a sorted order would wait on memory for every row.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common.h"

namespace {

// splitmix64: a small, fast generator whose outputs pass BigCrush; each bucket gets its own stream.
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) (Lemire's multiply-shift with rejection, so no modulo bias).
  uint32_t below(uint32_t bound) {
    uint64_t m = static_cast<uint64_t>(static_cast<uint32_t>(next())) * bound;
    if (static_cast<uint32_t>(m) < bound) {
      const uint32_t floor = static_cast<uint32_t>(-bound) % bound;
      while (static_cast<uint32_t>(m) < floor) m = static_cast<uint64_t>(static_cast<uint32_t>(next())) * bound;
    }
    return static_cast<uint32_t>(m >> 32);
  }
};

constexpr int kBuckets = 256, kChunks = 16;

// Threads for a pass over n elements: one below 2^18, where waking the others (OMP_WAIT_POLICY=PASSIVE) costs
// more than they save. The results never depend on it.
int threads_for(int64_t n) { return n < (int64_t{1} << 18) ? 1 : zoo::threads(); }

}  // namespace

extern "C" int zoo_permutation(int32_t* out, int64_t n, uint64_t seed) {
  if (n < 0 || n > INT32_MAX) return 1;
  // The elements are dealt in kChunks fixed ranges, each with its own random stream, so the threads can share
  // the work and the result is the same for any number of threads.
  std::vector<uint8_t> bucket(n);
  std::vector<int64_t> count(kChunks * kBuckets, 0);  // count[c * kBuckets + b]: chunk c's elements in bucket b
#pragma omp parallel for num_threads(threads_for(n))
  for (int c = 0; c < kChunks; ++c) {
    SplitMix64 rng{seed ^ (0x9E6C63D0676A9A99ull * (c + 1))};
    for (int64_t i = n * c / kChunks; i < n * (c + 1) / kChunks; ++i) {
      bucket[i] = static_cast<uint8_t>(rng.next() >> 56);
      ++count[c * kBuckets + bucket[i]];
    }
  }
  std::vector<int64_t> start(kBuckets + 1, 0), next(kChunks * kBuckets);  // next: where chunk c writes bucket b
  for (int b = 0; b < kBuckets; ++b) {
    int64_t at = start[b];
    for (int c = 0; c < kChunks; ++c) {
      next[c * kBuckets + b] = at;
      at += count[c * kBuckets + b];
    }
    start[b + 1] = at;
  }
#pragma omp parallel for num_threads(threads_for(n))
  for (int c = 0; c < kChunks; ++c) {
    int64_t* where = next.data() + c * kBuckets;
    for (int64_t i = n * c / kChunks; i < n * (c + 1) / kChunks; ++i) out[where[bucket[i]]++] = static_cast<int32_t>(i);
  }
#pragma omp parallel for num_threads(threads_for(n)) schedule(dynamic)
  for (int b = 0; b < kBuckets; ++b) {
    SplitMix64 rng{seed ^ (0xD1B54A32D192ED03ull * (b + 1))};
    int32_t* first = out + start[b];
    for (int64_t i = start[b + 1] - start[b] - 1; i > 0; --i)  // Fisher-Yates within the bucket
      std::swap(first[i], first[rng.below(static_cast<uint32_t>(i + 1))]);
  }
  return 0;
}

// dst[i] = src[rows[i]] for rows of row_bytes bytes; 0, or 1 when a row is outside [0, num_rows).
extern "C" int zoo_take(char* dst, const char* src, int64_t num_rows, int64_t row_bytes, const int32_t* rows,
                        int64_t n) {
  constexpr int64_t ahead = 16;
  int bad = 0;
#pragma omp parallel for num_threads(threads_for(n)) reduction(| : bad)
  for (int64_t i = 0; i < n; ++i) {
    if (i + ahead < n && rows[i + ahead] >= 0 && rows[i + ahead] < num_rows)
      __builtin_prefetch(src + rows[i + ahead] * row_bytes);
    if (rows[i] < 0 || rows[i] >= num_rows) {
      bad = 1;
      continue;
    }
    const char* from = src + rows[i] * row_bytes;
    char* to = dst + i * row_bytes;
    switch (row_bytes) {  // the common widths as one load and store, not a call to memcpy
      case 4: *reinterpret_cast<uint32_t*>(to) = *reinterpret_cast<const uint32_t*>(from); break;
      case 8: *reinterpret_cast<uint64_t*>(to) = *reinterpret_cast<const uint64_t*>(from); break;
      default: std::memcpy(to, from, row_bytes);
    }
  }
  return bad;
}

// n draws from a discrete distribution in Walker's alias form (``keep``, ``alias`` over ``size`` columns): column j
// uniformly, kept with probability keep[j], else alias[j]: skip-gram's negatives. The draws are dealt in fixed ranges, each with its own stream, so the result
// is the same for any number of threads. 0, or 1 for a bad argument.
extern "C" int zoo_alias_sample(int32_t* out, int64_t n, const double* keep, const int32_t* alias, int64_t size,
                                uint64_t seed) {
  if (n < 0 || size <= 0 || size > INT32_MAX) return 1;
  constexpr int64_t kRange = 4096;
  const int64_t ranges = (n + kRange - 1) / kRange;
#pragma omp parallel for num_threads(threads_for(n))
  for (int64_t c = 0; c < ranges; ++c) {
    SplitMix64 rng{seed ^ (0x9E6C63D0676A9A99ull * (c + 1))};
    for (int64_t i = c * kRange; i < std::min(n, (c + 1) * kRange); ++i) {
      const uint32_t column = rng.below(static_cast<uint32_t>(size));
      const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
      out[i] = u < keep[column] ? static_cast<int32_t>(column) : alias[column];
    }
  }
  return 0;
}

// Where each of n examples goes when they are grouped by key (groups in increasing key order), in a uniformly
// random order within each group: pos is a permutation of 0 .. n-1, example k going to pos[k]; starts
// (num_keys + 1) receives the groups' bounds. 0, or 1 for a key outside [0, num_keys).
extern "C" int zoo_grouped_positions(int32_t* pos, int64_t* starts, const int32_t* keys, int64_t n,
                                     int64_t num_keys, uint64_t seed) {
  if (n < 0 || n > INT32_MAX || num_keys <= 0) return 1;
  std::vector<int64_t> next(num_keys + 1, 0);
  for (int64_t k = 0; k < n; ++k) {
    if (keys[k] < 0 || keys[k] >= num_keys) return 1;
    ++next[keys[k] + 1];
  }
  for (int64_t g = 0; g < num_keys; ++g) next[g + 1] += next[g];
  std::copy(next.begin(), next.end(), starts);
  // slots[starts[g] + j]: where, within group g, its j-th example goes: a shuffle of 0 .. size - 1 a group
  // (each group its own stream, so the result does not depend on the thread count).
  std::vector<int32_t> slots(n);
#pragma omp parallel for num_threads(threads_for(n)) schedule(dynamic, 16)
  for (int64_t g = 0; g < num_keys; ++g) {
    SplitMix64 rng{seed ^ (0xD1B54A32D192ED03ull * (g + 1))};
    int32_t* first = slots.data() + starts[g];
    const int64_t size = starts[g + 1] - starts[g];
    for (int64_t i = 0; i < size; ++i) first[i] = static_cast<int32_t>(i);
    for (int64_t i = size - 1; i > 0; --i) std::swap(first[i], first[rng.below(static_cast<uint32_t>(i + 1))]);
  }
  for (int64_t k = 0; k < n; ++k) {
    const int64_t g = keys[k];
    pos[k] = static_cast<int32_t>(starts[g] + slots[next[g]++]);
  }
  return 0;
}

// dst[pos[i]] = src[i] for rows of row_bytes bytes, pos a permutation of 0 .. n-1 (each row written once, so the
// threads never share one); 0, or 1 when a position is outside [0, n).
extern "C" int zoo_scatter(char* dst, const char* src, int64_t row_bytes, const int32_t* pos, int64_t n) {
  int bad = 0;
#pragma omp parallel for num_threads(threads_for(n)) reduction(| : bad)
  for (int64_t i = 0; i < n; ++i) {
    if (pos[i] < 0 || pos[i] >= n) {
      bad = 1;
      continue;
    }
    const char* from = src + i * row_bytes;
    char* to = dst + pos[i] * row_bytes;
    switch (row_bytes) {
      case 4: *reinterpret_cast<uint32_t*>(to) = *reinterpret_cast<const uint32_t*>(from); break;
      case 8: *reinterpret_cast<uint64_t*>(to) = *reinterpret_cast<const uint64_t*>(from); break;
      default: std::memcpy(to, from, row_bytes);
    }
  }
  return bad;
}
