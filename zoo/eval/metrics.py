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


def spearman(x, y):
    """Spearman's rank correlation, ties given their average rank."""
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denom) if denom else float("nan")


def ranks(x):
    """1-based ranks of ``x``, ties given their average rank."""
    x = np.asarray(x, np.float64)
    order = np.empty(len(x))
    order[np.argsort(x, kind="mergesort")] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=order) / counts)[inverse]


def roc_auc(scores, labels):
    """Area under the ROC curve: the chance that a random positive outscores a random negative (ties count 1/2)."""
    labels = np.asarray(labels).astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks(scores)[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def recall_at_k(embeddings, labels, ks=(1, 5), block=1024):
    """For each row, do its ``k`` highest-scoring other rows (score: dot product) include one of its class?

    Returns ``{"recall@k": share of rows}``; computed block by block so memory stays ``block x N``.
    """
    embeddings, labels = np.asarray(embeddings, np.float32), np.asarray(labels)
    kmax, n = max(ks), len(labels)
    hits = {k: 0 for k in ks}
    for start in range(0, n, block):
        scores = embeddings[start:start + block] @ embeddings.T          # (block, N)
        rows = np.arange(scores.shape[0])
        scores[rows, start + rows] = -np.inf                             # not itself
        top = np.argpartition(-scores, kmax, axis=1)[:, :kmax]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)
        same = labels[top] == labels[start:start + block, None]          # (block, kmax), best first
        for k in ks:
            hits[k] += int(same[:, :k].any(axis=1).sum())
    return {"recall@%d" % k: hits[k] / n for k in ks}
