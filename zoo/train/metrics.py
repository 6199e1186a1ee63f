"""Metrics computed over a whole split, never as an average of per-batch values.

``mx.metric.RMSE`` averages per-batch RMSEs, which is not the RMSE of the split; these functions take all
predictions at once.
"""
import numpy as np


def regression_metrics(pred, target):
    """``{"rmse": sqrt(sum((pred - target)^2) / N), "mae": sum|pred - target| / N, "n": N}``."""
    err = np.asarray(pred, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    n = err.size
    return {"rmse": float(np.sqrt(np.dot(err, err) / n)), "mae": float(np.abs(err).sum() / n), "n": int(n)}
