"""A subclass that overrides ``hybrid_forward`` trains on its override: the issue's ``Shifted`` example."""
import logging

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from zoo.fastpath import select_objective
from zoo.models import MatrixFactorization, Objective, SkipGram


class Shifted(MatrixFactorization):
    def hybrid_forward(self, F, users, items, *rest):
        return super().hybrid_forward(F, users, items, *rest) + 100


def batch():
    return (mx.nd.array([1, 2, 3], dtype="int32"), mx.nd.array([4, 5, 6], dtype="int32"), mx.nd.array([3, 4, 5]))


def test_shifted_trains_on_its_own_predictions(hybridize, caplog):
    model = Shifted.create(10, 10, dim=4, mean_rating=3.0)
    model.initialize()
    if hybridize:
        model.hybridize()
    u, i, r = batch()
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        objective = select_objective(model, [mx.cpu()], hybridize=hybridize)
    assert "fused rating kernel not used: Shifted overrides hybrid_forward" in caplog.text
    pred = model(u, i).asnumpy()
    assert (pred > 100).all()  # the +100 is in the predictions ...
    user, item = model.user_tower(u).asnumpy(), model.item_tower(i).asnumpy()
    bu, bi = model.user_bias(u).asnumpy()[:, 0], model.item_bias(i).asnumpy()[:, 0]
    penalty = 0.05 * ((user ** 2).sum(1) + (item ** 2).sum(1) + bu ** 2 + bi ** 2)
    # ... and in the training loss: the squared error of those predictions plus the penalty
    np.testing.assert_allclose(objective(u, i, r).asnumpy(), (pred - r.asnumpy()) ** 2 + penalty, rtol=1e-5)


def test_the_standard_model_trains_on_the_fused_kernel_with_the_same_loss():
    model = MatrixFactorization.create(10, 10, dim=4, mean_rating=3.0, init_scale=0.3)
    model.initialize()
    fused = select_objective(model, [mx.cpu()])
    assert type(fused).__name__ == "FusedMF"
    np.testing.assert_allclose(fused(*batch()).asnumpy(), Objective(model)(*batch()).asnumpy(), rtol=1e-5)


def test_training_follows_the_override():
    """Trained on its override, Shifted learns to cancel the +100: its predictions come to the ratings. Trained
    on the base model's loss, they would come to the ratings + 100."""
    model = Shifted.create(10, 10, dim=4, mean_rating=3.0, reg=0.0)
    model.initialize()
    objective = select_objective(model, [mx.cpu()])
    trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.03})
    for _ in range(400):
        with autograd.record():
            loss = objective(*batch())
        loss.backward()
        trainer.step(3)
    u, i, r = batch()
    np.testing.assert_allclose(model(u, i).asnumpy(), r.asnumpy(), atol=0.1)


def test_a_swapped_part_falls_back_with_a_reason(caplog):
    from zoo.blocks import EmbeddingTower
    model = SkipGram.create(20, dim=4)
    model.center_tower = EmbeddingTower(20, 4, hidden=(4,), prefix="deep_")  # a tower with a dense layer
    model.initialize()
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        assert isinstance(select_objective(model, [mx.cpu()]), Objective)
    assert "fused skip-gram kernel not used: deep has dense layers or dropout" in caplog.text


def test_dropout_in_a_tower_keeps_the_composite_objective(caplog):
    model = MatrixFactorization.create(10, 10, dim=4, hidden=(4,), dropout=0.2, mean_rating=3.0)
    model.initialize()
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        assert isinstance(select_objective(model, [mx.cpu()]), Objective)
    assert "is dropout" in caplog.text
