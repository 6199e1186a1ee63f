"""Repeated runs of one config, as Surprise's ``cross_validate`` and RecBole's seeds make them: one run per seed
and per fold, each an ordinary run folder under one experiment folder, and ``summary.json`` with every metric's
mean, standard deviation, minimum, maximum and per-run values.

A seed sets ``train.seed`` and, where the data has one, ``data.seed`` (for MovieLens the random split: "three
seeds" are three splits, as the README's tables report them). A fold sets ``data.split`` to a predefined fold
(ml-100k's ``u1`` .. ``u5``) or, for a number ``i``, ``data.split=kfold`` with ``data.fold=i`` (a seeded k-fold
over the ratings, ``data.folds`` parts). An experiment stopped part way is continued with ``resume``: finished
runs are kept, an interrupted one resumes from its last checkpoint, the others start.
"""
import dataclasses
import json
import os
import shutil

import numpy as np

from .config import ConfigError, from_raw, save_config
from .paths import atomic_write
from .train.rundir import RunFolderError, finished_results

PLAN = "experiment.json"
SUMMARY = "summary.json"


def variants(cfg, seeds=(), folds=()):
    """``[(name, cfg)]``: ``cfg`` for every fold and seed (their product), named ``fold-u1-seed-0`` and the like."""
    folds, seeds = list(folds) or [None], list(seeds) or [None]
    out = []
    for fold in folds:
        for seed in seeds:
            raw = cfg.to_dict()
            name = []
            if fold is not None:
                name.append("fold-%s" % fold)
                if str(fold).isdigit():
                    raw["data"].update(split="kfold", fold=int(fold))
                else:
                    raw["data"]["split"] = str(fold)
            if seed is not None:
                name.append("seed-%d" % seed)
                raw["train"]["seed"] = seed
                if "seed" in {f.name for f in dataclasses.fields(cfg.data)}:
                    raw["data"]["seed"] = seed
            out.append(("-".join(name), from_raw(raw, "--folds/--seeds")))
    return out


def parse_list(text, what, cast=str):
    """``"0,1,2"`` -> ``[0, 1, 2]``; an empty or malformed list is a ConfigError naming ``what``."""
    try:
        values = [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError("%s: expected a comma-separated list, got %r" % (what, text)) from None
    if not values or len(set(values)) != len(values):
        raise ConfigError("%s: expected distinct values separated by commas, got %r" % (what, text))
    return values


def run_all(cfg, out, seeds=(), folds=(), resume=False, overwrite=False, train=None, log=print):
    """Train every variant of ``cfg`` into ``out/NAME`` and write ``out/summary.json``; returns the summary.

    A new experiment refuses a folder that holds one (or a run) unless ``overwrite``; ``resume`` continues the
    experiment there, which must have the same runs. ``train(cfg, run_dir, resume=, overwrite=)`` is
    :func:`zoo.pipeline.train` unless given."""
    if train is None:
        from .pipeline import train
    runs = variants(cfg, seeds, folds)
    names = [name for name, _ in runs]
    plan_path = os.path.join(out, PLAN)
    if resume:
        if not os.path.exists(plan_path):
            raise RunFolderError("nothing to resume in %s: %s is missing" % (out, PLAN))
        with open(plan_path) as f:
            planned = json.load(f)["runs"]
        if planned != names:
            raise RunFolderError("cannot resume %s: it has the runs %s, this command asks for %s"
                                 % (out, ", ".join(planned), ", ".join(names)))
    elif os.path.exists(out) and os.listdir(out):
        if not overwrite:
            raise RunFolderError("%s is not empty: continue its experiment with --resume, choose another --out, or "
                                 "pass --overwrite to replace it" % out)
        for name in os.listdir(out):
            path = os.path.join(out, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    os.makedirs(out, exist_ok=True)
    if not resume:
        atomic_write(plan_path, lambda f: f.write(json.dumps({"runs": names}, indent=2).encode()))
        save_config(cfg, os.path.join(out, "config.yaml"))
    results = {}
    for name, run_cfg in runs:
        folder = os.path.join(out, name)
        done = finished_results(folder)
        if done is not None:
            results[name] = done
            log("%s: done before, kept" % name)
            continue
        again = os.path.exists(os.path.join(folder, "checkpoints", "last.npz"))
        log("%s: %s" % (name, "resuming" if again else "training"))
        results[name] = train(run_cfg, folder, resume=again, overwrite=not again)
    summary = summarize(results)
    atomic_write(os.path.join(out, SUMMARY), lambda f: f.write(json.dumps(summary, indent=2).encode()))
    return summary


def flatten(results, prefix=""):
    """``{"test": {"rmse": 0.84}, "epochs": 9}`` -> ``{"test.rmse": 0.84, "epochs": 9}``: the numbers only."""
    out = {}
    for key, value in results.items():
        if isinstance(value, dict):
            out.update(flatten(value, prefix + key + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = value
    return out


def summarize(results):
    """``{metric: {"mean", "std", "min", "max", "values": {run: value}}}`` over the runs ``{run: results}``, for
    every number the runs report; ``std`` is the sample standard deviation (n - 1 in the denominator; 0 for one
    run)."""
    flat = {name: flatten(r) for name, r in results.items()}
    metrics = sorted({m for r in flat.values() for m in r})
    summary = {}
    for metric in metrics:
        values = {name: r[metric] for name, r in flat.items() if metric in r}
        v = np.array(list(values.values()), dtype=np.float64)
        summary[metric] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                           "min": float(v.min()), "max": float(v.max()), "n": len(v), "values": values}
    return summary


def table(summary):
    """The summary as aligned text: a row per metric, mean +- std, min, max and the runs' count."""
    rows = [("metric", "mean +- std", "min", "max", "runs")]
    for m, s in summary.items():
        f = "%g" if all(float(v).is_integer() for v in s["values"].values()) else "%.4f"  # counts, epochs
        rows.append((m, "%.4f +- %.4f" % (s["mean"], s["std"]), f % s["min"], f % s["max"], str(s["n"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
