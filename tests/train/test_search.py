"""tools/search.py's parts: the space parser, the pruning hook, and a search stopped and continued."""
import json
import os

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from zoo import search  # noqa: E402
from zoo.config import ConfigError, load_config  # noqa: E402
from zoo.train.loop import Interrupted  # noqa: E402
from conftest import mf_config, run_tool  # noqa: E402


@pytest.fixture
def cfg(tmp_path, ratings_dir):
    return load_config(mf_config(tmp_path, ratings_dir), SEARCHED)


SEARCHED = ["data.valid_ratio=0.2", "train.monitor=valid.rmse", "train.patience=5"]  # the README's search command


def test_the_space_parser_reads_every_kind(cfg):
    dims = search.parse_space({"optim.lr": {"log": [1e-4, 0.1]}, "model.reg": {"range": [0, 0.2]},
                               "model.dim": {"int": [4, 64], "log": True}, "model.hidden": [[], [8], [16, 8]]},
                              "space.yaml", cfg)
    assert [(d.key, d.kind, d.log) for d in dims] == [("optim.lr", "log", True), ("model.reg", "range", False),
                                                      ("model.dim", "int", True), ("model.hidden", "choice", False)]
    assert dims[3].value(2) == [16, 8]


@pytest.mark.parametrize("space, message", [
    ({"optim.lrr": {"log": [1e-4, 0.1]}}, r"optim\.lrr is not a key of the config"),
    ({"trainn.epochs": [1, 2]}, r"trainn\.epochs is not a key of the config"),
    ({"optim.lr": {"log": [0.1, 1e-4]}}, r"optim\.lr: the range \[0.1, 0.0001\] is empty"),
    ({"optim.lr": {"log": [0, 0.1]}}, r"optim\.lr: a log scale needs low > 0"),
    ({"model.dim": {"int": [4.5, 8]}}, r"model\.dim: int takes whole numbers"),
    ({"model.dim": {"int": [4]}}, r"model\.dim: int takes \[low, high\], two numbers"),
    ({"model.dim": {"between": [4, 8]}}, r"model\.dim: expected a list of choices or one of"),
    ({"model.dim": [8]}, r"model\.dim: a list of choices needs at least two"),
    ([], r"a search space is a mapping"),
])
def test_a_bad_space_names_the_key(cfg, space, message):
    with pytest.raises(ConfigError, match=message):
        search.parse_space(space, "space.yaml", cfg)


class FakeTrial:
    def __init__(self, prune_at):
        self.reported, self.prune_at = [], prune_at

    def report(self, value, step):
        self.reported.append((step, value))

    def should_prune(self):
        return len(self.reported) >= self.prune_at


class FakeLoop:
    def __init__(self, epoch, metrics):
        self.epoch, self.metrics = epoch, metrics


def test_the_pruning_hook_reports_validated_epochs_and_prunes():
    trial = FakeTrial(prune_at=2)
    hook = search.Prune(trial, "valid.rmse")
    hook.after_epoch(FakeLoop(1, {"valid.rmse": 0.9, "train.loss": 1.0}))
    hook.after_epoch(FakeLoop(2, {"train.loss": 0.8}))  # not validated: nothing to report
    with pytest.raises(optuna.TrialPruned):
        hook.after_epoch(FakeLoop(3, {"valid.rmse": 0.95}))
    assert trial.reported == [(1, 0.9), (3, 0.95)]


def test_a_stopped_search_continues_with_the_same_command(cfg, tmp_path):
    """Interrupted in its third trial, the search keeps two finished trials in its storage; the same call then
    adds trials until it holds four, numbering on; best.yaml is the best trial's whole config."""
    space = search.parse_space({"optim.lr": {"log": [1e-3, 1e-1]}, "model.dim": [4, 8]}, "space.yaml", cfg)
    out, calls = str(tmp_path / "search"), []

    def fake_train(run_cfg, folder, overwrite=False, hooks=(), test=True):
        assert not test  # a search never reads the test split
        calls.append(os.path.basename(folder))
        if len(calls) == 3:
            raise Interrupted(2, "stopped")
        return {"valid": {"rmse": abs(np.log10(run_cfg.optim.lr) + 2) + run_cfg.model.dim / 100}}

    with pytest.raises(Interrupted):
        search.search(cfg, space, out, trials=4, train=fake_train, echo=lambda line: None)
    study = optuna.load_study(study_name="search", storage="sqlite:///" + os.path.join(out, search.STORAGE))
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "FAIL"]
    study, rows = search.search(cfg, space, out, trials=4, train=fake_train, echo=lambda line: None)
    assert [r["number"] for r in rows] == [0, 1, 2, 3, 4]
    assert calls == ["trial-000", "trial-001", "trial-002", "trial-003", "trial-004"]
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]
    best = load_config(os.path.join(out, "best.yaml"))
    assert np.isclose(best.optim.lr, study.best_trial.params["optim.lr"])
    assert best.model.dim == [4, 8][study.best_trial.params["model.dim"]]
    with open(os.path.join(out, "trials.json")) as f:
        assert [t["state"] for t in json.load(f)] == ["COMPLETE", "COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]


def test_confirming_the_best_trials_with_other_seeds_chooses_the_best_mean(cfg, tmp_path):
    """Trial 0 is best on its own run but bad with train seeds 1 and 2; among the two best trials confirmed,
    trial 1's mean wins and best.yaml is its config. Runs already confirmed are read back, not run again."""
    space = search.parse_space({"optim.lr": {"log": [1e-3, 1e-1]}}, "space.yaml", cfg)
    out, calls = str(tmp_path / "search"), []
    own = {0: 0.80, 1: 0.81, 2: 0.82}
    again = {0: 0.90, 1: 0.81, 2: 0.80}

    def fake_train(run_cfg, folder, overwrite=False, hooks=(), test=True):
        assert not test  # a search never reads the test split
        name = os.path.basename(folder)
        calls.append((name, run_cfg.train.seed))
        number = int(name.split("-")[1])
        if "seed" not in name:
            return {"valid": {"rmse": own[number]}}
        os.makedirs(folder)
        results = {"valid": {"rmse": again[number] + run_cfg.train.seed / 1000}}
        with open(os.path.join(folder, "results.json"), "w") as f:
            json.dump(results, f)
        return results

    study, _ = search.search(cfg, space, out, trials=3, train=fake_train, echo=lambda line: None,
                             confirm_seeds=[1, 2], top=2)
    assert calls == [("trial-000", 0), ("trial-001", 0), ("trial-002", 0), ("trial-000-seed-1", 1),
                     ("trial-000-seed-2", 2), ("trial-001-seed-1", 1), ("trial-001-seed-2", 2)]
    with open(os.path.join(out, "confirm.json")) as f:
        rows = json.load(f)
    assert [r["number"] for r in rows] == [0, 1]
    assert np.allclose([r["mean"] for r in rows], [(0.80 + 0.901 + 0.902) / 3, (0.81 + 0.811 + 0.812) / 3])
    best = load_config(os.path.join(out, "best.yaml"))
    assert np.isclose(best.optim.lr, study.trials[1].params["optim.lr"]) and study.best_trial.number == 0
    search.search(cfg, space, out, trials=3, train=fake_train, echo=lambda line: None, confirm_seeds=[1, 2], top=2)
    assert len(calls) == 7  # nothing ran again


def test_search_from_the_command_line(tmp_path, ratings_dir):
    space = tmp_path / "space.yaml"
    space.write_text("optim.lr: {log: [1.0e-3, 3.0e-2]}\nmodel.reg: {log: [0.01, 0.3]}\n")
    out = str(tmp_path / "s")

    def args(trials=2, space=space, overrides=SEARCHED):
        return ["tools/search.py", "--config", mf_config(tmp_path, ratings_dir), "--space", str(space), "--trials",
                str(trials), "--out", out] + overrides
    proc = run_tool(args())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "valid.rmse" in proc.stdout and os.path.exists(os.path.join(out, "best.yaml"))
    for n in (0, 1):
        with open(os.path.join(out, "trial-%03d" % n, "results.json")) as f:
            results = json.load(f)
        assert "valid" in results and "test" not in results  # the test split is never read
    proc = run_tool(args(trials=3))  # one more trial
    assert proc.returncode == 0 and sorted(n for n in os.listdir(out) if n.startswith("trial-")) == [
        "trial-000", "trial-001", "trial-002"]
    # refit.yaml: the best trial's values on the whole training part, for the epochs its validation peaked at
    best, refit = load_config(os.path.join(out, "best.yaml")), load_config(os.path.join(out, "refit.yaml"))
    with open(os.path.join(out, "trials.json")) as f:
        number = min((r for r in json.load(f) if r["value"] is not None), key=lambda r: r["value"])["number"]
    with open(os.path.join(out, "trial-%03d" % number, "results.json")) as f:
        assert refit.train.epochs == json.load(f)["best_epoch"]
    assert (best.data.valid_ratio, refit.data.valid_ratio, refit.train.monitor) == (0.2, 0.0, "")
    assert (refit.optim.lr, refit.model.reg) == (best.optim.lr, best.model.reg)
    proc = run_tool(["tools/plot.py", out])
    assert proc.returncode == 0 and os.path.exists(os.path.join(out, "history.png")), proc.stderr[-2000:]
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim.lrr: {log: [1.0e-3, 3.0e-2]}\n")
    proc = run_tool(args(space=bad))
    assert proc.returncode == 2 and "optim.lrr is not a key of the config" in proc.stderr
    proc = run_tool(args(overrides=[]))  # the shipped config trains on its validation part: nothing to score
    assert proc.returncode == 2 and "train.monitor=valid.rmse data.valid_ratio=0.2" in proc.stderr
    proc = run_tool(args() + ["--confirm-seeds", "1,two"])
    assert proc.returncode == 2 and "--confirm-seeds takes whole numbers" in proc.stderr


def test_the_refit_keeps_the_trials_schedule(cfg):
    """A cosine schedule over the trial's 30 epochs, stopped at its best epoch 12, is still the 30-epoch cosine."""
    from zoo.search import refit, with_values
    trial = with_values(cfg, {"optim.schedule": "cosine", "train.epochs": 30})
    again = refit(trial, 12)
    assert (again.train.epochs, again.optim.schedule_epochs, again.train.patience) == (12, 30, 0)
    assert refit(with_values(cfg, {"train.epochs": 30}), 12).optim.schedule_epochs == 0  # constant: no horizon


def test_a_run_follows_schedule_epochs(tmp_path, ratings_dir):
    """A linear schedule to 0 spanning 4 epochs, stopped after 2 (as a refit stops at the best epoch), ends each
    epoch at the rate the 4-epoch run has there: 3/4 and 1/2 of the start."""
    from zoo.pipeline import train
    cfg = load_config(mf_config(tmp_path, ratings_dir), ["optim.schedule=linear", "optim.lr=0.01", "train.epochs=2",
                                                         "optim.schedule_epochs=4", "optim.min_lr=0"])
    train(cfg, str(tmp_path / "run"))
    with open(tmp_path / "run" / "log.jsonl") as f:
        rates = [json.loads(line)["lr"] for line in f]
    np.testing.assert_allclose(rates, [0.0075, 0.005], rtol=1e-6)
