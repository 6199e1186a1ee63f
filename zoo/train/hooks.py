"""Hooks for :class:`~zoo.train.loop.TrainLoop`: everything the loop does besides stepping."""
import json
import logging
import os
import signal
import time

import numpy as np
from tqdm import tqdm

from .checkpoint import BackgroundWriter, checkpoint_content, model_only
from .loop import Hook, Interrupted, TrainingError

log = logging.getLogger(__name__)


class Evaluate(Hook):
    """After every ``every``-th epoch and the last (never with ``every=0``),
    ``loop.metrics.update(evaluate(loop.model))``; ``evaluate`` returns e.g. ``{"valid.rmse": 0.86}``.
    ``eval.seconds`` is the time it took, so that training speed can be told apart from it; ``loop.evaluated``
    says whether this epoch was evaluated."""

    def __init__(self, evaluate, every=1):
        self.evaluate, self.every = evaluate, every

    def after_epoch(self, loop):
        loop.evaluated = bool(self.every) and (loop.epoch % self.every == 0 or loop.epoch == loop.epochs)
        if not loop.evaluated:
            return
        started = time.time()
        loop.metrics.update(self.evaluate(loop.model))
        loop.metrics["eval.seconds"] = round(time.time() - started, 3)


class TrackBest(Hook):
    """Follows the monitored metric; sets ``loop.improved`` each epoch and keeps the best value and epoch.

    With no metric named, or one that is not computed (a warning says so), every epoch counts as an improvement:
    the last is the best.
    """

    def __init__(self, monitor="", mode="min"):
        if mode not in ("min", "max"):
            raise ValueError("train.monitor_mode=%r: choose min or max" % mode)
        self.monitor, self.mode = monitor, mode
        self.best, self.best_epoch = None, None
        self._warned = False

    def after_epoch(self, loop):
        if self.monitor and not getattr(loop, "evaluated", True):  # a skipped validation is no verdict
            loop.improved = False
            return
        value = loop.metrics.get(self.monitor)
        if value is None and self.monitor and not self._warned:
            log.warning("metric %s is not computed; the last epoch counts as the best", self.monitor)
            self._warned = True
        better = value is None or self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        loop.improved = better
        if better:
            self.best, self.best_epoch = value, loop.epoch

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state):
        self.best, self.best_epoch = state["best"], state["best_epoch"]


class EarlyStopping(Hook):
    """Stops after ``patience`` validations without improvement (needs :class:`TrackBest` before it); epochs
    without a validation do not count."""

    def __init__(self, patience):
        self.patience, self.waited = patience, 0

    def after_epoch(self, loop):
        if not getattr(loop, "evaluated", True):
            return
        self.waited = 0 if loop.improved else self.waited + 1
        if self.patience and self.waited >= self.patience:
            log.info("early stop after epoch %d: no improvement for %d epochs", loop.epoch, self.waited)
            loop.stop = True

    def state_dict(self):
        return {"waited": self.waited}

    def load_state_dict(self, state):
        self.waited = state["waited"]


class Checkpoint(Hook):
    """Writes ``last.npz`` after every epoch and ``best.npz`` when the monitored metric improved.

    A checkpoint holds the parameters, the optimizer state, the epoch, every hook's state and ``arrays`` (such as
    the id maps), so ``--resume`` continues exactly where the run stopped. Files are written in the background
    while the next epoch trains; the loop waits for them at its end and before an interrupt returns. Without
    ``optimizer_state`` (it lives on the servers in distributed training) ``last.npz`` holds the model only.
    """

    def __init__(self, folder, arrays=None, extra_meta=None, optimizer_state=True):
        self.folder, self.arrays, self.extra_meta = folder, arrays or {}, extra_meta or {}
        self.optimizer_state = optimizer_state
        self.writer = BackgroundWriter()

    def meta(self, loop):
        return dict(self.extra_meta, loop=loop.state_dict(), metrics=loop.metrics)

    def after_step(self, loop):
        self.writer.check()  # a failed write stops training at once

    def after_epoch(self, loop):
        self.writer.check()
        content = self._content(loop)  # copied off the device once, for both files
        if getattr(loop, "improved", True):
            self.writer.submit(os.path.join(self.folder, "best.npz"), model_only(content))
        self.writer.submit(os.path.join(self.folder, "last.npz"), content)

    def after_train(self, loop):
        self.writer.wait()

    def save_last(self, loop):
        """``last.npz`` now, on disk when this returns (also mid-epoch, for a resume that skips the batches
        already trained)."""
        self.writer.submit(os.path.join(self.folder, "last.npz"), self._content(loop))
        self.writer.wait()

    def _content(self, loop):
        trainer = loop.trainer if self.optimizer_state else None
        return checkpoint_content(loop.model, trainer, self.meta(loop), self.arrays)


class StopOnSignal(Hook):
    """SIGINT and SIGTERM finish the current step, write ``last.npz`` and raise :class:`Interrupted` (the command
    line exits with 128 + the signal number: 130 and 143)."""

    def __init__(self, checkpoint):
        self.checkpoint = checkpoint
        self.received, self._previous = None, {}

    def before_train(self, loop):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        self.received = signum

    def after_step(self, loop):
        if self.received is not None:
            self.checkpoint.save_last(loop)
            name = signal.Signals(self.received).name
            raise Interrupted(self.received, "%s: stopped in epoch %d after step %d; checkpoint written, continue "
                              "with --resume" % (name, loop.epoch + 1, loop.step))

    def after_train(self, loop):  # also when training raised: the handlers never outlive the loop
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}


class StopOnNonFinite(Hook):
    """Stops with :class:`TrainingError` when the loss is NaN or infinite, before any checkpoint of the epoch is
    written. The epoch's loss sum is read every ``every`` steps (each read waits for the device) and at the end
    of every epoch."""

    def __init__(self, every=50):
        self.every = every
        self._checked = 0

    def before_epoch(self, loop):
        self._checked = loop.step

    def after_step(self, loop):
        if loop.step % self.every < loop.last_steps:  # a multiple of `every` reached (calls may take several)
            self._check(loop)

    def after_epoch(self, loop):
        value = loop.metrics.get("train.loss")
        if value is not None and not np.isfinite(value):
            raise TrainingError("the loss is %s in epoch %d (steps %d to %d); %s. Lower optim.lr or check the data"
                                % (value, loop.epoch, self._checked + 1, loop.step, _kept(loop.epoch - 1)))

    def _check(self, loop):
        value = loop.loss_sum.asscalar()
        if not np.isfinite(value):
            raise TrainingError("the loss is %s in epoch %d, at step %d (first seen between steps %d and %d); %s. "
                                "Lower optim.lr or check the data" % (value, loop.epoch + 1, loop.step,
                                                                      self._checked + 1, loop.step, _kept(loop.epoch)))
        self._checked = loop.step


def _kept(epochs_done):
    """What a failed epoch leaves on disk: the checkpoint of the last finished epoch, if there is one."""
    if epochs_done < 1:
        return "no checkpoint was written (no epoch finished)"
    return "the last checkpoint (epoch %d) is kept" % epochs_done


class JsonlLog(Hook):
    """Appends one JSON line of metrics per epoch to ``path`` (``log.jsonl``). Given the checkpoints'
    ``writer``, the line is written after the epoch's checkpoint, and not at all if that fails: the log never
    claims an epoch that the checkpoints do not hold."""

    def __init__(self, path, writer=None):
        self.path, self.writer = path, writer
        self._start = None

    def before_epoch(self, loop):
        self._start = time.time()

    def after_epoch(self, loop):
        record = {"epoch": loop.epoch, "step": loop.step, "lr": loop.trainer.learning_rate,
                  "seconds": round(time.time() - self._start, 3), **loop.metrics}
        line = json.dumps(record) + "\n"

        def append():
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        if self.writer is None:
            append()
        else:
            self.writer.run(self.path, append)
        log.info("epoch %d: %s", loop.epoch, ", ".join("%s=%.4g" % (k, v) for k, v in loop.metrics.items()
                                                      if isinstance(v, float)))


class ProgressBar(Hook):
    """A tqdm bar per epoch with the running loss and samples/s. The loss is read every ``every`` steps, since
    each read waits for the device."""

    def __init__(self, steps_per_epoch=None, every=50):
        self.total, self.every = steps_per_epoch, every
        self.bar = None

    def before_epoch(self, loop):
        # disable=None: no bar when the output is not a terminal (a redirected log gets no bar fragments)
        self.bar = tqdm(total=self.total, desc="epoch %d" % (loop.epoch + 1), unit="step", leave=False, disable=None)
        self._start = time.time()

    def after_step(self, loop):
        self.bar.update(loop.last_steps)
        if loop.step % self.every < loop.last_steps:
            rate = loop.samples / max(time.time() - self._start, 1e-9)
            self.bar.set_postfix(loss="%.4f" % loop.last_loss.mean().asscalar(), samples_s="%.3g" % rate)

    def after_epoch(self, loop):
        self.bar.total = self.bar.n  # the step count was an estimate (a text corpus): the epoch ends at 100%
        self.bar.refresh()
        self.bar.close()

    def after_train(self, loop):  # also when training raised mid-epoch
        if self.bar is not None:
            self.bar.close()
