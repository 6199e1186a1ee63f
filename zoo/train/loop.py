"""The one training loop. It knows nothing about tasks: an objective that maps a batch to per-example losses, a
``gluon.Trainer``, a source of numpy batches (one self-contained part per device), and hooks for everything else
(evaluation, checkpoints, logging, early stopping)."""
import mxnet as mx
import numpy as np
from mxnet import autograd

from ..ops.arrays import as_ndarray, as_ndarrays
from ..rows import SparseRows


_ones = {}  # (context, dtype) -> the longest column of ones needed so far
RUN_AHEAD = 2


def to_ndarray(a, ctx=None):
    """An NDArray on ``ctx`` (default: the CPU) of the numpy array ``a`` (a CSRNDArray of a
    :class:`~zoo.rows.SparseRows`), with its dtype (split_and_load alone would make int32 ids float32, exact only
    below 2^24). ``a`` is copied into memory that the NDArray then owns, so a producer may reuse its buffers:
    ``mx.nd.array`` would copy too, but it first waits until the engine has finished every queued operator, which
    kept Python from preparing the next batch while a step ran. (So does a dtype that DLPack, the way in, lacks,
    such as int8, and so does a CSRNDArray.)"""
    if isinstance(a, SparseRows):
        out = as_ndarray(a)  # a CSRNDArray; making one is a synchronous copy (it waits for the queued steps)
    elif str(a.dtype) not in mx.nd.ndarray.DLDataType.TYPE_MAP:
        out = mx.nd.array(a, dtype=a.dtype)
    else:
        out = mx.nd.from_numpy(np.array(a, order="C"), zero_copy=True)
    return out if ctx is None else out.as_in_context(ctx)


def total(x):
    """The sum of ``x`` as a ``(1,)`` array, computed as a dot product with ones: the CPU wheel's ``sum`` is not
    vectorized, ``dot`` runs through BLAS."""
    x = x.reshape((-1,))
    ones = _ones.get((x.context, x.dtype))
    if ones is None or ones.shape[0] < x.shape[0]:
        ones = _ones[(x.context, x.dtype)] = mx.nd.ones(x.shape, ctx=x.context, dtype=x.dtype)
    return mx.nd.dot(x, ones[:x.shape[0]]).reshape((1,))


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. the loss is not finite); the last checkpoint was left as it was."""


class Interrupted(Exception):
    """A signal stopped training after a checkpoint was written; ``signum`` is the signal's number."""

    def __init__(self, signum, message):
        super().__init__(message)
        self.signum = signum


class Hook:
    """Extends :class:`TrainLoop`. Override any of the methods; each gets the loop, whose attributes (``epoch``,
    ``step``, ``metrics``, ``model``, ``trainer``, ``stop``) it may read and set. ``after_train`` runs also when
    training raises."""

    def before_train(self, loop): pass
    def before_epoch(self, loop): pass
    def after_step(self, loop): pass
    def after_epoch(self, loop): pass
    def after_train(self, loop): pass

    def state_dict(self):
        """JSON-able state saved in checkpoints, so a resumed run continues where it stopped."""
        return {}

    def load_state_dict(self, state):
        pass


class Step:
    """One training step of :class:`TrainLoop`: ``step(parts, trainer)`` trains on ``parts`` (a list of batches of
    NDArrays, the ``d``-th on device ``d``) and returns their per-example losses, one ``(examples,)`` NDArray a
    part. :class:`GradientStep` is the usual one; a fused training kernel that updates the parameters itself
    (chosen by :mod:`zoo.fastpath`) is another. ``shuffle``: whether the step wants the examples shuffled (the
    data's ``batches(shuffle=...)``), or in the data's own order."""

    shuffle = True

    def __call__(self, parts, trainer):
        raise NotImplementedError


class GradientStep(Step):
    """``objective`` on each part under autograd, the gradients of all parts, ``trainer.step``: the optimizer
    gets the batch's mean gradient, or with ``sum_gradients`` its sum (the step of SGD applied to each example at
    rate lr, summed: what ``optim.per_example`` asks for where no kernel applies it one example at a time)."""

    def __init__(self, objective, sum_gradients=False):
        self.objective, self.sum_gradients = objective, sum_gradients

    def __call__(self, parts, trainer):
        with autograd.record():
            losses = [self.objective(*part) for part in parts]
        autograd.backward(losses)
        trainer.step(1 if self.sum_gradients else sum(loss.shape[0] for loss in losses))
        return losses


class TrainLoop:
    """Runs epochs of training steps (``objective -> backward -> trainer.step`` unless a :class:`Step` says
    otherwise).

    Parameters
    ----------
    model : Block, what the hooks evaluate and checkpoint
    objective : callable ``(*batch) -> (examples,)``, the per-example training loss (e.g.
        :class:`~zoo.models.Objective` of ``model``, or a fused equivalent chosen by :mod:`zoo.fastpath`), run as a
        :class:`GradientStep`; or a :class:`Step`
    trainer : mxnet.gluon.Trainer
    batches : callable ``epoch -> iterable of lists of batches``: each item holds one self-contained batch (a tuple
        of numpy arrays, inputs first, targets last) per device, and is one step
    devices : list of mx.Context
    epochs : int, the epoch count to reach
    hooks : list of :class:`Hook`
    steps_per_call : int, batches handed to a step that takes several at once (``run_steps``, e.g. a fused
        kernel: the same steps without Python's and the engine's cost for each); other steps take them one by one
    """

    def __init__(self, model, objective, trainer, batches, devices, epochs, hooks=(), steps_per_call=1):
        self.model, self.trainer, self.batches = model, trainer, batches
        self.steps_per_call = max(1, int(steps_per_call))
        self.last_steps = 1          # steps the last after_step covered
        self.train_step = objective if isinstance(objective, Step) else GradientStep(objective)
        self.devices, self.epochs, self.hooks = list(devices), epochs, list(hooks)
        self.epoch, self.step, self.stop = 0, 0, False
        self.step_in_epoch = 0       # steps of the current epoch done; > 0 at the start means resume mid-epoch
        self.metrics = {}            # filled by hooks each epoch, e.g. {"train.loss": .., "valid.rmse": ..}
        self.last_loss = None        # NDArray (examples,) of the last step, on the first device
        self.loss_sum = None         # NDArray (1,), sum of this epoch's losses, kept on the device
        self.samples = 0             # examples seen this epoch
        self._queued = []            # the losses of the steps pushed to the engine, oldest first

    def run(self):
        try:
            self._call("before_train")
            while self.epoch < self.epochs and not self.stop:
                if not self.step_in_epoch:
                    self.samples, self.loss_sum = 0, mx.nd.zeros((1,), ctx=self.devices[0])
                self.metrics = {}
                self._call("before_epoch")
                pending = []  # batches for one call of the step (steps_per_call of them)
                for i, parts in enumerate(self.batches(self.epoch)):
                    if i < self.step_in_epoch:
                        continue  # trained before an interruption; batches repeat exactly, so skip them
                    pending.append(parts)
                    if len(pending) == self.steps_per_call:
                        self._run_call(pending)
                        pending = []
                if pending:
                    self._run_call(pending)
                # One host read per epoch, not per step: the device keeps running ahead of Python.
                self.metrics["train.loss"] = self.loss_sum.asscalar() / max(self.samples, 1)
                self.metrics["train.samples"] = self.samples
                self.epoch += 1
                self.step_in_epoch = 0
                self._call("after_epoch")
        finally:
            self._call("after_train")
        return self.metrics

    def _run_call(self, calls):
        """Steps on ``calls`` (a list of what :meth:`run_step` takes), each followed by the ``after_step`` hooks; a
        step that makes several in one call (``run_steps``, e.g. a fused kernel) takes them together, the hooks
        then running once with ``last_steps`` set to their number."""
        losses = None
        if len(calls) > 1 and hasattr(self.train_step, "run_steps") and all(len(p) == 1 for p in calls):
            losses = self.train_step.run_steps(calls, self.trainer)  # None: it cannot take these together
        if losses is None:
            for parts in calls:
                self.run_step(parts)
                self.step_in_epoch += 1
                self._call("after_step")
            return
        self._account([losses], len(calls))
        self.step_in_epoch += len(calls)
        self._call("after_step")

    def run_step(self, parts):
        """One step on ``parts``: a list of batches, the ``d``-th trained on device ``d``."""
        if len(parts) > len(self.devices):
            raise ValueError("a step has %d parts for %d devices" % (len(parts), len(self.devices)))
        loaded = [as_ndarrays(part, ctx, convert=to_ndarray) for part, ctx in zip(parts, self.devices)]
        self._account(self.train_step(loaded, self.trainer), 1)

    def _account(self, losses, steps):
        """Count ``steps`` steps whose per-example losses are ``losses`` (one array a device)."""
        n = sum(loss.shape[0] for loss in losses)  # examples: one loss each (pairs, not images, for image pairs)
        for loss in losses:
            self.loss_sum += total(loss).as_in_context(self.devices[0])
        self.last_loss = losses[0]
        self.samples += n
        self.step += steps
        self.last_steps = steps
        # Python runs ahead of the engine, preparing the next batches while this one trains, but by at most
        # RUN_AHEAD steps: each queued step holds its batch and buffers.
        self._queued.append(losses[0])
        if len(self._queued) > RUN_AHEAD:
            self._queued.pop(0).wait_to_read()

    def state_dict(self):
        """JSON-able progress (counters, the running loss of an unfinished epoch, every hook's state)."""
        return {"epoch": self.epoch, "step": self.step, "step_in_epoch": self.step_in_epoch,
                "samples": self.samples,
                "loss_sum": float(self.loss_sum.asscalar()) if self.step_in_epoch else 0.0,
                "hooks": {type(h).__name__: h.state_dict() for h in self.hooks}}

    def load_state_dict(self, state):
        """Continue from :meth:`state_dict`'s result: the next step is the one after the recorded one."""
        self.epoch, self.step, self.step_in_epoch = state["epoch"], state["step"], state["step_in_epoch"]
        if self.step_in_epoch:
            self.samples = state["samples"]
            self.loss_sum = mx.nd.array([state["loss_sum"]], ctx=self.devices[0])
        for hook in self.hooks:
            hook.load_state_dict(state["hooks"].get(type(hook).__name__, {}))

    def _call(self, event):
        for hook in self.hooks:
            getattr(hook, event)(self)
