"""Forward passes over whole arrays, in batches, for evaluation and queries (no autograd)."""
import mxnet as mx
import numpy as np


def predict(model, arrays, device, batch_size=65536):
    """``model(*batch)`` over numpy input arrays, concatenated into one numpy array."""
    outputs = []
    n = len(arrays[0])
    for start in range(0, n, batch_size):
        batch = [mx.nd.array(a[start:start + batch_size], ctx=device, dtype=a.dtype) for a in arrays]
        outputs.append(model(*batch).asnumpy())
    return np.concatenate(outputs) if outputs else np.zeros(0, np.float32)

