// Helpers for operators that read embedding rows by id and write the tables' gradients themselves.
#ifndef ZOO_OPS_ROWS_H_
#define ZOO_OPS_ROWS_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <vector>

#include "common.h"

namespace zoo {

// Rows are read in the examples' random order; asking for a row this many examples ahead hides most of the trip
// to memory.
constexpr int64_t kAhead = 8;

// kWrite: the row is about to be written, so the line is fetched for owning, not for sharing
template <int kWrite = 0>
inline void prefetch_row(const float* row, int64_t d) {
  for (int64_t j = 0; j < d; j += 16) __builtin_prefetch(row + j, kWrite);  // 16 floats: one 64-byte cache line
}

// The first out-of-range id of ``ids``, or -1 when every id is in [0, num_rows).
inline int64_t bad_id(const int32_t* ids, int64_t n, int64_t num_rows) {
  for (int64_t k = 0; k < n; ++k)
    if (ids[k] < 0 || ids[k] >= num_rows) return k;
  return -1;
}

// MX_SUCCESS when every user id is a row of the user table and every item id one of the item table, else
// MX_FAIL with the first bad id named (its example and the table's range) in op's message.
inline MXReturnValue check_rating_ids(const char* op, const int32_t* users, const int32_t* items, int64_t n,
                                      int64_t num_users, int64_t num_items) {
  for (auto [ids, rows, what] :
       {std::make_tuple(users, num_users, "user"), std::make_tuple(items, num_items, "item")}) {
    const int64_t k = bad_id(ids, n, rows);
    if (k >= 0) {
      MX_ERROR_MSG << op << ": " << what << " id " << ids[k] << " (example " << k << ") is outside [0, " << rows << ")";
      return MX_FAIL;
    }
  }
  return MX_SUCCESS;
}

// The rows of one table that a training step's examples use (the multi-step kernels): slot[id] is the id's place
// among them (-1: unused), and each place holds the row's summed gradient, its bias's, and a scalar the kernel sums
// as it needs (zoo_mf_adam_steps: the penalty's weight). forget() once the step's update has read them.
struct StepRows {
  std::vector<int32_t> slot, ids;
  std::vector<float> grad, bias_grad, weight;
  StepRows(int64_t num_rows, int64_t batch, int64_t d)
      : slot(num_rows, -1), grad(batch * d), bias_grad(batch), weight(batch) {
    ids.reserve(batch);
  }
  inline int32_t place(int32_t id, int64_t d) {
    if (slot[id] < 0) {
      slot[id] = static_cast<int32_t>(ids.size());
      ids.push_back(id);
      std::fill(grad.begin() + slot[id] * d, grad.begin() + (slot[id] + 1) * d, 0.f);
      bias_grad[slot[id]] = weight[slot[id]] = 0;
    }
    return slot[id];
  }
  void forget() {
    for (int32_t id : ids) slot[id] = -1;
    ids.clear();
  }
};

// The gradient contributions to one table, grouped by the row they go to (a counting sort): the rows used, in
// increasing order (as row_sparse arrays list them), and each row's records stored contiguously, so a row's
// gradient is summed in one place and written once, reading its records in sequence.
template <class Record>
struct Grouped {
  std::vector<int64_t> rows;      // the distinct rows, sorted
  std::vector<int32_t> start;     // the records of row r are [start[r], start[r + 1]), for every row of the table
  std::vector<Record> records;    // grouped by row
};

// Groups the records ``make(k)``, k < n, by row ``key(k)``, on ``num_threads`` threads: each counts and then
// places the records of its share of k, so a row's records come in the order of k whatever the thread count.
// Cheap next to the gradient it orders: the counters fit in the cache, and each record is written once.
template <class Record, class Key, class Make>
Grouped<Record> group_by_row(int64_t n, int64_t num_rows, Key key, Make make, int num_threads) {
  Grouped<Record> out;
  out.start.assign(num_rows + 1, 0);
  out.records.resize(n);
  // next[t * num_rows + row]: where thread t puts its next record of ``row``; first its count of them.
  std::vector<int32_t> next(static_cast<size_t>(num_threads) * num_rows, 0);
#pragma omp parallel num_threads(num_threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
    int32_t* mine = next.data() + t * num_rows;
    for (int64_t k = lo; k < hi; ++k) ++mine[key(k)];
#pragma omp barrier
#pragma omp single
    for (int64_t row = 0; row < num_rows; ++row) {
      int32_t at = out.start[row];
      for (int u = 0; u < nt; ++u) std::swap(at, next[u * num_rows + row]), at += next[u * num_rows + row];
      if (at != out.start[row]) out.rows.push_back(row);
      out.start[row + 1] = at;
    }
    for (int64_t k = lo; k < hi; ++k) out.records[mine[key(k)]++] = make(k);
  }
  return out;
}

// Whether an operator on tables writes row_sparse gradients (attribute sparse_grad, default 1).
inline bool sparse_grad(const Attrs& attrs) { return attr(attrs, "sparse_grad", 1) != 0; }

// The storage for a table's gradient, output ``index`` of a backward pass: the dense table, zeroed whole, or a
// row_sparse array over ``rows`` (sorted), whose rows the caller then writes whole.
inline float* table_gradient_output(std::vector<MXTensor>* out, int index, const std::vector<int64_t>& rows,
                                    bool dense, const OpResource& res) {
  MXTensor& t = (*out)[index];
  if (dense) {
    std::memset(t.data<float>(), 0, sizeof(float) * t.size());
    return t.data<float>();
  }
  MXSparse* s = t.data<MXSparse>();
  res.alloc_sparse(s, index, rows.size());
  std::copy(rows.begin(), rows.end(), s->indices);
  return static_cast<float*>(s->data);
}

// The gradient of an input of ids, which has none: zeros.
inline void zero_ids_gradient(MXTensor* t) { std::memset(t->data<int32_t>(), 0, sizeof(int32_t) * t->size()); }

// inferType of an operator on tables: inputs [0, num_ids) are int32 ids, the others float32; outputs float32.
inline MXReturnValue ids_then_floats(const char* op, size_t num_ids, std::vector<int>* in, std::vector<int>* out) {
  for (size_t k = 0; k < in->size(); ++k) {
    const int want = k < num_ids ? mxnet::ext::kInt32 : mxnet::ext::kFloat32;
    if ((*in)[k] != want) {
      MX_ERROR_MSG << op << ": input " << k << " must be " << (k < num_ids ? "int32" : "float32");
      return MX_FAIL;
    }
  }
  for (int& t : *out) t = mxnet::ext::kFloat32;
  return MX_SUCCESS;
}

// inferType and inferSType of an operator `op` (a string) on dense arrays whose first `num_ids` inputs are int32 ids
// and the others float32, as the training-step operators take them.
#define ZOO_DENSE_IDS_THEN_FLOATS(op, num_ids)                                                      \
  MXReturnValue inferType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {        \
    return zoo::ids_then_floats(op, num_ids, in, out);                                              \
  }                                                                                                 \
  MXReturnValue inferSType(const Attrs& attrs, std::vector<int>* in, std::vector<int>* out) {       \
    return zoo::dense_only(op, in, out);                                                            \
  }

// inferSType of an operator on tables, called for its forward pass (num_inputs inputs) and its backward pass
// (more inputs; one output per forward input, its gradient). Every input is dense; the gradients of the tables,
// inputs [first_table, last_table], are row_sparse when ``sparse``, as Embedding(sparse_grad=True) makes them.
inline MXReturnValue table_gradients_stype(const char* op, size_t num_inputs, size_t first_table,
                                           size_t last_table, bool sparse, std::vector<int>* in,
                                           std::vector<int>* out) {
  if (dense_only(op, in, out) != MX_SUCCESS) return MX_FAIL;
  const bool backward = in->size() != num_inputs;
  for (size_t k = 0; k < out->size(); ++k) {
    const bool table = backward && k >= first_table && k <= last_table;
    (*out)[k] = table && sparse ? mxnet::ext::kRowSparseStorage : mxnet::ext::kDefaultStorage;
  }
  return MX_SUCCESS;
}

}  // namespace zoo

#endif  // ZOO_OPS_ROWS_H_
