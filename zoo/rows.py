"""Sparse rows in CSR form, the sparse arrays a batch may hold; numpy only (the data code imports it without
MXNet; :func:`zoo.ops.arrays.as_ndarrays` hands them to MXNet)."""
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

    def take(self, rows):
        """The rows ``rows`` (integer positions, in that order) as a new :class:`SparseRows`."""
        rows = np.asarray(rows, np.int64)
        counts = self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.concatenate([[0], np.cumsum(counts)])
        at = np.repeat(self.indptr[rows] - indptr[:-1], counts) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[at], self.values[at], self.num_cols)

    def toarray(self):
        out = np.zeros(self.shape, np.float32)
        out[np.repeat(np.arange(len(self)), np.diff(self.indptr)), self.indices] = self.values
        return out


class SharedRows:
    """Rows of a batch whose examples share them (each rating of a user carries that user's rated items): the
    distinct rows once, ``unique`` (:class:`SparseRows`), and each example's position in them, ``which``
    ``(batch,)`` int32. It stands for the ``(batch, num_cols)`` matrix ``unique[which]``: ``len``, row slices
    ``[lo:hi]`` (keeping only the rows the slice uses) and ``toarray`` work as on it, and it reaches the model as
    two arrays, the CSR rows and ``which`` (:func:`~zoo.ops.arrays.as_ndarrays`), so that a product with the rows
    costs the distinct rows' nonzeros, not every example's."""

    def __init__(self, unique, which):
        self.unique, self.which = unique, np.asarray(which, np.int32)
        self.shape, self.dtype = (len(self.which), unique.num_cols), unique.dtype

    @classmethod
    def of(cls, keys, rows_of):
        """Rows for examples with the given ``keys`` (e.g. user ids): ``rows_of(distinct_keys)`` -> their
        :class:`SparseRows`, computed once a distinct key."""
        distinct, which = np.unique(np.asarray(keys), return_inverse=True)
        return cls(rows_of(distinct), which)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        if not isinstance(rows, slice) or rows.step not in (None, 1):
            raise TypeError("SharedRows takes row slices [lo:hi]")
        used, which = np.unique(self.which[rows], return_inverse=True)
        return SharedRows(self.unique.take(used), which)

    def toarray(self):
        return self.unique.toarray()[self.which]
