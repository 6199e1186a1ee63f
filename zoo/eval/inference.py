"""Forward passes over whole arrays, in batches, for evaluation and queries (no autograd)."""
import numpy as np

from ..ops.arrays import as_ndarrays


def predict(model, arrays, device, batch_size=65536):
    """``model(*batch)`` over input arrays (numpy, :class:`~zoo.rows.SparseRows` or
    :class:`~zoo.rows.SharedRows`), concatenated into one numpy array."""
    outputs = []
    n = len(arrays[0])
    for start in range(0, n, batch_size):
        batch = as_ndarrays([a[start:start + batch_size] for a in arrays], device)
        outputs.append(model(*batch).asnumpy())
    if len(outputs) == 1:
        return outputs[0]  # already a new array: no copy of what may be a whole catalog's scores
    return np.concatenate(outputs) if outputs else np.zeros(0, np.float32)

