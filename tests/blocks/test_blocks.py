import mxnet as mx
import numpy as np
import pytest

from zoo.blocks import DotScorer, EmbeddingPenalty, EmbeddingTower, SquaredLoss


def both_ways(block, *inputs):
    """Outputs of ``block`` imperative, then hybridized (same parameters): they must agree."""
    before = block(*inputs).asnumpy()
    block.hybridize(static_alloc=True)
    after = block(*inputs).asnumpy()
    return before, after


@pytest.mark.parametrize("hidden", [(), (6,), (7, 5)])
def test_embedding_tower_shapes_and_hybrid(hidden):
    tower = EmbeddingTower(10, 4, hidden=hidden, dropout=0.0)
    tower.initialize()
    ids = mx.nd.array([0, 3, 9], dtype="int32")
    before, after = both_ways(tower, ids)
    assert before.shape == (3, hidden[-1] if hidden else 4) == (3, tower.out_dim)
    np.testing.assert_allclose(before, after, rtol=1e-6)


def test_embedding_tower_sparse_grad():
    tower = EmbeddingTower(10, 4, sparse_grad=True)
    tower.initialize()
    with mx.autograd.record():
        out = tower(mx.nd.array([1, 1, 2]))
    out.backward()
    grad = tower.embedding.weight.grad()
    assert grad.stype == "row_sparse"
    assert sorted(grad.indices.asnumpy().tolist()) == [1, 2]


def test_dot_scorer_against_numpy(hybridize):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)).astype("f4"), rng.normal(size=(5, 3)).astype("f4")
    bias_a, bias_b = rng.normal(size=(5, 1)).astype("f4"), rng.normal(size=(5, 1)).astype("f4")
    scorer = DotScorer(offset=2.5)
    scorer.initialize()
    if hybridize:
        scorer.hybridize()
    got = scorer(*(mx.nd.array(x) for x in (a, b, bias_a, bias_b))).asnumpy()
    np.testing.assert_allclose(got, (a * b).sum(1) + bias_a[:, 0] + bias_b[:, 0] + 2.5, rtol=1e-5)


def test_plain_dot_scorer(hybridize):
    scorer = DotScorer()
    scorer.initialize()
    if hybridize:
        scorer.hybridize()
    out = scorer(mx.nd.array([[1, 2], [3, 4]]), mx.nd.array([[5, 6], [7, 8]]))
    np.testing.assert_allclose(out.asnumpy(), [17, 53])


def test_squared_loss_by_hand(hybridize):
    loss = SquaredLoss()
    if hybridize:
        loss.hybridize()
    out = loss(mx.nd.array([1.0, 2.0, 4.5]), mx.nd.array([1.5, 2.0, 3.0]))
    np.testing.assert_allclose(out.asnumpy(), [0.25, 0.0, 2.25])


def test_embedding_penalty_by_hand(hybridize):
    penalty = EmbeddingPenalty(0.5)
    if hybridize:
        penalty.hybridize()
    u = mx.nd.array([[1.0, 2.0], [0.0, 1.0]])
    v = mx.nd.array([[3.0, 0.0], [1.0, 1.0]])
    bias = mx.nd.array([[2.0], [0.0]])
    np.testing.assert_allclose(penalty(u, v, bias).asnumpy(), [0.5 * (1 + 4 + 9 + 4), 0.5 * (1 + 1 + 1)])


@pytest.mark.parametrize("normalize, pooling", [(True, "avg"), (False, "avg"), (True, "flatten")])
def test_conv_tower_shapes_hybrid_and_unit_length(normalize, pooling):
    from zoo.blocks import ConvTower
    tower = ConvTower(dim=6, channels=(4, 8), normalize=normalize, pooling=pooling)
    tower.initialize()
    images = mx.nd.random.uniform(shape=(3, 1, 9, 9))
    before, after = both_ways(tower, images)
    assert before.shape == (3, 6)
    # the projection reads 8 channels, or the whole 8 x 3 x 3 map (9 -> 5 -> 3 by two stride-2 convolutions)
    assert tower.projection.weight.shape == (6, 8 if pooling == "avg" else 72)
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)
    if normalize:
        np.testing.assert_allclose(np.linalg.norm(before, axis=1), 1.0, rtol=1e-5)


def test_logistic_pair_loss_by_hand(hybridize):
    from zoo.blocks import LogisticPairLoss
    loss = LogisticPairLoss(scale=2.0, bias=-1.0)
    if hybridize:
        loss.hybridize()
    score, target = np.array([0.9, 0.2]), np.array([1.0, 0.0])
    z = 2 * score - 1
    want = [np.log1p(np.exp(-z[0])), np.log1p(np.exp(z[1]))]
    np.testing.assert_allclose(loss(mx.nd.array(score), mx.nd.array(target)).asnumpy(), want, rtol=1e-5)


def test_contrastive_loss_by_hand(hybridize):
    from zoo.blocks import ContrastiveLoss
    loss = ContrastiveLoss(margin=1.0)
    if hybridize:
        loss.hybridize()
    score, target = np.array([0.5, 0.875, 0.0]), np.array([1.0, 0.0, 0.0])
    # d^2 = 2 - 2 cos: 1.0, 0.25, 2.0 -> similar pays 1.0; dissimilar pay (1 - 0.5)^2 and max(0, 1 - 1.414)^2 = 0
    np.testing.assert_allclose(loss(mx.nd.array(score), mx.nd.array(target)).asnumpy(), [1.0, 0.25, 0.0],
                               atol=1e-5)


@pytest.mark.parametrize("hybridize", [False, True])
@pytest.mark.parametrize("csr", [False, True])
def test_embedding_bag_is_the_weighted_sum_of_rows_with_a_row_sparse_gradient(hybridize, csr):
    from zoo.blocks import EmbeddingBag
    from zoo.ops.arrays import as_ndarray
    from zoo.rows import SparseRows
    bag = EmbeddingBag(9, 3)
    mx.random.seed(0)  # fixed values: a random sum near zero would fail rtol alone (it did, once in a full run)
    bag.initialize()
    if hybridize:
        bag.hybridize(static_alloc=True)
    rows = SparseRows([0, 2, 2, 5], [1, 4, 0, 4, 8], [0.5, 2.0, 1.0, -1.0, 3.0], 9)   # a row with nothing liked
    dense = rows.toarray()
    x = as_ndarray(rows) if csr else mx.nd.array(dense)
    with mx.autograd.record():
        out = bag(x)
    out.backward(mx.nd.ones_like(out))
    table = bag.weight.data().asnumpy()
    np.testing.assert_allclose(out.asnumpy(), dense @ table, rtol=1e-6)
    grad = bag.weight.grad()
    assert grad.stype == "row_sparse"
    np.testing.assert_allclose(grad.tostype("default").asnumpy(), dense.T @ np.ones((3, 3)), rtol=1e-6)
    assert sorted(grad.indices.asnumpy().tolist()) == [0, 1, 4, 8]           # only the rows used


@pytest.mark.parametrize("hybridize", [False, True])
def test_embedding_bag_of_shared_rows_equals_the_bag_of_every_examples_row(hybridize):
    """``(distinct rows, which)`` gives what the rows repeated for every example give, and so does the gradient:
    a shared row's gradient is the sum over the examples that use it."""
    from zoo.blocks import EmbeddingBag
    from zoo.ops.arrays import as_ndarrays
    from zoo.rows import SharedRows, SparseRows
    bag = EmbeddingBag(9, 3)
    mx.random.seed(0)
    bag.initialize()
    if hybridize:
        bag.hybridize(static_alloc=True)
    shared = SharedRows(SparseRows([0, 2, 2, 5], [1, 4, 0, 4, 8], [0.5, 2.0, 1.0, -1.0, 3.0], 9), [2, 0, 2, 1, 2])
    head = np.arange(15, dtype=np.float32).reshape(5, 3)   # a different gradient for each example
    inputs = as_ndarrays([shared])
    assert len(inputs) == 2 and inputs[0].stype == "csr" and inputs[1].dtype == np.int32
    with mx.autograd.record():
        out = bag(*inputs)
    out.backward(mx.nd.array(head))
    np.testing.assert_allclose(out.asnumpy(), shared.toarray() @ bag.weight.data().asnumpy(), rtol=1e-5)
    grad = bag.weight.grad()
    assert grad.stype == "row_sparse"
    np.testing.assert_allclose(grad.tostype("default").asnumpy(), shared.toarray().T @ head, rtol=1e-5)


def test_shared_rows_slice_and_take_like_the_dense_matrix():
    from zoo.rows import SharedRows, SparseRows
    unique = SparseRows([0, 2, 2, 5, 6], [1, 4, 0, 4, 8, 2], [0.5, 2.0, 1.0, -1.0, 3.0, 7.0], 9)
    np.testing.assert_array_equal(unique.take([3, 0, 0, 2]).toarray(), unique.toarray()[[3, 0, 0, 2]])
    assert unique.take([]).shape == (0, 9)
    shared = SharedRows(unique, [3, 0, 3, 3, 1, 0])
    dense = unique.toarray()[[3, 0, 3, 3, 1, 0]]
    assert len(shared) == 6 and shared.shape == (6, 9)
    np.testing.assert_array_equal(shared.toarray(), dense)
    for lo, hi in ((0, 6), (2, 4), (3, 3), (4, 10)):
        part = shared[lo:hi]
        np.testing.assert_array_equal(part.toarray(), dense[lo:hi])
        assert len(part.unique) == len(set(shared.which[lo:hi].tolist()))   # only the rows the slice uses
    keyed = SharedRows.of(np.array([7, 5, 7]), lambda keys: unique.take(keys - 4))
    np.testing.assert_array_equal(keyed.toarray(), unique.toarray()[[3, 1, 3]])   # keys 7, 5, 7: rows 3, 1, 3
    with pytest.raises(TypeError):
        shared[[0, 2]]


def test_sparse_rows_slice_like_the_dense_matrix():
    from zoo.rows import SparseRows
    rows = SparseRows([0, 2, 2, 5, 6], [1, 4, 0, 4, 8, 2], [0.5, 2.0, 1.0, -1.0, 3.0, 7.0], 9)
    dense = rows.toarray()
    assert len(rows) == 4 and rows.shape == (4, 9)
    for lo, hi in ((0, 4), (1, 3), (2, 2), (3, 10)):
        np.testing.assert_array_equal(rows[lo:hi].toarray(), dense[lo:hi])
    with pytest.raises(TypeError):
        rows[[0, 2]]


@pytest.mark.parametrize("margin", [0.0, 0.2])
def test_norm_softmax_loss_against_numpy(hybridize, margin):
    """-log softmax(scale * (s - margin * onehot(y)))[y], and its gradient (softmax - onehot) * scale, in float64."""
    from zoo.blocks import NormSoftmaxLoss
    rng = np.random.default_rng(0)
    scores, labels = rng.uniform(-1, 1, (6, 4)), rng.integers(0, 4, 6)
    loss = NormSoftmaxLoss(scale=8.0, margin=margin)
    if hybridize:
        loss.hybridize()
    x = mx.nd.array(scores)
    x.attach_grad()
    with mx.autograd.record():
        out = loss(x, mx.nd.array(labels, dtype="int32"))
    out.backward()
    onehot = np.eye(4)[labels]
    logits = 8.0 * (scores - margin * onehot)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(out.asnumpy(), -np.log(p[np.arange(6), labels]), rtol=1e-5)
    np.testing.assert_allclose(x.grad.asnumpy(), 8.0 * (p - onehot), rtol=1e-4, atol=1e-6)


def test_proxy_scorer_is_the_cosine_to_each_class_proxy(hybridize):
    from zoo.blocks import ProxyScorer
    scorer = ProxyScorer(5, 3)
    mx.random.seed(0)
    scorer.initialize()
    if hybridize:
        scorer.hybridize()
    x = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)
    proxies = scorer.proxies.data().asnumpy()
    want = x @ (proxies / np.linalg.norm(proxies, axis=1, keepdims=True)).T
    np.testing.assert_allclose(scorer(mx.nd.array(x)).asnumpy(), want, rtol=1e-5, atol=1e-6)
