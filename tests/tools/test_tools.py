"""The command-line tools end to end, in subprocesses, on tiny files the tests write."""
import json
import os
import sys

import yaml

from conftest import ROOT, mf_config, run_tool


def read_json(path):
    with open(path) as f:
        return json.load(f)


def test_train_evaluate_recommend(tmp_path, ratings_dir):
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", out,
                     "model.dim=8"])
    assert proc.returncode == 0, proc.stderr
    for name in ("config.yaml", "log.jsonl", "results.json", "checkpoints/best.npz", "checkpoints/last.npz"):
        assert os.path.exists(os.path.join(out, name)), name
    results = read_json(os.path.join(out, "results.json"))
    assert set(results["test"]) >= {"rmse", "mae", "n"} and results["epochs"] == 3
    with open(os.path.join(out, "config.yaml")) as f:
        assert yaml.safe_load(f)["model"]["dim"] == 8
    with open(os.path.join(out, "log.jsonl")) as f:
        assert [json.loads(line)["epoch"] for line in f] == [1, 2, 3]

    proc = run_tool(["tools/evaluate.py", out, "--split", "test"])
    assert proc.returncode == 0, proc.stderr
    assert abs(json.loads(proc.stdout)["test"]["rmse"] - results["test"]["rmse"]) < 1e-6

    proc = run_tool(["tools/recommend.py", out, "--user", "1", "-k", "3"])
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3 and "Movie" in lines[0]

    proc = run_tool(["tools/recommend.py", out, "--user", "999999"])
    assert proc.returncode == 2 and "unknown user 999999" in proc.stderr


def test_resume_continues_to_the_same_result(tmp_path, ratings_dir):
    config = mf_config(tmp_path, ratings_dir, epochs=4)
    straight = str(tmp_path / "straight")
    assert run_tool(["tools/train.py", "--config", config, "--out", straight]).returncode == 0
    resumed = str(tmp_path / "resumed")
    proc = run_tool(["tools/train.py", "--config", config, "--out", resumed, "train.epochs=2"])
    assert proc.returncode == 0, proc.stderr
    proc = run_tool(["tools/train.py", "--out", resumed, "--resume", "train.epochs=4"])
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stderr
    results = [read_json(os.path.join(d, "results.json")) for d in (straight, resumed)]
    assert results[1]["epochs"] == 4
    assert abs(results[0]["test"]["rmse"] - results[1]["test"]["rmse"]) < 1e-6
    with open(os.path.join(resumed, "log.jsonl")) as f:
        assert [json.loads(line)["epoch"] for line in f] == [1, 2, 3, 4]


def test_config_errors_exit_2_and_write_nothing(tmp_path, ratings_dir):
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", out,
                     "model.dimm=3"])
    assert proc.returncode == 2 and "model.dimm" in proc.stderr
    proc = run_tool(["tools/train.py", "--config", mf_config(tmp_path, ratings_dir), "--out", out,
                     "optim.name=nope"])
    assert proc.returncode == 2 and "unknown optimizer 'nope'" in proc.stderr
    assert not os.path.exists(out)


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def test_word2vec_train_export_similar(tmp_path):
    corpus = write_text(tmp_path / "corpus.txt", "the king rules the land\nthe queen rules the land\n"
                        "a man walks\na woman walks\n" * 20)
    write_text(tmp_path / "wordsim353.tsv", "# w1\tw2\tscore\nking\tqueen\t8\nman\twoman\t8\nking\tland\t3\n")
    write_text(tmp_path / "questions-words.txt", ": family\nman king woman queen\n")
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", "configs/word2vec.yaml", "--out", out,
                     "data.paths=[%s]" % corpus, "data.min_count=1", "model.dim=8", "eval.root=%s" % tmp_path,
                     "eval.download=false", "train.epochs=2", "train.batch_size=64", "train.progress=false"])
    assert proc.returncode == 0, proc.stderr
    assert "simlex999 skipped" in proc.stderr
    results = read_json(os.path.join(out, "results.json"))
    assert results["wordsim353"]["covered"] == 1.0 and results["analogy"]["n"] == 1

    from zoo.data.word2vec_format import read_word2vec
    from zoo.pipeline import load_model
    _, model, arrays = load_model(out)
    for binary in ([], ["--binary"]):
        proc = run_tool(["tools/export.py", out, "--format", "word2vec"] + binary)
        assert proc.returncode == 0, proc.stderr
        words, vectors = read_word2vec(proc.stdout.strip(), binary=bool(binary))
        assert words == [str(w) for w in arrays["vocab"]]
        import numpy as np
        np.testing.assert_allclose(vectors, model.embeddings(), rtol=1e-5, atol=1e-6)

    # the exported file scored by tools/evaluate.py --vectors: the run's own numbers
    proc = run_tool(["tools/export.py", out, "--format", "word2vec"])
    proc = run_tool(["tools/evaluate.py", "--vectors", proc.stdout.strip(), "--eval-root", str(tmp_path),
                     "--sets", "wordsim353", "analogy"])
    assert proc.returncode == 0, proc.stderr
    scored = json.loads(proc.stdout)
    assert np.isclose(scored["wordsim353"]["spearman"], results["wordsim353"]["spearman"], atol=1e-4)
    assert scored["analogy"]["accuracy"] == results["analogy"]["accuracy"]
    assert scored["analogy"]["sections"] == [{"section": "family", "accuracy": results["analogy"]["accuracy"],
                                             "correct": int(results["analogy"]["accuracy"]), "n": 1}]

    proc = run_tool(["tools/similar.py", out, "--word", "king", "-k", "3"])
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 3 and "king " not in proc.stdout
    proc = run_tool(["tools/similar.py", out, "--analogy", "man", "king", "woman"])
    assert proc.returncode == 0, proc.stderr
    proc = run_tool(["tools/similar.py", out, "--word", "emperor"])
    assert proc.returncode == 2 and "unknown word 'emperor'" in proc.stderr


def test_proxy_model_on_unseen_classes_train_and_query(tmp_path):
    """proxy_cnn trained on classes 0 and 1 retrieves among the test images of class 2 alone (no pairs of two
    classes to score there: retrieval only), and tools/similar.py answers from its run."""
    import numpy as np
    from conftest import synthetic_digits, write_idx_set, write_png
    root = write_idx_set(tmp_path / "digits", n_train=400, n_test=150)
    config = tmp_path / "proxy.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"name": "proxy_cnn", "dim": 16, "channels": [8, 16], "margin": 0.1},
        "data": {"name": "images", "root": root, "targets": "classes", "train_classes": [0, 1],
                 "test_classes": [2], "shift": 1},
        "train": {"epochs": 3, "batch_size": 32, "progress": False, "monitor": "valid.recall@1",
                  "monitor_mode": "max"}}))
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", str(config), "--out", out])
    assert proc.returncode == 0, proc.stderr
    results = read_json(os.path.join(out, "results.json"))
    assert "pair_auc" in results["valid"] and "pair_auc" not in results["test"]
    assert results["test"]["recall@1"] == results["test"]["map@r"] == 1.0 and results["test"]["n"] > 10  # one class
    images, labels = synthetic_digits(1, seed=7)
    proc = run_tool(["tools/similar.py", out, "--image", write_png(str(tmp_path / "q.png"), images[0]), "-k", "3"])
    assert proc.returncode == 0 and len(proc.stdout.strip().splitlines()) == 3, proc.stderr
    assert all(line.split()[4] == "2" for line in proc.stdout.strip().splitlines())  # the test images: class 2
    assert np.isfinite(results["valid"]["map@r"])


def test_image_similarity_train_and_query(tmp_path):
    import numpy as np
    from conftest import synthetic_digits, write_idx_set, write_png
    root = write_idx_set(tmp_path / "digits", n_train=400, n_test=150)
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", "configs/image_similarity.yaml", "--out", out,
                     "data.root=%s" % root, "model.channels=[8, 16]", "model.dim=16", "train.epochs=3",
                     "train.batch_size=32", "train.progress=false"])
    assert proc.returncode == 0, proc.stderr
    results = read_json(os.path.join(out, "results.json"))
    assert set(results["test"]) == {"recall@1", "recall@2", "recall@4", "recall@8", "map@r", "r_precision", "n",
                                    "pair_auc"}
    assert results["test"]["recall@1"] > 0.8 and results["test"]["pair_auc"] > 0.8, results  # 3 classes: chance 1/3

    images, labels = synthetic_digits(1, seed=7)
    query = write_png(str(tmp_path / "q.png"), images[0])
    proc = run_tool(["tools/similar.py", out, "--image", query, "-k", "5"])
    assert proc.returncode == 0, proc.stderr
    found = [int(line.split()[4]) for line in proc.stdout.strip().splitlines()]  # "test image N label L score"
    assert len(found) == 5 and np.mean(np.array(found) == labels[0]) >= 0.6
    import zoo  # a test image saved as a query finds itself first, numbered as it was saved
    zoo.load_run(out).save_image(17, str(tmp_path / "t17.png"))
    proc = run_tool(["tools/similar.py", out, "--image", str(tmp_path / "t17.png"), "-k", "1"])
    assert proc.returncode == 0 and proc.stdout.split()[:3] == ["test", "image", "17"], proc.stdout
    proc = run_tool(["tools/similar.py", out, "--image", str(tmp_path / "missing.png")])
    assert proc.returncode == 2 and "missing.png not found" in proc.stderr


def test_plot_writes_a_png(tmp_path):
    import struct
    import zlib
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "log.jsonl", "w") as f:
        for epoch in (1, 2, 3):
            f.write(json.dumps({"epoch": epoch, "train.loss": 1.0 / epoch, "valid.rmse": 0.9 - epoch / 100}) + "\n")
    proc = run_tool(["tools/plot.py", str(run)])
    assert proc.returncode == 0, proc.stderr
    with open(run / "curves.png", "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 300 and height > 300
    assert struct.unpack(">I", png[29:33])[0] == zlib.crc32(png[12:29])  # the header chunk is intact
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "log.jsonl").write_text("")
    proc = run_tool(["tools/plot.py", str(empty)])
    assert proc.returncode == 2 and "no epochs yet" in proc.stderr


def test_bench_learns_a_small_planted_model():
    proc = run_tool(["tools/bench.py", "mf", "--synthetic", "--users", "300", "--items", "200", "--ratings",
                     "60000", "--dim", "8", "--batch-size", "1024", "--lr", "0.02", "--epochs", "4", "--no-peer"])
    assert proc.returncode == 0, proc.stderr
    header, row = proc.stdout.splitlines()[-2:]
    columns = header.split()[1:]  # after "system", whose value has spaces
    values = dict(zip(columns, row.split()[-len(columns):]))
    assert values["error"] == "-"
    # The planted ratings have noise 0.5 and a spread of about 0.9 around their mean.
    assert 0.5 < float(values["rmse"]) < 0.75, row


def test_plot_panels_put_the_loss_first_and_leave_bookkeeping_out():
    from zoo.plot import panels
    records = [{"epoch": 1, "train.loss": 0.9, "train.samples": 100, "valid.rmse": 0.8, "valid.mae": 0.6,
                "valid.n": 50, "eval.seconds": 0.01, "train.words": 10.0, "wordsim353.covered": 0.8,
                "analogy.accuracy": 0.1}]
    assert panels(records) == [("loss", ["train.loss"]), ("accuracy", ["analogy.accuracy"]), ("mae", ["valid.mae"]),
                               ("rmse", ["valid.rmse"])]


def test_rank_peers_score_on_zoos_protocol(ratings_dir):
    """The ranking bench's peers on a small file: each is scored by zoo's metrics on the same split."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import bench_rank
    pop = bench_rank.popularity(ratings_dir, 0)
    ease = bench_rank.ease(ratings_dir, 0)
    assert 0 < pop["ndcg@10"] < 1 and 0 < ease["ndcg@10"] < 1 and ease["system"].startswith("EASE (lambda")
    assert ease["ndcg@10"] > pop["ndcg@10"]  # low-rank tastes: item-item beats popularity
    als = bench_rank.implicit_model(ratings_dir, 0, "ALS")
    assert "error" in als or 0 < als["ndcg@10"] < 1


def test_rank_memory_bench_scores_a_catalog_in_blocks(ratings_dir):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import bench_rank
    real = bench_rank.eval_memory(ratings_dir, 0)                    # the shipped config's model on a file
    synthetic = bench_rank.eval_memory(ratings_dir, 0, num_users=2100, num_items=300, per_user=10)
    assert real["users"] > 0 and 2000 < synthetic["users"] <= 2100   # less those whose test draw was a training one


def test_the_unseen_class_config_trains_and_retrieves(tmp_path):
    """configs/image_similarity_unseen.yaml (in-batch pairs, two views, the multi-similarity miner), trained on
    two of the synthetic digits' three classes, retrieves among the test images of all three."""
    from conftest import write_idx_set
    root = write_idx_set(tmp_path / "digits", n_train=400, n_test=150)
    out = str(tmp_path / "run")
    proc = run_tool(["tools/train.py", "--config", "configs/image_similarity_unseen.yaml", "--out", out,
                     "data.root=%s" % root, "model.channels=[8, 16]", "model.dim=16", "train.epochs=3",
                     "train.batch_size=32", "train.progress=false", "data.train_classes=[0, 1]",
                     "data.valid_classes=[]", "data.test_classes=[]"])
    assert proc.returncode == 0, proc.stderr
    results = read_json(os.path.join(out, "results.json"))
    assert results["test"]["recall@1"] > 0.8 and results["test"]["n"] == 150, results  # 3 classes: chance 1/3
