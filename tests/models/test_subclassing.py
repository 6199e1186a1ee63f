"""A subclass that overrides ``hybrid_forward`` trains on its override: the issue's ``Shifted`` example."""
import logging

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from zoo.config import ConfigError
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


class Scaled(SkipGram):
    """A skip-gram whose scores are doubled: the fused per-example step computes the base model's, so a run
    with optim.per_example trains this override on the batch's summed gradient."""

    def hybrid_forward(self, F, center, context, negatives):
        return 2 * super().hybrid_forward(F, center, context, negatives)


def test_a_subclass_with_per_example_sgd_trains_its_override_on_the_summed_gradient(caplog):
    from zoo.fastpath import make_optimizer, select_step
    from zoo.train import GradientStep
    model = Scaled.create(20, 5, dim=4)
    model.initialize()
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        step = select_step(model, [mx.cpu()], make_optimizer("sgd", {"learning_rate": 0.1}), per_example=True)
    assert "fused per-example skip-gram SGD kernel not used: Scaled overrides hybrid_forward" in caplog.text
    assert isinstance(step, GradientStep) and step.sum_gradients
    center, context = mx.nd.array([1, 2], dtype="int32"), mx.nd.array([3, 4], dtype="int32")
    negatives = mx.nd.array([[5, 6, 7, 8, 9], [9, 8, 7, 6, 5]], dtype="int32")
    np.testing.assert_allclose(step.objective(center, context, negatives).asnumpy(),
                               model.loss_fn(model(center, context, negatives)).asnumpy(), rtol=1e-6)


def test_per_example_sgd_falls_back_with_a_reason(caplog):
    """Where the per-example kernel cannot apply the optimizer (momentum, a GPU), the step is the batch's summed
    gradient, with the reason in the log; where it can, it takes the data unshuffled. Parameter servers, which
    apply the mean gradient, refuse it."""
    from zoo.fastpath import FusedSkipGramSGD, make_optimizer, select_step
    from zoo.train import GradientStep
    model = SkipGram.create(20, 5, dim=4)
    model.initialize()
    sgd = make_optimizer("sgd", {"learning_rate": 0.1})
    cases = [([mx.cpu()], make_optimizer("sgd", {"learning_rate": 0.1, "momentum": 0.9}), "SGD has momentum"),
             ([mx.gpu(0)], sgd, "a device is not a CPU"),
             ([mx.cpu()], make_optimizer("adam", {"learning_rate": 0.1}), "the optimizer is FusedAdam, not SGD")]
    for devices, optimizer, why in cases:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
            step = select_step(model, devices, optimizer, per_example=True, hybridize=False)
        assert isinstance(step, GradientStep) and step.sum_gradients and step.shuffle
        assert "fused per-example skip-gram SGD kernel not used: " + why in caplog.text
    with caplog.at_level(logging.INFO, logger="zoo.fastpath"):
        step = select_step(model, [mx.cpu()], sgd, per_example=True)
    assert isinstance(step, FusedSkipGramSGD) and not step.shuffle
    assert "FusedSkipGramSGD, examples in the data's order" in caplog.text
    step = select_step(model, [mx.cpu()], sgd)  # without per_example: the mean gradient, shuffled
    assert isinstance(step, GradientStep) and not step.sum_gradients and step.shuffle
    with pytest.raises(ConfigError, match="optim.per_example: not with parameter servers"):
        select_step(model, [mx.cpu()], sgd, per_example=True, on_servers=True)
