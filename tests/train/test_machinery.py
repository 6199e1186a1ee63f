"""The training machinery's own guarantees, each in a test that fails when the machinery breaks: resume keeps the
hooks' state, a cut-off write leaves the previous checkpoint whole, predictions are clipped to the rating range,
and ``train.loss`` is the mean of the examples' losses."""
import os
import signal

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from conftest import low_rank_ratings, write_ratings_csv
from zoo.config import from_raw
from zoo.pipeline import train
from zoo.train import Hook, TrainLoop
from zoo.train.checkpoint import load_checkpoint, save_checkpoint
from zoo.train.loop import Interrupted


class InterruptAt(Hook):
    def __init__(self, step):
        self.step = step

    def after_step(self, loop):
        if loop.step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("step", [80, 175], ids=["epoch-3-no-improvement", "epoch-6-waiting"])
def test_resume_keeps_the_best_epoch_and_the_patience(tmp_path, step):
    """Validation RMSE by epoch here: 0.78, 0.45, 0.49, 0.38 (best), then worse; patience 3 stops after epoch 7.
    Interrupted in epoch 3 or 6 and resumed, the run must still pick epoch 4 and stop after epoch 7."""
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    cfg = from_raw({"model": {"name": "mf", "dim": 16, "reg": 0.0, "init_scale": 0.1},
                    "data": {"name": "movielens", "root": root},
                    "train": {"epochs": 30, "batch_size": 64, "progress": False, "monitor": "valid.rmse",
                              "patience": 3},
                    "optim": {"name": "adam", "lr": 0.05}})
    straight = train(cfg, str(tmp_path / "straight"))
    assert (straight["best_epoch"], straight["epochs"]) == (4, 7)
    with pytest.raises(Interrupted):
        train(cfg, str(tmp_path / "run"), hooks=[InterruptAt(step)])
    resumed = train(cfg, str(tmp_path / "run"), resume=True)
    assert (resumed["best_epoch"], resumed["epochs"]) == (4, 7)
    assert np.isclose(resumed["test"]["rmse"], straight["test"]["rmse"], rtol=1e-6)


class Line(gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        self.w = self.params.get("w", shape=(3,), init=mx.init.Constant(1.0))

    def hybrid_forward(self, F, x, w):
        return F.dot(x, w)


def test_a_write_cut_off_midway_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    model = Line()
    model.initialize()
    path = str(tmp_path / "last.npz")
    save_checkpoint(path, model, meta={"epoch": 1})
    model.w.set_data(mx.nd.array([7.0, 8.0, 9.0]))

    def half_then_fail(f, **content):  # the disk fills up in the middle of the file
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savez", half_then_fail)
    with pytest.raises(OSError):
        save_checkpoint(path, model, meta={"epoch": 2})
    monkeypatch.undo()
    fresh = Line()
    fresh.initialize()
    meta, _ = load_checkpoint(path, fresh)
    assert meta == {"epoch": 1} and fresh.w.data().asnumpy().tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ["last.npz"]  # no temporary file left behind


def test_predictions_are_clipped_to_the_rating_range():
    from zoo.eval.tasks import RatingEvaluator

    class Ratings:
        rating_range, eval_chunk = (1.0, 5.0), 0

        def arrays(self, split):
            return np.array([0, 1], np.int32), np.array([0, 1], np.int32), np.array([5.0, 1.0], np.float32)

        def inputs(self, users, items):
            return users, items

    def model(users, items):  # far outside the scale: 9 for the first, -3 for the second
        return mx.nd.array([9.0, -3.0])[:users.shape[0]]
    metrics = RatingEvaluator(Ratings(), mx.cpu())(model, "test")
    assert metrics["rmse"] == 0.0 and metrics["mae"] == 0.0  # clipped to 5 and 1: both right


def test_train_loss_is_the_mean_of_the_examples_losses():
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    y = np.arange(10, dtype=np.float32)
    model = Line()
    model.initialize()
    trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.0})  # the loss stays what it is
    batches = [[(x[:4], y[:4])], [(x[4:7], y[4:7])], [(x[7:], y[7:])]]   # batches of unequal size
    loop = TrainLoop(model, lambda a, b: (model(a) - b) ** 2, trainer, lambda e: batches, [mx.cpu()], 1)
    loop.run()
    want = np.mean((x.sum(axis=1) - y) ** 2)  # w = (1, 1, 1)
    assert want > 1 and np.isclose(loop.metrics["train.loss"], want, rtol=1e-6)


def test_validation_every_n_epochs_and_patience_counts_validations(tmp_path):
    """The run of the test above with ``eval_every=2``: validations after epochs 2, 4, 6, ... (RMSE 0.45, 0.38
    (best), then worse); epochs in between neither improve nor use up patience, so patience 2 stops after the
    second validation without improvement, epoch 8, and epoch 4 stays the best."""
    import json
    from zoo.config import ConfigError
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    raw = {"model": {"name": "mf", "dim": 16, "reg": 0.0, "init_scale": 0.1},
           "data": {"name": "movielens", "root": root},
           "train": {"epochs": 30, "batch_size": 64, "progress": False, "monitor": "valid.rmse", "patience": 2,
                     "eval_every": 2},
           "optim": {"name": "adam", "lr": 0.05}}
    results = train(from_raw(raw), str(tmp_path / "run"))
    assert (results["best_epoch"], results["epochs"]) == (4, 8)
    with open(tmp_path / "run" / "log.jsonl") as f:
        validated = [e["epoch"] for e in map(json.loads, f) if "valid.rmse" in e]
    assert validated == [2, 4, 6, 8]
    raw["train"].update(eval_every=0)
    with pytest.raises(ConfigError, match="train.eval_every=0 leaves train.monitor=valid.rmse without values"):
        from_raw(raw)
    raw["train"].update(monitor="", epochs=3)
    results = train(from_raw(raw), str(tmp_path / "final-only"))                  # the final evaluation only
    with open(tmp_path / "final-only" / "log.jsonl") as f:
        assert not any("valid.rmse" in e for e in map(json.loads, f))
    assert results["best_epoch"] == 3 and "rmse" in results["test"]


def test_optimizer_state_round_trips_through_a_checkpoint_old_format_included(tmp_path):
    """The optimizer's moments are stored as arrays beside a pickle of their layout; a checkpoint of the format
    before (the whole state pickled, ``trainer``) still loads. Both give back Adam's moments and step counts."""
    from zoo.models import MatrixFactorization
    from zoo.train import checkpoint as ck

    def trained():
        mx.random.seed(0)
        model = MatrixFactorization.create(20, 10, dim=4, mean_rating=3.0)
        model.initialize()
        trainer = gluon.Trainer(model.collect_params(), "adam", {"learning_rate": 0.1})
        for _ in range(3):
            with mx.autograd.record():
                loss = model(mx.nd.array([1, 2, 3], dtype="int32"), mx.nd.array([4, 5, 6], dtype="int32")).sum()
            loss.backward()
            trainer.step(3)
        return model, trainer
    model, trainer = trained()
    content = ck.checkpoint_content(model, trainer)
    assert ck.TRAINER_BLOB in content and not any(k == "trainer" for k in content)
    old = dict(ck.model_only(content), trainer=np.frombuffer(ck._trainer_bytes(trainer), dtype=np.uint8))
    want = {i: [s.asnumpy() for s in state] for i, state in trainer._updaters[0].states.items()}
    for name, stored in (("new.npz", content), ("old.npz", old)):
        ck.write_content(str(tmp_path / name), stored)
        fresh, fresh_trainer = trained()
        fresh_trainer._updaters[0].states = {}
        load_checkpoint(str(tmp_path / name), fresh, fresh_trainer)
        got = fresh_trainer._updaters[0].states
        assert sorted(got) == sorted(want), name
        for i in want:
            for a, b in zip(got[i], want[i]):
                np.testing.assert_array_equal(a.asnumpy(), b)
        assert fresh_trainer.optimizer._index_update_count == trainer.optimizer._index_update_count
