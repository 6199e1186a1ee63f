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

from ..data.positives import entries, positives, select_rows  # noqa: F401  (positives: the CSR form these metrics take)
from ..ops.arrays import top_k


def _wanted(train, test, rows, num_items, candidates):
    """The test positives of ``rows`` that are not training positives (and are candidates), as sorted keys
    ``position in rows * num_items + item``: sparse bookkeeping, no ``(rows, num_items)`` array."""
    row_of, items = entries(test, rows)
    keys = row_of * num_items + items
    seen_row, seen = entries(train, rows)
    keep = ~np.isin(keys, seen_row * num_items + seen)
    if candidates is not None:
        keep &= candidates[items]
    return keys[keep]


def ranking_metrics(score, train, test, num_items, ks=(10,), candidates=None, block=1024):
    """``{"precision@K", "recall@K", "ndcg@K", "hit_rate@K" for K in ks, "users": n}``.

    ``score(users)`` -> ``(len(users), num_items)`` scores for an int64 array of user rows; ``train`` and ``test``
    are :func:`positives`; ``candidates`` a boolean ``(num_items,)`` mask (default: every item). Memory is the
    scores of ``block`` users; the rest is kept sparse.
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
        wanted = _wanted(train, test, rows, num_items, candidates)
        n_pos = np.bincount(wanted // num_items, minlength=len(rows))
        keep = n_pos > 0
        if not keep.any():
            continue
        position = np.cumsum(keep) - 1                                        # row -> its place among the kept
        wanted = position[wanted // num_items] * num_items + wanted % num_items  # (every wanted row is kept)
        rows, n_pos = rows[keep], n_pos[keep]
        scores = score(rows)                                                  # (b, num_items)
        top = top_k(scores, kmax, exclude=select_rows(train, rows), allowed=candidates)  # (b, kmax), best first
        hit = (top >= 0) & np.isin(np.arange(len(rows))[:, None] * num_items + top, wanted)
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
