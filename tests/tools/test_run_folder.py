"""A run is never lost or mixed with another: the run folder's checks, its lock, failed writes, and resume."""
import json
import os
import re

import pytest

from conftest import low_rank_ratings, mf_config, run_tool, write_ratings_csv
from zoo.config import load_config
from zoo.pipeline import train
from zoo.train.checkpoint import WriteError, read_checkpoint
from zoo.train.rundir import RunFolder


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def log_epochs(run):
    with open(os.path.join(run, "log.jsonl")) as f:
        return [json.loads(line)["epoch"] for line in f]


def last_epoch(run):
    return read_checkpoint(os.path.join(run, "checkpoints", "last.npz"))[0]["loop"]["epoch"]


def test_a_finished_run_is_not_overwritten_without_asking(tmp_path, ratings_dir):
    cfg, out = mf_config(tmp_path, ratings_dir, epochs=2), str(tmp_path / "run")
    assert run_tool(["tools/train.py", "--config", cfg, "--out", out]).returncode == 0
    before = read(os.path.join(out, "results.json"))
    proc = run_tool(["tools/train.py", "--config", cfg, "--out", out, "train.epochs=1"])
    assert proc.returncode == 2 and "already holds a run" in proc.stderr and "--overwrite" in proc.stderr
    assert read(os.path.join(out, "results.json")) == before and log_epochs(out) == [1, 2]
    proc = run_tool(["tools/train.py", "--config", cfg, "--out", out, "train.epochs=1", "--overwrite"])
    assert proc.returncode == 0, proc.stderr
    assert log_epochs(out) == [1]  # the new run's log alone, not appended to the old one's


def test_resume_without_a_checkpoint_is_refused(tmp_path, ratings_dir):
    cfg, out = mf_config(tmp_path, ratings_dir, epochs=2), str(tmp_path / "run")
    assert run_tool(["tools/train.py", "--config", cfg, "--out", out]).returncode == 0
    best = os.path.join(out, "checkpoints", "best.npz")
    before = read(best, "rb")
    os.remove(os.path.join(out, "checkpoints", "last.npz"))
    proc = run_tool(["tools/train.py", "--out", out, "--resume"])
    assert proc.returncode == 2
    assert "nothing to resume in %s: checkpoints/last.npz is missing" % out in proc.stderr
    assert read(best, "rb") == before


def test_a_second_run_into_a_held_folder_is_refused(tmp_path, ratings_dir):
    cfg, out = mf_config(tmp_path, ratings_dir, epochs=1), str(tmp_path / "run")
    with RunFolder(out):  # this process holds the folder, as a running training would
        proc = run_tool(["tools/train.py", "--config", cfg, "--out", out, "--overwrite"])
    assert proc.returncode == 2 and "is in use by another run (pid %d)" % os.getpid() in proc.stderr
    assert os.listdir(out) == [".lock"]  # nothing written by the refused run
    assert run_tool(["tools/train.py", "--config", cfg, "--out", out]).returncode == 0  # released


def test_a_failed_checkpoint_write_stops_training_at_once(tmp_path, ratings_dir, monkeypatch):
    """A full disk in the second epoch's checkpoint: training stops with one error naming the file and the free
    space; last.npz holds epoch 1 and the log goes no further."""
    from zoo.train import checkpoint
    writes, real = [], checkpoint.write_content

    def write(path, content, also=None):
        writes.append(path)
        if len(writes) == 2:  # epoch 1's last.npz (and best.npz, the same file) goes through; epoch 2's fails
            raise OSError(28, "No space left on device")
        real(path, content, also=also)
    monkeypatch.setattr(checkpoint, "write_content", write)
    out = str(tmp_path / "run")
    with pytest.raises(WriteError, match=r"cannot write .*last.npz: No space left on device \(.* MB free there\)"):
        train(load_config(mf_config(tmp_path, ratings_dir, epochs=6, checkpoint_seconds=0)), out)
    assert last_epoch(out) == 1 and log_epochs(out) == [1]


def test_resume_refuses_changed_data(tmp_path, ratings_dir):
    cfg, out = mf_config(tmp_path, ratings_dir, epochs=1), str(tmp_path / "run")
    assert run_tool(["tools/train.py", "--config", cfg, "--out", out]).returncode == 0
    for change, named in ((["data.seed=5"], "data.seed=5 (the run has 0)"),
                          (["data.test_ratio=0.2"], "data.test_ratio=0.2"),
                          (["optim.name=sgd"], "optim.name='sgd' (the run has 'adam')"),
                          (["model.dim=16"], "model.dim=16")):
        proc = run_tool(["tools/train.py", "--out", out, "--resume", "train.epochs=2"] + change)
        assert proc.returncode == 2 and named in proc.stderr and "define the run" in proc.stderr, proc.stderr
    other = write_ratings_csv(str(tmp_path / "other"), *low_rank_ratings(seed=1, num_users=61))
    proc = run_tool(["tools/train.py", "--out", out, "--resume", "train.epochs=2", "data.root=" + other])
    assert proc.returncode == 2 and "the data's user_ids" in proc.stderr, proc.stderr
    # a refused resume leaves the run as it was: plain --resume still continues it
    proc = run_tool(["tools/train.py", "--out", out, "--resume", "train.epochs=2"])
    assert proc.returncode == 0, proc.stderr
    assert log_epochs(out) == [1, 2]



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished MF run and a finished word2vec run, shared by the misuse tests below."""
    from conftest import topic_corpus
    folder = tmp_path_factory.mktemp("runs")
    ratings = write_ratings_csv(str(folder / "ml"), *low_rank_ratings())
    mf = str(folder / "mf")
    assert run_tool(["tools/train.py", "--config", mf_config(folder, ratings, epochs=1), "--out", mf]).returncode == 0
    corpus = topic_corpus(folder)
    w2v = str(folder / "w2v")
    proc = run_tool(["tools/train.py", "--config", "configs/word2vec.yaml", "--out", w2v, "data.paths=[%s]" % corpus,
                     "data.min_count=1", "eval.root=%s" % folder, "eval.sets=[wordsim353]", "eval.download=false",
                     "train.epochs=1", "train.batch_size=512", "train.progress=false"])
    assert proc.returncode == 0, proc.stderr
    return {"mf": mf, "w2v": w2v, "ratings": ratings, "folder": folder}


def one_line_error(proc, *fragments):
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_checkpoint_is_one_line(runs, tmp_path, damage):
    import shutil
    run = str(tmp_path / "run")
    shutil.copytree(runs["mf"], run)
    path = os.path.join(run, "checkpoints", "best.npz")
    data = read(path, "rb")
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2] if damage == "truncated" else b"not a checkpoint at all")
    one_line_error(run_tool(["tools/evaluate.py", run]), path, "damaged")


def test_a_checkpoint_of_another_size_is_one_line(runs, tmp_path):
    import shutil
    run = str(tmp_path / "run")
    shutil.copytree(runs["mf"], run)
    config = os.path.join(run, "config.yaml")
    with open(config) as f:
        text = f.read()
    dim = int(re.search(r"^  dim: (\d+)$", text, re.M).group(1))  # the shipped config's, whatever it is
    with open(config, "w") as f:
        f.write(text.replace("  dim: %d\n" % dim, "  dim: %d\n" % (dim // 2)))
    one_line_error(run_tool(["tools/evaluate.py", run]), "does not match the model", "(60, %d)" % dim,
                   "(60, %d)" % (dim // 2))


def test_tool_misuse_is_one_line(runs, tmp_path):
    one_line_error(run_tool(["tools/similar.py", runs["w2v"], "--word", ""]), "empty")
    one_line_error(run_tool(["tools/recommend.py", runs["w2v"], "--user", "1"]), "skipgram run", "recommend")
    one_line_error(run_tool(["tools/recommend.py", runs["mf"], "--user", "1", "-k", "0"]), "k=0")
    one_line_error(run_tool(["tools/similar.py", runs["mf"], "--word", "king"]), "mf run", "word2vec")
    missing = str(tmp_path / "no" / "such" / "model")
    one_line_error(run_tool(["tools/export.py", runs["mf"], "--format", "mxnet", "--out", missing]),
                   "does not exist; create it first")
    one_line_error(run_tool(["tools/train.py", "--import", str(tmp_path / "none.py"), "--config",
                             "configs/movielens_mf.yaml"]), "--import", "none.py")


def test_a_nan_before_any_checkpoint_does_not_claim_one(tmp_path, ratings_dir):
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir, epochs=2), "--out", out,
                     "optim.lr=1e30", "train.log_every=5"])
    assert proc.returncode == 1 and "no checkpoint was written (no epoch finished)" in proc.stderr, proc.stderr
    assert "is kept" not in proc.stderr


def test_run_files_share_one_mode(runs):
    modes = {name: os.stat(os.path.join(runs["mf"], name)).st_mode & 0o777
             for name in ("config.yaml", "log.jsonl", "results.json", "checkpoints/best.npz", "checkpoints/last.npz")}
    assert len(set(modes.values())) == 1, modes


def test_an_interrupted_run_prints_its_folder(tmp_path, ratings_dir):
    import subprocess
    import sys
    import time
    from conftest import ROOT
    out = str(tmp_path / "run")
    config = mf_config(tmp_path, ratings_dir, epochs=500, checkpoint_seconds=0)  # last.npz: training is under way
    proc = subprocess.Popen([sys.executable, "tools/train.py", "--config", config, "--out", out], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not os.path.exists(os.path.join(out, "checkpoints", "last.npz")) and time.time() < deadline:
        time.sleep(0.2)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "continue with --resume" in err and "run folder: %s" % out in err, err


def test_out_that_is_a_file_is_one_line(tmp_path, ratings_dir):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", str(target)])
    assert proc.returncode == 2 and "is a file, not a folder" in proc.stderr and target.read_text() == "not a folder"


def test_a_mid_epoch_resume_refuses_another_batch_size(tmp_path, ratings_dir):
    from zoo.train.loop import Hook, Interrupted

    class StopAt(Hook):
        def after_step(self, loop):
            if loop.step == 3:
                import signal
                os.kill(os.getpid(), signal.SIGINT)
    cfg, out = load_config(mf_config(tmp_path, ratings_dir, epochs=2, steps_per_call=1)), str(tmp_path / "run")
    with pytest.raises(Interrupted):
        train(cfg, out, hooks=[StopAt()])
    assert read_checkpoint(os.path.join(out, "checkpoints", "last.npz"))[0]["loop"]["step_in_epoch"] == 4
    proc = run_tool(["tools/train.py", "--out", out, "--resume", "train.batch_size=128"])
    assert proc.returncode == 2 and "train.batch_size=128 mid-epoch" in proc.stderr, proc.stderr
    assert run_tool(["tools/train.py", "--out", out, "--resume"]).returncode == 0


def test_a_run_in_blocked_order_resumed_mid_epoch_ends_as_one_straight_run(tmp_path, ratings_dir):
    """``data.order=blocks``: the tiles come from ``data.seed`` and each epoch's tile order from the epoch, so a
    resumed run sees the batches the straight one saw."""
    from zoo.train.loop import Hook, Interrupted

    class StopAt(Hook):
        def after_step(self, loop):
            if loop.step == 3:
                import signal
                os.kill(os.getpid(), signal.SIGINT)
    config = mf_config(tmp_path, ratings_dir, epochs=2)
    overrides = ["data.order=blocks", "data.blocks=3", "train.steps_per_call=1"]
    straight = train(load_config(config, overrides), str(tmp_path / "straight"))
    out = str(tmp_path / "resumed")
    with pytest.raises(Interrupted):
        train(load_config(config, overrides), out, hooks=[StopAt()])
    assert run_tool(["tools/train.py", "--out", out, "--resume"]).returncode == 0
    resumed = json.loads(read(os.path.join(out, "results.json")))
    assert abs(resumed["test"]["rmse"] - straight["test"]["rmse"]) < 1e-6


def test_a_run_of_several_steps_a_call_resumed_mid_epoch_ends_as_one_straight_run(tmp_path, ratings_dir):
    """``train.steps_per_call=3`` with the fused MF Adam kernel: stopped after its second call (the signal of
    step 3 is answered after the next call: 6 steps) and resumed with one step a call, the run ends as a straight
    run of one step a call: the kernel's steps, the optimizer's moments and counts in the checkpoint, and the
    batches to skip agree."""
    from zoo.train.loop import Hook, Interrupted

    class StopAt(Hook):
        def after_step(self, loop):
            if loop.step == 3:
                import signal
                os.kill(os.getpid(), signal.SIGINT)
    config = mf_config(tmp_path, ratings_dir, epochs=2, batch_size=64)
    straight = train(load_config(config, ["train.steps_per_call=1"]), str(tmp_path / "straight"))
    out = str(tmp_path / "resumed")
    with pytest.raises(Interrupted):
        train(load_config(config, ["train.steps_per_call=3"]), out, hooks=[StopAt()])
    assert read_checkpoint(os.path.join(out, "checkpoints", "last.npz"))[0]["loop"]["step_in_epoch"] == 6
    assert run_tool(["tools/train.py", "--out", out, "--resume", "train.steps_per_call=1"]).returncode == 0
    resumed = json.loads(read(os.path.join(out, "results.json")))
    assert abs(resumed["test"]["rmse"] - straight["test"]["rmse"]) < 1e-5, (resumed, straight)
