"""numpy helpers for the data code, run by zoo's C++ library (``batches.cc``) when it loads, by numpy otherwise:
an epoch's random order, a batch's rows, and draws from a distribution in alias form. Same arguments and
distributions either way."""
import numpy as np

from .. import ops  # ops.load, looked up at each call (tests switch it off)


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


def alias_sample(keep, alias, shape, rng):
    """Draws of shape ``shape`` from a distribution in Walker's alias form: column ``j`` uniformly, kept with
    probability ``keep[j]`` (float64), else ``alias[j]`` (int32). zoo's C++ code (``batches.cc``) when it is loaded, else numpy; either way seeded from ``rng``."""
    seed = int(rng.integers(0, 2 ** 63))
    if ops.load() and keep.dtype == np.float64 and alias.dtype == np.int32 and len(keep) == len(alias):
        out = np.empty(shape, dtype=np.int32)
        keep, alias = np.ascontiguousarray(keep), np.ascontiguousarray(alias)
        if ops.library().zoo_alias_sample(out.ctypes.data, out.size, keep.ctypes.data, alias.ctypes.data, len(keep),
                                     seed) == 0:
            return out
    column = rng.integers(0, len(keep), shape, dtype=np.int32)
    return np.where(rng.random(shape) < keep[column], column, alias[column]).astype(np.int32)
