"""Training curves from a run's ``log.jsonl`` (needs the ``plot`` extra: matplotlib)."""
import json
import os


def read_log(run_dir):
    """The per-epoch records of ``log.jsonl``, in order."""
    with open(os.path.join(run_dir, "log.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def plot_run(run_dir, out=None):
    """Write a PNG with one panel per metric group (``train.loss``, ``valid.*``, ...) against the epoch."""
    import matplotlib
    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt
    records = read_log(run_dir)
    if not records:
        raise ValueError("%s/log.jsonl has no epochs yet" % run_dir)
    metrics = sorted({k for r in records for k, v in r.items() if "." in k and isinstance(v, float)})
    groups = sorted({m.split(".", 1)[1] for m in metrics})   # loss, rmse, spearman, ...
    fig, axes = plt.subplots(len(groups), 1, figsize=(6, 2.6 * len(groups)), squeeze=False, sharex=True)
    for ax, group in zip(axes[:, 0], groups):
        for name in (m for m in metrics if m.split(".", 1)[1] == group):
            points = [(r["epoch"], r[name]) for r in records if name in r]
            ax.plot(*zip(*points), marker="o", label=name)
        ax.set_ylabel(group)
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("epoch")
    fig.suptitle(os.path.basename(os.path.normpath(run_dir)))
    fig.tight_layout()
    out = out or os.path.join(run_dir, "curves.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
