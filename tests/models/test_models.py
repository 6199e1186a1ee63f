"""Every registered model: builds from its config, forward agrees hybridized and not, one training step is finite.
A model added to the registry without an entry in TINY fails here on purpose."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

import zoo
from zoo.config import from_raw
from zoo.train.run import build_dataset, build_model, make_trainer

TINY = {
    "mf": lambda root: {"model": {"name": "mf", "dim": 4}, "data": {"name": "movielens", "root": root}},
    "mf_towers": lambda root: {"model": {"name": "mf", "dim": 6, "hidden": [5], "biases": False},
                               "data": {"name": "movielens", "root": root}},
}


def test_every_registered_model_has_a_tiny_config():
    assert set(zoo.list_models()) <= {entry["model"]["name"] for entry in
                                      (make("/nowhere") for make in TINY.values())}


@pytest.mark.parametrize("name", sorted(TINY))
def test_forward_and_one_step(name, ratings_dir, hybridize):
    cfg = from_raw(TINY[name](ratings_dir))
    dataset = build_dataset(cfg)
    mx.random.seed(0)
    model = build_model(cfg, dataset)
    model.initialize()
    batch = [mx.nd.array(a) for a in next(iter(dataset.batches("train", 32)))]
    imperative = model(*batch[:-1]).asnumpy()
    if hybridize:
        model.hybridize(static_alloc=True)
        np.testing.assert_allclose(model(*batch[:-1]).asnumpy(), imperative, rtol=1e-5, atol=1e-6)
    trainer = make_trainer(model, cfg.optim)
    with autograd.record():
        loss = model.loss(*batch)
    assert loss.shape == (32,)
    loss.backward()
    trainer.step(32)
    assert np.isfinite(model(*batch[:-1]).asnumpy()).all()
