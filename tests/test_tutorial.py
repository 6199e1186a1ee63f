"""The README's tutorial, run exactly as written (on a small file instead of the real data)."""
import json
import os
import re
import shlex

from conftest import ROOT, run_tool


def tutorial_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## Tutorial"):]
    section = section[:section.index("\n## ", 1)]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    command = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip()
    return code, command


def test_readme_tutorial_trains(tmp_path, ratings_dir):
    code, command = tutorial_blocks()
    assert len(code.strip().splitlines()) < 40
    (tmp_path / "my_models.py").write_text(code)
    args = shlex.split(command)
    assert args[:2] == ["python", "tools/train.py"]
    args = [a if a != "my_models.py" else str(tmp_path / "my_models.py") for a in args[1:]]
    out = str(tmp_path / "run")
    proc = run_tool(args + ["--out", out, "data.root=%s" % ratings_dir, "train.epochs=25", "optim.lr=0.02",
                     "train.progress=false"])
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    import numpy as np
    from zoo.data import MovieLens
    ds = MovieLens(root=ratings_dir)
    baseline = np.sqrt(np.mean((ds.arrays("test")[2] - ds.arrays("train")[2].mean()) ** 2))
    assert results["test"]["rmse"] < baseline, (results, baseline)  # it learned something beyond the mean
    with open(os.path.join(out, "config.yaml")) as f:
        assert "neural_mf" in f.read()
