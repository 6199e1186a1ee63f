"""zoo's C++ operators (zoo.ops): built with the compiler the test machine has, and equal to MXNet's own."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from zoo import ops
from zoo.blocks import (CandidateScorer, DotScorer, EmbeddingPenalty, NegativeSamplingLoss, PairwiseCandidateScorer,
                        SquaredLoss)
from zoo.fastpath import FusedMF, FusedSkipGram, select_objective
from zoo.models import MatrixFactorization, Objective, SkipGram
from zoo.ops.fused import FusedRatingLoss, FusedSkipGramLoss, FusedTableLoss

from conftest import ROOT


def test_operators_build_and_load():
    assert ops.load(), "zoo.ops did not load: is g++ installed?"
    assert hasattr(mx.nd, "zoo_rating_loss") and hasattr(mx.sym, "zoo_rating_loss")


def test_fused_rating_loss_equals_the_composite_loss(hybridize):
    assert ops.load()
    rng = np.random.default_rng(0)
    n, d, reg = 300, 24, 0.07
    arrays = [rng.normal(0, 0.5, (n, d)), rng.normal(0, 0.5, (n, d)), rng.normal(0, 0.3, (n, 1)),
              rng.normal(0, 0.3, (n, 1)), np.array([3.2]), rng.uniform(0.5, 5, n)]
    scorer, loss, penalty, fused = DotScorer(offset=3.2), SquaredLoss(), EmbeddingPenalty(reg), FusedRatingLoss(reg)
    scorer.initialize()
    for block in (scorer, loss, penalty, fused):
        if hybridize:
            block.hybridize()
    head = mx.nd.array(rng.uniform(0.5, 1.5, n))  # a gradient that differs by row
    results = []
    for composite in (True, False):
        inputs = [mx.nd.array(a) for a in arrays]
        for x in inputs[:4]:
            x.attach_grad()
        offset = scorer.offset.data()
        with autograd.record():
            u, v, bu, bi, _, r = inputs
            if composite:
                out = loss(scorer(u, v, bu, bi), r) + penalty(u, v, bu, bi)
            else:
                out = fused(u, v, bu, bi, offset, r)
        out.backward(head)
        results.append([out.asnumpy()] + [x.grad.asnumpy() for x in inputs[:4]] + [scorer.offset.grad().asnumpy()])
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_mf_trains_the_same_with_and_without_the_fused_loss():
    rng = np.random.default_rng(1)
    users, items = mx.nd.array(rng.integers(0, 50, 400)), mx.nd.array(rng.integers(0, 40, 400))
    ratings = mx.nd.array(rng.uniform(1, 5, 400))
    outputs = []
    for fused in (True, False):
        mx.random.seed(0)
        model = MatrixFactorization.create(50, 40, dim=8, reg=0.05, init_scale=0.3, mean_rating=3.0)
        model.initialize()
        model.hybridize()
        objective = select_objective(model, [mx.cpu()]) if fused else Objective(model)
        assert isinstance(objective, FusedMF) == fused
        trainer = mx.gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 0.05})
        for _ in range(5):
            with autograd.record():
                loss = objective(users, items, ratings)
            loss.backward()
            trainer.step(400)
        outputs.append(model(users, items).asnumpy())
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("sparse_grad", [True, False])
def test_table_loss_equals_lookups_then_the_composite_loss(hybridize, sparse_grad):
    assert ops.load()
    rng = np.random.default_rng(3)
    n, users, items, d, reg = 500, 40, 25, 16, 0.07  # ids repeat, and some rows are never used
    tables = [rng.normal(0, 0.5, (users, d)), rng.normal(0, 0.5, (items, d)), rng.normal(0, 0.3, (users, 1)),
              rng.normal(0, 0.3, (items, 1)), np.array([3.2])]
    u_ids, i_ids = rng.integers(0, users - 5, n).astype(np.int32), rng.integers(0, items, n).astype(np.int32)
    r, head = mx.nd.array(rng.uniform(0.5, 5, n)), mx.nd.array(rng.uniform(0.5, 1.5, n))
    scorer, loss, penalty = DotScorer(), SquaredLoss(), EmbeddingPenalty(reg)
    fused = FusedTableLoss(reg, sparse_grad=sparse_grad)
    for block in (scorer, loss, penalty, fused):
        if hybridize:
            block.hybridize()
    results = []
    for composite in (True, False):
        params = [mx.nd.array(t) for t in tables]
        for k, x in enumerate(params):
            x.attach_grad(stype="row_sparse" if sparse_grad and k < 4 else "default")
        with autograd.record():
            if composite:
                rows = [mx.nd.Embedding(mx.nd.array(ids), t, *t.shape, sparse_grad=sparse_grad)
                        for ids, t in zip((u_ids, i_ids, u_ids, i_ids), params[:4])]
                out = loss(scorer(*rows[:2], *rows[2:]) + params[4], r) + penalty(*rows)
            else:
                out = fused(mx.nd.array(u_ids, dtype="int32"), mx.nd.array(i_ids, dtype="int32"), *params, r)
        out.backward(head)
        if not composite:
            assert [x.grad.stype for x in params[:4]] == ["row_sparse" if sparse_grad else "default"] * 4
            if sparse_grad:  # only the rows the batch used, in increasing order
                assert params[0].grad.indices.asnumpy().tolist() == sorted(set(u_ids.tolist()))
        results.append([out.asnumpy()] + [x.grad.asnumpy() for x in params])
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_table_loss_names_an_id_outside_its_table():
    assert ops.load()
    tables = [mx.nd.zeros((5, 4)), mx.nd.zeros((3, 4)), mx.nd.zeros((5, 1)), mx.nd.zeros((3, 1)), mx.nd.zeros(1)]
    ids = mx.nd.array([0, 1, 2, 5], dtype="int32")
    with pytest.raises(mx.base.MXNetError, match=r"user id 5 \(example 3\) is outside \[0, 5\)"):
        FusedTableLoss()(ids, mx.nd.zeros(4, dtype="int32"), *tables, mx.nd.zeros(4)).asnumpy()


def test_mf_reads_bare_tables_directly_and_towers_through_the_fused_loss():
    assert ops.load()
    bare = select_objective(MatrixFactorization.create(10, 10, dim=4, mean_rating=3.0), [mx.cpu()])
    towers = select_objective(MatrixFactorization.create(10, 10, dim=4, hidden=(4,), mean_rating=3.0), [mx.cpu()])
    assert bare.from_tables and isinstance(bare.kernel, FusedTableLoss)
    assert not towers.from_tables and isinstance(towers.kernel, FusedRatingLoss)
    dense = select_objective(MatrixFactorization.create(10, 10, dim=4, mean_rating=3.0, sparse_grad=False),
                             [mx.cpu()])
    assert dense.from_tables and not dense.kernel.sparse_grad


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("sparse_grad", [True, False])
def test_skipgram_table_loss_equals_lookups_then_the_composite_loss(hybridize, shared, sparse_grad):
    assert ops.load()
    rng = np.random.default_rng(4)
    n, vocab, d, k, weight = 300, 60, 12, 4, 0.3
    tables = [rng.normal(0, 0.5, (vocab, d)), rng.normal(0, 0.5, (vocab, d))]
    ids = [rng.integers(0, vocab - 3, n), rng.integers(0, vocab, n), rng.integers(0, vocab, (k,) if shared else (n, k))]
    head = mx.nd.array(rng.uniform(0.5, 1.5, n))
    scorer, loss = DotScorer(), NegativeSamplingLoss(weight)
    negative_scorer = CandidateScorer(k) if shared else PairwiseCandidateScorer()
    fused = FusedSkipGramLoss(weight, sparse_grad=sparse_grad)
    for block in (scorer, loss, negative_scorer, fused):
        if hybridize:
            block.hybridize()
    results = []
    for composite in (True, False):
        params = [mx.nd.array(t) for t in tables]
        for x in params:
            x.attach_grad(stype="row_sparse" if sparse_grad else "default")
        with autograd.record():
            if composite:
                c, x, neg = [mx.nd.Embedding(mx.nd.array(i), t, vocab, d, sparse_grad=sparse_grad)
                             for i, t in zip(ids, (params[0], params[1], params[1]))]
                pos = scorer(c, x).expand_dims(axis=1)
                out = loss(mx.nd.concat(pos, negative_scorer(c, neg), dim=1))
            else:
                out = fused(*[mx.nd.array(i, dtype="int32") for i in ids], *params)
        out.backward(head)
        if not composite:
            assert [x.grad.stype for x in params] == ["row_sparse" if sparse_grad else "default"] * 2
        results.append([out.asnumpy()] + [x.grad.asnumpy() for x in params])
    for want, got in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("d", [100, 3])
def test_skipgram_table_loss_matches_float64_for_extreme_scores(hybridize, d):
    # Scores beyond +-90 (softplus and sigmoid are computed with zoo's own exp), a vocabulary of 5 so
    # that each row sums hundreds of entries, and a dimension with a remainder after its vectors of 8 and 32.
    assert ops.load()
    rng = np.random.default_rng(7)
    n, vocab, k = 300, 5, 4
    w_in = rng.normal(0, 1, (vocab, d)) * np.array([[0.01], [0.3], [1], [4], [12]]) * (10 / np.sqrt(d))
    w_out = rng.normal(0, 1, (vocab, d)) * (10 / np.sqrt(d))
    center, context, neg = rng.integers(0, vocab, n), rng.integers(0, vocab, n), rng.integers(0, vocab, (n, k))
    head = rng.uniform(0.5, 1.5, n)
    fused = FusedSkipGramLoss(0.7)
    if hybridize:
        fused.hybridize()
    params = [mx.nd.array(w) for w in (w_in, w_out)]
    for x in params:
        x.attach_grad(stype="row_sparse")
    with autograd.record():
        out = fused(*[mx.nd.array(i, dtype="int32") for i in (center, context, neg)], *params)
    out.backward(mx.nd.array(head))

    targets = np.concatenate([context[:, None], neg], axis=1)
    s = np.einsum("bd,bjd->bj", w_in[center], w_out[targets])
    sign, scale = np.array([-1.0] + [1.0] * k), np.array([1.0] + [0.7] * k)
    loss = (scale * np.logaddexp(0, sign * s)).sum(1)
    coef = head[:, None] * sign * scale / (1 + np.exp(-sign * s))   # d loss / d s, times the head gradient
    grad_in, grad_out = np.zeros_like(w_in), np.zeros_like(w_out)
    np.add.at(grad_in, center, np.einsum("bj,bjd->bd", coef, w_out[targets]))
    np.add.at(grad_out, targets.ravel(), (coef[:, :, None] * w_in[center][:, None, :]).reshape(-1, d))
    assert abs(s).max() > 90 and abs(s).min() < 1
    np.testing.assert_allclose(out.asnumpy(), loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(params[0].grad.asnumpy(), grad_in, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(params[1].grad.asnumpy(), grad_out, rtol=1e-4, atol=1e-3)


def test_skipgram_table_loss_names_an_id_outside_the_vocabulary():
    assert ops.load()
    tables = [mx.nd.zeros((10, 4)), mx.nd.zeros((10, 4))]
    ids = [mx.nd.array(a, dtype="int32") for a in ([1, 2], [3, 4], [[5, 6], [7, 10]])]
    with pytest.raises(mx.base.MXNetError, match=r"negative id 10 \(entry 3\) is outside the vocabulary \[0, 10\)"):
        FusedSkipGramLoss()(*ids, *tables).asnumpy()


def test_skipgram_uses_the_table_loss_for_its_standard_parts():
    assert ops.load()
    assert isinstance(select_objective(SkipGram.create(20, 5, dim=4), [mx.cpu()]), FusedSkipGram)
    shared = select_objective(SkipGram.create(20, 64, True, dim=4, negative_weight=0.1), [mx.cpu()])
    assert shared.kernel.negative_weight == 0.1


def test_fused_sgd_updates_like_sgd(monkeypatch):
    from zoo.ops.optimizers import FusedSGD
    assert ops.load()
    calls, fused_update = [], mx.nd.zoo_lazy_sgd
    monkeypatch.setattr(mx.nd, "zoo_lazy_sgd", lambda *a, **k: calls.append(1) or fused_update(*a, **k))
    rng = np.random.default_rng(5)
    batches = [[mx.nd.array(rng.integers(0, 30, s), dtype="int32") for s in (64, 64, (64, 3))] for _ in range(3)]
    weights = []
    extra = {"wd": 0.01, "clip_gradient": 0.05, "rescale_grad": 0.5}
    for optimizer in (FusedSGD(learning_rate=0.5, **extra), mx.optimizer.SGD(learning_rate=0.5, **extra)):
        mx.random.seed(0)
        model = SkipGram.create(30, 3, dim=8)
        model.initialize()
        objective = select_objective(model, [mx.cpu()])
        trainer = mx.gluon.Trainer(model.collect_params(), optimizer)
        for batch in batches:
            with autograd.record():
                loss = objective(*batch)
            loss.backward()
            trainer.step(64)
        weights.append([p.data().asnumpy() for p in model.collect_params().values()])
    for got, want in zip(*weights):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert len(calls) == 3 * 2


def sequential_sgd(center, context, negatives, w_in, w_out, lr, weight, clip):
    """word2vec's SGD in float64, a pair at a time: each pair's gradients at the rows as they stand, a row named
    twice in a pair updated once with their sum, each gradient clipped (clip < 0: not)."""
    w_in, w_out, losses = w_in.astype(np.float64), w_out.astype(np.float64), []
    bound = (lambda g: g) if clip < 0 else (lambda g: np.clip(g, -clip, clip))
    for b in range(len(center)):
        targets = np.concatenate([[context[b]], negatives if negatives.ndim == 1 else negatives[b]])
        c, o = w_in[center[b]].copy(), w_out[targets].copy()
        s = o @ c
        sign = np.array([-1.0] + [1.0] * (len(targets) - 1))
        scale = np.array([1.0] + [weight] * (len(targets) - 1))
        losses.append((scale * np.logaddexp(0, sign * s)).sum())
        coef = sign * scale / (1 + np.exp(-sign * s))  # d loss / d s
        grad_out = np.zeros_like(w_out)
        np.add.at(grad_out, targets, coef[:, None] * c)
        rows = np.unique(targets)
        w_out[rows] -= lr * bound(grad_out[rows])
        w_in[center[b]] -= lr * bound(coef @ o)
    return w_in, w_out, np.array(losses)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("clip", [-1.0, 0.05])
def test_skipgram_sgd_is_sequential_sgd_a_pair_at_a_time(shared, clip):
    """zoo_sgns_sgd against float64 numpy, pair after pair. Few words and many pairs: rows repeat across pairs
    (each pair must see the updates before it) and within one (a negative equal to the context word)."""
    from zoo.ops.fused import sgns_sgd
    rng = np.random.default_rng(3)
    vocab, d, n, k = 12, 10, 300, 5
    w_in, w_out = rng.normal(0, 0.4, (vocab, d)).astype(np.float32), rng.normal(0, 0.4, (vocab, d)).astype(np.float32)
    center, context = rng.integers(0, vocab, n).astype(np.int32), rng.integers(0, vocab, n).astype(np.int32)
    negatives = rng.integers(0, vocab, (k,) if shared else (n, k)).astype(np.int32)
    tables = [mx.nd.array(w_in), mx.nd.array(w_out)]
    ids = [mx.nd.array(a, dtype="int32") for a in (center, context, negatives)]
    loss = sgns_sgd(*ids, *tables, lr=0.3, negative_weight=0.7, clip_gradient=clip).asnumpy()
    want_in, want_out, want_loss = sequential_sgd(center, context, negatives, w_in, w_out, 0.3, 0.7, clip)
    np.testing.assert_allclose(loss, want_loss, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(tables[0].asnumpy(), want_in, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tables[1].asnumpy(), want_out, rtol=1e-4, atol=1e-5)


def test_skipgram_sgd_on_all_cores_learns_as_one_pair_at_a_time():
    """A batch large enough for every core (without locks, as word2vec.c) ends with the training loss of the
    sequential updates, within 2%: lost updates are rare when rows are many."""
    from zoo.ops.fused import sgns_sgd
    rng = np.random.default_rng(4)
    vocab, d, n = 500, 16, 40_000
    topic = rng.integers(0, 2, vocab)  # pairs within a topic: something to learn
    center = rng.integers(0, vocab, n).astype(np.int32)
    context = np.array([rng.choice(np.flatnonzero(topic == topic[c])) for c in center[:500]] * (n // 500), np.int32)
    center = np.tile(center[:500], n // 500)
    negatives = rng.integers(0, vocab, (n, 5)).astype(np.int32)
    w_in = rng.normal(0, 0.1, (vocab, d)).astype(np.float32)
    losses = []
    for parts in (1, 20):  # one call: every core; twenty calls of 2,000 pairs: one thread each
        tables = [mx.nd.array(w_in), mx.nd.zeros((vocab, d))]
        for part in np.array_split(np.arange(n), parts):
            sgns_sgd(*(mx.nd.array(a[part], dtype="int32") for a in (center, context, negatives)), *tables,
                     lr=0.05)
        loss = sgns_sgd(*(mx.nd.array(a[:2000], dtype="int32") for a in (center, context, negatives)), *tables,
                        lr=0.0)  # the loss after training, no update
        losses.append(float(loss.mean().asscalar()))
    assert losses[0] < 0.8 * 4.16 and abs(losses[0] - losses[1]) < 0.02 * losses[1], losses  # 4.16: 6 log 2


def test_without_a_compiler_the_models_fall_back(tmp_path):
    code = ("import logging, sys; logging.basicConfig(stream=sys.stdout, level=logging.INFO); import mxnet as mx; "
            "from zoo import ops; from zoo.fastpath import select_objective; "
            "from zoo.models import MatrixFactorization; "
            "print(ops.load(), type(select_objective(MatrixFactorization.create(5, 5, mean_rating=3.0), "
            "[mx.cpu()])).__name__)")
    env = dict(os.environ, CXX="no-such-compiler", ZOO_CACHE=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "no C++ compiler 'no-such-compiler'" in proc.stdout and proc.stdout.strip().endswith("False Objective")
    assert "fused rating kernel not used: zoo's C++ operators are not available" in proc.stdout
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, ZOO_CPP_OPS="0"),
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("False Objective"), proc.stdout + proc.stderr


def test_a_build_is_cached(tmp_path):
    first = ops.build(str(tmp_path))
    stamp = os.path.getmtime(first)
    assert ops.build(str(tmp_path)) == first and os.path.getmtime(first) == stamp
    assert [name for name in os.listdir(tmp_path) if name.endswith(".tmp")] == []


@pytest.mark.parametrize("sparse_grad", [True, False])
@pytest.mark.parametrize("extra", [{}, {"wd": 0.01, "clip_gradient": 0.05, "rescale_grad": 0.5}])
def test_fused_adam_updates_like_adam(sparse_grad, extra, monkeypatch):
    from zoo.ops.optimizers import FusedAdam
    assert ops.load()
    calls, fused_update = [], mx.nd.zoo_lazy_adam
    monkeypatch.setattr(mx.nd, "zoo_lazy_adam", lambda *a, **k: calls.append(1) or fused_update(*a, **k))
    rng = np.random.default_rng(2)
    batches = [(mx.nd.array(rng.integers(0, 30, 64)), mx.nd.array(rng.integers(0, 20, 64)),
                mx.nd.array(rng.uniform(1, 5, 64))) for _ in range(4)]
    weights = []
    for optimizer in (FusedAdam(learning_rate=0.05, **extra), mx.optimizer.Adam(learning_rate=0.05, **extra)):
        mx.random.seed(0)
        model = MatrixFactorization.create(30, 20, dim=8, reg=0.05, init_scale=0.3, mean_rating=3.0,
                                           sparse_grad=sparse_grad)
        model.initialize()
        objective = select_objective(model, [mx.cpu()])
        trainer = mx.gluon.Trainer(model.collect_params(), optimizer)
        for users, items, ratings in batches:
            with autograd.record():
                loss = objective(users, items, ratings)
            loss.backward()
            trainer.step(64)
        weights.append({k: p.data().asnumpy() for k, p in model._collect_params_with_prefix().items()})
    for name in weights[0]:
        np.testing.assert_allclose(weights[0][name], weights[1][name], rtol=1e-5, atol=1e-6, err_msg=name)
    assert len(calls) == (4 * 4 if sparse_grad else 0)  # 4 steps x 4 row_sparse tables; dense ones go to Adam


KERNEL_MISUSE = {
    "no negatives": "FusedSkipGramLoss()(ids(1, 2), ids(3, 4), empty((2, 0)), *t)",
    "no shared negatives": "FusedSkipGramLoss()(ids(1, 2), ids(3, 4), empty((0,)), *t)",
    "empty batch": "FusedSkipGramLoss()(empty((0,)), empty((0,)), empty((0, 2)), *t)",
    "tables of two widths": "FusedSkipGramLoss()(ids(1, 2), ids(3, 4), ids(5, 6), t[0], mx.nd.zeros((10, 5)))",
    "batch sizes differ": "FusedSkipGramLoss()(ids(1, 2, 3), ids(3, 4), ids(5, 6), *t)",
    "negative id": "FusedSkipGramLoss()(ids(-1, 2), ids(3, 4), ids(5, 6), *t)",
    "sgd negative id": "sgns_sgd(ids(1, 2), ids(3, 4), ids(5, 60), *t, lr=0.1)",
    "sgd empty batch": "sgns_sgd(empty((0,)), empty((0,)), ids(5, 6), *t, lr=0.1)",
    "sgd tables differ": "sgns_sgd(ids(1, 2), ids(3, 4), ids(5, 6), t[0], mx.nd.zeros((10, 5)), lr=0.1)",
    "mf batch sizes differ": "FusedTableLoss()(ids(0, 1), ids(0, 1, 2), *mf, mx.nd.zeros(2))",
    "mf empty batch": "FusedTableLoss()(empty((0,)), empty((0,)), *mf, mx.nd.zeros(1))",
    "rating rows differ": "FusedRatingLoss()(mx.nd.zeros((2, 4)), mx.nd.zeros((3, 4)), mx.nd.zeros((2, 1)), "
                          "mx.nd.zeros((2, 1)), mx.nd.zeros(1), mx.nd.zeros(2))",
}


@pytest.mark.parametrize("call", sorted(KERNEL_MISUSE), ids=sorted(KERNEL_MISUSE))
def test_a_kernel_refuses_bad_inputs_without_crashing(call):
    """Bad shapes or ids raise an error the caller can catch; the process lives on (it used to abort on an empty
    array: ``data.negatives=0`` killed training with SIGABRT)."""
    code = ("import numpy as np, mxnet as mx\n"
            "from zoo.ops.fused import FusedRatingLoss, FusedSkipGramLoss, FusedTableLoss, sgns_sgd\n"
            "ids = lambda *a: mx.nd.array(a, dtype='int32')\n"
            "empty = lambda shape: mx.nd.from_numpy(np.zeros(shape, np.int32), zero_copy=True)\n"
            "t = [mx.nd.zeros((10, 4)), mx.nd.zeros((10, 4))]\n"
            "mf = [mx.nd.zeros((5, 4)), mx.nd.zeros((3, 4)), mx.nd.zeros((5, 1)), mx.nd.zeros((3, 1)), mx.nd.zeros(1)]\n"
            "try:\n    (%s).asnumpy()\nexcept (ValueError, mx.base.MXNetError) as err:\n    print('refused', type(err).__name__)\n"
            % KERNEL_MISUSE[call])
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "refused" in proc.stdout, (proc.returncode, proc.stderr[-500:])


def rowwise_adagrad_reference(w, h, grads, lr, eps, rescale=1.0, clip=None):
    """Row-wise AdaGrad in numpy, one step per gradient: h += mean(g^2 over the row), w -= lr g / sqrt(h + eps)."""
    w, h = w.astype(np.float64).copy(), h.astype(np.float64).copy()
    for g in grads:
        g = rescale * g.reshape(len(w), -1).astype(np.float64)
        if clip is not None:
            g = np.clip(g, -clip, clip)
        h += (g ** 2).mean(axis=1, keepdims=True)
        w -= (lr * g / np.sqrt(h + eps)).reshape(w.shape)
    return w, h


@pytest.mark.parametrize("extra", [{}, {"clip_gradient": 0.05, "rescale_grad": 0.5}])
@pytest.mark.parametrize("shape", [(9, 4), (9,), (9, 2, 3)])
@pytest.mark.parametrize("stype", ["row_sparse", "default"])
def test_rowwise_adagrad_updates_like_numpy(shape, stype, extra, monkeypatch):
    """Sparse and dense gradients, every shape (a 1-D parameter's entries are rows of one), rows without gradient
    left alone; the kernel runs exactly for row_sparse gradients of 2-D weights."""
    from zoo.ops.optimizers import RowwiseAdaGrad
    assert ops.load()
    calls, kernel = [], mx.nd.zoo_lazy_rowwise_adagrad
    monkeypatch.setattr(mx.nd, "zoo_lazy_rowwise_adagrad", lambda *a, **k: calls.append(1) or kernel(*a, **k))
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=shape).astype(np.float32)
    grads = []
    for step in range(3):
        g = rng.normal(size=shape).astype(np.float32)
        g[rng.permutation(shape[0])[:4]] = 0  # rows the batch did not use
        grads.append(g)
    optimizer = RowwiseAdaGrad(learning_rate=0.1, eps=1e-5, **extra)
    weight = mx.nd.array(w0)
    state = optimizer.create_state(0, weight)
    for g in grads:
        grad = mx.nd.array(g)
        optimizer.update(0, weight, grad.tostype(stype) if (stype == "default" or len(shape) == 2) else grad, state)
    want_w, want_h = rowwise_adagrad_reference(w0, np.zeros((shape[0], 1)), grads, 0.1, 1e-5,
                                               extra.get("rescale_grad", 1.0), extra.get("clip_gradient"))
    np.testing.assert_allclose(weight.asnumpy(), want_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state.asnumpy(), want_h, rtol=1e-5, atol=1e-7)
    assert len(calls) == (3 if stype == "row_sparse" and len(shape) == 2 else 0)


def test_rowwise_adagrad_kernel_is_mxnets_groupadagrad():
    """The fused kernel against MXNet's own ``group_adagrad_update`` (its fallback) on the same rows."""
    assert ops.load()
    rng = np.random.default_rng(1)
    w0, h0 = rng.normal(size=(7, 5)).astype(np.float32), rng.uniform(0, 1, (7, 1)).astype(np.float32)
    g = np.zeros((7, 5), np.float32)
    g[[1, 4, 5]] = rng.normal(size=(3, 5))
    grad = mx.nd.array(g).tostype("row_sparse")
    for clip in (-1.0, 0.5):
        ours, theirs = (mx.nd.array(w0), mx.nd.array(h0)), (mx.nd.array(w0), mx.nd.array(h0))
        mx.nd.zoo_lazy_rowwise_adagrad(ours[0], grad, ours[1], lr=0.1, epsilon=1e-5, rescale_grad=2.0,
                                       clip_gradient=clip)
        mx.nd.contrib.group_adagrad_update(theirs[0], grad, theirs[1], out=theirs[0], lr=0.1, epsilon=1e-5,
                                           rescale_grad=2.0, **({} if clip < 0 else {"clip_gradient": clip}))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-6, atol=1e-7)


def test_rowwise_adagrad_trains_mf_by_name_and_refuses_weight_decay():
    from zoo.config import ConfigError
    from zoo.fastpath import make_optimizer
    from zoo.ops.optimizers import RowwiseAdaGrad
    optimizer = make_optimizer("rowwise_adagrad", {"learning_rate": 0.5, "wd": 0.0})
    assert isinstance(optimizer, RowwiseAdaGrad)
    with pytest.raises(ConfigError, match="optim.wd"):
        make_optimizer("rowwise_adagrad", {"learning_rate": 0.5, "wd": 0.01})
    rng = np.random.default_rng(3)
    users, items = rng.integers(0, 30, 512), rng.integers(0, 20, 512)
    ratings = 3 + rng.normal(0, 1, 30)[users] * rng.normal(0, 1, 20)[items]
    mx.random.seed(0)
    model = MatrixFactorization.create(30, 20, dim=4, reg=0.001, init_scale=0.1, mean_rating=3.0)
    model.initialize()
    objective = select_objective(model, [mx.cpu()])
    trainer = mx.gluon.Trainer(model.collect_params(), optimizer)
    losses = []
    for step in range(60):
        with autograd.record():
            loss = objective(*(mx.nd.array(a, dtype=d) for a, d in ((users, "int32"), (items, "int32"),
                                                                      (ratings, "float32"))))
        loss.backward()
        trainer.step(512)
        losses.append(loss.mean().asscalar())
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


@pytest.mark.parametrize("schedule", [True, False])
@pytest.mark.parametrize("extra", [{}, {"wd": 0.01, "clip_gradient": 0.05}])
def test_several_mf_adam_steps_in_one_call_are_the_steps_one_at_a_time(extra, schedule):
    """``FusedMFAdamSteps.run_steps`` on four batches (the last shorter) against ``GradientStep(FusedMF)`` and
    ``trainer.step`` with zoo's Adam on each in turn: the same losses, parameters, moments and step counts, a
    schedule moving once a step (or none: the rates then computed for all steps at once)."""
    from zoo.fastpath import FusedMFAdamSteps, make_optimizer, mf_adam_steps_reason
    from zoo.train.loop import GradientStep
    assert ops.load()
    rng = np.random.default_rng(4)
    sizes = [16, 16, 16, 9]
    batches = [(rng.integers(0, 30, n).astype(np.int32), rng.integers(0, 20, n).astype(np.int32),
                rng.uniform(1, 5, n).astype(np.float32)) for n in sizes]
    batches[1][0][:5] = 3  # a user several times in one batch
    results = []
    for together in (True, False):
        mx.random.seed(0)
        model = MatrixFactorization.create(30, 20, dim=8, reg=0.05, init_scale=0.3, mean_rating=3.0)
        model.initialize()
        if schedule:
            extra = dict(extra, lr_scheduler=mx.lr_scheduler.FactorScheduler(step=1, factor=0.8))
        optimizer = make_optimizer("adam", dict(learning_rate=0.05, **extra))
        trainer = mx.gluon.Trainer(model.collect_params(), optimizer)
        assert mf_adam_steps_reason(model, optimizer, [mx.cpu()]) is None
        step = FusedMFAdamSteps(model, select_objective(model, [mx.cpu()]))
        if together:
            losses = step.run_steps([[b] for b in batches], trainer).asnumpy()
        else:
            losses = np.concatenate([GradientStep.__call__(step, [[mx.nd.array(a, dtype=a.dtype) for a in b]],
                                                           trainer)[0].asnumpy() for b in batches])
        states = {i: [s.asnumpy() for s in trainer._updaters[0].states[i]] for i in trainer._updaters[0].states}
        results.append((losses, {k: p.data().asnumpy() for k, p in model._collect_params_with_prefix().items()},
                        states, dict(trainer.optimizer._index_update_count), trainer.optimizer.num_update))
    (losses, params, states, counts, updates), (losses1, params1, states1, counts1, updates1) = results
    np.testing.assert_allclose(losses, losses1, rtol=1e-5, atol=1e-6)
    for key in params1:
        np.testing.assert_allclose(params[key], params1[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for i in states1:
        for a, b in zip(states[i], states1[i]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert counts == counts1 and updates == updates1 == 4


def _svdpp(num_users=30, num_items=20, cls=None, **kwargs):
    """A small SVD++ whose rated items' table starts away from zero and learns at half the rate."""
    from zoo.models import SVDpp
    cls = cls or SVDpp
    config = dict(dim=8, reg=0.05, init_scale=0.3, implicit_init_scale=0.2, implicit_lr_mult=0.5)
    mx.random.seed(0)
    model = cls.from_config(cls.Config(**dict(config, **kwargs)), {"num_users": num_users, "num_items": num_items,
                                                                   "mean_rating": 3.0, "implicit": True})
    model.initialize()
    return model


def _svdpp_batches(sizes, num_users=30, num_items=20, seed=5):
    """Batches ``(users, items, rated, ratings)`` as ``MovieLens(implicit=True)`` makes them: ``rated`` the batch's
    distinct users' rows of rated items (weighted 1/sqrt(count)) and each example's row among them."""
    from zoo.rows import SharedRows, SparseRows
    rng = np.random.default_rng(seed)
    rated = [np.sort(rng.choice(num_items, rng.integers(1, 9), replace=False)) for _ in range(num_users)]

    def rows_of(users):
        indptr = np.concatenate([[0], np.cumsum([len(rated[u]) for u in users])])
        values = np.concatenate([np.full(len(rated[u]), len(rated[u]) ** -0.5) for u in users])
        return SparseRows(indptr, np.concatenate([rated[u] for u in users]), values, num_items)
    batches = []
    for n in sizes:
        users = rng.integers(0, num_users, n).astype(np.int32)
        users[:4] = users[0]  # a user several times in one batch
        batches.append((users, rng.integers(0, num_items, n).astype(np.int32), SharedRows.of(users, rows_of),
                        rng.uniform(1, 5, n).astype(np.float32)))
    return batches


@pytest.mark.parametrize("schedule", [True, False])
def test_several_svdpp_sgd_steps_in_one_call_are_the_composite_steps_one_at_a_time(schedule):
    """``FusedSVDppSGDSteps.run_steps`` on four batches (the last shorter) against the reference: the composite
    ``Objective(SVDpp)``'s summed gradient (``optim.per_example``) and ``trainer.step`` with SGD on each batch in
    turn: the same losses and parameters, the rated items' table at its own rate, a schedule moving once a step."""
    from zoo.fastpath import FusedSVDppSGDSteps, make_optimizer, svdpp_sgd_steps_reason
    from zoo.ops.arrays import as_ndarrays
    from zoo.train.loop import GradientStep
    assert ops.load()
    batches = _svdpp_batches([16, 16, 16, 9])
    results = []
    for together in (True, False):
        model = _svdpp()
        extra = {"lr_scheduler": mx.lr_scheduler.FactorScheduler(step=1, factor=0.8)} if schedule else {}
        optimizer = make_optimizer("sgd", dict(learning_rate=0.05, **extra))
        trainer = mx.gluon.Trainer(model.collect_params(), optimizer)
        assert svdpp_sgd_steps_reason(model, optimizer, [mx.cpu()]) is None
        reference = Objective(model)
        reference.hybridize()
        if together:
            losses = FusedSVDppSGDSteps(model, reference).run_steps([[b] for b in batches], trainer).asnumpy()
        else:
            step = GradientStep(reference, sum_gradients=True)
            losses = np.concatenate([step([as_ndarrays(b)], trainer)[0].asnumpy() for b in batches])
        results.append((losses, {k: p.data().asnumpy() for k, p in model._collect_params_with_prefix().items()},
                        trainer.optimizer.num_update))
    (losses, params, updates), (losses1, params1, updates1) = results
    np.testing.assert_allclose(losses, losses1, rtol=1e-5, atol=1e-6)
    assert len(params1) == 6
    for key in params1:
        assert not np.allclose(params1[key], _svdpp()._collect_params_with_prefix()[key].data().asnumpy()), key
        np.testing.assert_allclose(params[key], params1[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert updates == updates1 == 4


def test_the_svdpp_multi_step_kernel_is_chosen_only_where_it_makes_those_steps(caplog):
    """SVD++ with plain SGD per example on one CPU: the kernel, and the log says so. Adam, momentum, clipping, two
    devices, without per_example, or a subclass that overrides the forward: one step at a time (or MF's kernel's
    refusal), and the log says why."""
    import logging
    from zoo.fastpath import FusedSVDppSGDSteps, make_optimizer, select_step
    from zoo.models import SVDpp

    class Shifted(SVDpp):
        def hybrid_forward(self, F, users, items, *rest):
            return super().hybrid_forward(F, users, items, *rest) + 1
    sgd = make_optimizer("sgd", {"learning_rate": 0.01})
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        step = select_step(_svdpp(), [mx.cpu()], sgd, per_example=True, steps_per_call=8)
    assert isinstance(step, FusedSVDppSGDSteps), caplog.text
    assert "8 steps a call by the fused SVD++ SGD kernel" in caplog.text and "summed gradient" in caplog.text
    cases = [(_svdpp(), [mx.cpu()], make_optimizer("adam", {"learning_rate": 0.01}), True, "not SGD"),
             (_svdpp(), [mx.cpu()], make_optimizer("sgd", {"learning_rate": 0.01, "momentum": 0.9}), True,
              "momentum"),
             (_svdpp(), [mx.cpu()], make_optimizer("sgd", {"learning_rate": 0.01, "clip_gradient": 1.0}), True,
              "clips"),
             (_svdpp(), [mx.cpu(0), mx.cpu(1)], sgd, True, "2 devices"),
             (_svdpp(), [mx.cpu()], sgd, False, "not a bare EmbeddingTower"),
             (_svdpp(cls=Shifted), [mx.cpu()], sgd, True, "Shifted overrides hybrid_forward")]
    for m, devices, optimizer, per_example, reason in cases:
        with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
            caplog.clear()
            step = select_step(m, devices, optimizer, per_example=per_example, steps_per_call=8)
        assert not isinstance(step, FusedSVDppSGDSteps) and reason in caplog.text, (reason, caplog.text)


def test_the_multi_step_kernel_is_chosen_only_where_it_makes_those_steps(caplog):
    """Another optimizer, dense gradients, two devices, parameter servers or a subclass that overrides the
    forward: one step at a time, and the log says why."""
    import logging
    from zoo.fastpath import FusedMFAdamSteps, make_optimizer, select_step

    class Shifted(MatrixFactorization):
        def hybrid_forward(self, F, users, items, *rest):
            return super().hybrid_forward(F, users, items, *rest) + 1

    def model(cls=MatrixFactorization, **kwargs):
        m = cls.create(30, 20, dim=4, mean_rating=3.0, **kwargs)
        m.initialize()
        return m
    adam = make_optimizer("adam", {"learning_rate": 0.01})
    frozen_bias = model()
    frozen_bias.user_bias.embedding.weight.grad_req = "null"
    assert isinstance(select_step(model(), [mx.cpu()], adam, steps_per_call=8), FusedMFAdamSteps)
    assert not isinstance(select_step(model(), [mx.cpu()], adam), FusedMFAdamSteps)  # one a call: no need
    cases = [(model(), [mx.cpu()], make_optimizer("sgd", {"learning_rate": 0.01}), {}, "not zoo's Adam"),
             (model(sparse_grad=False), [mx.cpu()], adam, {}, "dense gradients"),
             (model(), [mx.cpu(0), mx.cpu(1)], adam, {}, "2 devices"),
             (model(), [mx.cpu()], adam, {"on_servers": True}, "parameter servers"),
             (model(Shifted), [mx.cpu()], adam, {}, "Shifted overrides hybrid_forward"),
             (frozen_bias, [mx.cpu()], adam, {}, "the trained parameters are not")]
    for m, devices, optimizer, kwargs, reason in cases:
        with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
            caplog.clear()
            step = select_step(m, devices, optimizer, steps_per_call=8, **kwargs)
        assert not isinstance(step, FusedMFAdamSteps) and reason in caplog.text, (reason, caplog.text)
