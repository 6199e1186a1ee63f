"""Top-K recommendation: the implicit-feedback data, the ranking model's loss, and a run end to end."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from conftest import ROOT, low_rank_ratings, write_ratings_csv
from zoo.data import MovieLensImplicit
from zoo.models import Objective, RankingMF
from zoo.ops.arrays import as_ndarray
from zoo.rows import SparseRows


def train_ranking(tmp_path, epochs):
    """``configs/movielens_ranking.yaml`` trained by tools/train.py on a small file; returns the run folder."""
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    out = str(tmp_path / "run")
    proc = subprocess.run([sys.executable, "tools/train.py", "--config", "configs/movielens_ranking.yaml", "--out",
                           out, "data.root=" + root, "train.epochs=%d" % epochs, "train.progress=false",
                           "eval.k=[5]"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_positives_candidates_and_history(ratings_dir):
    ds = MovieLensImplicit(positive_threshold=4.0, history=True, root=ratings_dir)
    r = ds.ratings
    for split, idx in ds.splits.items():
        assert (r.ratings[idx] >= 4.0).all() and set(idx) <= set(r.splits[split])
    assert ds.candidates.sum() == len(np.unique(r.items[r.splits["train"]]))
    indptr, items = ds.positives["train"]
    u = 3
    liked = set(items[indptr[u]:indptr[u + 1]].tolist())
    assert liked == set(r.items[ds.splits["train"]][r.users[ds.splits["train"]] == u].tolist())
    users, history = ds.inputs([u, 0, u])
    row = history.toarray()[0]
    assert set(np.flatnonzero(row).tolist()) == liked and np.isclose((row ** 2).sum(), 1.0)   # 1 / sqrt(count)
    np.testing.assert_array_equal(history[2:3].toarray()[0], row)
    users, history, targets = next(iter(ds.batches("train", 16)))
    assert users.dtype == targets.dtype == np.int32 and history.shape == (16, ds.meta["num_items"])
    assert isinstance(history, SparseRows) and len(history.values) == len(history.indices) == history.indptr[-1]


def test_softmax_loss_against_numpy(hybridize):
    mx.random.seed(0)
    model = RankingMF.create(5, 7, dim=3, reg=0.1, init_scale=0.5)
    model.initialize()
    model.item_bias.embedding.weight.set_data(mx.nd.random.normal(shape=(7, 1)))
    objective = Objective(model)
    if hybridize:
        objective.hybridize()
    users, items = np.array([0, 3, 3]), np.array([6, 1, 2])
    got = objective(mx.nd.array(users), mx.nd.array(items)).asnumpy()
    u = model.user_tower.embedding.weight.data().asnumpy()[users]
    v = model.item_tower.embedding.weight.data().asnumpy()
    b = model.item_bias.embedding.weight.data().asnumpy()[:, 0]
    scores = u @ v.T + b
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    want = -log_softmax[np.arange(3), items] + 0.1 * (u ** 2).sum(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_train_recommend_and_fold_in_end_to_end(tmp_path):
    out = train_ranking(tmp_path, epochs=3)
    proc = subprocess.run([sys.executable, "tools/recommend.py", out, "--user", "1", "-k", "4"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 4, proc.stderr
    code = r'''
import zoo
run = zoo.load_run(%r)
ds = run.dataset
indptr, liked = ds.positives["train"]
user = int(ds.user_map.index([1])[0])
mine = {int(ds.item_map.ids[i]) for i in liked[indptr[user]:indptr[user + 1]]}
top = run.recommend(1, k=10)
assert len(top) == 10 and not {item for item, _, _ in top} & mine, "a training positive was recommended"
new = run.fold_in_liked(sorted(mine)[:5])
picks = new.recommend(k=10)
assert len(picks) == 10 and not {item for item, _, _ in picks} & set(sorted(mine)[:5])
print("ok")
''' % out
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_fold_in_with_a_history_tower_is_the_towers_embedding(tmp_path):
    """A new user who liked a known user's training positives scores the catalog as that user's history part
    does (the id embedding, which a new user lacks, set to zero)."""
    import zoo
    out = train_ranking(tmp_path, epochs=2)
    run = zoo.load_run(out)
    ds = run.dataset
    indptr, liked = ds.positives["train"]
    user = 2
    raw = [int(i) for i in ds.item_map.ids[liked[indptr[user]:indptr[user + 1]]]]
    new = run.fold_in_liked(raw)
    model = run.model
    model.user_tower.user_tower.embedding.weight.data()[user] = 0   # the known user without its id vector
    want = model(*[as_ndarray(a) for a in ds.inputs([user])]).asnumpy()[0]
    catalog = np.flatnonzero(ds.candidates)
    np.testing.assert_allclose(new._scores[catalog], want[catalog], rtol=1e-4, atol=1e-5)


def test_multinomial_loss_against_numpy(hybridize):
    from zoo.blocks import MultinomialLoss
    loss = MultinomialLoss()
    if hybridize:
        loss.hybridize()
    rng = np.random.default_rng(0)
    scores, target = rng.normal(size=(3, 6)), (rng.random((3, 6)) < 0.4).astype(np.float32)
    log_softmax = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(loss(mx.nd.array(scores), mx.nd.array(target)).asnumpy(),
                               -(target * log_softmax).sum(axis=1), rtol=1e-5)


def test_per_user_batches_hide_part_of_the_input(ratings_dir):
    ds = MovieLensImplicit(positive_threshold=3.5, history=True, per_user=True, input_dropout=0.5, root=ratings_dir)
    batches = list(ds.batches("train", 16, shuffle=True, seed=3))
    users = np.concatenate([b[0] for b in batches])
    assert len(users) == len(set(users.tolist())) == ds.num_examples("train")   # every user once an epoch
    for users, history, targets in batches:
        np.testing.assert_array_equal(targets, (ds.inputs(users)[1].toarray() > 0))        # all positives
        history = history.toarray()
        assert ((history > 0) <= (targets > 0)).all()                                    # input: a subset
        kept = (history > 0).sum(axis=1)
        assert np.allclose((history ** 2).sum(axis=1)[kept > 0], 1.0)                    # scaled by 1/sqrt(kept)
    hidden = 1 - sum(len(b[1].indices) for b in batches) / sum(b[2].sum() for b in batches)
    assert 0.4 < hidden < 0.6
    first = [b[1] for b in ds.batches("train", 16, shuffle=True, seed=3)]
    np.testing.assert_array_equal(first[0].toarray(), batches[0][1].toarray())         # a seed repeats


def test_the_loss_and_the_batch_layout_must_agree(ratings_dir):
    from zoo.config import from_raw
    from zoo.pipeline import build_dataset, build_model
    cfg = from_raw({"model": {"name": "ranking_mf", "loss": "multinomial"},
                    "data": {"name": "movielens_implicit", "root": ratings_dir, "history": True}})
    with pytest.raises(ValueError, match="model.loss=multinomial needs data.per_user: true"):
        build_model(cfg, build_dataset(cfg).meta)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def sampled_case(loss, hybridize, seed, columns):
    """``loss`` (hybridized if asked) and random scores and log-probabilities ``(4, columns)``."""
    if hybridize:
        loss.hybridize()
    rng = np.random.default_rng(seed)
    return loss, rng, rng.normal(size=(4, columns)), np.log(rng.dirichlet(np.ones(columns), size=4))


def test_bpr_loss_against_numpy(hybridize):
    from zoo.blocks import BPRLoss
    loss, _, scores, logq = sampled_case(BPRLoss(), hybridize, 0, 5)
    z = scores - logq
    want = np.log1p(np.exp(z[:, 1:] - z[:, :1])).mean(axis=1)        # -log sigmoid(z_0 - z_k), mean over k
    np.testing.assert_allclose(loss(mx.nd.array(scores), mx.nd.array(logq)).asnumpy(), want, rtol=1e-5)
    flat = np.full((4, 5), np.log(0.2))                                 # uniform negatives: Rendle's BPR
    np.testing.assert_allclose(loss(mx.nd.array(scores), mx.nd.array(flat)).asnumpy(),
                               np.log1p(np.exp(scores[:, 1:] - scores[:, :1])).mean(axis=1), rtol=1e-5)


def test_sampled_softmax_loss_against_numpy(hybridize):
    from zoo.blocks import SampledSoftmaxLoss
    loss, rng, scores, logq = sampled_case(SampledSoftmaxLoss(), hybridize, 1, 6)
    np.testing.assert_allclose(loss(mx.nd.array(scores), mx.nd.array(logq)).asnumpy(),     # positive: column 0
                               -log_softmax(scores - logq)[:, 0], rtol=1e-5)
    shared, label = np.log(rng.dirichlet(np.ones(6)))[None, :], np.array([3, 0, 5, 3])      # in-batch form
    got = SampledSoftmaxLoss()(mx.nd.array(scores), mx.nd.array(shared), mx.nd.array(label)).asnumpy()
    np.testing.assert_allclose(got, -log_softmax(scores - shared)[np.arange(4), label], rtol=1e-5)


def test_negatives_are_drawn_by_popularity_to_the_alpha(ratings_dir):
    for alpha in (0.0, 1.0):
        ds = MovieLensImplicit(positive_threshold=3.5, negatives=50, negative_alpha=alpha, root=ratings_dir)
        train = ds.splits["train"]
        counts = np.bincount(ds.ratings.items[train], minlength=ds.meta["num_items"]).astype(float)
        want = np.where(ds.candidates, counts ** alpha, 0)
        want /= want.sum()
        drawn = []
        for users, candidates, logq in ds.batches("train", 64, shuffle=True, seed=int(alpha)):
            assert candidates.shape == logq.shape == (len(users), 51) and candidates.dtype == np.int32
            np.testing.assert_allclose(logq, np.log(want[candidates]), rtol=1e-5)   # the log-probabilities
            drawn.append(candidates[:, 1:].ravel())
        positives = np.concatenate([b[1][:, 0] for b in ds.batches("train", 64)])
        np.testing.assert_array_equal(np.sort(positives), np.sort(ds.ratings.items[train]))  # column 0
        freq = np.bincount(np.concatenate(drawn), minlength=len(want)) / sum(len(d) for d in drawn)
        assert freq[~ds.candidates].sum() == 0                     # never an item outside the catalog
        assert np.abs(freq - want).max() < 0.01, alpha


def test_in_batch_candidates_are_the_distinct_positives_of_the_batch(ratings_dir):
    ds = MovieLensImplicit(positive_threshold=3.5, in_batch=True, root=ratings_dir)
    counts = np.bincount(ds.ratings.items[ds.splits["train"]], minlength=ds.meta["num_items"])
    for users, items, logq, label in ds.batches("train", 32, shuffle=True, seed=0):
        distinct = np.isfinite(logq[0])
        assert items.shape == (32,) and logq.shape == (1, 32) and label.shape == users.shape
        assert len(set(items[distinct].tolist())) == distinct.sum()           # each item once
        np.testing.assert_allclose(logq[0, distinct], np.log(counts[items[distinct]] / counts.sum()), rtol=1e-5)
        assert distinct[label].all()
        parts = ds.split_batch((users, items, logq, label), 2)                 # candidates whole to each part
        assert all(p[1] is items and p[2] is logq for p in parts)
        assert np.concatenate([p[3] for p in parts]).tolist() == label.tolist()
    # each row's label points at its own positive
    users, items, logq, label = next(iter(ds.batches("train", 32)))
    train = ds.splits["train"][:32]
    np.testing.assert_array_equal(items[label], ds.ratings.items[train])


def test_layouts_exclude_each_other(ratings_dir):
    from zoo.data.download import DataError
    with pytest.raises(DataError, match="choose one"):
        MovieLensImplicit(negatives=4, in_batch=True, root=ratings_dir)


def test_truncated_svd_spans_the_leading_singular_vectors():
    from zoo.models.svd import CSR, top_right_singular_vectors
    rng = np.random.default_rng(0)
    x = (rng.random((40, 30)) < (rng.random((40, 1)) * rng.random((1, 30)) * 2)).astype(np.float32)
    x[5] = 0                                                                    # a user without positives
    rows, cols = np.nonzero(x)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=40))])
    m = CSR(indptr, cols, 30)
    items, users = rng.normal(size=(30, 3)).astype(np.float32), rng.normal(size=(40, 3)).astype(np.float32)
    np.testing.assert_allclose(m @ items, x @ items, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.T_at(users), x.T @ users, rtol=1e-5, atol=1e-5)
    v = top_right_singular_vectors(m, 4, power_iterations=8)
    want = np.linalg.svd(x)[2][:4].T
    np.testing.assert_allclose(np.abs(want.T @ v), np.eye(4), atol=2e-3)      # the same vectors, up to sign
    assert (v[np.abs(v).argmax(axis=0), np.arange(4)] > 0).all()             # the sign rule


def test_svd_start_ranks_as_puresvd(ratings_dir):
    """``init: svd``: before any training, the model's scores are the rank-d projection ``x_u V V^T`` (PureSVD)
    up to a positive factor per user, for both user towers."""
    from zoo.models.svd import CSR, top_right_singular_vectors
    for history in (False, True):
        ds = MovieLensImplicit(positive_threshold=3.5, history=history, root=ratings_dir)
        model = RankingMF.create(ds.meta["num_users"], ds.meta["num_items"], history=history, dim=3, init="svd")
        model.initialize()
        model.initialize_from(ds)
        users = np.arange(ds.meta["num_users"], dtype=np.int32)
        got = model.score(*[as_ndarray(a) for a in ds.inputs(users)]).asnumpy()
        indptr, items = ds.positives["train"]
        v = top_right_singular_vectors(CSR(indptr, items, ds.meta["num_items"]), 3)
        x = np.zeros((len(users), ds.meta["num_items"]))
        x[np.repeat(users, np.diff(indptr)), items] = 1
        want = x @ v @ v.T * 9.0 / np.sqrt(np.maximum(x.sum(axis=1, keepdims=True), 1))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_fused_multinomial_loss_against_float64(hybridize):
    """zoo_multinomial_loss: the loss and the gradients of the scores and the targets, against numpy in float64."""
    from mxnet import autograd
    from zoo.ops.fused import FusedMultinomialLoss
    loss = FusedMultinomialLoss()
    if hybridize:
        loss.hybridize()
    rng = np.random.default_rng(0)
    s, t = rng.normal(0, 3, (32, 80)), (rng.random((32, 80)) < 0.3) * rng.random((32, 80))
    lse = np.log(np.exp(s - s.max(axis=1, keepdims=True)).sum(axis=1, keepdims=True)) + s.max(axis=1, keepdims=True)
    total = t.sum(axis=1, keepdims=True)
    x, y = mx.nd.array(s), mx.nd.array(t)
    x.attach_grad()
    y.attach_grad()
    weights = rng.random(32)
    with autograd.record():
        got = loss(x, y)
    got.backward(mx.nd.array(weights))
    np.testing.assert_allclose(got.asnumpy(), (total * lse - (t * s).sum(axis=1, keepdims=True))[:, 0], atol=1e-4)
    np.testing.assert_allclose(x.grad.asnumpy(), weights[:, None] * (total * np.exp(s - lse) - t), atol=2e-5)
    np.testing.assert_allclose(y.grad.asnumpy(), weights[:, None] * (lse - s), atol=2e-5)


def test_a_rating_model_reports_the_ranking_metrics_when_asked(ratings_dir, tmp_path):
    """``eval.ranking: true`` on a rating run: the same protocol as movielens_implicit (positives, catalog) on the
    same split, with the model's predicted ratings of every pair as the scores."""
    from zoo.config import from_raw
    from zoo.eval.ranking import ranking_metrics
    from zoo.pipeline import build_dataset, load_model, train
    cfg = from_raw({"model": {"name": "mf", "dim": 4}, "data": {"name": "movielens", "root": ratings_dir},
                    "eval": {"ranking": True, "k": [5], "positive_threshold": 3.5},
                    "train": {"epochs": 2, "progress": False}})
    results = train(cfg, str(tmp_path / "run"))
    ds = build_dataset(cfg)
    same = MovieLensImplicit(root=ratings_dir, positive_threshold=3.5)
    np.testing.assert_array_equal(ds.candidates, same.candidates)
    for split in ("train", "test"):
        for a, b in zip(ds.positives[split], same.positives[split]):
            np.testing.assert_array_equal(a, b)
    _, model, _ = load_model(str(tmp_path / "run"))
    n_users, n_items = ds.meta["num_users"], ds.meta["num_items"]
    users, items = np.repeat(np.arange(n_users), n_items), np.tile(np.arange(n_items), n_users)
    scores = model(mx.nd.array(users, dtype="int32"), mx.nd.array(items, dtype="int32")).asnumpy()
    want = ranking_metrics(lambda rows: scores.reshape(n_users, n_items)[rows], ds.positives["train"],
                           ds.positives["test"], n_items, (5,), ds.candidates)
    test = results["test"]
    assert "rmse" in test and test["users"] == want["users"] > 0
    for key in ("ndcg@5", "recall@5", "precision@5", "hit_rate@5"):
        assert np.isclose(test[key], want[key], rtol=1e-5), key


@pytest.mark.filterwarnings("ignore:Cannot decide type:UserWarning")  # SymbolBlock.imports, as in test_export
def test_a_history_run_exports_as_mxnet_and_says_why_not_onnx(tmp_path):
    import zoo
    run = zoo.load_run(train_ranking(tmp_path, epochs=1))
    with pytest.raises(ValueError, match="--format mxnet"):
        run.export_onnx(str(tmp_path / "onnx"))
    exported = run.export_mxnet(str(tmp_path / "mxnet"))
    block = mx.gluon.SymbolBlock.imports(exported["symbol"], exported["inputs"], exported["params"])
    inputs = [as_ndarray(a) for a in run.dataset.inputs([0, 2, 3])]
    np.testing.assert_allclose(block(*inputs).asnumpy(), run.model.score(*inputs).asnumpy(), rtol=1e-5, atol=1e-6)
