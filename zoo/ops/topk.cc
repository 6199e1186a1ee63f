// zoo_topk: the k best-scored columns of each row of a float32 matrix, for the evaluation layer (ranking
// metrics over a whole catalog), leaving out the columns a row excludes (a user's training positives) and those
// outside an allowed set (the catalog). One pass over a row keeps a heap of its k best so far; nearly every score
// is rejected by one comparison with the heap's worst, so a row costs about one read of it, and no masked copy
// of the scores is made (numpy would write one, then partition it).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "common.h"

namespace {

using Entry = std::pair<float, int64_t>;  // (score, column)

// a ranks before b: a higher score, ties to the lower column.
inline bool better(const Entry& a, const Entry& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

// out (rows, k) int64: row r's best columns, best first, -1 where a row has fewer than k columns left.
// excluded_ptr (rows + 1) and excluded (sorted within each row) name the columns each row leaves out, or are
// null; allowed (cols) of 0/1 bytes, or null for every column. NaN counts as -inf. Returns 0.
extern "C" int zoo_topk(int64_t* out, const float* scores, int64_t rows, int64_t cols, int64_t k,
                        const int64_t* excluded_ptr, const int64_t* excluded, const uint8_t* allowed) {
#pragma omp parallel for num_threads(zoo::threads()) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* s = scores + r * cols;
    int64_t e = excluded_ptr ? excluded_ptr[r] : 0;
    const int64_t e_end = excluded_ptr ? excluded_ptr[r + 1] : 0;
    std::vector<Entry> heap;  // with `better` as the order, front() is the worst of those kept
    heap.reserve(k);
    for (int64_t c = 0; c < cols; ++c) {
      if (heap.size() == static_cast<size_t>(k) && !(s[c] > heap.front().first)) continue;  // later columns lose ties
      if (allowed && !allowed[c]) continue;
      while (e < e_end && excluded[e] < c) ++e;
      if (e < e_end && excluded[e] == c) continue;
      const Entry entry(s[c] == s[c] ? s[c] : -INFINITY, c);
      if (heap.size() < static_cast<size_t>(k)) {
        heap.push_back(entry);
        std::push_heap(heap.begin(), heap.end(), better);
      } else {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.back() = entry;
        std::push_heap(heap.begin(), heap.end(), better);
      }
    }
    std::sort_heap(heap.begin(), heap.end(), better);  // best first
    for (int64_t j = 0; j < k; ++j) out[r * k + j] = j < static_cast<int64_t>(heap.size()) ? heap[j].second : -1;
  }
  return 0;
}
