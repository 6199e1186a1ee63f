"""The in-batch pair losses and miners against numpy written pair by pair, in float64 (pytorch-metric-learning's
definitions)."""
import mxnet as mx
import numpy as np
import pytest

from zoo.blocks import AllPairs, AllPairsScorer, MultiSimilarityLoss, MultiSimilarityMiner
from zoo.data.images import pair_relations


def batch(n=7, dim=5, classes=3, seed=0):
    """Cosines among ``n`` random unit vectors and the relations of random labels (every class used twice at
    least, and one anchor alone in its class: it has no positives)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.concatenate([np.arange(classes).repeat(2), rng.integers(0, classes, n - 2 * classes - 1), [99]])
    return x @ x.T, pair_relations(labels)


def ms_miner_numpy(sim, rel, eps):
    pos, neg = np.zeros_like(sim), np.zeros_like(sim)
    for i in range(len(sim)):
        ps = [k for k in range(sim.shape[1]) if rel[i, k] > 0]
        ns = [k for k in range(sim.shape[1]) if rel[i, k] == 0]
        for k in ps:
            if ns and sim[i, k] - eps < max(sim[i, j] for j in ns):
                pos[i, k] = 1
        for k in ns:
            if ps and sim[i, k] + eps > min(sim[i, j] for j in ps):
                neg[i, k] = 1
    return pos, neg


def ms_loss_numpy(sim, pos, neg, alpha, beta, base, weight=None):
    """Per anchor; a positive pair's term times its ``weight`` (1 when None)."""
    weight = np.ones_like(sim) if weight is None else weight
    out = []
    for i in range(len(sim)):
        pull = np.log1p(sum(weight[i, k] * np.exp(-alpha * (sim[i, k] - base)) for k in np.flatnonzero(pos[i])))
        pull /= alpha
        push = np.log1p(sum(np.exp(beta * (sim[i, k] - base)) for k in np.flatnonzero(neg[i]))) / beta
        out.append(pull + push)
    return np.array(out)


def test_pair_relations_mark_same_labels_and_leave_out_the_diagonal():
    np.testing.assert_array_equal(pair_relations([3, 1, 3]), [[-1, 0, 1], [0, -1, 0], [1, 0, -1]])


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_multi_similarity_miner_keeps_the_pairs_in_or_near_the_wrong_order(hybridize, eps):
    sim, rel = batch()
    miner = MultiSimilarityMiner(eps)
    if hybridize:
        miner.hybridize()
    pos, neg = miner(mx.nd.array(sim), mx.nd.array(rel))
    want_pos, want_neg = ms_miner_numpy(sim, rel, eps)
    np.testing.assert_array_equal(pos.asnumpy(), want_pos)
    np.testing.assert_array_equal(neg.asnumpy(), want_neg)
    assert 0 < want_pos.sum() < (rel == 1).sum() or eps == 0.5   # the miner does leave pairs out
    assert not want_neg[-1].any() and not want_pos[-1].any()     # the lone anchor has no positive: nothing kept


def test_all_pairs_keeps_every_positive_and_every_negative():
    """(Hybridized inside the loss below: alone, its graph would not use ``sim``.)"""
    sim, rel = batch()
    miner = AllPairs()
    pos, neg = miner(mx.nd.array(sim), mx.nd.array(rel))
    np.testing.assert_array_equal(pos.asnumpy(), rel == 1)
    np.testing.assert_array_equal(neg.asnumpy(), rel == 0)


@pytest.mark.parametrize("mined, weighted", [(False, False), (True, False), (True, True)])
def test_multi_similarity_loss_and_its_gradient_against_numpy(hybridize, mined, weighted):
    """The loss per anchor and its gradient with respect to the similarities (by central differences of the
    numpy loss, the mined pairs held fixed), at pytorch-metric-learning's alpha 2, beta 50, base 0.5, where a
    negative at cosine 1 gives exp(25): the sums must not overflow. Weighted: positives of weight 0.3 (as
    ``data.same_class_weight`` makes them) count 0.3 of a pair."""
    sim, rel = batch(n=9, seed=1)
    sim[0, np.flatnonzero(rel[0] == 0)[0]] = 1.0          # an extreme negative
    if weighted:
        rel[(rel == 1) & (np.arange(9)[:, None] % 2 == 0)] = 0.3
    alpha, beta, base = 2.0, 50.0, 0.5
    miner = MultiSimilarityMiner(0.1) if mined else AllPairs()
    loss = MultiSimilarityLoss(alpha, beta, base, miner)
    if hybridize:
        loss.hybridize()
    x = mx.nd.array(sim)
    x.attach_grad()
    with mx.autograd.record():
        out = loss(x, mx.nd.array(rel))
    out.backward()
    pos, neg = (m.astype(bool) for m in ms_miner_numpy(sim, rel, 0.1)) if mined else (rel > 0, rel == 0)
    weight = np.where(rel > 0, rel, 1.0)
    assert not weighted or (weight[pos] == 0.3).any()
    want = ms_loss_numpy(sim, pos, neg, alpha, beta, base, weight)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)
    grad, h = np.zeros_like(sim), 1e-6
    for i, k in zip(*np.nonzero(pos | neg)):
        up, down = sim.copy(), sim.copy()
        up[i, k] += h
        down[i, k] -= h
        grad[i, k] = (ms_loss_numpy(up, pos, neg, alpha, beta, base, weight).sum()
                      - ms_loss_numpy(down, pos, neg, alpha, beta, base, weight).sum()) / (2 * h)
    np.testing.assert_allclose(x.grad.asnumpy(), grad, rtol=1e-3, atol=1e-5)
    assert np.isfinite(x.grad.asnumpy()).all() and (x.grad.asnumpy()[~(pos | neg)] == 0).all()


def test_all_pairs_scorer_is_every_dot_product(hybridize):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(5, 4))
    scorer = AllPairsScorer()
    if hybridize:
        scorer.hybridize()
    np.testing.assert_allclose(scorer(mx.nd.array(a), mx.nd.array(b)).asnumpy(), a @ b.T, rtol=1e-5, atol=1e-6)
