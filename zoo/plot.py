"""Training curves from a run's ``log.jsonl`` (needs the ``plot`` extra: matplotlib)."""
import json
import os

from .train.rundir import best_epoch


def read_log(run_dir):
    """The per-epoch records of ``log.jsonl``, in order."""
    with open(os.path.join(run_dir, "log.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


BOOKKEEPING = (".n", ".covered", ".seconds", ".samples", ".words")


def _bookkeeping(name):
    """Counts and timings logged beside the metrics (``valid.n``, ``eval.seconds``, ...): not curves to plot."""
    return name.endswith(BOOKKEEPING)


def panels(records):
    """``[(group, [metric names])]``, one panel a group (``loss``, ``rmse``, ...): the training loss first, then
    the evaluation metrics by name; counts and timings left out."""
    metrics = sorted({k for r in records for k, v in r.items()
                      if "." in k and isinstance(v, float) and not _bookkeeping(k)})
    groups = sorted({m.split(".", 1)[1] for m in metrics}, key=lambda g: (g != "loss", g))
    return [(g, [m for m in metrics if m.split(".", 1)[1] == g]) for g in groups]


def plot_run(run_dir, out=None):
    """Write a PNG with one panel per metric group (``train.loss``, ``valid.*``, ...) against the epoch."""
    import matplotlib
    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt
    records = read_log(run_dir)
    if not records:
        raise ValueError("%s/log.jsonl has no epochs yet" % run_dir)
    from matplotlib.ticker import MaxNLocator
    groups = panels(records)
    best = best_epoch(run_dir)
    fig, axes = plt.subplots(len(groups), 1, figsize=(6, 2.6 * len(groups)), squeeze=False, sharex=True)
    for ax, (group, names) in zip(axes[:, 0], groups):
        for name in names:
            points = [(r["epoch"], r[name]) for r in records if name in r]
            ax.plot(*zip(*points), marker="o", label=name)
        if best is not None:
            ax.axvline(best, color="grey", linestyle="--", linewidth=1, label="best epoch (%d)" % best)
        ax.set_ylabel(group)
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("epoch")
    return _save(fig, run_dir, out or os.path.join(run_dir, "curves.png"))


def _save(fig, folder, out):
    """Title ``fig`` with ``folder``'s name, write it to ``out`` and return ``out``."""
    import matplotlib.pyplot as plt
    fig.suptitle(os.path.basename(os.path.normpath(folder)))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def plot_search(search_dir, out=None):
    """Write a PNG of a search's history (``trials.json``, see :mod:`zoo.search`): each finished trial's
    validation value against its number, pruned trials marked, and the best value so far."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(os.path.join(search_dir, "trials.json"), encoding="utf-8") as f:
        trials = json.load(f)
    scored = [t for t in trials if t["value"] is not None]
    if not scored:
        raise ValueError("%s/trials.json has no finished trial yet" % search_dir)
    with open(os.path.join(search_dir, "config.yaml"), encoding="utf-8") as f:
        import yaml
        train = yaml.safe_load(f).get("train", {})
    better = max if train.get("monitor_mode") == "max" else min
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for state, marker in (("COMPLETE", "o"), ("PRUNED", "x")):
        points = [(t["number"], t["value"]) for t in scored if t["state"] == state]
        if points:
            ax.plot(*zip(*points), marker, linestyle="", label=state.lower())
    best, running = [], None
    for t in sorted(scored, key=lambda t: t["number"]):
        if t["state"] == "COMPLETE":
            running = t["value"] if running is None else better(running, t["value"])
        best.append((t["number"], running))
    ax.step(*zip(*[p for p in best if p[1] is not None]), where="post", color="grey", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(train.get("monitor", "objective"))
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return _save(fig, search_dir, out or os.path.join(search_dir, "history.png"))
