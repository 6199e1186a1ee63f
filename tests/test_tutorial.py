"""The README's tutorial, run exactly as written (on a small file instead of the real data): a subclassed zoo
block (NeuralMF's MLPScorer) and a model that overrides hybrid_forward (BoundedMF), each trained end to end on
its own forward."""
import json
import os
import re
import shlex

import numpy as np

from conftest import ROOT, run_tool


def tutorial_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Tutorial"):]
    section = section[:section.index("\n## ", 1)]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    commands = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    return code, commands


def baseline_rmse(ratings_dir):
    from zoo.data import MovieLens
    ds = MovieLens(root=ratings_dir)
    return np.sqrt(np.mean((ds.arrays("test")[2] - ds.arrays("train")[2].mean()) ** 2))


def test_readme_tutorial_trains_both_models_on_their_own_forward(tmp_path, ratings_dir):
    code, commands = tutorial_blocks()
    assert len(code.strip().splitlines()) < 50 and len(commands) == 2
    (tmp_path / "my_models.py").write_text(code)
    baseline = baseline_rmse(ratings_dir)
    for command in commands:
        args = shlex.split(command)
        assert args[:2] == ["python", "tools/train.py"]
        args = [a if a != "my_models.py" else str(tmp_path / "my_models.py") for a in args[1:]]
        name = next(a for a in args if a.startswith("model.name=")).split("=")[1]
        out = str(tmp_path / name)
        # Short and fixed, whatever the shipped config's tuning: batches of 1,024 at a high rate, a firm penalty,
        # stopped early on a validation part.
        proc = run_tool(args + ["--out", out, "data.root=%s" % ratings_dir, "train.epochs=25", "optim.lr=0.02",
                                "train.batch_size=1024", "model.reg=0.08", "train.progress=false",
                                "data.valid_ratio=0.05", "train.monitor=valid.rmse", "train.patience=5"])
        assert proc.returncode == 0, proc.stderr
        cls = {"neural_mf": "NeuralMF", "bounded_mf": "BoundedMF"}[name]
        # the log says that the model trains on its own forward, and why the fused kernel does not apply
        assert "training objective: composite Objective(%s)" % cls in proc.stderr, proc.stderr
        with open(os.path.join(out, "results.json")) as f:
            results = json.load(f)
        # Trained on the override, the model learned beyond the mean. (Trained on the base model's objective, as
        # zoo once did, BoundedMF's sigmoid would turn ratings learned for the plain score into nonsense.)
        assert results["test"]["rmse"] < 0.8 * baseline, (name, results, baseline)
        with open(os.path.join(out, "config.yaml")) as f:
            assert name in f.read()
    assert "kernel not used: BoundedMF overrides hybrid_forward" in proc.stderr
    assert fits_through_its_override(str(tmp_path / "bounded_mf"), ratings_dir)


def fits_through_its_override(run_dir, ratings_dir):
    """BoundedMF predicts ``0.5 + 4.5 * sigmoid(score - 2.75)`` from the base model's ``score``. Trained on its
    override, its predictions fit the training ratings; trained on the base model's objective, ``score`` would
    fit them instead. Whichever was trained fits better."""
    import mxnet as mx
    import zoo
    from zoo.data import MovieLens
    run = zoo.load_run(run_dir)  # imports my_models.py, which the run's config records
    users, items, ratings = MovieLens(root=ratings_dir).arrays("train")
    pred = run.model(mx.nd.array(users, dtype="int32"), mx.nd.array(items, dtype="int32")).asnumpy()
    p = np.clip((pred - 0.5) / 4.5, 1e-6, 1 - 1e-6)
    score = np.log(p / (1 - p)) + 2.75
    override_rmse, base_rmse = (np.sqrt(np.mean((x - ratings) ** 2)) for x in (pred, score))
    assert override_rmse < base_rmse, (override_rmse, base_rmse)
    return True
