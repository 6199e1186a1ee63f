import mxnet as mx
import numpy as np

from zoo.config import from_raw
from zoo.models import MatrixFactorization, Objective
from zoo.pipeline import train


def test_loss_is_squared_error_plus_penalty_on_used_rows():
    model = MatrixFactorization.create(3, 4, dim=2, reg=0.1, mean_rating=3.0)
    model.initialize()
    users, items, ratings = mx.nd.array([0, 2]), mx.nd.array([1, 3]), mx.nd.array([4.0, 2.0])
    u, v = model.user_tower(users).asnumpy(), model.item_tower(items).asnumpy()
    model.user_bias.embedding.weight.set_data(mx.nd.array([[0.5], [0.0], [-1.0]]))
    model.item_bias.embedding.weight.set_data(mx.nd.array([[0.0], [0.25], [0.0], [1.5]]))
    bu, bi = np.array([0.5, -1.0]), np.array([0.25, 1.5])
    pred = (u * v).sum(1) + bu + bi + 3.0
    want = (pred - [4.0, 2.0]) ** 2 + 0.1 * ((u ** 2).sum(1) + (v ** 2).sum(1) + bu ** 2 + bi ** 2)
    np.testing.assert_allclose(Objective(model)(users, items, ratings).asnumpy(), want, rtol=1e-5)
    np.testing.assert_allclose(model(users, items).asnumpy(), pred, rtol=1e-5)


def test_mf_beats_global_mean_on_low_rank_data(ratings_dir, tmp_path):
    cfg = from_raw({"model": {"name": "mf", "dim": 8, "reg": 0.02, "init_scale": 0.1},
                    "data": {"name": "movielens", "root": ratings_dir, "valid_ratio": 0.1},
                    "train": {"epochs": 40, "batch_size": 128, "progress": False, "monitor": "valid.rmse"},
                    "optim": {"name": "adam", "lr": 0.02}})
    results = train(cfg, str(tmp_path / "run"))
    from zoo.data import MovieLens
    ds = MovieLens(root=ratings_dir, valid_ratio=0.1)
    train_ratings, test_ratings = ds.arrays("train")[2], ds.arrays("test")[2]
    baseline = np.sqrt(np.mean((test_ratings - train_ratings.mean()) ** 2))
    assert results["test"]["n"] == len(test_ratings)
    assert results["test"]["rmse"] < 0.6 * baseline, (results["test"], baseline)


def test_svdpp_with_a_still_zero_rated_items_table_trains_as_mf(ratings_dir, tmp_path):
    """SVD++ is MF plus the rated items' embedding: started at zero and not learning (implicit_init_scale 0,
    implicit_lr_mult 0), it draws MF's starting tables and makes MF's steps, through its own (composite) path
    against MF's fused kernel. A learning table changes the result."""
    def run(name, **model):
        cfg = from_raw({"model": {"name": name, "dim": 8, "reg": 0.02, "init_scale": 0.05, **model},
                        "data": {"name": "movielens", "root": ratings_dir, "implicit": name == "svdpp"},
                        "train": {"epochs": 3, "batch_size": 64, "progress": False, "steps_per_call": 4},
                        "optim": {"name": "adam", "lr": 0.01}})
        return train(cfg, str(tmp_path / ("%s-%d" % (name, len(list(tmp_path.iterdir()))))))
    mf = run("mf")
    still = run("svdpp", implicit_init_scale=0.0, implicit_lr_mult=0.0)
    learning = run("svdpp", implicit_init_scale=0.0, implicit_lr_mult=1.0)
    np.testing.assert_allclose(still["test"]["rmse"], mf["test"]["rmse"], rtol=1e-5)
    assert abs(learning["test"]["rmse"] - mf["test"]["rmse"]) > 1e-4
