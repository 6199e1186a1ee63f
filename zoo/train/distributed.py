"""Training on MXNet's parameter server: ``train.kvstore: dist_sync`` or ``dist_async``.

Every worker runs the same ``tools/train.py`` command (``tools/launch.py`` starts them with the ``DMLC_*``
variables set). Each takes its own share of every epoch's batches, embedding tables live row_sparse on the
servers (each worker pulls the rows its batch uses), and the optimizer runs on the servers.
"""
import logging
import os

import mxnet as mx
from mxnet import gluon

from ..config import ConfigError

log = logging.getLogger(__name__)

KVSTORES = ("device", "local", "dist_sync", "dist_async")


def is_distributed(kind):
    """Whether ``train.kvstore`` names a parameter-server kvstore; an unknown name raises ``ConfigError``."""
    if kind not in KVSTORES:
        raise ConfigError("train.kvstore: unknown kvstore %r; choose one of: %s" % (kind, ", ".join(KVSTORES)))
    return kind.startswith("dist")


def create_kvstore(kind):
    """The ``dist_*`` kvstore ``train.kvstore`` names, connected to the scheduler."""
    if is_distributed(kind) and os.environ.get("DMLC_ROLE") != "worker":
        raise ConfigError("train.kvstore=%s needs a scheduler and servers: start the workers with tools/launch.py "
                          "(DMLC_ROLE is %r)" % (kind, os.environ.get("DMLC_ROLE")))
    return mx.kv.create(kind)


class ParameterServerTrainer(gluon.Trainer):
    """``gluon.Trainer`` for a ``dist_*`` kvstore. The servers receive a copy of the optimizer once, when the first
    parameter is pulled, so the gradient scale and the learning rate schedule have to be in that copy: the scale is
    fixed to ``1 / (local_batch * workers)`` and the schedule is an ``lr_scheduler`` that the servers call.

    Parameters
    ----------
    params : ParameterDict
    optimizer : str
    optimizer_params : dict
    kvstore : mx.kv.KVStore, a ``dist_*`` one
    local_batch : int, examples each worker contributes to a step (every step must have exactly as many)
    lr_scheduler : mx.lr_scheduler.LRScheduler or None, called by the servers with their update count
    """

    def __init__(self, params, optimizer, optimizer_params, kvstore, local_batch, lr_scheduler=None):
        self.local_batch = local_batch
        optimizer_params = dict(optimizer_params, rescale_grad=1.0 / (local_batch * kvstore.num_workers))
        if lr_scheduler is not None:
            optimizer_params["lr_scheduler"] = lr_scheduler
        super().__init__(params, optimizer, optimizer_params, kvstore=kvstore, update_on_kvstore=True)

    def step(self, batch_size, ignore_stale_grad=False):
        if batch_size != self.local_batch:
            raise ValueError("a distributed step needs %d examples from each worker, got %d"
                             % (self.local_batch, batch_size))
        super().step(1, ignore_stale_grad)

    def set_learning_rate(self, lr):
        """Ignored: the servers' optimizer follows its ``lr_scheduler``."""

    def save_states(self, fname):
        raise NotImplementedError("optimizer states live on the servers; MXNet cannot save them from a worker")


def server_lr_scheduler(optim, epochs, updates_per_epoch):
    """MXNet's own scheduler for the ``optim`` section's schedule (the servers can unpickle it without importing
    zoo): ``updates_per_epoch`` is the steps of an epoch under ``dist_sync`` and that times the workers under
    ``dist_async``, where each worker's push is an update. Warm-up is linear per update, not per epoch."""
    total, warmup = max(int(epochs * updates_per_epoch), 1), int(optim.warmup_epochs * updates_per_epoch)
    common = dict(base_lr=optim.lr, warmup_steps=warmup, warmup_begin_lr=0.0)
    if optim.schedule == "constant":
        return None if not warmup else mx.lr_scheduler.PolyScheduler(total, pwr=0, **common)
    if optim.schedule == "step":
        return mx.lr_scheduler.FactorScheduler(max(int(optim.step_epochs * updates_per_epoch), 1), optim.gamma,
                                               **common)
    if optim.schedule == "cosine":
        return mx.lr_scheduler.CosineScheduler(total, final_lr=optim.min_lr, **common)
    return mx.lr_scheduler.PolyScheduler(total, pwr=1, final_lr=optim.min_lr, **common)  # linear


def shard_batches(batches, rank, num_workers, batch_size):
    """Worker ``rank``'s share of a batch stream: of every ``num_workers`` consecutive batches, the ``rank``-th.
    Every worker reads the same stream (the same seed) and so makes the same number of steps, which ``dist_sync``
    needs; a group with a short batch (the end of an epoch or of a text chunk) is dropped for the same reason.
    With ``batch_size`` = the global batch / ``num_workers``, a step trains on the examples one process would."""
    group = []
    for batch in batches:
        group.append(batch)
        if len(group) == num_workers:
            if all(len(b[0]) == batch_size for b in group):
                yield group[rank]
            group = []


class Cluster:
    """This worker's place in parameter-server training (``train.kvstore: dist_sync | dist_async``): the kvstore,
    the worker's share of each global batch, and its run folder (worker 0 writes ``run_dir``, worker ``r`` the
    folder ``run_dir/worker-r``)."""

    def __init__(self, kind, batch_size, resume=False):
        if resume:
            raise ConfigError("--resume: not possible with train.kvstore=%s (the optimizer state lives on the "
                              "servers, which MXNet cannot save); start the run again" % kind)
        self.kind, self.kvstore = kind, create_kvstore(kind)
        self.rank, self.workers = self.kvstore.rank, self.kvstore.num_workers
        if batch_size % self.workers:
            raise ConfigError("train.batch_size=%d: the global batch must divide by the %d workers"
                              % (batch_size, self.workers))
        self.local_batch = batch_size // self.workers
        log.info("worker %d of %d, %d examples a step each", self.rank, self.workers, self.local_batch)

    def worker_dir(self, run_dir):
        return os.path.join(run_dir, "worker-%d" % self.rank) if self.rank else run_dir

    def trainer(self, model, optim, optimizer_params, epochs, steps_per_epoch):
        """A :class:`ParameterServerTrainer` for the ``optim`` config section (its optimizer and learning rate
        schedule) with ``optimizer_params``; ``steps_per_epoch`` counts global steps."""
        updates = steps_per_epoch * (self.workers if self.kind == "dist_async" else 1)
        return ParameterServerTrainer(model.collect_params(), optim.name, optimizer_params, self.kvstore,
                                      self.local_batch, server_lr_scheduler(optim, epochs, updates))

    def shard(self, batches):
        return shard_batches(batches, self.rank, self.workers, self.local_batch)
