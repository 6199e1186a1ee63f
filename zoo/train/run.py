"""From a checked config to a trained run folder, and back: the glue behind ``tools/train.py``.

A run folder holds ``config.yaml``, ``log.jsonl``, ``checkpoints/{best,last}.npz`` and ``results.json``.
"""
import json
import logging
import os
import time
import types

import mxnet as mx
import numpy as np
from mxnet import gluon

from .. import ops
from ..blocks.sparse import hybridize_dense, row_sparse_tables
from ..config import ConfigError, load_config, save_config
from ..data.batches import prefetch
from ..ops.optimizers import FusedAdam, FusedSGD
from ..registry import DATASETS, MODELS
from .checkpoint import atomic_write, load_checkpoint, read_checkpoint
from .context import parse_devices
from .distributed import Cluster, is_distributed
from .hooks import (Checkpoint, EarlyStopping, Evaluate, JsonlLog, LearningRateSchedule, ProgressBar,
                    StopOnNonFinite, StopOnSignal, TrackBest)
from .inference import predict
from .loop import Hook, TrainLoop

log = logging.getLogger(__name__)


def build_dataset(cfg):
    """The registered dataset ``cfg.data.name``. A dataset provides ``meta`` (sizes the model needs),
    ``num_examples(split)``, ``batches(split, batch_size, shuffle, seed)`` (tuples of numpy arrays),
    ``eval_sets(final)`` (names), ``evaluate(model, name, predict)`` (a metrics dict) and ``state()`` (arrays to
    keep with the model, such as id maps or a vocabulary)."""
    return DATASETS.get(cfg.data.name).from_config(cfg.data, cfg.eval)


def build_model(cfg, dataset):
    return MODELS.get(cfg.model.name).from_config(cfg.model, dataset)


def make_trainer(model, optim, kvstore="device"):
    """A ``gluon.Trainer`` for the ``optim`` config section; an unknown optimizer lists the choices. ``adam``
    and ``sgd`` are :class:`~zoo.ops.optimizers.FusedAdam` and :class:`~zoo.ops.optimizers.FusedSGD` when zoo's C++
    operators load: the same updates, faster on sparse rows."""
    known = sorted(n for n in mx.optimizer.Optimizer.opt_registry if n != "test")  # "test" is MXNet's own
    if optim.name.lower() not in known:
        raise ConfigError("optim.name: unknown optimizer %r; choose one of: %s" % (optim.name, ", ".join(known)))
    fused = {"adam": FusedAdam, "sgd": FusedSGD}.get(optim.name.lower())
    if fused is not None and ops.load():
        return gluon.Trainer(model.collect_params(), fused(**optimizer_params(optim)), kvstore=kvstore)
    return gluon.Trainer(model.collect_params(), optim.name, optimizer_params(optim), kvstore=kvstore)


def optimizer_params(optim):
    return {"learning_rate": optim.lr, "wd": optim.wd, **optim.args}


def evaluate(model, dataset, names, device, batch_size):
    """``{name: {metric: value}}`` for the dataset's evaluation sets ``names`` (e.g. ``valid``, ``wordsim353``)."""
    def run(*arrays, method=None):
        return predict(method or model, arrays, device, batch_size)
    return {name: dataset.evaluate(model, name, run) for name in names}


def flat(results):
    """``{"valid": {"rmse": 0.8}}`` -> ``{"valid.rmse": 0.8}``, the form the loop's metrics take."""
    return {"%s.%s" % (name, k): v for name, metrics in results.items() for k, v in metrics.items()}


class Reseed(Hook):
    """Seeds MXNet's generator from (seed, epoch) so that dropout and samplers repeat, also after a resume."""

    def __init__(self, seed):
        self.seed = seed

    def before_epoch(self, loop):
        mx.random.seed(self.seed * 100003 + loop.epoch)


class EpochStats(Hook):
    """Adds the dataset's counts for the epoch just trained to the metrics, if it keeps any (a text corpus:
    ``train.words``, the words left after subsampling, which gensim calls effective words)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def after_epoch(self, loop):
        loop.metrics.update(getattr(self.dataset, "epoch_stats", dict)())


def train(cfg, run_dir, resume=False):
    """Train the model ``cfg`` describes into ``run_dir``; returns the results dict (also in ``results.json``)."""
    started = time.time()
    t = cfg.train
    devices = parse_devices(t.devices)
    mx.random.seed(t.seed)
    np.random.seed(t.seed)
    dataset = build_dataset(cfg)
    model = build_model(cfg, dataset)
    steps = -(-dataset.num_examples("train") // t.batch_size)
    cluster = Cluster(t.kvstore, t.batch_size, resume) if is_distributed(t.kvstore) else None
    if cluster:
        tables = row_sparse_tables(model)  # the tables live on the servers; workers pull the rows of each batch
        log.info("%d embedding tables are row_sparse on the servers", tables)
        run_dir = cluster.worker_dir(run_dir)
    model.initialize(ctx=devices)
    if t.hybridize:
        hybridize_dense(model, static_alloc=True)  # model.hybridize() when there is no row_sparse table
    if cluster:
        trainer = cluster.trainer(model, cfg.optim, optimizer_params(cfg.optim), t.epochs, steps)
    else:
        trainer = make_trainer(model, cfg.optim, t.kvstore)

    ckpt_dir = os.path.join(run_dir, "checkpoints")
    track = TrackBest(t.monitor, t.monitor_mode)
    checkpoint = Checkpoint(ckpt_dir, arrays=dataset.state(), optimizer_state=not cluster,
                            extra_meta={"model": cfg.model.name, "data": dataset.meta})
    hooks = [Reseed(t.seed),
             LearningRateSchedule(cfg.optim.lr, cfg.optim.schedule, t.epochs, cfg.optim.gamma,
                                  cfg.optim.step_epochs, cfg.optim.warmup_epochs, cfg.optim.min_lr, steps),
             StopOnNonFinite(t.log_every), EpochStats(dataset),
             Evaluate(lambda m: flat(evaluate(m, dataset, dataset.eval_sets(), devices[0], t.eval_batch_size))),
             track, EarlyStopping(t.patience), checkpoint, JsonlLog(os.path.join(run_dir, "log.jsonl")),
             StopOnSignal(checkpoint)]
    if t.progress:
        hooks.append(ProgressBar(steps, t.log_every))

    batch_size = cluster.local_batch if cluster else t.batch_size

    def batches(epoch):
        stream = dataset.batches("train", batch_size, shuffle=True, seed=[t.seed, epoch])
        return prefetch(cluster.shard(stream) if cluster else stream, t.prefetch)
    loop = TrainLoop(model, trainer, batches, devices, t.epochs, hooks)
    last = os.path.join(ckpt_dir, "last.npz")
    if resume and os.path.exists(last):
        resume_from(last, loop)
    # Only now, with everything checked, does the run folder get written.
    os.makedirs(run_dir, exist_ok=True)
    save_config(cfg, os.path.join(run_dir, "config.yaml"))
    loop.run()

    if cluster:  # loading into the training model would reset the servers' tables: test a dense copy instead
        model = load_model(run_dir, device=devices[0])[1]
    else:
        load_checkpoint(os.path.join(ckpt_dir, "best.npz"), model)
    results = evaluate(model, dataset, dataset.eval_sets(final=True), devices[0], t.eval_batch_size)
    results.update(best_epoch=track.best_epoch, epochs=loop.epoch, seconds=round(time.time() - started, 2))
    atomic_write(os.path.join(run_dir, "results.json"),
                 lambda f: f.write(json.dumps(results, indent=2).encode()))
    return results


def resume_from(path, loop):
    """Put ``loop`` (model, optimizer, hooks, counters) back in the state ``last.npz`` recorded."""
    meta, _ = load_checkpoint(path, loop.model, loop.trainer)
    folder = os.path.dirname(path)
    for name in os.listdir(folder):
        if name.endswith(".tmp"):  # a write that a crash cut short; the checkpoint it would have replaced is whole
            os.remove(os.path.join(folder, name))
    for hook in loop.hooks:
        hook.load_state_dict(meta["hooks"].get(type(hook).__name__, {}))
    loop.epoch, loop.step, loop.step_in_epoch = meta["epoch"], meta["step"], meta["step_in_epoch"]
    if loop.step_in_epoch:
        loop.samples = meta["samples"]
        loop.loss_sum = mx.nd.array([meta["loss_sum"]], ctx=loop.devices[0])
    log.info("resuming from %s: epoch %d, step %d", path, loop.epoch + 1, loop.step)


def load_model(run_dir, checkpoint="best", device=None):
    """``(cfg, model, arrays)`` of a saved run without reading its data: the model is rebuilt from the saved
    config and the sizes stored in the checkpoint; ``arrays`` are the id maps or vocabulary saved with it."""
    cfg = load_config(os.path.join(run_dir, "config.yaml"))
    path = os.path.join(run_dir, "checkpoints", checkpoint + ".npz")
    if not os.path.exists(path):
        raise ValueError("%s has no checkpoint %s: was the run trained to the end of an epoch?" % (run_dir, path))
    meta, _ = read_checkpoint(path)
    model = MODELS.get(cfg.model.name).from_config(cfg.model, types.SimpleNamespace(meta=meta["data"]))
    model.initialize(ctx=device or mx.cpu())
    model.hybridize(static_alloc=True)
    _, arrays = load_checkpoint(path, model)
    model.meta = meta["data"]
    return cfg, model, arrays
