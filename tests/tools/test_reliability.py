"""Bad input and faults: clear errors, exit codes, nothing lost."""
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, low_rank_ratings, mf_config, run_tool, write_ratings_csv


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def results(run):
    with open(os.path.join(run, "results.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("args, message", [
    (["model.dim=x"], "model.dim must be an integer"),
    (["model.nope=1"], "unknown key model.nope"),
    (["train"], "bad override 'train'"),
    (["model.name=nope"], "unknown model 'nope'; choose one of: .*mf"),
    (["optim.name=nope"], "unknown optimizer 'nope'"),
    (["optim.schedule=wavy"], "optim.schedule='wavy'"),
    (["data.variant=ml-2m"], "data.variant='ml-2m': must be one of: ml-100k"),
])
def test_config_mistakes_exit_2_and_write_nothing(tmp_path, ratings_dir, args, message):
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", out] + args)
    assert proc.returncode == 2, proc.stderr
    import re
    assert re.search(message, proc.stderr), proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr  # one line, no traceback
    assert not os.path.exists(out)


def test_missing_config_file(tmp_path):
    proc = run_tool(["tools/train.py", "--config", str(tmp_path / "none.yaml")])
    assert proc.returncode == 2 and "cannot read config file" in proc.stderr


def test_bad_data_line_and_skip(tmp_path):
    folder = tmp_path / "ml"
    write_ratings_csv(str(folder), *low_rank_ratings())
    with open(folder / "ratings.csv", "a") as f:
        f.write("7,8,not-a-rating,99\n")
    with open(folder / "ratings.csv") as f:
        bad_line = sum(1 for _ in f)
    cfg = mf_config(tmp_path, str(folder))
    proc = run_tool(["tools/train.py", "--config", cfg, "--out", str(tmp_path / "a")])
    assert proc.returncode == 2, proc.stderr
    assert "ratings.csv:%d: a field is not a number" % bad_line in proc.stderr, proc.stderr
    proc = run_tool(["tools/train.py", "--config", cfg, "--out", str(tmp_path / "b"), "data.skip_bad_lines=true",
                     "train.epochs=1"])
    assert proc.returncode == 0, proc.stderr
    assert "skipped 1 bad lines" in proc.stderr


def test_non_finite_loss_stops_and_keeps_the_checkpoint(tmp_path, ratings_dir):
    out = str(tmp_path / "run")
    cfg = mf_config(tmp_path, ratings_dir, epochs=2)
    assert run_tool(["tools/train.py", "--config", cfg, "--out", out]).returncode == 0
    last = os.path.join(out, "checkpoints", "last.npz")
    before = digest(last)
    proc = run_tool(["tools/train.py", "--out", out, "--resume", "train.epochs=3", "optim.lr=1e30"])
    assert proc.returncode == 1, proc.stderr
    assert "the loss is" in proc.stderr and "epoch 3" in proc.stderr, proc.stderr
    assert digest(last) == before


def start_training(cfg, out, *extra):
    return subprocess.Popen([sys.executable, "tools/train.py", "--config", cfg, "--out", out] + list(extra),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def big_ratings(folder):
    """Enough ratings and rows that an epoch and a checkpoint write take a noticeable time."""
    return write_ratings_csv(str(folder), *low_rank_ratings(num_users=1500, num_items=1200, density=0.05, seed=3),
                             titles=False)


def wait_for(path, timeout=120):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < deadline, "%s never appeared" % path
        time.sleep(0.01)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_writes_a_checkpoint_and_resume_finishes(tmp_path, signum, code):
    # one step a call: epochs long enough for a signal to land inside training
    # checkpoint_seconds=0: last.npz after every epoch, the sign that training is under way
    cfg = mf_config(tmp_path, big_ratings(tmp_path / "ml"), epochs=4, batch_size=512, steps_per_call=1,
                    checkpoint_seconds=0)
    straight = str(tmp_path / "straight")
    assert run_tool(["tools/train.py", "--config", cfg, "--out", straight]).returncode == 0
    out = str(tmp_path / "run")
    proc = start_training(cfg, out)
    wait_for(os.path.join(out, "checkpoints", "last.npz"))
    time.sleep(0.3)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert "checkpoint written" in err
    resumed = run_tool(["tools/train.py", "--out", out, "--resume"])
    assert resumed.returncode == 0, resumed.stderr
    assert abs(results(out)["test"]["rmse"] - results(straight)["test"]["rmse"]) < 1e-4


def test_sigkill_at_any_moment_then_resume_matches(tmp_path):
    """Kill -9 at several moments, one of them while a checkpoint is being written, resume each time, and end
    with the metrics of an uninterrupted run."""
    cfg = mf_config(tmp_path, big_ratings(tmp_path / "ml"), epochs=5, batch_size=512, steps_per_call=1,
                    checkpoint_seconds=0)  # a checkpoint every epoch, to be caught writing
    with open(cfg) as f:
        cfg_raw = yaml.safe_load(f)
    cfg_raw["model"]["dim"] = 256  # large tables: a checkpoint write takes long enough to be caught mid-way
    with open(cfg, "w") as f:
        yaml.safe_dump(cfg_raw, f)
    straight = str(tmp_path / "straight")
    assert run_tool(["tools/train.py", "--config", cfg, "--out", straight]).returncode == 0

    out = str(tmp_path / "run")
    folder = os.path.join(out, "checkpoints")
    caught_mid_write = False
    for attempt in range(6):
        # killed before its first checkpoint, a run has nothing to resume: start it again over its folder
        args = ["--resume"] if os.path.exists(os.path.join(folder, "last.npz")) else ["--overwrite"]
        proc = start_training(cfg, out, *args)
        if attempt % 2 == 0:
            # kill as soon as a temporary checkpoint file shows up: mid-write
            deadline = time.time() + 60
            while proc.poll() is None and time.time() < deadline:
                if os.path.isdir(folder) and any(n.endswith(".tmp") for n in os.listdir(folder)):
                    proc.kill()
                    caught_mid_write = caught_mid_write or any(n.endswith(".tmp") for n in os.listdir(folder))
                    break
        else:
            time.sleep(1.5 + attempt * 0.5)  # somewhere inside an epoch
            proc.kill()
        proc.communicate(timeout=60)
        if proc.returncode == 0:
            break
        from zoo.train.checkpoint import read_checkpoint
        if os.path.exists(os.path.join(folder, "last.npz")):
            read_checkpoint(os.path.join(folder, "last.npz"))  # whole and loadable
    assert caught_mid_write, "no kill landed during a checkpoint write"
    final = run_tool(["tools/train.py", "--config", cfg, "--out", out, "--resume"])
    assert final.returncode == 0, final.stderr
    assert abs(results(out)["test"]["rmse"] - results(straight)["test"]["rmse"]) < 1e-6


def test_empty_file_and_cold_users_are_explained(tmp_path, caplog):
    from zoo.data import DataError, MovieLens
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(DataError, match="ratings.csv has no usable lines"):
        MovieLens(root=str(folder))
    users, items, ratings = low_rank_ratings()
    users[-1] = 999  # a user with one rating, which a random split may put in the test part only
    root = write_ratings_csv(str(tmp_path / "cold"), users, items, ratings)
    seeds = [s for s in range(40) if 999 in MovieLens(root=root, seed=s).user_map.ids[
        MovieLens(root=root, seed=s).arrays("test")[0]]]
    with caplog.at_level("WARNING"):
        MovieLens(root=root, seed=seeds[0])
    assert "users of the test split have no training ratings" in caplog.text


def test_interrupted_download_leaves_nothing_trusted(tmp_path, monkeypatch):
    import io
    import urllib.request
    from zoo.data import DataError
    from zoo.data.download import download

    class Broken(io.BytesIO):
        headers = {"Content-Length": "100"}

        def read(self, size=-1):
            if self.tell() >= 10:
                raise ConnectionResetError("connection reset")
            return super().read(10)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: Broken(b"x" * 100))
    target = tmp_path / "file.zip"
    with pytest.raises(DataError, match="could not download"):
        download("http://example.invalid/file.zip", str(target), checksum="0" * 32)
    assert os.listdir(tmp_path) == []  # neither the file nor a .part that a later run could pick up
