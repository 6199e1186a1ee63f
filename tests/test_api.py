import mxnet as mx
import numpy as np
import pytest

import zoo
from conftest import low_rank_ratings, write_ratings_csv
from zoo.config import from_raw
from zoo.pipeline import train


def test_build_and_list_models():
    assert zoo.list_models() == ["metric_cnn", "mf", "proxy_cnn", "ranking_mf", "siamese_cnn", "skipgram", "svdpp"]
    mf = zoo.build_model("mf", num_users=5, num_items=6, dim=3)
    mf.initialize()
    assert mf(mx.nd.array([0, 1]), mx.nd.array([2, 3])).shape == (2,)
    assert isinstance(zoo.build_model("siamese_cnn", dim=8, channels=[4]), zoo.models.SiameseNet)
    assert isinstance(zoo.build_model("skipgram", vocab_size=10, dim=4), zoo.models.SkipGram)
    assert isinstance(zoo.build_model("proxy_cnn", num_classes=5, dim=8, channels=[4]), zoo.models.ProxyNet)
    assert zoo.build_model("ranking_mf", num_users=5, num_items=6, dim=3).num_items == 6
    with pytest.raises(KeyError, match="choose one of: metric_cnn, mf, proxy_cnn, ranking_mf, siamese_cnn, skipgram, svdpp"):
        zoo.build_model("nope")


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    """MF trained on a synthetic table without user 1; that user's ratings are returned for fold-in."""
    users, items, ratings = low_rank_ratings(num_users=120, num_items=80, density=0.5, seed=5)
    folder = tmp_path_factory.mktemp("fold")
    keep = users != 1
    root = write_ratings_csv(str(folder / "ml"), users[keep], items[keep], ratings[keep])
    cfg = from_raw({"model": {"name": "mf", "dim": 8, "reg": 0.02},
                    "data": {"name": "movielens", "root": root, "valid_ratio": 0.1},
                    "train": {"epochs": 30, "batch_size": 128, "progress": False, "monitor": "valid.rmse"},
                    "optim": {"name": "adam", "lr": 0.02}})
    run_dir = str(folder / "run")
    train(cfg, run_dir)
    return zoo.load_run(run_dir), items[~keep], ratings[~keep], ratings[keep].mean()


def test_load_run_and_recommend(held_out_run):
    run = held_out_run[0]
    rows = run.recommend(2, k=4)
    assert len(rows) == 4 and all("Movie" in title for _, _, title in rows)
    assert [score for _, score, _ in rows] == sorted((score for _, score, _ in rows), reverse=True)
    rated = set(run.dataset.item_map.ids[run.dataset.rated(run.dataset.user_map.index([2])[0])].tolist())
    assert not rated & {item for item, _, _ in rows}
    with pytest.raises(KeyError, match="unknown user 1"):
        run.recommend(1)


def test_fold_in_beats_the_global_mean(held_out_run):
    run, items, ratings, mean = held_out_run
    rng = np.random.default_rng(0)
    order = rng.permutation(len(items))
    fit, held = order[:len(order) // 2], order[len(order) // 2:]
    user = run.fold_in(items[fit], ratings[fit])
    rmse = np.sqrt(np.mean((user.predict(items[held]) - ratings[held]) ** 2))
    baseline = np.sqrt(np.mean((mean - ratings[held]) ** 2))
    assert rmse < 0.8 * baseline, (rmse, baseline)
    recommended = [item for item, _, _ in user.recommend(5)]
    assert len(recommended) == 5 and not set(recommended) & set(items[fit].tolist())


def test_predict_known_and_unknown_ids(held_out_run):
    """Known ids get the model's clipped rating; an unknown user gets the offset plus the item's bias, an unknown
    item the offset plus the user's bias, both unknown the offset: flagged, never an error."""
    run = held_out_run[0]
    ds, model = run.dataset, run.model
    user, item = 2, int(ds.item_map.ids[0])
    got = run.predict(user, item)
    u, i = ds.user_map.index([user]), ds.item_map.index([item])
    want = np.clip(model(mx.nd.array(u, dtype="int32"), mx.nd.array(i, dtype="int32")).asnumpy()[0], *ds.rating_range)
    assert got.known and got.user == user and got.item == item and np.isclose(got.rating, want, atol=1e-5)
    offset = model.scorer.offset.data().asnumpy()[0]
    item_bias = model.item_bias(mx.nd.array(i, dtype="int32")).asnumpy().ravel()[0]
    user_bias = model.user_bias(mx.nd.array(u, dtype="int32")).asnumpy().ravel()[0]
    low, high = ds.rating_range
    cold = run.predict(1, item)  # user 1 was held out
    assert cold[:2] == (1, item) and not cold.known and np.isclose(cold.rating, np.clip(offset + item_bias, low, high))
    assert np.isclose(run.predict(user, 10 ** 9).rating, np.clip(offset + user_bias, low, high))
    assert not run.predict("nobody", 10 ** 9).known
    assert np.isclose(run.predict("nobody", 10 ** 9).rating, np.clip(offset, low, high))


def test_svdpp_run_recommends_and_predicts(tmp_path):
    users, items, ratings = low_rank_ratings(num_users=40, num_items=30, density=0.5, seed=2)
    root = write_ratings_csv(str(tmp_path / "ml"), users, items, ratings)
    cfg = from_raw({"model": {"name": "svdpp", "dim": 4}, "data": {"name": "movielens", "root": root, "implicit": True},
                    "train": {"epochs": 2, "batch_size": 64, "progress": False}})
    train(cfg, str(tmp_path / "run"))
    run = zoo.load_run(str(tmp_path / "run"))
    rows = run.recommend(int(users[0]), k=3)
    assert len(rows) == 3 and [r for _, r, _ in rows] == sorted((r for _, r, _ in rows), reverse=True)
    item = rows[0][0]
    assert np.isclose(run.predict(int(users[0]), item).rating, rows[0][1], atol=1e-5)
