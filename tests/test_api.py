import mxnet as mx
import numpy as np
import pytest

import zoo
from conftest import low_rank_ratings, write_ratings_csv
from zoo.config import from_raw
from zoo.pipeline import train


def test_build_and_list_models():
    assert zoo.list_models() == ["mf", "ranking_mf", "siamese_cnn", "skipgram", "svdpp"]
    mf = zoo.build_model("mf", num_users=5, num_items=6, dim=3)
    mf.initialize()
    assert mf(mx.nd.array([0, 1]), mx.nd.array([2, 3])).shape == (2,)
    assert isinstance(zoo.build_model("siamese_cnn", dim=8, channels=[4]), zoo.models.SiameseNet)
    assert isinstance(zoo.build_model("skipgram", vocab_size=10, dim=4), zoo.models.SkipGram)
    assert zoo.build_model("ranking_mf", num_users=5, num_items=6, dim=3).num_items == 6
    with pytest.raises(KeyError, match="choose one of: mf, ranking_mf, siamese_cnn, skipgram, svdpp"):
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
