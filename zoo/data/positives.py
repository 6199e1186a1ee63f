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
