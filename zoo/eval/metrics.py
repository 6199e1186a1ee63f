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


def retrieval_metrics(embeddings, labels, ks=(1, 2, 4, 8), block=1024):
    """Leave-one-out retrieval among the rows (score: dot product), with the metrics of "A Metric Learning Reality
    Check" (Musgrave et al., 2020): for each row as the query and every other row as the reference set,

    - ``recall@k``: do its ``k`` best-scored rows include one of its class?
    - ``r_precision``: the share of its class among its ``R`` best, ``R`` the number of other rows of its class;
    - ``map@r``: ``(1 / R) * sum_{i <= R, i-th of its class} precision@i``, the average precision cut at ``R``.

    Each is the mean over queries (rows alone in their class, ``R = 0``, count for recall only). Returns
    ``{"recall@k": ..., "r_precision": ..., "map@r": ..., "n": N}``; computed block by block, so memory stays
    ``block x N``."""
    embeddings, labels = np.asarray(embeddings, np.float32), np.asarray(labels)
    n = len(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    r_of = counts[inverse] - 1                                            # (N,) other rows of the same class
    hits = {k: 0 for k in ks}
    r_precision = map_r = 0.0
    for start in range(0, n, block):
        scores = embeddings[start:start + block] @ embeddings.T          # (block, N)
        rows = np.arange(scores.shape[0])
        scores[rows, start + rows] = -np.inf                             # not itself
        r = r_of[start:start + block]
        depth = min(max(max(ks), int(r.max())), n - 1)
        top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable"), 1)
        same = labels[top] == labels[start:start + block, None]          # (block, depth), best first
        for k in ks:
            hits[k] += int(same[:, :k].any(axis=1).sum())
        within = np.arange(1, depth + 1) <= np.maximum(r, 1)[:, None]    # the first R places of each query
        relevant = same & within
        precision = np.cumsum(relevant, axis=1) / np.arange(1, depth + 1)
        queries = r > 0
        r_precision += float((relevant.sum(1) / np.maximum(r, 1))[queries].sum())
        map_r += float(((precision * relevant).sum(1) / np.maximum(r, 1))[queries].sum())
    with_class = max(int((r_of > 0).sum()), 1)
    out = {"recall@%d" % k: hits[k] / n for k in ks}
    out.update({"r_precision": r_precision / with_class, "map@r": map_r / with_class, "n": n})
    return out
