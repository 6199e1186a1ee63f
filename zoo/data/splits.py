"""Train/test splits as index arrays (vectorized; no per-user Python loop)."""
import numpy as np


def random_split(n, ratio, rng, index=None):
    """Shuffle ``index`` (default ``arange(n)``) and hold out ``round(n * ratio)``: returns ``(kept, held_out)``,
    each in ascending order."""
    index = np.arange(n) if index is None else np.asarray(index)
    n_out = int(round(n * ratio))
    # rng.permutation(index) is index[rng.permutation(len(index))], the same shuffle: marking the places held out
    # keeps a sorted index sorted, where sorting the shuffled values would take a sort of each part
    held = np.zeros(len(index), dtype=bool)
    held[rng.permutation(len(index))[:n_out]] = True
    kept, held_out = index[~held], index[held]
    if np.any(index[1:] < index[:-1]):
        kept, held_out = np.sort(kept), np.sort(held_out)
    return kept, held_out


def kfold_split(n, folds, fold, rng):
    """Fold ``fold`` (1..``folds``) of a k-fold over ``n`` rows: the rows shuffled by ``rng`` and cut into
    ``folds`` parts of sizes differing by at most one; part ``fold`` is held out. Returns ``(kept, held_out)``;
    over the folds, every row is held out exactly once."""
    parts = np.array_split(rng.permutation(n), folds)
    held_out = parts[fold - 1]
    return np.sort(np.concatenate(parts[:fold - 1] + parts[fold:])), np.sort(held_out)


def temporal_split(users, times, ratio):
    """Hold out each user's latest ``ceil(ratio * count)`` ratings (a user with one rating keeps it for training).

    Returns ``(train, test)`` index arrays. Ties in time are broken by file order.
    """
    order = np.lexsort((np.arange(len(users)), times, users))  # by user, then time, then position
    sorted_users = users[order]
    starts = np.flatnonzero(np.r_[True, sorted_users[1:] != sorted_users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    rank = np.arange(len(users)) - np.repeat(starts, counts)      # position within the user's history
    held = np.where(counts > 1, np.ceil(ratio * counts), 0).astype(np.int64)
    is_test = rank >= np.repeat(counts - held, counts)
    return np.sort(order[~is_test]), np.sort(order[is_test])
