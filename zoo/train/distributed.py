"""Where training runs, behind one interface: :class:`LocalTraining` (one process, one or several devices) and
:class:`Cluster` (MXNet's parameter server: ``train.kvstore: dist_sync`` or ``dist_async``). :func:`placement`
picks one from the config; the pipeline uses either the same way.

On a cluster every worker runs the same ``tools/train.py`` command (``tools/launch.py`` starts them with the
``DMLC_*`` variables set). Each takes its own share of every epoch's batches, embedding tables live row_sparse on
the servers (each worker pulls the rows its batch uses), and the optimizer runs on the servers.
"""
import logging
import os

import mxnet as mx
from mxnet import gluon

from ..blocks.sparse import row_sparse_tables
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
    optimizer : mx.optimizer.Optimizer, one of MXNet's (the servers unpickle it), its ``lr_scheduler`` counting
        the servers' updates
    kvstore : mx.kv.KVStore, a ``dist_*`` one
    local_batch : int, examples each worker contributes to a step (every step must have exactly as many)
    """

    def __init__(self, params, optimizer, kvstore, local_batch):
        self.local_batch = local_batch
        optimizer.rescale_grad = 1.0 / (local_batch * kvstore.num_workers)
        super().__init__(params, optimizer, kvstore=kvstore, update_on_kvstore=True)

    def step(self, batch_size, ignore_stale_grad=False):
        if batch_size != self.local_batch:
            raise ValueError("a distributed step needs %d examples from each worker, got %d"
                             % (self.local_batch, batch_size))
        super().step(1, ignore_stale_grad)

    def save_states(self, fname):
        raise NotImplementedError("optimizer states live on the servers; MXNet cannot save them from a worker")


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


class LocalTraining:
    """Training in this process, on one or several devices, the ``kvstore`` (``device`` or ``local``) summing the
    devices' gradients. The interface :class:`Cluster` shares."""

    on_servers = False       # the optimizer runs here, and its state is saved in checkpoints

    def __init__(self, kvstore, batch_size):
        self.kvstore, self.local_batch = kvstore, batch_size

    def prepare(self, model):
        """Nothing to change in ``model`` before ``initialize``."""

    def run_dir(self, run_dir):
        return run_dir

    def updates_per_epoch(self, steps):
        return steps

    def trainer(self, model, optimizer):
        return gluon.Trainer(model.collect_params(), optimizer, kvstore=self.kvstore)

    def shard(self, batches):
        return batches


class Cluster:
    """This worker's place in parameter-server training (``train.kvstore: dist_sync | dist_async``): the kvstore,
    the worker's share of each global batch, and its run folder (worker 0 writes ``run_dir``, worker ``r`` the
    folder ``run_dir/worker-r``). The optimizer and its state live on the servers."""

    on_servers = True

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

    def prepare(self, model):
        """Make ``model``'s sparse embedding tables row_sparse, to live on the servers (before ``initialize``)."""
        log.info("%d embedding tables are row_sparse on the servers", row_sparse_tables(model))

    def run_dir(self, run_dir):
        return os.path.join(run_dir, "worker-%d" % self.rank) if self.rank else run_dir

    def updates_per_epoch(self, steps):
        """Updates the servers make in an epoch of ``steps`` global steps: under ``dist_async`` each worker's push
        is one."""
        return steps * (self.workers if self.kind == "dist_async" else 1)

    def trainer(self, model, optimizer):
        """A :class:`ParameterServerTrainer` with ``optimizer`` (one of MXNet's)."""
        return ParameterServerTrainer(model.collect_params(), optimizer, self.kvstore, self.local_batch)

    def shard(self, batches):
        return shard_batches(batches, self.rank, self.workers, self.local_batch)


def placement(kvstore, batch_size, resume=False):
    """:class:`Cluster` for a ``dist_*`` kvstore, else :class:`LocalTraining`."""
    return Cluster(kvstore, batch_size, resume) if is_distributed(kvstore) else LocalTraining(kvstore, batch_size)
