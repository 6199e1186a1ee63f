"""From a checked config to a trained run folder, and back: the wiring behind ``tools/train.py`` and the API.

A run folder holds ``config.yaml``, ``log.jsonl``, ``checkpoints/{best,last}.npz`` and ``results.json``.
This module is the only one that knows every layer: config -> dataset (``zoo.data``), model (``zoo.models``),
training objective and optimizer (``zoo.fastpath``), evaluator (``zoo.eval``), loop and hooks (``zoo.train``).
"""
import json
import logging
import os
import time

import mxnet as mx
import numpy as np

from .blocks.sparse import hybridize_dense
from .config import load_config, save_config
from .data.batches import prefetch
from .eval import evaluator_for
from .fastpath import make_optimizer, select_step
from .registry import DATASETS, MODELS
from .paths import atomic_write
from .train.checkpoint import load_checkpoint, read_checkpoint
from .train.context import parse_devices
from .train.distributed import placement
from .train.hooks import (Checkpoint, EarlyStopping, Evaluate, JsonlLog, ProgressBar, StopOnNonFinite,
                          StopOnSignal, TrackBest)
from .train.loop import Hook, TrainLoop
from .train.rundir import RunFolder, RunFolderError
from .train.schedule import lr_scheduler

log = logging.getLogger(__name__)


def resolve_paths(cfg):
    """Make the path fields of the model, data and eval sections (``Config.PATHS``) absolute, in place, so that the
    saved config finds the files from any folder. Empty paths (the cache) stay empty."""
    for section in (cfg.model, cfg.data, cfg.eval):
        for name in getattr(section, "PATHS", ()):
            value = getattr(section, name)
            if isinstance(value, (list, tuple)):
                setattr(section, name, [os.path.abspath(os.path.expanduser(v)) for v in value])
            elif value:
                setattr(section, name, os.path.abspath(os.path.expanduser(value)))
    return cfg


def build_dataset(cfg):
    """The registered dataset ``cfg.data.name``. A dataset provides ``meta`` (sizes the model needs), ``task``
    (which evaluator scores it), ``num_examples(split)``, ``batches(split, batch_size, shuffle, seed)`` (tuples of
    numpy arrays), ``split_batch(batch, parts)`` (self-contained parts, one a device), ``eval_sets(final)``
    (names) and ``state()`` (arrays to keep with the model, such as id maps or a vocabulary)."""
    return DATASETS.get(cfg.data.name).from_config(cfg.data, cfg.eval)


def build_model(cfg, meta):
    """The registered model ``cfg.model.name`` for a dataset's ``meta``."""
    return MODELS.get(cfg.model.name).from_config(cfg.model, meta)


def optimizer_params(optim, scheduler=None):
    params = {"learning_rate": optim.lr, "wd": optim.wd, **optim.args}
    if scheduler is not None:
        params["lr_scheduler"] = scheduler
    return params


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


# What defines a run: a resumed run must have the same (``--resume`` refuses a difference, naming the keys). Every
# other key (train.epochs, train.progress, train.patience, optim.lr, ...) may change on resume.
DEFINING = {"data": None, "model": None, "optim": ("name",), "train": ("seed", "kvstore")}
# where the files are (the saved id maps or vocabulary check the content); the vectors a run started from
NOT_DEFINING = {"data": ("root", "paths"), "model": ("init_vectors",)}


def fingerprint(cfg):
    """The config keys that define a run, ``{"data.seed": 0, ...}``."""
    out, everything = {}, cfg.to_dict()
    for section, keys in DEFINING.items():
        values = everything[section]
        for key in keys or values:
            if key not in NOT_DEFINING.get(section, ()):
                out["%s.%s" % (section, key)] = values[key]
    return out


def check_resume(meta, arrays, cfg, dataset, run_dir):
    """Refuse to resume when what defines the run differs from the checkpoint's."""
    recorded = meta.get("fingerprint", {})
    now = fingerprint(cfg)
    changed = ["%s=%r (the run has %r)" % (k, now.get(k), recorded.get(k)) for k in sorted(set(recorded) | set(now))
               if recorded.get(k) != now.get(k)]
    state = dataset.state()
    changed += ["the data's %s" % k for k in sorted(state)
                if k not in arrays or not np.array_equal(arrays[k], state[k])]
    if meta["loop"]["step_in_epoch"] and meta.get("batch_size") != cfg.train.batch_size:
        changed.append("train.batch_size=%d mid-epoch (the run has %s; it may change at an epoch boundary)"
                       % (cfg.train.batch_size, meta.get("batch_size")))
    if changed:
        raise RunFolderError("cannot resume %s: %s differ from the run's; these define the run (see the README's "
                             "Configuration for the keys that may change on resume)" % (run_dir, "; ".join(changed)))


def materialize(model, meta, devices):
    """Give every parameter its shape (a CNN's are known only after a first batch), so that a checkpoint can be
    loaded into it: one forward pass of example inputs."""
    if any(0 in p.shape for p in model.collect_params().values()):
        model(*[x.as_in_context(devices[0]) for x in model.example_inputs(meta, batch=2)])


def train(cfg, run_dir, resume=False, overwrite=False, hooks=(), test=True):
    """Train the model ``cfg`` describes into ``run_dir``; returns the results dict (also in ``results.json``).
    A new run refuses a folder that holds one unless ``overwrite``; ``resume`` continues the run there. ``hooks``
    are added to the loop's own. Without ``test`` the final results leave the test split unread (a search)."""
    started = time.time()
    t = cfg.train
    devices = parse_devices(t.devices)
    where = placement(t.kvstore, t.batch_size, resume)
    folder = RunFolder(where.run_dir(run_dir), resume, overwrite)
    folder.check()  # before any work
    run_dir = folder.path
    resolve_paths(cfg)
    mx.random.seed(t.seed)
    np.random.seed(t.seed)
    dataset = build_dataset(cfg)
    model = build_model(cfg, dataset.meta)
    where.prepare(model)
    model.initialize(ctx=devices)
    materialize(model, dataset.meta, devices)
    if not resume and hasattr(model, "initialize_from"):  # a data-dependent start (e.g. ranking_mf's init: svd)
        model.initialize_from(dataset)
    if t.hybridize:
        hybridize_dense(model, static_alloc=True)  # model.hybridize() when no table is row_sparse (on servers)
    steps = -(-dataset.num_examples("train") // t.batch_size)
    o = cfg.optim
    scheduler = lr_scheduler(o.schedule, o.lr, o.schedule_epochs or t.epochs, where.updates_per_epoch(steps),
                             o.gamma, o.step_epochs, o.warmup_epochs, o.min_lr)
    optimizer = make_optimizer(o.name, optimizer_params(o, scheduler), where.on_servers)
    step = select_step(model, devices, optimizer, o.per_example, t.hybridize, where.on_servers, t.steps_per_call)
    trainer = where.trainer(model, optimizer)

    evaluator = evaluator_for(dataset, devices[0], t.eval_batch_size)
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    track = TrackBest(t.monitor, t.monitor_mode)
    checkpoint = Checkpoint(ckpt_dir, arrays=dataset.state(), optimizer_state=not where.on_servers,
                            extra_meta={"model": cfg.model.name, "data": dataset.meta, "fingerprint": fingerprint(cfg),
                                        "batch_size": t.batch_size},
                            every_seconds=t.checkpoint_seconds, wait_at_end=False)
    hooks = [Reseed(t.seed), StopOnNonFinite(t.log_every), EpochStats(dataset),
             Evaluate(lambda m: flat(evaluator.run(m, dataset.eval_sets())), t.eval_every),
             track, EarlyStopping(t.patience), checkpoint,
             JsonlLog(os.path.join(run_dir, "log.jsonl"), checkpoint), StopOnSignal(checkpoint),
             *hooks]
    if t.progress:
        hooks.append(ProgressBar(steps, t.log_every))

    def batches(epoch):
        stream = where.shard(dataset.batches("train", where.local_batch, shuffle=step.shuffle, seed=[t.seed, epoch]))
        return prefetch((dataset.split_batch(b, len(devices)) for b in stream), t.prefetch)
    loop = TrainLoop(model, step, trainer, batches, devices, t.epochs, hooks, t.steps_per_call)
    # Only now, with everything checked, does the run folder get written; the lock keeps other runs out of it.
    # The last checkpoint's writes go on while the model is evaluated; the writer's block waits for them before
    # the lock is let go, and the results are written after them.
    with folder, checkpoint.writer:
        if resume:
            meta, arrays = read_checkpoint(folder.last)
            check_resume(meta, arrays, cfg, dataset, run_dir)
            resume_from(folder.last, loop, optimizer)
        save_config(cfg, os.path.join(run_dir, "config.yaml"))
        loop.run()
        if where.on_servers:  # loading into the training model would reset the servers' tables: test a copy
            checkpoint.writer.wait()
            model = load_model(run_dir, device=devices[0])[1]
        elif track.best_epoch != loop.epoch:  # else the model in memory is the best epoch's, as best.npz holds it
            checkpoint.writer.wait()
            load_checkpoint(os.path.join(ckpt_dir, "best.npz"), model)
        results = evaluator.run(model, dataset.eval_sets(final=test))
        checkpoint.writer.wait()  # the results name checkpoints that are on disk
        results.update(best_epoch=track.best_epoch, epochs=loop.epoch, seconds=round(time.time() - started, 2))
        atomic_write(os.path.join(run_dir, "results.json"),
                     lambda f: f.write(json.dumps(results, indent=2).encode()))
    return results


def resume_from(path, loop, optimizer=None):
    """Put ``loop`` (model, optimizer state, hooks, counters) back in the state ``last.npz`` recorded. The
    optimizer's learning rate, its schedule and weight decay stay those of ``optimizer`` (the run's current
    config: ``--resume optim.lr=...`` applies); the schedule continues from the restored update count."""
    meta, _ = load_checkpoint(path, loop.model, loop.trainer)
    if optimizer is not None:
        restored = loop.trainer.optimizer
        restored.lr, restored.lr_scheduler, restored.wd = optimizer.lr, optimizer.lr_scheduler, optimizer.wd
    folder = os.path.dirname(path)
    for name in os.listdir(folder):
        if name.endswith(".tmp"):  # a write that a crash cut short; the checkpoint it would have replaced is whole
            os.remove(os.path.join(folder, name))
    loop.load_state_dict(meta["loop"])
    log.info("resuming from %s: epoch %d, step %d", path, loop.epoch + 1, loop.step)


def load_model(run_dir, checkpoint="best", device=None):
    """``(cfg, model, arrays)`` of a saved run without reading its data: the model is rebuilt from the saved
    config and the sizes stored in the checkpoint; ``arrays`` are the id maps or vocabulary saved with it."""
    cfg = load_config(os.path.join(run_dir, "config.yaml"))
    path = os.path.join(run_dir, "checkpoints", checkpoint + ".npz")
    if not os.path.exists(path):
        raise ValueError("%s has no checkpoint %s: was the run trained to the end of an epoch?" % (run_dir, path))
    meta, _ = read_checkpoint(path)
    model = build_model(cfg, meta["data"])
    model.initialize(ctx=device or mx.cpu())
    materialize(model, meta["data"], [device or mx.cpu()])
    model.hybridize(static_alloc=True)
    _, arrays = load_checkpoint(path, model)
    model.meta = meta["data"]
    return cfg, model, arrays


def evaluate(model, dataset, names, device, batch_size=65536):
    """``{name: {metric: value}}`` for the dataset's evaluation sets ``names`` (e.g. ``valid``, ``wordsim353``)."""
    return evaluator_for(dataset, device, batch_size).run(model, names)
