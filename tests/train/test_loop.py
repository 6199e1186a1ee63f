import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

from zoo.train import Hook, TrainLoop
from zoo.train.loop import to_ndarray, total
from zoo.train.checkpoint import load_checkpoint, save_checkpoint
from zoo.train.hooks import EarlyStopping, StopOnSignal, TrackBest
from zoo.train.schedule import lr_scheduler


class Line(gluon.HybridBlock):
    """The five-line fake model: y = w * x, squared error."""

    def __init__(self):
        super().__init__()
        self.w = self.params.get("w", shape=(1,), init=mx.init.Zero())

    def hybrid_forward(self, F, x, w):
        return F.broadcast_mul(x, w)



def squared_error(model):
    return lambda x, y: (model(x) - y) ** 2


def data(epoch, parts=1):
    """Five batches of 8; each as ``parts`` consecutive slices, one a device."""
    x = np.linspace(-1, 1, 40).astype("f4")
    return [[(x[j:j + 8 // parts], 3 * x[j:j + 8 // parts]) for j in range(i, i + 8, 8 // parts)]
            for i in range(0, 40, 8)]


class Recorder(Hook):
    def __init__(self):
        self.events = []

    def before_train(self, loop): self.events.append("before_train")
    def before_epoch(self, loop): self.events.append("before_epoch")
    def after_step(self, loop): self.events.append("step")
    def after_epoch(self, loop): self.events.append("after_epoch")
    def after_train(self, loop): self.events.append("after_train")


def make(epochs=20, hooks=(), devices=(mx.cpu(),)):
    model = Line()
    model.initialize(ctx=list(devices))
    model.hybridize()
    trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.5})
    return model, TrainLoop(model, squared_error(model), trainer, lambda e: data(e, len(devices)), devices, epochs,
                            hooks)


def test_loop_fits_a_line_and_calls_hooks_in_order():
    rec = Recorder()
    model, loop = make(20, [rec])
    metrics = loop.run()
    assert abs(model.w.data().asscalar() - 3) < 1e-3
    assert metrics["train.loss"] < 1e-5
    assert rec.events[:8] == ["before_train", "before_epoch"] + ["step"] * 5 + ["after_epoch"]
    assert rec.events[-1] == "after_train" and rec.events.count("step") == 100
    assert loop.epoch == 20 and loop.step == 100


def test_loop_trains_each_part_on_its_device_like_one_device():
    one, loop1 = make(3)
    two, loop2 = make(3, devices=(mx.cpu(0), mx.cpu(1)))
    loop1.run()
    loop2.run()
    # plain SGD is sensitive to the gradient's scale: the two-device run ends where the one-device run does
    np.testing.assert_allclose(two.w.data(mx.cpu(1)).asnumpy(), one.w.data().asnumpy(), rtol=1e-6)
    assert loop2.samples == loop1.samples == 40


def test_after_train_runs_when_training_raises():
    import signal
    before = signal.getsignal(signal.SIGINT)

    class Boom(Hook):
        def after_step(self, loop):
            raise RuntimeError("boom")
    stop = StopOnSignal(checkpoint=None)
    _, loop = make(2, [stop, Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        loop.run()
    assert signal.getsignal(signal.SIGINT) is before  # the handler was removed although training raised


def test_loop_state_round_trip():
    _, loop = make(2, [TrackBest("train.loss")])
    loop.run()
    state = loop.state_dict()
    _, other = make(5, [TrackBest("train.loss")])
    other.load_state_dict(state)
    assert (other.epoch, other.step, other.hooks[0].best_epoch) == (2, 10, loop.hooks[0].best_epoch)


def test_loop_keeps_dtypes_and_sums_the_loss_exactly():
    seen = []

    model = Line()
    model.initialize()

    def objective(ids, y):
        seen.append(ids.dtype)
        return (model(ids.astype("float32")) - y) ** 2
    trainer = gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.0})
    ids = np.array([16777217, 3, 5], dtype=np.int32)  # 2^24 + 1 is not a float32
    loop = TrainLoop(model, objective, trainer, lambda e: [[(ids, np.zeros(3, "f4"))]], [mx.cpu()], 1)
    loop.run()
    assert seen == [np.int32]
    assert np.isclose(loop.metrics["train.loss"], 0.0)
    x = mx.nd.array(np.random.default_rng(0).random(1001))
    assert np.isclose(total(x).asscalar(), x.asnumpy().sum(), rtol=1e-5) and total(x).shape == (1,)


def test_batches_are_copied_and_keep_their_dtype():
    ids = np.arange(12, dtype=np.int32).reshape(3, 4)
    for a in (ids, ids[:, ::2], ids[1:], ids.astype(np.int8)):  # owning, strided, a view, no DLPack dtype
        x = to_ndarray(a)
        assert x.dtype == a.dtype and x.context == mx.cpu()
        np.testing.assert_array_equal(x.asnumpy(), a)
    x = to_ndarray(ids)
    ids[0, 0] = 99  # the producer may reuse its buffer for the next batch
    assert ids.flags.writeable and x.asnumpy()[0, 0] == 0


def test_stop_flag_ends_training():
    class StopAfterTwo(Hook):
        def after_epoch(self, loop):
            loop.stop = loop.epoch >= 2

    _, loop = make(20, [StopAfterTwo()])
    loop.run()
    assert loop.epoch == 2


def test_early_stopping_uses_tracked_metric():
    values = iter([3.0, 2.0, 2.5, 2.4, 2.6, 1.0])

    class Fake(Hook):
        def after_epoch(self, loop):
            loop.metrics["valid.x"] = next(values)

    track = TrackBest("valid.x", "min")
    _, loop = make(6, [Fake(), track, EarlyStopping(2)])
    loop.run()
    assert loop.epoch == 4 and track.best == 2.0 and track.best_epoch == 2


def test_learning_rate_schedules():
    """Rates by update count, 10 updates an epoch."""
    assert lr_scheduler("constant", 1.0, 10, 10) is None
    step = lr_scheduler("step", 1.0, 10, 10, gamma=0.5, step_epochs=2)
    assert [step(n) for n in (1, 21, 41, 51)] == [1.0, 0.5, 0.25, 0.25]
    cos = lr_scheduler("cosine", 1.0, 10, 10)
    assert cos(0) == 1.0 and abs(cos(50) - 0.5) < 1e-12
    warm = lr_scheduler("constant", 1.0, 10, 10, warmup_epochs=1)
    assert abs(warm(5) - 0.5) < 1e-12 and warm(10) == 1.0
    linear = lr_scheduler("linear", 1.0, 4, 10, min_lr=0.2)
    assert linear(0) == 1.0 and abs(linear(20) - 0.6) < 1e-12 and abs(linear(40) - 0.2) < 1e-12
    with pytest.raises(ValueError, match="optim.schedule"):
        lr_scheduler("exp", 1.0, 1, 1)


def test_checkpoint_round_trip(tmp_path):
    model, loop = make(3)
    loop.run()
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, model, loop.trainer, {"epoch": 3}, {"ids": np.arange(4)})
    other, other_loop = make(3)
    meta, arrays = load_checkpoint(path, other, other_loop.trainer)
    assert meta == {"epoch": 3} and arrays["ids"].tolist() == [0, 1, 2, 3]
    assert other.w.data().asscalar() == model.w.data().asscalar()
    assert [f for f in tmp_path.iterdir()] == [tmp_path / "c.npz"]  # no temporary file left behind
