"""Hooks for :class:`~zoo.train.loop.TrainLoop`: everything the loop does besides stepping."""
import json
import logging
import os
import signal
import time

import numpy as np
from tqdm import tqdm

from .checkpoint import BackgroundWriter, checkpoint_content
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
    """Writes ``last.npz`` after an epoch once ``every_seconds`` have passed since the last write (0: after every
    epoch), after the last epoch, and when a signal stops the run (:meth:`save_last`); ``best.npz`` with it, when
    the best epoch (by the monitored metric; without one, the last) has changed since: the same file as
    ``last.npz`` (a hard link) when it is the same epoch, else the model alone.

    A checkpoint holds the parameters, the optimizer state, the epoch, every hook's state and ``arrays`` (such as
    the id maps), so ``--resume`` continues exactly where the run stopped. A best epoch that ends between writes
    has its parameters copied then (on the device, by the engine) and written with the next ``last.npz``, so that
    the two files always describe the same stretch of training. ``loop.saved_epoch`` says how many epochs the files
    on disk hold. Files are written in the background while the next epoch trains; the loop waits for them at its end
    (unless ``wait_at_end`` is off: then the caller waits, e.g. with ``checkpoint.writer`` as a context manager,
    and may evaluate the model meanwhile) and before an interrupt returns. Without ``optimizer_state`` (it lives on
    the servers in distributed training) ``last.npz`` holds the model only.
    """

    def __init__(self, folder, arrays=None, extra_meta=None, optimizer_state=True, every_seconds=0.0,
                 wait_at_end=True):
        self.folder, self.arrays, self.extra_meta = folder, arrays or {}, extra_meta or {}
        self.optimizer_state, self.every_seconds, self.wait_at_end = optimizer_state, every_seconds, wait_at_end
        self.writer = BackgroundWriter()
        self._best = None      # best.npz's content, when a best epoch ended since the last write
        self._written = None   # when the files were last written (or the run started)
        self._ended = False    # the model is as the last epoch left it (no step of the next one has begun)

    def meta(self, loop):
        return dict(self.extra_meta, loop=loop.state_dict(), metrics=loop.metrics)

    def before_train(self, loop):
        loop.saved_epoch = loop.epoch  # a resumed run's files hold the epochs before it
        self._written = time.time()

    def before_epoch(self, loop):
        self._ended = False

    def after_step(self, loop):
        self.writer.check()  # a failed write stops training at once

    def after_epoch(self, loop):
        self.writer.check()
        improved = getattr(loop, "improved", True)
        if time.time() - self._written >= self.every_seconds:
            self._write(loop, improved)
        elif improved and not (loop.stop or loop.epoch >= loop.epochs):  # the last epoch is written just after
            # the model alone, copied by the engine while Python goes on to the next epoch, into the copy of the
            # best epoch before, which no write holds (a write takes it and leaves None)
            self._best = checkpoint_content(loop.model, None, self.meta(loop), self.arrays, on_device=True,
                                            into=self._best)
        self._ended = True

    def after_train(self, loop):
        # The epochs since the last write, when the run ends after an epoch that every hook before this one
        # accepted (the last, an early stop, a hook after this one that stops it); never in the middle of an
        # epoch or after a rejected one (a non-finite loss), whose files stay those of the last write.
        if self._ended and loop.saved_epoch != loop.epoch:
            self._write(loop, getattr(loop, "improved", True))
        if self.wait_at_end:
            self.writer.wait()

    def save_last(self, loop):
        """``last.npz`` now, on disk when this returns (also mid-epoch, for a resume that skips the batches
        already trained)."""
        self._write(loop, False)
        self.writer.wait()

    def _write(self, loop, improved):
        best, last = os.path.join(self.folder, "best.npz"), os.path.join(self.folder, "last.npz")
        if improved:  # the best epoch is this one: last.npz's file is best.npz too (one write, a hard link)
            self.writer.submit(last, self._content(loop), also=best)
        else:
            if self._best is not None:
                self.writer.submit(best, self._best)
            self.writer.submit(last, self._content(loop))
        self._best, self._written, loop.saved_epoch = None, time.time(), loop.epoch

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


class OneLate:
    """A value of the device read one read-out late: :meth:`swap` keeps an array being computed and returns what
    the one kept before holds. By the next read-out the device has long finished an array, so the read does not
    wait for it, and Python prepares the next batches while the device trains on these; a read of the newest
    array would wait for the device at every read-out."""

    def __init__(self):
        self._kept = None

    def swap(self, array, tag=None):
        """Keep ``array`` (an NDArray of one element; ``tag`` goes with it); return ``(value, tag)`` of the one
        kept before, or None."""
        kept, self._kept = self._kept, (array, tag)
        return None if kept is None else (kept[0].asscalar(), kept[1])

    def clear(self):
        self._kept = None


class StopOnNonFinite(Hook):
    """Stops with :class:`TrainingError` when the loss is NaN or infinite, before any checkpoint of the epoch is
    written. Every ``every`` steps the epoch's loss sum is set aside and the one set aside ``every`` steps before
    is read (:class:`OneLate`); at the end of every epoch the whole epoch's is read."""

    def __init__(self, every=50):
        self.every = every
        self._checked = 0   # the last step whose loss sum was read and finite
        self._late = OneLate()

    def before_epoch(self, loop):
        self._checked = loop.step
        self._late.clear()  # the epoch's end read the sums before

    def after_step(self, loop):
        if loop.step % self.every < loop.last_steps:  # a multiple of `every` reached (calls may take several)
            self._check(loop)

    def after_epoch(self, loop):
        value = loop.metrics.get("train.loss")
        if value is not None and not np.isfinite(value):
            raise TrainingError("the loss is %s in epoch %d (steps %d to %d); %s. Lower optim.lr or check the data"
                                % (value, loop.epoch, self._checked + 1, loop.step, _kept(loop, loop.epoch - 1)))

    def _check(self, loop):
        read = self._late.swap(loop.loss_sum.copy(), loop.step)  # a copy: the sum goes on growing in place
        if read is None:
            return
        value, step = read
        if not np.isfinite(value):
            raise TrainingError("the loss is %s in epoch %d, at step %d (first seen between steps %d and %d); %s. "
                                "Lower optim.lr or check the data" % (value, loop.epoch + 1, loop.step,
                                                                      self._checked + 1, step, _kept(loop, loop.epoch)))
        self._checked = step


def _kept(loop, epochs_done):
    """What a failed epoch leaves on disk (``epochs_done`` epochs finished well before it): the checkpoint of the
    last epoch written, if there is one."""
    saved = getattr(loop, "saved_epoch", None)
    if not saved:
        return "no checkpoint was written (%s)" % ("no epoch finished" if epochs_done < 1 else
                                                   "none was due yet: see train.checkpoint_seconds")
    return "the last checkpoint (epoch %d) is kept" % saved


class JsonlLog(Hook):
    """Appends one JSON line of metrics per epoch to ``path`` (``log.jsonl``). Given the :class:`Checkpoint`, a
    line is written once a checkpoint holds its epoch, after that checkpoint, and not at all if the checkpoint
    fails: the log never claims an epoch that the checkpoints do not hold, so a resumed run logs each epoch once."""

    def __init__(self, path, checkpoint=None):
        self.path, self.checkpoint = path, checkpoint
        self._start = None
        self._lines = []  # (epoch, line) not written yet

    def before_epoch(self, loop):
        self._start = time.time()

    def after_epoch(self, loop):
        record = {"epoch": loop.epoch, "step": loop.step, "lr": loop.trainer.learning_rate,
                  "seconds": round(time.time() - self._start, 3), **loop.metrics}
        self._lines.append((loop.epoch, json.dumps(record) + "\n"))
        self._write(loop)
        log.info("epoch %d: %s", loop.epoch, ", ".join("%s=%.4g" % (k, v) for k, v in loop.metrics.items()
                                                      if isinstance(v, float)))

    def after_train(self, loop):  # after the checkpoint's last write (the hooks' order), which holds every epoch
        self._write(loop)
        if self.checkpoint is not None and self.checkpoint.wait_at_end:
            self.checkpoint.writer.wait()

    def _write(self, loop):
        held = loop.epoch if self.checkpoint is None else loop.saved_epoch
        lines = "".join(line for epoch, line in self._lines if epoch <= held)
        self._lines = [(epoch, line) for epoch, line in self._lines if epoch > held]
        if not lines:
            return

        def append():
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
        if self.checkpoint is None:
            append()
        else:
            self.checkpoint.writer.run(self.path, append)


class ProgressBar(Hook):
    """A tqdm bar per epoch with the running loss and samples/s. Every ``every`` steps the bar shows the mean loss
    of the step read one read-out late (:class:`OneLate`); a bar that is not shown (the output is not a
    terminal) reads nothing."""

    def __init__(self, steps_per_epoch=None, every=50):
        self.total, self.every = steps_per_epoch, every
        self.bar = None
        self._late = OneLate()

    def before_epoch(self, loop):
        # disable=None: no bar when the output is not a terminal (a redirected log gets no bar fragments)
        self.bar = tqdm(total=self.total, desc="epoch %d" % (loop.epoch + 1), unit="step", leave=False, disable=None)
        self._start = time.time()
        self._late.clear()

    def after_step(self, loop):
        self.bar.update(loop.last_steps)
        if loop.step % self.every < loop.last_steps and not self.bar.disable:
            rate = loop.samples / max(time.time() - self._start, 1e-9)
            read = self._late.swap(loop.last_loss.mean())
            if read is not None:
                self.bar.set_postfix(loss="%.4f" % read[0], samples_s="%.3g" % rate)

    def after_epoch(self, loop):
        self.bar.total = self.bar.n  # the step count was an estimate (a text corpus): the epoch ends at 100%
        self.bar.refresh()
        self.bar.close()

    def after_train(self, loop):  # also when training raised mid-epoch
        if self.bar is not None:
            self.bar.close()
