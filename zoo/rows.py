"""Sparse rows in CSR form, the one sparse array a batch may hold; numpy only (the data code imports it without
MXNet; :func:`zoo.ops.arrays.as_ndarray` hands it to MXNet)."""
import numpy as np


class SparseRows:
    """Rows of a float32 matrix ``(len(indptr) - 1, num_cols)`` in CSR form, for batch arrays that are mostly
    zeros (a user's liked items among a catalog): row ``r`` has ``values[indptr[r]:indptr[r + 1]]`` in the
    columns ``indices[...]``. ``len`` and row slices ``[lo:hi]`` work as on a numpy array (so batches split
    across devices); :func:`as_ndarray` makes it a ``CSRNDArray``, which ``F.sparse.dot`` multiplies at the cost
    of its nonzeros."""

    def __init__(self, indptr, indices, values, num_cols):
        self.indptr = np.asarray(indptr, np.int64)
        self.indices, self.values = np.asarray(indices, np.int64), np.asarray(values, np.float32)
        self.num_cols = int(num_cols)
        self.shape, self.dtype = (len(self.indptr) - 1, self.num_cols), np.dtype(np.float32)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("SparseRows takes row slices [lo:hi]")
        lo, hi, _ = rows.indices(len(self))
        hi = max(lo, hi)
        a, b = self.indptr[lo], self.indptr[hi]
        return SparseRows(self.indptr[lo:hi + 1] - a, self.indices[a:b], self.values[a:b], self.num_cols)

    def toarray(self):
        out = np.zeros(self.shape, np.float32)
        out[np.repeat(np.arange(len(self)), np.diff(self.indptr)), self.indices] = self.values
        return out
