"""The new user's path: tools from another folder, plugin models everywhere, the API's input checks, --help."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, low_rank_ratings, run_tool, write_ratings_csv
from test_tutorial import tutorial_blocks

TOOLS = ["train", "evaluate", "recommend", "similar", "export", "plot"]


@pytest.mark.parametrize("tool", TOOLS)
def test_help_answers_without_importing_mxnet(tool):
    proc = subprocess.run([sys.executable, "-X", "importtime", os.path.join(ROOT, "tools", tool + ".py"), "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "usage:" in proc.stdout
    imported = [line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")]
    assert "mxnet" not in imported and "zoo" not in imported


@pytest.fixture(scope="module")
def plugin_run(tmp_path_factory):
    """The README tutorial's BoundedMF, trained with a relative data.root from the data's own folder."""
    home = tmp_path_factory.mktemp("home")
    write_ratings_csv(str(home / "ml"), *low_rank_ratings())
    code, _ = tutorial_blocks()
    (home / "my_models.py").write_text(code)
    out = str(home / "run")
    proc = run_tool([os.path.join(ROOT, "tools", "train.py"), "--import", "my_models.py", "--config",
                     os.path.join(ROOT, "configs", "movielens_mf.yaml"), "--out", out, "model.name=bounded_mf",
                     "data.root=ml", "train.epochs=2", "train.progress=false"], cwd=str(home))
    assert proc.returncode == 0, proc.stderr
    return home, out


def tool(name, *args, cwd):
    return run_tool([os.path.join(ROOT, "tools", name + ".py")] + list(args), cwd=cwd)


def test_the_config_keeps_resolved_paths_and_the_imports(plugin_run):
    home, out = plugin_run
    with open(os.path.join(out, "config.yaml")) as f:
        text = f.read()
    assert "root: %s" % os.path.join(str(home), "ml") in text
    assert os.path.join(str(home), "my_models.py") in text


def test_a_plugin_run_works_with_every_tool_from_another_folder(plugin_run, tmp_path):
    home, out = plugin_run
    elsewhere = str(tmp_path)  # neither the data's folder nor the repository
    proc = tool("evaluate", out, cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["test"]["n"] > 0
    proc = tool("recommend", out, "--user", "1", "-k", "3", cwd=elsewhere)
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 3, proc.stderr
    proc = tool("export", out, "--format", "mxnet", "--out", os.path.join(elsewhere, "m"), cwd=elsewhere)
    assert proc.returncode == 0 and os.path.exists(os.path.join(elsewhere, "m", "model-symbol.json")), proc.stderr
    proc = tool("train", "--out", out, "--resume", "train.epochs=3", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    code = ("import zoo; run = zoo.load_run(%r); print(type(run.model).__name__, len(run.recommend(1, k=2)))" % out)
    proc = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0 and proc.stdout.split()[-2:] == ["BoundedMF", "2"], proc.stderr
    assert os.listdir(elsewhere) == ["m"]  # no data folder made here


def test_a_wrong_data_root_creates_nothing(tmp_path):
    proc = tool("train", "--config", os.path.join(ROOT, "configs", "movielens_mf.yaml"), "--out",
                str(tmp_path / "run"), "data.root=nowhere/ml", cwd=str(tmp_path))
    assert proc.returncode == 2 and "data.root %s is not a folder" % os.path.join(str(tmp_path), "nowhere", "ml") \
        in proc.stderr, proc.stderr
    assert os.listdir(tmp_path) == []


def test_the_api_checks_its_inputs(plugin_run, tmp_path):
    home, out = plugin_run
    mf_out = str(tmp_path / "mf")
    proc = run_tool(["tools/train.py", "--config", "configs/movielens_mf.yaml", "--out", mf_out,
                     "data.root=%s" % os.path.join(str(home), "ml"), "train.epochs=1", "train.progress=false"])
    assert proc.returncode == 0, proc.stderr
    code = r'''
import numpy as np, zoo
run = zoo.load_run(%r)
plugin = zoo.load_run(%r)
calls = {
    "mismatched": lambda: run.fold_in(items=[1, 4], ratings=[4.0]),
    "empty": lambda: run.fold_in(items=[], ratings=[]),
    "out of range": lambda: run.fold_in(items=[1], ratings=[9.0]),
    "string user": lambda: run.recommend(user="1"),
    "k zero": lambda: run.recommend(user=1, k=0),
    "plugin fold_in": lambda: plugin.fold_in(items=[1], ratings=[4.0]),
    "embed on mf": lambda: run.embed(np.zeros((1, 1, 8, 8), np.uint8)),
}
for name, call in calls.items():
    try:
        call()
        print(name, "ACCEPTED")
    except (KeyError, ValueError) as err:
        print(name, "refused:", err)
''' % (mf_out, out)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr
    assert "ACCEPTED" not in proc.stdout and proc.stdout.count("refused:") == 7, proc.stdout
    assert "BoundedMF scores otherwise" in proc.stdout
