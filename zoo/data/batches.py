"""Batches by index slicing of numpy arrays: one shuffle per epoch, one gather per batch (no per-example Python)."""
import queue
import threading


GATHER_ROWS = 1 << 16  # rows gathered at a time: small batches are then slices of a gathered piece


def iterate_batches(arrays, batch_size, rng=None):
    """Yield tuples of ``batch_size`` rows (the last may be shorter), in a random order when ``rng`` is given.

    The order is :func:`zoo.ops.permutation` of the rows; the rows are gathered (:func:`zoo.ops.take`) when a batch
    is asked for, a piece of at least ``GATHER_ROWS`` rows at a time (a gather costs about 30 us in Python
    whatever its size, which a batch of 128 would pay for each array), so no shuffled copy of the data is kept,
    and under :func:`prefetch` the gathering overlaps with training."""
    from ..ops.arrays import permutation, take  # imports mxnet, which the data modules otherwise do without
    n = len(arrays[0])
    if rng is None:
        for start in range(0, n, batch_size):
            yield tuple(a[start:start + batch_size] for a in arrays)
        return
    order = permutation(n, rng)
    piece = batch_size * max(1, GATHER_ROWS // batch_size)  # whole batches
    for first in range(0, n, piece):
        gathered = [take(a, order[first:first + piece]) for a in arrays]
        for start in range(0, len(gathered[0]), batch_size):
            yield tuple(g[start:start + batch_size] for g in gathered)


def split_rows(batch, parts, whole=()):
    """``parts`` self-contained sub-batches of ``batch`` (a tuple of arrays with examples along the first axis),
    for one device each: the rows in consecutive, nearly equal slices (as ``np.array_split``), except the arrays
    at the positions ``whole``, which every part gets entire (e.g. negatives shared by the whole batch). A part
    that would be empty is left out."""
    n = len(batch[next(i for i in range(len(batch)) if i not in whole)])
    if parts == 1:  # one device: the batch as it is (this runs every step, and small steps take microseconds)
        return [tuple(batch)] if n else []
    bounds = [n * p // parts for p in range(parts + 1)]
    return [tuple(a if i in whole else a[lo:hi] for i, a in enumerate(batch))
            for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def prefetch(batches, depth=2):
    """Yield the items of ``batches`` while a background thread prepares the next ``depth`` of them: numpy
    releases the GIL in its heavy loops, so making batches (shuffling, skip-gram pairs, negatives) overlaps with
    the training step. An error in the producer is raised here, at the item where it happened."""
    if depth <= 0:
        yield from batches
        return
    items, stop = queue.Queue(maxsize=depth), threading.Event()

    def produce():
        try:
            for item in batches:
                while not stop.is_set():
                    try:
                        items.put((None, item), timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if stop.is_set():
                    return
        except BaseException as err:  # handed to the consumer, which raises it
            items.put((err, None))
            return
        items.put((StopIteration, None))

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            err, item = items.get()
            if err is StopIteration:
                return
            if err is not None:
                raise err
            yield item
    finally:
        stop.set()  # the consumer stopped early (or finished): let the producer end
        thread.join()
