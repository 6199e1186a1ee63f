"""Each user's items as a compact sorted list (CSR), for ranking data and metrics."""
import numpy as np


def positives(users, items, num_users):
    """Each user's items as CSR ``(indptr, indices)``: ``indices[indptr[u]:indptr[u + 1]]``, sorted, unique."""
    users, items = np.asarray(users, np.int64), np.asarray(items, np.int64)
    pairs = np.unique(users * (items.max(initial=0) + 1) + items)  # sorted by user, then item, duplicates merged
    width = items.max(initial=0) + 1
    u, i = pairs // width, pairs % width
    indptr = np.zeros(num_users + 1, np.int64)
    np.add.at(indptr, u + 1, 1)
    return np.cumsum(indptr), i


def entries(csr, rows):
    """The entries of the CSR rows ``rows`` (in that order): ``(row_of, indices)``, ``row_of[n]`` the position in
    ``rows`` of entry ``n``. No Python loop over rows."""
    indptr, indices = csr
    counts = indptr[rows + 1] - indptr[rows]
    row_of = np.repeat(np.arange(len(rows)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return row_of, indices[np.repeat(indptr[rows], counts) + offsets]


def select_rows(csr, rows):
    """The CSR ``(indptr, indices)`` of the rows ``rows`` of ``csr``, in that order."""
    indptr, _ = csr
    counts = indptr[rows + 1] - indptr[rows]
    return np.concatenate([[0], np.cumsum(counts)]), entries(csr, rows)[1]


def weighted_selection(csr, rows, num_cols):
    """:class:`~zoo.rows.SparseRows` of the CSR rows ``rows`` (in that order), each row's entries weighted
    ``1 / sqrt(count)``: ``weighted_rows(len(rows), *entries(csr, rows), num_cols)`` in fewer passes (it runs for
    every batch of SVD++ and of ``ranking_mf`` with ``data.history``)."""
    from ..rows import SparseRows
    indptr, indices = csr
    starts = indptr[rows]
    counts = indptr[rows + 1] - starts
    ends = np.cumsum(counts)
    at = np.repeat(starts - (ends - counts), counts) + np.arange(ends[-1] if len(ends) else 0)
    weights = (1.0 / np.sqrt(np.maximum(counts, 1))).astype(np.float32)
    return SparseRows(np.concatenate([[0], ends]), indices[at], np.repeat(weights, counts), num_cols)


def weighted_rows(n, row_of, items, num_cols):
    """:class:`~zoo.rows.SparseRows` ``(n, num_cols)``: row ``r`` holds the ``items`` whose ``row_of`` is ``r``
    (``row_of`` ascending, as :func:`entries` gives them), each weighted ``1 / sqrt(count)``: SVD++'s
    ``|N(u)|^-1/2``."""
    from ..rows import SparseRows
    counts = np.bincount(row_of, minlength=n)
    return SparseRows(np.concatenate([[0], np.cumsum(counts)]), items,
                      (1.0 / np.sqrt(np.maximum(counts, 1)))[row_of], num_cols)


def implicit_feedback(users, items, ratings, splits, num_users, num_items, threshold):
    """MovieLens-style ratings read as implicit feedback: ``(liked, candidates, positives)``: for each split the
    rows whose rating is at least ``threshold``, the catalog (a boolean ``(num_items,)`` mask of the items of the
    training part, whatever their ratings) and each split's positives as CSR (:func:`positives`)."""
    liked = {name: idx[ratings[idx] >= threshold] for name, idx in splits.items()}
    candidates = np.zeros(num_items, bool)
    candidates[items[splits["train"]]] = True
    return liked, candidates, {name: positives(users[idx], items[idx], num_users) for name, idx in liked.items()}
