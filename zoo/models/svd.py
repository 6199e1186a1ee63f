"""A truncated SVD of a sparse 0/1 matrix given as CSR rows, in numpy (randomized, Halko et al. 2011), for
warm-starting item tables: its cost is a few products of the matrix with thin dense ones, so it fits catalogs
far larger than a dense copy would."""
import numpy as np


class CSR:
    """A 0/1 matrix of shape ``(len(indptr) - 1, num_cols)`` whose row ``r`` has ones at
    ``indices[indptr[r]:indptr[r + 1]]``; ``self @ m`` and ``self.T_at(m)`` multiply it with dense matrices."""

    def __init__(self, indptr, indices, num_cols):
        self.indptr, self.indices, self.num_cols = np.asarray(indptr), np.asarray(indices), num_cols
        self.rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        self.by_col = np.argsort(self.indices, kind="stable")
        self.col_ptr = np.searchsorted(self.indices[self.by_col], np.arange(num_cols + 1))

    @staticmethod
    def _row_sums(values, ptr):
        """Sums of ``values`` (n, k) over the consecutive slices ``ptr`` names (empty slices give 0)."""
        out = np.zeros((len(ptr) - 1, values.shape[1]), values.dtype)
        full = np.flatnonzero(np.diff(ptr) > 0)
        if len(full):
            out[full] = np.add.reduceat(values, ptr[full], axis=0)
        return out

    def __matmul__(self, m):   # (rows, k)
        return self._row_sums(m[self.indices], self.indptr)

    def T_at(self, m):         # (num_cols, k): the transpose times m
        return self._row_sums(m[self.rows[self.by_col]], self.col_ptr)


def top_right_singular_vectors(matrix, k, seed=0, oversample=10, power_iterations=2):
    """The ``k`` leading right singular vectors of ``matrix`` (a :class:`CSR`), as columns ``(num_cols, k)``,
    each with the sign that makes its largest entry positive (so the result does not depend on the solver).
    float32 throughout: a starting point for training needs no more."""
    rng = np.random.default_rng(seed)
    width = min(k + oversample, matrix.num_cols, len(matrix.indptr) - 1)
    q, _ = np.linalg.qr(matrix @ rng.standard_normal((matrix.num_cols, width), dtype=np.float32))
    for _ in range(power_iterations):  # sharpen the spectrum: the leading subspace separates from the rest
        q, _ = np.linalg.qr(matrix.T_at(q))
        q, _ = np.linalg.qr(matrix @ q)
    b = matrix.T_at(q).T                                   # Q^T X, (width, num_cols)
    # its right singular vectors from the small Gram matrix (an SVD of the wide b costs 50x more)
    s2, u = np.linalg.eigh(b @ b.T)                        # ascending
    top = np.argsort(s2)[::-1][:k]
    v = (b.T @ u[:, top]) / np.sqrt(np.maximum(s2[top], 1e-12))
    flip = np.sign(v[np.abs(v).argmax(axis=0), np.arange(v.shape[1])])
    return v * np.where(flip == 0, 1.0, flip)
