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


@pytest.mark.parametrize("seconds", [0, 3600], ids=["checkpoint-every-epoch", "checkpoint-when-stopped"])
@pytest.mark.parametrize("step", [80, 175], ids=["epoch-3-no-improvement", "epoch-6-waiting"])
def test_resume_keeps_the_best_epoch_and_the_patience(tmp_path, step, seconds):
    """Validation RMSE by epoch here: 0.78, 0.45, 0.49, 0.38 (best), then worse; patience 3 stops after epoch 7.
    Interrupted in epoch 3 or 6 and resumed, the run must still pick epoch 4 and stop after epoch 7, whether
    the checkpoints were written every epoch or only by the interrupt (which then also writes epoch 4's best)."""
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    cfg = from_raw({"model": {"name": "mf", "dim": 16, "reg": 0.0, "init_scale": 0.1},
                    "data": {"name": "movielens", "root": root},
                    "train": {"epochs": 30, "batch_size": 64, "progress": False, "monitor": "valid.rmse",
                              "patience": 3, "checkpoint_seconds": seconds},
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
    from zoo.train import checkpoint
    model = Line()
    model.initialize()
    path = str(tmp_path / "last.npz")
    save_checkpoint(path, model, meta={"epoch": 1})
    model.w.set_data(mx.nd.array([7.0, 8.0, 9.0]))

    def half_then_fail(f, content):  # the disk fills up in the middle of the file
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(checkpoint, "savez", half_then_fail)
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
    old = {k: v for k, v in content.items() if not k.startswith("trainer")}  # the layout before trainer/state
    old["trainer"] = np.frombuffer(ck._trainer_bytes(trainer), dtype=np.uint8)
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


@pytest.mark.parametrize("monitor", ["", "valid.rmse"], ids=["last-is-best", "monitored"])
def test_the_final_results_are_those_of_the_best_checkpoint(tmp_path, monitor):
    """The final evaluation is of best.npz's parameters: read back when a later epoch ran, the model in memory when
    the best epoch is the last (without a monitor, always)."""
    from zoo.pipeline import build_dataset, evaluate, load_model
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    cfg = from_raw({"model": {"name": "mf", "dim": 16, "reg": 0.0, "init_scale": 0.1},
                    "data": {"name": "movielens", "root": root},
                    "train": {"epochs": 7, "batch_size": 64, "progress": False, "monitor": monitor},
                    "optim": {"name": "adam", "lr": 0.05}})
    results = train(cfg, str(tmp_path / "run"))
    assert results["best_epoch"] == (4 if monitor else 7)  # epoch 4 is the best by validation (see above)
    _, model, _ = load_model(str(tmp_path / "run"))
    again = evaluate(model, build_dataset(cfg), ["test"], mx.cpu())
    assert np.isclose(again["test"]["rmse"], results["test"]["rmse"], rtol=1e-6)


class FailAt(Hook):
    """Raises after epoch ``epoch`` (``where="after_epoch"``) or at a step in the middle of it (``"after_step"``)."""

    def __init__(self, epoch, where):
        self.epoch, self.where = epoch, where

    def after_epoch(self, loop):
        if self.where == "after_epoch" and loop.epoch == self.epoch:
            raise RuntimeError("stop")

    def after_step(self, loop):
        if self.where == "after_step" and loop.epoch == self.epoch - 1 and loop.step_in_epoch == 3:
            raise RuntimeError("stop")


def _written(tmp_path, monkeypatch, seconds, fail=None, monitor="valid.rmse"):
    """Train the 7-epoch run of the test above (best epoch 4) with ``train.checkpoint_seconds=seconds``; returns
    the run folder and each write as (file, the epoch its content holds)."""
    import json
    from zoo.train import checkpoint
    writes, real = [], checkpoint.write_content

    def write(path, content, also=None):
        epoch = json.loads(content["meta"].tobytes())["loop"]["epoch"]
        writes.extend((os.path.basename(p), epoch) for p in (also, path) if p)  # also (best.npz) is named first
        real(path, content, also=also)
    monkeypatch.setattr(checkpoint, "write_content", write)
    root = write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())
    cfg = from_raw({"model": {"name": "mf", "dim": 16, "reg": 0.0, "init_scale": 0.1},
                    "data": {"name": "movielens", "root": root},
                    "train": {"epochs": 7, "batch_size": 64, "progress": False, "monitor": monitor,
                              "checkpoint_seconds": seconds},
                    "optim": {"name": "adam", "lr": 0.05}})
    run = str(tmp_path / "run")
    if fail is None:
        train(cfg, run)
    else:
        with pytest.raises(RuntimeError, match="stop"):
            train(cfg, run, hooks=[fail])
    return run, writes


def _log_epochs(run):
    import json
    path = os.path.join(run, "log.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line)["epoch"] for line in f]


def test_checkpoints_every_epoch_or_when_due(tmp_path, monkeypatch):
    """checkpoint_seconds=0: last.npz after every epoch, best.npz after the improving ones (the same file, a second
    name). A long interval: one write at the end, best.npz holding epoch 4 (copied when it ended), and still a log
    line an epoch."""
    import json
    run, writes = _written(tmp_path / "every", monkeypatch, 0)
    assert [e for f, e in writes if f == "last.npz"] == [1, 2, 3, 4, 5, 6, 7]
    with open(os.path.join(run, "log.jsonl")) as f:
        rmse = [json.loads(line)["valid.rmse"] for line in f]
    improving = [e for e in range(1, 8) if rmse[e - 1] < min(rmse[:e - 1], default=np.inf)]
    assert improving[-1] == 4 and len(improving) < 7  # epochs that did not improve are among them
    assert [e for f, e in writes if f == "best.npz"] == improving
    run, writes = _written(tmp_path / "due", monkeypatch, 3600)
    assert writes == [("best.npz", 4), ("last.npz", 7)]
    assert _log_epochs(run) == [1, 2, 3, 4, 5, 6, 7]
    run, writes = _written(tmp_path / "unmonitored", monkeypatch, 3600, monitor="")  # the last is the best
    assert writes == [("best.npz", 7), ("last.npz", 7)]  # one file, two names
    folder = os.path.join(run, "checkpoints")
    assert os.path.samefile(os.path.join(folder, "best.npz"), os.path.join(folder, "last.npz"))


def test_a_failure_after_an_epoch_keeps_it_and_one_inside_an_epoch_keeps_nothing_new(tmp_path, monkeypatch):
    """A hook that fails after epoch 5 was accepted (as a search's pruning does): the files and the log hold
    epochs 1-5 (best 4). A failure in the middle of epoch 5: nothing is written that was not due (the model has
    left the end of epoch 4), so a run that never reached its interval holds no checkpoint and no log line."""
    run, writes = _written(tmp_path / "after", monkeypatch, 3600, FailAt(5, "after_epoch"))
    assert writes == [("best.npz", 4), ("last.npz", 5)] and _log_epochs(run) == [1, 2, 3, 4, 5]
    run, writes = _written(tmp_path / "inside", monkeypatch, 3600, FailAt(5, "after_step"))
    assert writes == [] and _log_epochs(run) == []
    run, writes = _written(tmp_path / "inside-every", monkeypatch, 0, FailAt(5, "after_step"))
    assert writes[-1] == ("last.npz", 4) and _log_epochs(run) == [1, 2, 3, 4]


def test_a_non_finite_loss_is_read_one_read_out_late():
    """The check sets the loss sum aside and reads the one set aside before (the device has finished it, so the
    read does not wait): a NaN of steps 51-100 is caught at step 150's read-out, and named as such."""
    from types import SimpleNamespace
    from zoo.train.hooks import StopOnNonFinite
    from zoo.train.loop import TrainingError
    hook = StopOnNonFinite(every=50)
    loop = SimpleNamespace(step=0, epoch=0, last_steps=50, loss_sum=mx.nd.zeros((1,)), saved_epoch=0)
    hook.before_epoch(loop)
    for step, loss in ((50, 1.0), (100, float("nan"))):
        loop.step = step
        loop.loss_sum += loss
        hook.after_step(loop)  # reads step 50's sum at step 100: finite
    loop.step = 150
    loop.loss_sum += 1.0
    with pytest.raises(TrainingError, match=r"at step 150 \(first seen between steps 51 and 100\)"):
        hook.after_step(loop)


@pytest.mark.parametrize("links", [True, False], ids=["hard-link", "no-hard-links"])
def test_a_second_name_is_the_same_file_and_stays_when_the_first_moves_on(tmp_path, monkeypatch, links):
    """atomic_write(path, .., also=other): ``other`` holds what ``path`` holds (a hard link, or a copy where the
    file system has none); writing ``path`` again leaves ``other`` as it was; a failed write leaves both."""
    from zoo.paths import atomic_write
    if not links:
        def no_link(*args):
            raise OSError(1, "Operation not permitted")
        monkeypatch.setattr(os, "link", no_link)
    last, best = str(tmp_path / "last.npz"), str(tmp_path / "best.npz")

    def read(path):
        with open(path, "rb") as f:
            return f.read()
    atomic_write(last, lambda f: f.write(b"epoch 1"), also=best)
    assert read(best) == read(last) == b"epoch 1"
    assert os.path.samefile(best, last) == links
    atomic_write(last, lambda f: f.write(b"epoch 2"))
    assert read(best) == b"epoch 1" and read(last) == b"epoch 2"

    def fail(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")
    with pytest.raises(OSError):
        atomic_write(last, fail, also=best)
    assert read(best) == b"epoch 1" and read(last) == b"epoch 2"
    assert sorted(os.listdir(tmp_path)) == ["best.npz", "last.npz"]  # no temporary file left


def test_the_writer_block_waits_and_a_failed_write_does_not_hide_the_blocks_own_error(tmp_path):
    """BackgroundWriter as a context manager: every write is done when the block ends; a failed write raises
    WriteError at the end of a block that went well, and gives way to the error of a block that raised."""
    import time
    from zoo.train.checkpoint import BackgroundWriter, WriteError
    done = []

    def slow():
        time.sleep(0.2)
        done.append(True)
    with BackgroundWriter() as writer:
        writer.run(str(tmp_path / "a"), slow)
    assert done == [True]

    def full():
        raise OSError(28, "No space left on device")
    with pytest.raises(WriteError, match="No space left"):
        with BackgroundWriter() as writer:
            writer.run(str(tmp_path / "b"), full)
    with pytest.raises(KeyError, match="the block's own"):
        with BackgroundWriter() as writer:
            writer.run(str(tmp_path / "c"), full)
            raise KeyError("the block's own")


def test_checkpoint_files_are_what_np_savez_writes(tmp_path):
    """Arrays written from their memory (no copy first) read back with np.load as np.savez's do: every dtype,
    shape and layout a checkpoint may hold, byte order and empty arrays included."""
    from zoo.train.checkpoint import savez
    rng = np.random.default_rng(0)
    arrays = {"param/w": rng.normal(size=(7, 5)).astype(np.float32), "meta": np.frombuffer(b'{"a": 1}', np.uint8),
              "array/ids": np.arange(9, dtype=np.int64)[::2], "fortran": np.asfortranarray(rng.normal(size=(3, 4))),
              "scalar": np.array(3.5), "empty": np.zeros((0, 4), np.float32), "flags": np.array([True, False]),
              "big_endian": np.arange(4, dtype=">i4")}
    ours, numpys = str(tmp_path / "ours.npz"), str(tmp_path / "numpy.npz")
    with open(ours, "wb") as f:
        savez(f, arrays)
    np.savez(numpys, **arrays)
    with np.load(ours) as got, np.load(numpys) as want:
        assert sorted(got.files) == sorted(want.files) == sorted(arrays)
        for name in arrays:
            assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
            np.testing.assert_array_equal(got[name], want[name])


def test_a_copy_on_the_device_goes_into_the_arrays_of_the_one_before():
    from zoo.train.checkpoint import checkpoint_content
    model = Line()
    model.initialize()
    first = checkpoint_content(model, on_device=True)
    model.w.set_data(mx.nd.array([4.0, 5.0, 6.0]))
    second = checkpoint_content(model, on_device=True, into=first)
    (name,) = [k for k in first if k.startswith("param/")]
    assert second[name] is first[name] and second[name].asnumpy().tolist() == [4.0, 5.0, 6.0]
    model.w.set_data(mx.nd.array([7.0, 8.0, 9.0]))  # the copy does not follow the model
    assert second[name].asnumpy().tolist() == [4.0, 5.0, 6.0]
