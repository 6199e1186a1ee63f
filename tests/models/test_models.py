"""Every registered model: builds from its config, forward agrees hybridized and not, one training step is finite.
A model added to the registry without an entry in TINY fails here on purpose."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import zoo
from zoo.config import from_raw
from conftest import write_idx_set
from zoo.train.run import build_dataset, build_model, make_trainer

def corpus(root):
    return {"model": {"name": "skipgram", "dim": 8},
            "data": {"name": "text", "paths": [root + "/corpus.txt"], "min_count": 1},
            "eval": {"sets": [], "download": False}}


TINY = {
    "mf": lambda root: {"model": {"name": "mf", "dim": 4}, "data": {"name": "movielens", "root": root}},
    "mf_towers": lambda root: {"model": {"name": "mf", "dim": 6, "hidden": [5], "biases": False},
                               "data": {"name": "movielens", "root": root}},
    "svdpp": lambda root: {"model": {"name": "svdpp", "dim": 4},
                           "data": {"name": "movielens", "root": root, "implicit": True}},
    "skipgram": corpus,
    "siamese_cnn": lambda root: {"model": {"name": "siamese_cnn", "dim": 8, "channels": [4, 8]},
                                 "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2}},
    "siamese_cnn_in_batch_pairs": lambda root: {
        "model": {"name": "siamese_cnn", "dim": 8, "channels": [4, 8]},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2, "pairs_per_image": 2}},
    "siamese_cnn_two_towers": lambda root: {
        "model": {"name": "siamese_cnn", "dim": 8, "channels": [4], "shared": False, "loss": "contrastive"},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2}},
    "skipgram_shared": lambda root: dict(corpus(root), data=dict(corpus(root)["data"], shared_negatives=True)),
}


def test_every_registered_model_has_a_tiny_config():
    assert set(zoo.list_models()) <= {entry["model"]["name"] for entry in
                                      (make("/nowhere") for make in TINY.values())}


@pytest.mark.parametrize("name", sorted(TINY))
def test_forward_and_one_step(name, ratings_dir, hybridize):
    with open(ratings_dir + "/corpus.txt", "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n" * 3)
    write_idx_set(ratings_dir + "/digits", n_train=60, n_test=20)
    cfg = from_raw(TINY[name](ratings_dir))
    dataset = build_dataset(cfg)
    mx.random.seed(0)
    model = build_model(cfg, dataset)
    model.initialize()
    batch = [mx.nd.array(a, dtype=a.dtype) for a in next(iter(dataset.batches("train", 32)))]
    inputs = [mx.nd.array(a) for a in model.example_inputs(dataset.meta, batch=4)] if name.endswith("pairs") \
        else batch[:-1]
    imperative = model(*inputs).asnumpy()
    if hybridize:
        model.hybridize(static_alloc=True)
        np.testing.assert_allclose(model(*inputs).asnumpy(), imperative, rtol=1e-5, atol=1e-6)
    trainer = make_trainer(model, cfg.optim)
    with autograd.record():
        loss = model.loss(*batch)
    n = loss.shape[0]  # one loss per example: a rating, a word pair, an image pair
    assert loss.shape == (n,) and n in (len(batch[0]), len(batch[-1])) and np.isfinite(loss.asnumpy()).all()
    loss.backward()
    trainer.step(n)
    assert np.isfinite(model(*inputs).asnumpy()).all()
