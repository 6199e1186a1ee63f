"""Batches by index slicing of numpy arrays: one gather per epoch, then views (no per-example Python)."""


def iterate_batches(arrays, batch_size, rng=None):
    """Yield tuples of ``batch_size`` rows (the last may be shorter), in a random order when ``rng`` is given."""
    n = len(arrays[0])
    if rng is not None:
        perm = rng.permutation(n)
        arrays = [a[perm] for a in arrays]
    for start in range(0, n, batch_size):
        yield tuple(a[start:start + batch_size] for a in arrays)
