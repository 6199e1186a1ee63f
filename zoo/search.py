"""Hyperparameter search with Optuna: each trial an ordinary run folder, the objective the validation metric of
``train.monitor`` (the test split is never read), unpromising trials pruned from their per-epoch validation, and
the study kept in an SQLite file in the search folder, so that the same command run again continues it.

A search space is a YAML mapping of config keys to ranges::

    optim.lr: {log: [1.0e-4, 1.0e-1]}     # a float, log-uniform
    model.reg: {range: [0.0, 0.1]}        # a float, uniform
    model.dim: {int: [8, 128]}            # an integer, uniform (add log: true for log-uniform)
    model.hidden: [[], [64], [128, 64]]   # one of these values
"""
import dataclasses
import json
import logging
import math
import os

import yaml

from .config import ConfigError, from_raw, save_config
from .paths import atomic_write
from .train.loop import Hook
from .train.rundir import best_epoch as trial_best_epoch, finished_results

log = logging.getLogger(__name__)

STORAGE = "search.db"


@dataclasses.dataclass
class Dimension:
    """One searched config key: ``kind`` is ``log``, ``range``, ``int`` or ``choice``."""
    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()

    def suggest(self, trial):
        """Optuna's parameter for this key (a choice by its position: Optuna's categories must be plain scalars,
        and a choice may be a list); :meth:`value` turns it into the config value."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.key, list(range(len(self.choices))))
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, self.low, self.high, log=self.kind == "log")

    def value(self, param):
        """The config value of Optuna's stored parameter (a choice's position -> the choice)."""
        return self.choices[param] if self.kind == "choice" else param


def parse_space(raw, source, cfg):
    """The :class:`Dimension` list of a space (a mapping read from ``source``); every key must be a key of
    ``cfg`` and every range well formed, else a ConfigError naming the key."""
    if not isinstance(raw, dict) or not raw:
        raise ConfigError("%s: a search space is a mapping of config keys to ranges, e.g. "
                          "'optim.lr: {log: [1.0e-4, 1.0e-1]}'" % source)
    known = cfg.to_dict()
    dims = []
    for key, spec in raw.items():
        section, _, name = str(key).partition(".")
        if section not in known or not isinstance(known[section], dict) or name not in known[section]:
            raise ConfigError("%s: %s is not a key of the config (its keys are section.key, e.g. optim.lr)"
                              % (source, key), key=key)
        where = "%s: %s" % (source, key)
        if isinstance(spec, list):
            if len(spec) < 2:
                raise ConfigError("%s: a list of choices needs at least two" % where, key=key)
            dims.append(Dimension(key, "choice", choices=tuple(spec)))
            continue
        if isinstance(spec, dict) and "int" in spec and set(spec) <= {"int", "log"} and spec.get("log") in (
                None, True, False):
            kind = "int"
        elif isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in ("log", "range"):
            kind = next(iter(spec))
        else:
            raise ConfigError("%s: expected a list of choices or one of {log: [low, high]}, {range: [low, high]}, "
                              "{int: [low, high]} (with log: true for a log scale), got %r" % (where, spec),
                              key=key)
        bounds = spec[kind]
        if (not isinstance(bounds, list) or len(bounds) != 2
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            raise ConfigError("%s: %s takes [low, high], two numbers; got %r" % (where, kind, bounds), key=key)
        low, high = bounds
        if not low < high:
            raise ConfigError("%s: the range [%s, %s] is empty: low must be below high" % (where, low, high),
                              key=key)
        use_log = kind == "log" or (kind == "int" and spec.get("log") is True)
        if use_log and low <= 0:
            raise ConfigError("%s: a log scale needs low > 0, got %s" % (where, low), key=key)
        if kind == "int" and not all(float(b).is_integer() for b in bounds):
            raise ConfigError("%s: int takes whole numbers, got %r" % (where, bounds), key=key)
        dims.append(Dimension(key, kind, float(low), float(high), use_log))
    return dims


def read_space(path, cfg):
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except OSError as err:
        raise ConfigError("cannot read the search space %s: %s" % (path, err.strerror or err)) from None
    except yaml.YAMLError as err:
        raise ConfigError("%s is not valid YAML: %s" % (path, err)) from None
    return parse_space(raw, path, cfg)


def config_values(space, params):
    """``{"section.key": config value}`` of a trial's stored Optuna ``params`` (the keys it has)."""
    return {d.key: d.value(params[d.key]) for d in space if d.key in params}


def with_values(cfg, values):
    """A checked copy of ``cfg`` with ``{"section.key": value}`` set."""
    raw = cfg.to_dict()
    for key, value in values.items():
        section, _, name = key.partition(".")
        raw[section][name] = value
    return from_raw(raw, "the search space")


class Prune(Hook):
    """Reports the monitored validation metric of every evaluated epoch to an Optuna trial and stops the run
    (``optuna.TrialPruned``) when the pruner says the trial will not beat the others."""

    def __init__(self, trial, monitor):
        self.trial, self.monitor = trial, monitor

    def after_epoch(self, loop):
        if self.monitor in loop.metrics:
            self.trial.report(float(loop.metrics[self.monitor]), loop.epoch)
            if self.trial.should_prune():
                import optuna
                raise optuna.TrialPruned("epoch %d: %s %.4f" % (loop.epoch, self.monitor,
                                                                 loop.metrics[self.monitor]))


def monitored(results, monitor):
    """The value of ``monitor`` (``valid.rmse``) in a run's results."""
    part, _, metric = monitor.partition(".")
    value = results.get(part, {}).get(metric)
    if value is None:
        raise ConfigError("train.monitor=%s: the run reports no such metric (it has: %s)" % (
            monitor, ", ".join("%s.%s" % (p, m) for p, v in results.items() if isinstance(v, dict) for m in v)))
    return float(value)


def search(cfg, space, out, trials, timeout=None, seed=0, train=None, echo=print, confirm_seeds=(), top=5):
    """Run (or continue) the study in ``out`` until it holds ``trials`` finished trials (complete or pruned) or
    ``timeout`` seconds pass; writes ``best.yaml`` (the best trial's whole config), ``refit.yaml`` (the same
    trained on the whole training part to the trial's best epoch, see :func:`refit`) and ``trials.json``. With
    ``confirm_seeds``, the ``top`` best trials run again with those train seeds and the best mean is chosen
    (:func:`confirm`). Returns
    ``(study, rows)``, the rows those of ``trials.json``. ``train(cfg, run_dir, hooks=, test=)`` is
    :func:`zoo.pipeline.train` unless given."""
    import optuna
    from optuna.trial import TrialState
    if train is None:
        from .pipeline import train
    monitor = cfg.train.monitor
    if not monitor:
        raise ConfigError("a search scores each trial on train.monitor, a validation metric: set it and a "
                          "validation part, e.g. train.monitor=valid.rmse data.valid_ratio=0.2 (a shipped refit "
                          "config trains on its validation part and has none)", key="train.monitor")
    os.makedirs(out, exist_ok=True)
    storage = "sqlite:///" + os.path.abspath(os.path.join(out, STORAGE))
    study = optuna.create_study(study_name="search", storage=storage, load_if_exists=True,
                                direction="minimize" if cfg.train.monitor_mode == "min" else "maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=5))
    save_config(cfg, os.path.join(out, "config.yaml"))
    finished = (TrialState.COMPLETE, TrialState.PRUNED)

    def objective(trial):
        values = {d.key: d.value(d.suggest(trial)) for d in space}
        run_cfg = with_values(cfg, values)
        folder = os.path.join(out, "trial-%03d" % trial.number)
        echo("trial %d: %s" % (trial.number, ", ".join("%s=%r" % kv for kv in values.items())))
        results = train(run_cfg, folder, overwrite=True, hooks=[Prune(trial, monitor)], test=False)
        return monitored(results, monitor)

    done = len(study.get_trials(deepcopy=False, states=finished))
    if done < trials:
        from .train.loop import TrainingError
        study.optimize(objective, n_trials=trials - done, timeout=timeout, catch=(TrainingError,))
    chosen = confirm(study, space, cfg, out, top, confirm_seeds, train, echo) if confirm_seeds else None
    return study, write_outputs(study, space, cfg, out, chosen)


def confirm(study, space, cfg, out, top, seeds, train, echo=print):
    """The ``top`` best complete trials run again with each of ``train.seed`` ``seeds`` (the same data, the same
    validation part; into ``OUT/trial-NNN-seed-S``, kept when done, so a stopped search continues here too);
    returns the number of the trial whose mean validation over its own run and these is best, and writes
    ``confirm.json``. A trial's best epoch is a minimum over noisy epochs: the best single value is partly luck,
    which another start does not repeat."""
    maximize = cfg.train.monitor_mode == "max"
    complete = sorted((t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"),
                      key=lambda t: t.value, reverse=maximize)[:top]
    rows = []
    for t in complete:
        values = config_values(space, t.params)
        scores = {str(cfg.train.seed): t.value}
        for seed in seeds:
            folder = os.path.join(out, "trial-%03d-seed-%d" % (t.number, seed))
            results = finished_results(folder)
            if results is None:
                echo("trial %d again, train.seed=%d" % (t.number, seed))
                results = train(with_values(cfg, dict(values, **{"train.seed": seed})), folder, overwrite=True,
                                test=False)
            scores[str(seed)] = monitored(results, cfg.train.monitor)
        rows.append({"number": t.number, "scores": scores, "mean": sum(scores.values()) / len(scores)})
    atomic_write(os.path.join(out, "confirm.json"), lambda f: f.write(json.dumps(rows, indent=2).encode()))
    if not rows:
        return None
    best = (max if maximize else min)(rows, key=lambda r: r["mean"])
    echo("chosen: trial %d, mean %s %.4f over train seeds %s" % (
        best["number"], cfg.train.monitor, best["mean"], ", ".join(best["scores"])))
    return best["number"]


def write_outputs(study, space, cfg, out, chosen=None):
    """``best.yaml`` (the best trial's whole config, or trial ``chosen``'s), ``refit.yaml`` and ``trials.json``
    (every trial: number, state, value, the config values tried, seconds)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        values = config_values(space, t.params)
        seconds = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete else None
        value = t.value if t.value is not None and math.isfinite(t.value) else None
        rows.append({"number": t.number, "state": t.state.name, "value": value, "params": values,
                     "seconds": seconds, "epochs": len(t.intermediate_values)})
    atomic_write(os.path.join(out, "trials.json"), lambda f: f.write(json.dumps(rows, indent=2).encode()))
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if complete:
        best = study.best_trial if chosen is None else study.trials[chosen]
        best_cfg = with_values(cfg, config_values(space, best.params))
        save_config(best_cfg, os.path.join(out, "best.yaml"))
        best_epoch = trial_best_epoch(os.path.join(out, "trial-%03d" % best.number))
        if best_epoch:
            save_config(refit(best_cfg, best_epoch), os.path.join(out, "refit.yaml"))
    return rows


def refit(cfg, best_epoch):
    """The searched config trained on the whole training part, as ``GridSearchCV(refit=True)`` does: the
    validation part goes back into training (``data.valid_ratio: 0`` where the data has one), no monitor, and
    ``best_epoch`` epochs, where the trial's validation peaked; a schedule other than constant keeps spanning the
    trial's epochs (``optim.schedule_epochs``), so the rate at each epoch is the one the trial had."""
    raw = cfg.to_dict()
    if "valid_ratio" in raw["data"]:
        raw["data"]["valid_ratio"] = 0.0
    if raw["optim"]["schedule"] != "constant" and not raw["optim"]["schedule_epochs"]:
        raw["optim"]["schedule_epochs"] = raw["train"]["epochs"]
    raw["train"].update(epochs=int(best_epoch), monitor="", patience=0)
    return from_raw(raw, "the refit config")


def table(rows, monitor, maximize=False):
    """The trials as aligned text, best first."""
    done = sorted((r for r in rows if r["value"] is not None), key=lambda r: r["value"], reverse=maximize)
    rest = [r for r in rows if r["value"] is None]
    lines = [("trial", "state", monitor, "epochs", "seconds", "values")]
    for r in done + rest:
        lines.append((str(r["number"]), r["state"].lower(), "-" if r["value"] is None else "%.4f" % r["value"],
                      str(r["epochs"]), "-" if r["seconds"] is None else "%.1f" % r["seconds"],
                      ", ".join("%s=%s" % (k, _short(v)) for k, v in r["params"].items())))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def _short(value):
    return "%.4g" % value if isinstance(value, float) else repr(value)
