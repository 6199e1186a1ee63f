"""Top-K ranking metrics over a whole catalog, computed block by block of users (no per-user Python).

For each evaluated user (one with at least one test positive that is not a training positive): candidates are
the catalog's items (``candidates``, default all) minus the user's training positives; the ``K`` best-scored
candidates are compared with the user's test positives (those not among the training positives):

- ``precision@K`` = hits / K
- ``recall@K`` = hits / min(K, n_pos)
- ``ndcg@K`` = DCG / ideal DCG with binary gains, ``DCG = sum_{hit at rank r} 1 / log2(r + 1)``, the ideal over
  ``min(K, n_pos)`` hits
- ``hit_rate@K`` = 1 if any hit

each averaged over the evaluated users; ``users`` is their count.
"""
import numpy as np

from ..data.positives import positives  # noqa: F401  (the CSR form these metrics take)


def _dense(csr, rows, num_items):
    """The rows ``rows`` of a CSR as a boolean ``(len(rows), num_items)`` matrix."""
    indptr, indices = csr
    out = np.zeros((len(rows), num_items), bool)
    counts = indptr[rows + 1] - indptr[rows]
    row_of = np.repeat(np.arange(len(rows)), counts)
    starts = np.repeat(indptr[rows], counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    out[row_of, indices[starts + offsets]] = True
    return out


def ranking_metrics(score, train, test, num_items, ks=(10,), candidates=None, block=1024):
    """``{"precision@K", "recall@K", "ndcg@K", "hit_rate@K" for K in ks, "users": n}``.

    ``score(users)`` -> ``(len(users), num_items)`` scores for an int64 array of user rows; ``train`` and ``test``
    are :func:`positives`; ``candidates`` a boolean ``(num_items,)`` mask (default: every item). Memory is
    ``block x num_items``.
    """
    ks = sorted(set(int(k) for k in ks))
    if not ks or ks[0] < 1:
        raise ValueError("ranking metrics need K >= 1, got %r" % (ks,))
    kmax = min(ks[-1], num_items)
    num_users = len(test[0]) - 1
    sums = {"%s@%d" % (m, k): 0.0 for k in ks for m in ("precision", "recall", "ndcg", "hit_rate")}
    discounts = 1.0 / np.log2(np.arange(2, kmax + 2))          # rank r (1-based) -> 1 / log2(r + 1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])      # ideal DCG of n hits, n = 0..kmax
    evaluated = 0
    for start in range(0, num_users, block):
        rows = np.arange(start, min(start + block, num_users))
        seen, wanted = _dense(train, rows, num_items), _dense(test, rows, num_items)
        wanted &= ~seen
        if candidates is not None:
            wanted &= candidates
        n_pos = wanted.sum(axis=1)
        keep = n_pos > 0
        if not keep.any():
            continue
        rows, seen, wanted, n_pos = rows[keep], seen[keep], wanted[keep], n_pos[keep]
        scores = np.array(score(rows), dtype=np.float32, copy=True)          # (b, num_items)
        scores[seen] = -np.inf
        if candidates is not None:
            scores[:, ~candidates] = -np.inf
        top = np.argpartition(-scores, kmax - 1, axis=1)[:, :kmax]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)                          # (b, kmax), best first
        hit = np.take_along_axis(wanted, top, axis=1) & np.isfinite(np.take_along_axis(scores, top, axis=1))
        for k in ks:
            hits = hit[:, :k].sum(axis=1)
            dcg = (hit[:, :k] * discounts[:k]).sum(axis=1)
            sums["precision@%d" % k] += (hits / k).sum()
            sums["recall@%d" % k] += (hits / np.minimum(k, n_pos)).sum()
            sums["ndcg@%d" % k] += (dcg / ideal[np.minimum(np.minimum(k, n_pos), kmax)]).sum()
            sums["hit_rate@%d" % k] += (hits > 0).sum()
        evaluated += len(rows)
    out = {name: value / max(evaluated, 1) for name, value in sums.items()}
    out["users"] = evaluated
    return out
