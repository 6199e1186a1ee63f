"""Top-K recommendation: the implicit-feedback data, the ranking model's loss, and a run end to end."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np

from conftest import ROOT, low_rank_ratings, write_ratings_csv
from zoo.data import MovieLensImplicit
from zoo.models import Objective, RankingMF


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
    row = ds.history[u]
    assert set(np.flatnonzero(row).tolist()) == liked and np.isclose((row ** 2).sum(), 1.0)
    users, history, targets = next(iter(ds.batches("train", 16)))
    assert users.dtype == targets.dtype == np.int32 and history.shape == (16, ds.meta["num_items"])


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
    want = model(*[mx.nd.array(a) for a in ds.inputs([user])]).asnumpy()[0]
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
        np.testing.assert_array_equal(targets, (ds.history[users] > 0).astype(np.float32))  # all positives
        assert ((history > 0) <= (targets > 0)).all()                                    # input: a subset
        kept = (history > 0).sum(axis=1)
        assert np.allclose((history ** 2).sum(axis=1)[kept > 0], 1.0)                    # scaled by 1/sqrt(kept)
    hidden = 1 - sum((b[1] > 0).sum() for b in batches) / sum(b[2].sum() for b in batches)
    assert 0.4 < hidden < 0.6
    first = [b[1] for b in ds.batches("train", 16, shuffle=True, seed=3)]
    np.testing.assert_array_equal(first[0], batches[0][1])                             # a seed repeats


def test_the_loss_and_the_batch_layout_must_agree(ratings_dir):
    import pytest
    from zoo.config import from_raw
    from zoo.pipeline import build_dataset, build_model
    cfg = from_raw({"model": {"name": "ranking_mf", "loss": "multinomial"},
                    "data": {"name": "movielens_implicit", "root": ratings_dir, "history": True}})
    with pytest.raises(ValueError, match="model.loss=multinomial needs data.per_user: true"):
        build_model(cfg, build_dataset(cfg).meta)
