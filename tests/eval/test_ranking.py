"""Ranking metrics against a brute-force, one-user-at-a-time computation."""
import numpy as np
import pytest

from zoo import ops
from zoo.eval.ranking import positives, ranking_metrics
from zoo.ops.arrays import top_k


def brute_force(scores, train_pairs, test_pairs, ks, candidates):
    num_users, num_items = scores.shape
    train = {u: {i for v, i in train_pairs if v == u} for u in range(num_users)}
    test = {u: {i for v, i in test_pairs if v == u} for u in range(num_users)}
    sums, users = {}, 0
    for u in range(num_users):
        wanted = {i for i in test[u] - train[u] if candidates[i]}
        if not wanted:
            continue
        users += 1
        pool = [i for i in range(num_items) if i not in train[u] and candidates[i]]
        ranked = sorted(pool, key=lambda i: (-scores[u, i], i))
        for k in ks:
            top = ranked[:k]
            hits = [i in wanted for i in top]
            dcg = sum(1 / np.log2(r + 2) for r, h in enumerate(hits) if h)
            ideal = sum(1 / np.log2(r + 2) for r in range(min(k, len(wanted))))
            for name, value in (("precision", sum(hits) / k), ("recall", sum(hits) / min(k, len(wanted))),
                                ("ndcg", dcg / ideal), ("hit_rate", float(any(hits)))):
                key = "%s@%d" % (name, k)
                sums[key] = sums.get(key, 0.0) + value
    return {k: v / users for k, v in sums.items()}, users


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("block", [3, 1024])
def test_metrics_equal_brute_force(seed, block):
    rng = np.random.default_rng(seed)
    num_users, num_items = 17, 23
    scores = rng.normal(size=(num_users, num_items)).astype(np.float32)
    train_pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, num_users, 80), rng.integers(0, num_items, 80))}
    test_pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, num_users, 40), rng.integers(0, num_items, 40))}
    candidates = rng.random(num_items) < 0.8
    ks = (1, 5, 10)
    train = positives(*zip(*train_pairs), num_users)
    test = positives(*zip(*test_pairs), num_users)
    got = ranking_metrics(lambda rows: scores[rows], train, test, num_items, ks, candidates, block=block)
    want, users = brute_force(scores, train_pairs, test_pairs, ks, candidates)
    assert got["users"] == users > 0
    for key, value in want.items():
        assert np.isclose(got[key], value, rtol=1e-6), (key, got[key], value)


def test_training_positives_are_never_recommended_and_users_without_new_positives_are_skipped():
    scores = np.array([[9.0, 8.0, 1.0, 0.0], [0.0, 0.0, 0.0, 5.0]], np.float32)
    train = positives([0, 0], [0, 1], 2)            # user 0 liked items 0 and 1 in training: excluded
    test = positives([0, 1], [2, 0], 2)             # user 1's test item is ... item 0 (not trained on by user 1)
    m = ranking_metrics(lambda rows: scores[rows], train, test, 4, ks=(1,))
    assert m["users"] == 2
    assert m["precision@1"] == 0.5                   # user 0: item 2 ranks first among 2, 3; user 1: item 3 first
    only_old = positives([0], [1], 2)                # a test positive that is a training positive: not evaluated
    assert ranking_metrics(lambda rows: scores[rows], train, only_old, 4, ks=(1,))["users"] == 0


def test_positives_are_sorted_unique_csr():
    indptr, indices = positives([2, 0, 2, 2], [5, 1, 3, 5], 4)
    assert indptr.tolist() == [0, 1, 1, 3, 3] and indices.tolist() == [1, 3, 5]


@pytest.mark.parametrize("compiled", [True, False])
def test_top_k_gives_the_best_columns_best_first_and_ties_to_the_lower_column(compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(ops, "load", lambda: False)
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, (40, 30)).astype(np.float32)        # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf                 # excluded candidates
    scores[3, :] = -np.inf
    scores[5, 2] = np.nan                                           # counts as -inf
    for k in (1, 7, 30, 50):
        want = [sorted(range(30), key=lambda c: (np.inf if np.isnan(row[c]) else -row[c], c))[:k] for row in scores]
        assert top_k(scores, k).tolist() == want, k


@pytest.mark.parametrize("compiled", [True, False])
def test_top_k_leaves_out_excluded_and_disallowed_columns(compiled, monkeypatch):
    if not compiled:
        monkeypatch.setattr(ops, "load", lambda: False)
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, (30, 12)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.1] = -np.inf                 # a genuine -inf still ranks (last)
    allowed = rng.random(12) < 0.8
    excluded = [sorted(rng.choice(12, size=rng.integers(0, 12), replace=False).tolist()) for _ in range(30)]
    excluded[4] = list(range(12))                                     # nothing left: all -1
    indptr = np.concatenate([[0], np.cumsum([len(e) for e in excluded])])
    indices = np.array([c for e in excluded for c in e], np.int64)
    for k in (1, 5, 12):
        got = top_k(scores, k, exclude=(indptr, indices), allowed=allowed)
        for r, row in enumerate(scores):
            pool = [c for c in range(12) if allowed[c] and c not in excluded[r]]
            want = sorted(pool, key=lambda c: (-row[c], c))[:k]
            assert got[r].tolist() == want + [-1] * (k - len(want)), (k, r)
