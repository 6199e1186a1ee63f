"""Parameter-server training started by tools/launch.py: 1 scheduler, 1 server and 2 workers on 127.0.0.1."""
import json
import os
import signal
import socket
import stat
import sys
import time

import pytest
import yaml

from conftest import ROOT, mf_config, run_tool, topic_corpus


def read_json(path):
    with open(path) as f:
        return json.load(f)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(config, out, overrides=(), workers=2, extra=(), timeout=240):
    return run_tool(["tools/launch.py", "-n", str(workers), "-s", "1", "--timeout", str(timeout - 60)] + list(extra)
                    + ["--", sys.executable, "tools/train.py", "--config", config, "--out", out] + list(overrides),
                    timeout=timeout)


def processes_with(*texts):
    """pids of this user's processes whose command line and environment together contain every one of ``texts``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read()
            with open("/proc/%s/environ" % pid, "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if all(text.encode() in cmdline + environ for text in texts):
            found.append(int(pid))
    return found


@pytest.mark.parametrize("kvstore", ["dist_sync", "dist_async"])
def test_mf_on_parameter_servers_matches_one_process(tmp_path, ratings_dir, kvstore):
    config = mf_config(tmp_path, ratings_dir, epochs=4, batch_size=256)
    single = str(tmp_path / "single")
    proc = run_tool(["tools/train.py", "--config", config, "--out", single, "model.dim=8"])
    assert proc.returncode == 0, proc.stderr
    out = str(tmp_path / "dist")
    started = time.time()
    proc = launch(config, out, ["model.dim=8", "train.kvstore=" + kvstore])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "worker 0 of 2" in proc.stderr and "worker 1 of 2" in proc.stderr
    assert proc.stderr.count("4 embedding tables are row_sparse on the servers") == 2  # factors and biases
    assert "2 workers and 1 servers finished" in proc.stderr
    ours, theirs = read_json(os.path.join(out, "results.json")), read_json(os.path.join(single, "results.json"))
    if kvstore == "dist_sync":
        assert abs(ours["test"]["rmse"] - theirs["test"]["rmse"]) < 0.01, (ours["test"], theirs["test"])
    else:  # each worker's push is an update of its own: twice the updates, so no closer match is due
        assert ours["test"]["rmse"] < theirs["test"]["rmse"] + 0.05, (ours["test"], theirs["test"])
    assert ours["epochs"] == 4 and time.time() - started < 180
    if kvstore == "dist_sync":  # both workers evaluated the same parameters
        other = read_json(os.path.join(out, "worker-1", "results.json"))
        assert abs(other["test"]["rmse"] - ours["test"]["rmse"]) < 1e-9


def test_tables_split_across_two_servers(tmp_path, ratings_dir, monkeypatch):
    # MXNet splits arrays above this many elements by rows over all servers (default 1M): force it here
    monkeypatch.setenv("MXNET_KVSTORE_BIGARRAY_BOUND", "100")
    config = mf_config(tmp_path, ratings_dir, epochs=3, batch_size=256)
    single = str(tmp_path / "single")
    assert run_tool(["tools/train.py", "--config", config, "--out", single, "model.dim=8"]).returncode == 0
    out = str(tmp_path / "dist")
    proc = run_tool(["tools/launch.py", "-n", "2", "-s", "2", "--timeout", "180", "--", sys.executable,
                     "tools/train.py", "--config", config, "--out", out, "model.dim=8", "train.kvstore=dist_sync"],
                    timeout=240)
    assert proc.returncode == 0 and "2 workers and 2 servers finished" in proc.stderr, proc.stderr[-3000:]
    ours, theirs = read_json(os.path.join(out, "results.json")), read_json(os.path.join(single, "results.json"))
    assert abs(ours["test"]["rmse"] - theirs["test"]["rmse"]) < 0.01, (ours["test"], theirs["test"])


def test_skipgram_dist_sync_matches_one_process(tmp_path):
    corpus = topic_corpus(tmp_path)
    raw = {"model": {"name": "skipgram", "dim": 16},
           "data": {"name": "text", "paths": [corpus], "min_count": 1, "sample": 0, "window": 3},
           "eval": {"root": str(tmp_path), "sets": ["wordsim353"], "download": False},
           "train": {"epochs": 3, "batch_size": 512, "progress": False},
           "optim": {"name": "sgd", "lr": 12.8, "schedule": "linear"}}
    config = tmp_path / "w2v.yaml"
    config.write_text(yaml.safe_dump(raw))
    single = str(tmp_path / "single")
    proc = run_tool(["tools/train.py", "--config", str(config), "--out", single])
    assert proc.returncode == 0, proc.stderr
    out = str(tmp_path / "dist")
    proc = launch(str(config), out, ["train.kvstore=dist_sync"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    ours, theirs = read_json(os.path.join(out, "results.json")), read_json(os.path.join(single, "results.json"))
    assert ours["wordsim353"]["spearman"] > 0.8 and theirs["wordsim353"]["spearman"] > 0.8, (ours, theirs)
    with open(os.path.join(out, "log.jsonl")) as f:
        dist_loss = json.loads(f.readlines()[-1])["train.loss"]
    with open(os.path.join(single, "log.jsonl")) as f:
        single_loss = json.loads(f.readlines()[-1])["train.loss"]
    assert abs(dist_loss - single_loss) < 0.02 * single_loss, (dist_loss, single_loss)


def test_a_killed_worker_fails_the_launch(tmp_path, ratings_dir):
    config = mf_config(tmp_path, ratings_dir, epochs=500, batch_size=256, checkpoint_seconds=0)  # log.jsonl at once
    out, port = str(tmp_path / "dist"), free_port()
    import subprocess
    launcher = subprocess.Popen([sys.executable, "tools/launch.py", "-n", "2", "-s", "1", "--port", str(port),
                                 "--timeout", "200", "--", sys.executable, "tools/train.py", "--config", config,
                                 "--out", out, "model.dim=8", "train.kvstore=dist_sync"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not os.path.exists(os.path.join(out, "worker-1", "log.jsonl")):  # training is under way
            assert time.time() < deadline and launcher.poll() is None, launcher.communicate()
            time.sleep(0.2)
        workers = processes_with(out, "DMLC_ROLE=worker")
        assert len(workers) == 2
        killed_at = time.time()
        os.kill(workers[1], signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 1
    assert "was killed by SIGKILL; stopped the other processes" in stderr, stderr[-2000:]
    assert time.time() - killed_at < 30
    time.sleep(1)
    assert processes_with("DMLC_PS_ROOT_PORT=%d" % port) == []  # scheduler, server and the other worker


def test_hosts_file_starts_nodes_over_ssh(tmp_path, ratings_dir):
    # A stand-in for ssh that runs the remote command here: the launch goes through the --hosts code path.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text('#!/bin/sh\nwhile [ "$1" = "-o" ]; do shift 2; done\nhost="$1"; shift\n'
                                 'echo "$host" >> "%s"\nexec sh -c "$*"\n' % (tmp_path / "hosts.log"))
    (bin_dir / "ssh").chmod(stat.S_IRWXU)
    hosts = tmp_path / "hosts.txt"
    hosts.write_text("# two machines\n127.0.0.1\nme@127.0.0.1\n")
    config = mf_config(tmp_path, ratings_dir, epochs=2, batch_size=256)
    env_path = os.environ["PATH"]
    os.environ["PATH"] = "%s%s%s" % (bin_dir, os.pathsep, env_path)
    try:
        proc = launch(config, str(tmp_path / "dist"), ["model.dim=8", "train.kvstore=dist_sync"],
                      extra=["--hosts", str(hosts), "--scheduler-host", "127.0.0.1"])
    finally:
        os.environ["PATH"] = env_path
    assert proc.returncode == 0, proc.stderr[-3000:]
    # server 0 and worker 1 on the first host, worker 0 on the second
    assert sorted((tmp_path / "hosts.log").read_text().split()) == ["127.0.0.1", "127.0.0.1", "me@127.0.0.1"]
    assert os.path.exists(tmp_path / "dist" / "results.json")


def test_dist_kvstore_without_launcher_is_a_config_error(tmp_path, ratings_dir):
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", str(tmp_path / "r"),
                     "train.kvstore=dist_sync"])
    assert proc.returncode == 2 and "tools/launch.py" in proc.stderr, proc.stderr
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", str(tmp_path / "r"),
                     "train.kvstore=nccl"])
    assert proc.returncode == 2 and "train.kvstore='nccl': must be one of: device, local" in proc.stderr, proc.stderr
    assert not os.path.exists(tmp_path / "r")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", str(tmp_path / "r"),
                     "--resume", "train.kvstore=dist_sync"])
    assert proc.returncode == 2 and "--resume: not possible with train.kvstore=dist_sync" in proc.stderr


def test_launcher_timeout_stops_everything(tmp_path):
    proc = run_tool(["tools/launch.py", "-n", "1", "--timeout", "3", "--", sys.executable, "-c",
                     "import time; time.sleep(60)"], timeout=60)
    assert proc.returncode == 124 and "timeout: worker 0 still running after 3 s" in proc.stderr, proc.stderr
