"""numpy helpers for the data and evaluation code, run by zoo's C++ library (``batches.cc``, ``topk.cc``) when it
loads, by numpy otherwise: an epoch's random order, a batch's rows, draws from a distribution in alias form, and
the best-scored columns of each row. Same arguments and results either way. Also :func:`as_ndarray`, which hands
any batch array (numpy or :class:`~zoo.rows.SparseRows`) to MXNet."""
import numpy as np

from .. import ops  # ops.load, looked up at each call (tests switch it off)
from ..rows import SharedRows, SparseRows


def permutation(n, rng):
    """A uniformly random order of ``range(n)`` drawn from the numpy Generator ``rng``: int32 from zoo's C++
    code (``batches.cc``: sequential passes and in-cache shuffles) when it is loaded, else ``rng.permutation``."""
    seed = int(rng.integers(0, 2 ** 63))
    if n <= np.iinfo(np.int32).max and ops.load():
        order = np.empty(n, dtype=np.int32)
        if ops.library().zoo_permutation(order.ctypes.data, n, seed) == 0:
            return order
    return rng.permutation(n)


def take(a, rows):
    """``a[rows]``: the rows of numpy array ``a`` (along its first axis) that the index array ``rows`` names.
    zoo's C++ gather (``batches.cc``, rows asked for ahead) does it when loaded, for a C-contiguous
    ``a`` and int32 ``rows`` such as :func:`permutation` gives; numpy does it otherwise."""
    if not (rows.dtype == np.int32 and rows.ndim == 1 and a.ndim >= 1 and a.flags.c_contiguous and ops.load()):
        return a[rows]
    rows = np.ascontiguousarray(rows)
    out = np.empty((len(rows),) + a.shape[1:], dtype=a.dtype)
    row_bytes = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    if ops.library().zoo_take(out.ctypes.data, a.ctypes.data, len(a), row_bytes, rows.ctypes.data, len(rows)):
        raise IndexError("a row index is outside [0, %d)" % len(a))
    return out


def grouped_positions(keys, num_keys, rng):
    """Where each example goes when examples are grouped by ``keys`` (int, in ``[0, num_keys)``; groups in
    increasing key order) in a uniformly random order within each group: ``(pos, starts)``, ``pos`` an int32
    permutation (example ``k`` goes to ``pos[k]``, see :func:`scatter`), ``starts`` the ``num_keys + 1`` int64
    bounds of the groups. zoo's C++ code (``batches.cc``: counting passes) when it is loaded, else numpy's stable
    sort of a shuffle; either way seeded from ``rng``."""
    seed = int(rng.integers(0, 2 ** 63))
    keys = np.ascontiguousarray(keys, dtype=np.int32)
    n = len(keys)
    if n and (keys.min() < 0 or keys.max() >= num_keys):
        raise IndexError("a key is outside [0, %d)" % num_keys)
    if n <= np.iinfo(np.int32).max and ops.load():
        pos, starts = np.empty(n, np.int32), np.empty(num_keys + 1, np.int64)
        if ops.library().zoo_grouped_positions(pos.ctypes.data, starts.ctypes.data, keys.ctypes.data, n, num_keys,
                                               seed) == 0:
            return pos, starts
    shuffled = np.random.default_rng(seed).permutation(n)
    order = shuffled[np.argsort(keys[shuffled], kind="stable")]    # the example at each position
    pos = np.empty(n, np.int32)
    pos[order] = np.arange(n, dtype=np.int32)
    starts = np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=num_keys))]).astype(np.int64)
    return pos, starts


def scatter(a, pos):
    """``out`` with ``out[pos] = a`` along the first axis, ``pos`` a permutation (:func:`grouped_positions`):
    zoo's C++ code (sequential reads, one write stream a group) when loaded, for a C-contiguous ``a`` and int32
    ``pos``; numpy otherwise."""
    out = np.empty_like(a)
    if pos.dtype == np.int32 and len(pos) == len(a) and a.flags.c_contiguous and a.ndim >= 1 and ops.load():
        pos = np.ascontiguousarray(pos)
        row_bytes = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
        if ops.library().zoo_scatter(out.ctypes.data, a.ctypes.data, row_bytes, pos.ctypes.data, len(a)):
            raise IndexError("a position is outside [0, %d)" % len(a))
        return out
    out[pos] = a
    return out


def alias_sample(keep, alias, shape, rng):
    """Draws of shape ``shape`` from a distribution in Walker's alias form: column ``j`` uniformly, kept with
    probability ``keep[j]`` (float64), else ``alias[j]`` (int32). zoo's C++ code (``batches.cc``) when it is
    loaded, else numpy; either way seeded from ``rng``."""
    seed = int(rng.integers(0, 2 ** 63))
    if ops.load() and keep.dtype == np.float64 and alias.dtype == np.int32 and len(keep) == len(alias):
        out = np.empty(shape, dtype=np.int32)
        keep, alias = np.ascontiguousarray(keep), np.ascontiguousarray(alias)
        if ops.library().zoo_alias_sample(out.ctypes.data, out.size, keep.ctypes.data, alias.ctypes.data, len(keep),
                                     seed) == 0:
            return out
    column = rng.integers(0, len(keep), shape, dtype=np.int32)
    return np.where(rng.random(shape) < keep[column], column, alias[column]).astype(np.int32)


def top_k(scores, k, exclude=None, allowed=None):
    """The columns of the ``k`` best scores of each row of the 2-D array ``scores``, best first (ties to the lower
    column; NaN counts as -inf): int64 ``(rows, min(k, columns))``, ``-1`` where a row has fewer columns left.
    ``exclude``: CSR ``(indptr, indices)`` over the same rows, columns sorted within a row, that a row leaves out;
    ``allowed``: a boolean ``(columns,)`` mask of the columns that may appear. zoo's C++ code (``topk.cc``: one
    pass over each row, every core, no masked copy) for float32 when it is loaded, else a stable sort by numpy."""
    rows, cols = scores.shape
    k = min(int(k), cols)
    if k < 1:
        return np.zeros((rows, 0), np.int64)
    if exclude is not None:
        indptr, indices = (np.ascontiguousarray(a, dtype=np.int64) for a in exclude)
    if scores.dtype == np.float32 and ops.load():
        scores = np.ascontiguousarray(scores)
        out = np.empty((rows, k), np.int64)
        mask = None if allowed is None else np.ascontiguousarray(allowed, dtype=np.uint8)
        ops.library().zoo_topk(out.ctypes.data, scores.ctypes.data, rows, cols, k,
                               None if exclude is None else indptr.ctypes.data,
                               None if exclude is None else indices.ctypes.data,
                               None if mask is None else mask.ctypes.data)
        return out
    left_out = np.zeros((rows, cols), bool)
    if exclude is not None:
        left_out[np.repeat(np.arange(rows), np.diff(indptr)), indices] = True
    if allowed is not None:
        left_out |= ~np.asarray(allowed, bool)
    key = -np.where(np.isnan(scores), -np.inf, scores)
    order = np.lexsort((key, left_out), axis=1)[:, :k]              # kept columns first, best first, stable
    return np.where(np.take_along_axis(left_out, order, axis=1), -1, order).astype(np.int64)


def as_ndarray(a, ctx=None):
    """An NDArray of the batch array ``a`` (numpy, keeping its dtype, or :class:`SparseRows`, as a CSRNDArray)."""
    import mxnet as mx
    ctx = ctx or mx.cpu()
    if isinstance(a, SparseRows):
        return mx.nd.sparse.csr_matrix((a.values, a.indices, a.indptr), shape=a.shape, ctx=ctx)
    return mx.nd.array(a, ctx=ctx, dtype=a.dtype)


def as_ndarrays(arrays, ctx=None, convert=as_ndarray):
    """The model inputs of the batch arrays ``arrays``, each made an NDArray by ``convert``; a
    :class:`SharedRows` gives two, its distinct rows (a CSRNDArray) and ``which``."""
    out = []
    for a in arrays:
        out.extend([convert(a.unique, ctx), convert(a.which, ctx)] if isinstance(a, SharedRows) else
                   [convert(a, ctx)])
    return out
