"""Repeated runs (``--seeds``, ``--folds``): the variants, the summary's statistics, k-fold splits, and an
experiment stopped part way and continued."""
import json
import os

import numpy as np
import pytest

from zoo import experiments
from zoo.config import ConfigError, load_config
from zoo.data.splits import kfold_split
from zoo.train.loop import Interrupted
from zoo.train.rundir import RunFolderError
from conftest import mf_config, run_tool


def test_summary_statistics_by_hand():
    results = {"seed-0": {"test": {"rmse": 0.80, "n": 10}, "epochs": 4, "note": "x", "ok": True},
               "seed-1": {"test": {"rmse": 0.90, "n": 10}, "epochs": 6},
               "seed-2": {"test": {"rmse": 0.85, "n": 10}, "epochs": 5}}
    summary = experiments.summarize(results)
    assert set(summary) == {"test.rmse", "test.n", "epochs"}  # numbers only: no strings, no flags
    rmse = summary["test.rmse"]
    assert np.isclose(rmse["mean"], 0.85) and np.isclose(rmse["min"], 0.80) and np.isclose(rmse["max"], 0.90)
    assert np.isclose(rmse["std"], np.sqrt(((0.05 ** 2) * 2) / 2))  # sample std: squared deviations over n - 1
    assert rmse["values"] == {"seed-0": 0.80, "seed-1": 0.90, "seed-2": 0.85} and rmse["n"] == 3
    assert summary["test.n"]["std"] == 0.0
    assert experiments.summarize({"one": {"x": 2.0}})["x"]["std"] == 0.0
    text = experiments.table(summary)
    assert "test.rmse" in text and "0.8500 +- 0.0500" in text


def test_variants_set_seeds_and_folds(tmp_path, ratings_dir):
    cfg = load_config(mf_config(tmp_path, ratings_dir))
    runs = experiments.variants(cfg, seeds=[0, 3], folds=["2", "u1"])
    assert [name for name, _ in runs] == ["fold-2-seed-0", "fold-2-seed-3", "fold-u1-seed-0", "fold-u1-seed-3"]
    second = runs[1][1]
    assert second.train.seed == 3 and second.data.seed == 3 and second.data.split == "kfold" and second.data.fold == 2
    assert runs[2][1].data.split == "u1"
    with pytest.raises(ConfigError, match="--seeds: expected a comma-separated list"):
        experiments.parse_list("0,a", "--seeds", int)
    with pytest.raises(ConfigError, match="--folds: expected distinct values"):
        experiments.parse_list("1,1", "--folds")


def test_kfold_holds_out_every_rating_once():
    held = [kfold_split(23, 5, fold, np.random.default_rng(7))[1] for fold in range(1, 6)]
    assert sorted(np.concatenate(held).tolist()) == list(range(23))
    assert {len(h) for h in held} == {4, 5}
    kept, out = kfold_split(23, 5, 2, np.random.default_rng(7))
    assert not set(kept) & set(out) and len(kept) + len(out) == 23


def test_an_interrupted_experiment_continues_where_it_stopped(tmp_path, ratings_dir):
    """The second run is stopped; the same command with resume keeps the first, resumes the second from its
    checkpoint and trains the third. Another set of runs, or a new experiment in the folder, is refused."""
    cfg = load_config(mf_config(tmp_path, ratings_dir))
    out = str(tmp_path / "exp")
    calls = []

    def fake_train(run_cfg, folder, resume=False, overwrite=False):
        calls.append((os.path.basename(folder), resume))
        os.makedirs(folder, exist_ok=True)
        if os.path.basename(folder) == "seed-1" and not resume:
            os.makedirs(os.path.join(folder, "checkpoints"), exist_ok=True)
            open(os.path.join(folder, "checkpoints", "last.npz"), "w").close()
            raise Interrupted(2, "stopped")
        results = {"test": {"rmse": 0.8 + run_cfg.train.seed / 100}}
        with open(os.path.join(folder, "results.json"), "w") as f:
            json.dump(results, f)
        return results

    with pytest.raises(Interrupted):
        experiments.run_all(cfg, out, seeds=[0, 1, 2], train=fake_train, log=lambda line: None)
    assert calls == [("seed-0", False), ("seed-1", False)]
    with pytest.raises(RunFolderError, match="continue its experiment with --resume"):
        experiments.run_all(cfg, out, seeds=[0, 1, 2], train=fake_train)
    with pytest.raises(RunFolderError, match="it has the runs seed-0, seed-1, seed-2"):
        experiments.run_all(cfg, out, seeds=[0, 1], resume=True, train=fake_train)
    summary = experiments.run_all(cfg, out, seeds=[0, 1, 2], resume=True, train=fake_train, log=lambda line: None)
    assert calls[2:] == [("seed-1", True), ("seed-2", False)]
    assert np.isclose(summary["test.rmse"]["mean"], 0.81)
    with open(os.path.join(out, "summary.json")) as f:
        assert json.load(f) == summary


def test_seeds_from_the_command_line(tmp_path, ratings_dir):
    out = str(tmp_path / "seeds")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--seeds", "0,1", "--out", out])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test.rmse" in proc.stdout and "+-" in proc.stdout
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    runs = {}
    for name in ("seed-0", "seed-1"):
        with open(os.path.join(out, name, "results.json")) as f:
            runs[name] = json.load(f)["test"]["rmse"]
    assert summary["test.rmse"]["values"] == runs
    assert np.isclose(summary["test.rmse"]["mean"], np.mean(list(runs.values())))
    assert runs["seed-0"] != runs["seed-1"]  # two splits
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--folds", "1,2,3",
                     "data.split=kfold", "data.folds=3", "--out", str(tmp_path / "folds")])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(tmp_path / "folds")) == ["config.yaml", "experiment.json", "fold-1", "fold-2", "fold-3",
                                                      "summary.json"]
