"""Speed and quality side by side with the best single-purpose tools, on the same data and split.

    python tools/bench.py mf --data-root ../shared/data/movielens/ml-latest-small
    python tools/bench.py mf --synthetic [--ratings 20000000] [--order shuffle] [--optimizer rowwise_adagrad]
    python tools/bench.py word2vec --data-root ../shared/data/text [--epochs 5] [--repeat 4] [--seeds 0,1,2]
    python tools/bench.py rank --data-root ../shared/data/movielens/ml-latest-small

Each system runs in its own child process, one after the other, so that each peak RSS is its own. Peers come
from the ``bench`` extra: ``pip install -e ".[cpu,bench]"`` (scikit-surprise, gensim, implicit, libmf).
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _child(fn, kwargs, queue):
    try:
        result = fn(**kwargs)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        queue.put(result)
    except Exception as err:  # report, do not hang the parent
        queue.put({"error": "%s: %s" % (type(err).__name__, err)})


def isolated(fn, **kwargs):
    """Run ``fn(**kwargs)`` in a fresh process; returns its result dict with ``peak_rss_mb``."""
    queue = mp.get_context("fork").Queue()
    proc = mp.get_context("fork").Process(target=_child, args=(fn, kwargs, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


# ---------------------------------------------------------------------------------------------------- MF
def zoo_mf(data_root, seed, config):
    import logging
    from zoo.config import load_config
    from zoo.pipeline import train
    logging.disable(logging.WARNING)
    cfg = load_config(os.path.join(ROOT, "configs", config),
                      ["data.root=%s" % data_root, "data.seed=%d" % seed, "train.progress=false"])
    run = "/tmp/zoo-bench-mf-%d" % os.getpid()
    started = time.time()
    results = train(cfg, run)
    wall = time.time() - started
    with open(os.path.join(run, "log.jsonl")) as f:
        epochs = [json.loads(line) for line in f]
    to_best = sum(e["seconds"] for e in epochs[:results["best_epoch"]])
    with open(os.path.join(data_root, "ratings.csv")) as f:
        n_train = sum(1 for _ in f) - 1
    return {"system": "zoo " + config, "rmse": results["test"]["rmse"], "seconds": wall,
            "seconds_to_final": to_best, "ratings_per_s": n_train * 0.9 * len(epochs) / max(wall, 1e-9)}


def zoo_process(data_root, seed, config):
    """What a user waits for: ``python tools/train.py --config configs/CONFIG`` as a process of its own, from its
    start to its exit, minus the import of zoo (MXNet's import), which ``-X importtime`` times inside that same
    process: the first zoo module tools/train.py imports brings in the package and MXNet with it."""
    import shutil
    import subprocess
    import tempfile
    out = tempfile.mkdtemp(prefix="zoo-bench-process-")
    command = [sys.executable, "-X", "importtime", os.path.join(ROOT, "tools", "train.py"), "--config",
               os.path.join(ROOT, "configs", config), "--out", out, "--overwrite", "data.root=%s" % data_root,
               "data.seed=%d" % seed, "train.progress=false"]
    try:
        started = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        whole = time.perf_counter() - started
        if done.returncode:
            return {"system": "zoo " + config, "error": done.stderr.strip().splitlines()[-1]}
        imports = [line.split("|") for line in done.stderr.splitlines() if line.startswith("import time:")]
        first = next(float(cumulative) / 1e6 for _, cumulative, name in imports[1:]
                     if name.startswith(" zoo"))  # a top-level line (nested ones are indented further)
        with open(os.path.join(out, "results.json")) as f:
            rmse = json.load(f)["test"]["rmse"]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"system": "zoo %s, the process" % config, "rmse": rmse, "seconds": whole - first,
            "process_s": whole, "import_zoo_s": first}


def surprise_svd(data_root, seed):
    from surprise import SVD, Dataset, Reader, accuracy
    from zoo.data import MovieLens
    ds = MovieLens("ml-latest-small", data_root, split="random", test_ratio=0.1, valid_ratio=0.0, seed=seed)
    users, items, ratings = ds.arrays("train")
    import pandas as pd
    frame = pd.DataFrame({"u": users, "i": items, "r": ratings})
    trainset = Dataset.load_from_df(frame, Reader(rating_scale=(0.5, 5.0))).build_full_trainset()
    tu, ti, tr = ds.arrays("test")
    algo = SVD(random_state=seed)
    started = time.time()
    algo.fit(trainset)
    fit = time.time() - started
    predictions = algo.test(list(zip(tu, ti, tr)))
    rmse = accuracy.rmse(predictions, verbose=False)
    return {"system": "Surprise SVD (defaults)", "rmse": rmse, "seconds": fit, "seconds_to_final": fit,
            "ratings_per_s": len(ratings) * 20 / fit}


def libmf_fit(users, items, ratings, k, iters, l2=0.1):
    """LIBMF (``pip install libmf``, a ctypes binding of Chih-Jen Lin's library) as its ``mf-train`` runs by
    default: squared loss, ``k`` factors, L2 ``l2`` on both sides, rate 0.1, 20 bins, on both cores. Returns the
    model and its fit seconds."""
    from libmf import mf
    data = np.stack([users, items, ratings], 1).astype(np.float32)
    model = mf.MF(k=k, nr_threads=2, nr_iters=iters, lambda_p1=0.0, lambda_q1=0.0, lambda_p2=l2, lambda_q2=l2,
                  eta=0.1, nr_bins=20, quiet=True)
    started = time.time()
    model.fit(data)
    return model, time.time() - started


def libmf_predict(model, users, items):
    # the binding's C side reads the (n, 2) query column by column: hand it Fortran order
    return model.predict(np.asfortranarray(np.stack([users, items], 1).astype(np.float32)))


def libmf_mf(data_root, seed):
    """LIBMF with ``mf-train``'s defaults (k=8, 20 iterations) on the split of :func:`surprise_svd`."""
    from zoo.data import MovieLens
    ds = MovieLens("ml-latest-small", data_root, split="random", test_ratio=0.1, valid_ratio=0.0, seed=seed)
    users, items, ratings = ds.arrays("train")
    model, fit = libmf_fit(users, items, ratings, k=8, iters=20)
    tu, ti, tr = ds.arrays("test")
    pred = np.clip(libmf_predict(model, tu, ti), 0.5, 5.0)
    return {"system": "LIBMF (mf-train defaults, 2 threads)", "rmse": float(np.sqrt(np.mean((pred - tr) ** 2))),
            "seconds": fit, "seconds_to_final": fit, "ratings_per_s": len(ratings) * 20 / fit}


def libmf_synthetic(num_users, num_items, num_ratings, dim, epochs, seed=0):
    """LIBMF with ``dim`` factors for ``epochs`` on :func:`zoo_mf_synthetic`'s table; seconds are its fit time per
    epoch (the binding's copy of the ratings into LIBMF's problem included)."""
    users, items, ratings = synthetic_ratings(num_users, num_items, num_ratings + 200_000, seed)
    model, fit = libmf_fit(users[:num_ratings], items[:num_ratings], ratings[:num_ratings], k=dim, iters=epochs)
    pred = libmf_predict(model, users[num_ratings:], items[num_ratings:])
    return {"system": "LIBMF, k=%d, %d epoch(s), 2 threads" % (dim, epochs), "seconds": fit / epochs,
            "ratings_per_s": num_ratings * epochs / fit,
            "rmse": float(np.sqrt(np.mean((pred - ratings[num_ratings:]) ** 2)))}


def synthetic_ratings(num_users, num_items, num_ratings, seed=0, rank=10, noise=0.5):
    """Ratings from a planted model, so that quality can be measured at any size: ``3.5 + bu + bi + p.q`` with
    rank-``rank`` factors, plus Gaussian noise of std ``noise`` (the best possible RMSE), clipped to [0.5, 5].
    Returns ``(users, items, ratings)`` int32, int32, float32 of length ``num_ratings``."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, rank ** -0.5, (num_users, rank)).astype(np.float32)
    q = rng.normal(0, rank ** -0.5, (num_items, rank)).astype(np.float32)
    bu = rng.normal(0, 0.3, num_users).astype(np.float32)
    bi = rng.normal(0, 0.3, num_items).astype(np.float32)
    users = rng.integers(0, num_users, num_ratings, dtype=np.int32)
    items = rng.integers(0, num_items, num_ratings, dtype=np.int32)
    ratings = np.empty(num_ratings, dtype=np.float32)
    for s in range(0, num_ratings, 1 << 20):  # in slices, so the (n, rank) products stay small
        u, i = users[s:s + (1 << 20)], items[s:s + (1 << 20)]
        ratings[s:s + len(u)] = 3.5 + bu[u] + bi[i] + np.einsum("nk,nk->n", p[u], q[i])
    ratings += rng.normal(0, noise, num_ratings).astype(np.float32)
    np.clip(ratings, 0.5, 5.0, out=ratings)
    return users, items, ratings


def zoo_mf_synthetic(num_users, num_items, num_ratings, dim, batch_size, lr, epochs, prefetch, optimizer="adam",
                     order="blocks", blocks=16, seed=0):
    """Epochs of the zoo loop on a planted-model rating table of MovieLens-20M's size; the test RMSE is on
    200,000 more ratings from the same model (its noise, 0.5, is the floor). ``order``: ``blocks``, LIBMF's tiles
    (:class:`zoo.data.blocked.BlockedRatings`, ``blocks`` a side; their one-time reordering is counted in the
    seconds), or ``shuffle``, a new permutation every epoch."""
    import mxnet as mx
    from mxnet import gluon
    from zoo.data.batches import iterate_batches, prefetch as ahead
    from zoo.data.blocked import BlockedRatings
    from zoo.eval.inference import predict
    from zoo.fastpath import make_optimizer, select_objective
    from zoo.models import MatrixFactorization
    from zoo.train import TrainLoop
    users, items, ratings = synthetic_ratings(num_users, num_items, num_ratings + 200_000, seed)
    test = users[num_ratings:].copy(), items[num_ratings:].copy(), ratings[num_ratings:].copy()
    train = users[:num_ratings], items[:num_ratings], ratings[:num_ratings]
    del users, items, ratings
    model = MatrixFactorization.create(num_users, num_items, dim=dim, reg=0.05, init_scale=0.01,
                                       mean_rating=float(train[2].mean()))
    model.initialize()
    model.hybridize(static_alloc=True)
    trainer = gluon.Trainer(model.collect_params(), make_optimizer(optimizer, {"learning_rate": lr}))
    started = time.time()
    if order == "blocks":
        tiles = BlockedRatings(train, 0, 1, num_users, num_items, blocks, seed=seed)
        del train  # the tiles hold the only copy the run needs

        def stream(epoch):
            return tiles.batches(batch_size, np.random.default_rng([seed, epoch]))
    else:
        def stream(epoch):
            return iterate_batches(train, batch_size, np.random.default_rng([seed, epoch]))
    prepared = time.time() - started

    def batches(epoch):
        return ahead(([batch] for batch in stream(epoch)), prefetch)
    loop = TrainLoop(model, select_objective(model, [mx.cpu()]), trainer, batches, [mx.cpu()], epochs)
    loop.run()
    wall = time.time() - started
    pred = predict(model, test[:2], mx.cpu())
    what = "%d blocks a side" % blocks if order == "blocks" else "shuffled"
    return {"system": "zoo biased MF, %s, batch %d, %s, %d epoch(s)" % (optimizer, batch_size, what, epochs),
            "seconds": wall / epochs, "prepare_s": prepared, "ratings_per_s": num_ratings * epochs / wall,
            "train_loss": loop.metrics["train.loss"], "rmse": float(np.sqrt(np.mean((pred - test[2]) ** 2)))}


def zoo_svdpp_synthetic(num_users, num_items, num_ratings, dim, epochs, seed=0):
    """``configs/movielens_svdpp.yaml`` through the whole pipeline (the ratings read from a ``ratings.csv`` in
    ml-latest-small's format, written first) on a planted-model table: SVD++'s rated-items input as CSR rows,
    so a catalog of any size trains; ``seconds`` are the run's, the file's writing excluded."""
    import logging
    import shutil
    import tempfile
    from zoo.config import load_config
    from zoo.pipeline import train
    logging.disable(logging.WARNING)
    users, items, ratings = synthetic_ratings(num_users, num_items, num_ratings, seed)
    folder = tempfile.mkdtemp(prefix="zoo-svdpp-")
    try:
        with open(os.path.join(folder, "ratings.csv"), "w") as f:
            f.write("userId,movieId,rating,timestamp\n")
            for s in range(0, num_ratings, 1 << 20):
                rows = np.stack([users[s:s + (1 << 20)], items[s:s + (1 << 20)]], 1)
                f.write("".join("%d,%d,%.1f,0\n" % (u, i, r) for (u, i), r in zip(rows.tolist(),
                                                                                   ratings[s:s + len(rows)].tolist())))
        cfg = load_config(os.path.join(ROOT, "configs", "movielens_svdpp.yaml"),
                          ["data.root=%s" % folder, "model.dim=%d" % dim, "train.epochs=%d" % epochs,
                           "train.progress=false", "train.patience=0"])
        started = time.time()
        results = train(cfg, os.path.join(folder, "run"))
        wall = time.time() - started
    finally:
        shutil.rmtree(folder)
    return {"system": "zoo SVD++ (movielens_svdpp.yaml), %d x %d, %d epoch(s)" % (num_users, num_items, epochs),
            "seconds": wall, "rmse": results["test"]["rmse"]}


def surprise_svd_synthetic(num_users, num_items, num_ratings, dim, epochs, seed=0):
    """Surprise's SVD (its SGD, lr 0.005, reg 0.02) with ``dim`` factors for ``epochs`` on the same planted-model
    table as :func:`zoo_mf_synthetic`; seconds are its fit time per epoch (building its trainset is not counted)."""
    import pandas as pd
    from surprise import SVD, Dataset, Reader
    users, items, ratings = synthetic_ratings(num_users, num_items, num_ratings + 200_000, seed)
    frame = pd.DataFrame({"u": users[:num_ratings], "i": items[:num_ratings], "r": ratings[:num_ratings]})
    trainset = Dataset.load_from_df(frame, Reader(rating_scale=(0.5, 5.0))).build_full_trainset()
    del frame
    algo = SVD(n_factors=dim, n_epochs=epochs, random_state=seed)
    started = time.time()
    algo.fit(trainset)
    wall = time.time() - started
    test = zip(users[num_ratings:].tolist(), items[num_ratings:].tolist())
    pred = np.array([algo.predict(u, i, clip=False).est for u, i in test])
    return {"system": "Surprise SVD, k=%d, %d epoch(s)" % (dim, epochs), "seconds": wall / epochs,
            "ratings_per_s": num_ratings * epochs / wall,
            "rmse": float(np.sqrt(np.mean((pred - ratings[num_ratings:]) ** 2)))}


# ---------------------------------------------------------------------------------------------- word2vec
TEXTS = ("brown.txt", "state_union.txt", "inaugural.txt")


def zoo_word2vec(data_root, epochs, extra=(), repeat=1, seed=0):
    """zoo's shipped word2vec config on the texts (repeated ``repeat`` times): ``seconds`` is what the user waits
    for, the whole run from loading the config to the end (reading, vocabulary, every epoch, evaluation,
    checkpoints; ``import zoo`` is done before the clock starts); ``train_seconds`` the epochs alone."""
    import logging
    from zoo.config import load_config
    from zoo.pipeline import train
    logging.disable(logging.WARNING)
    started = time.time()
    paths = ",".join(os.path.join(data_root, t) for t in TEXTS * repeat)
    cfg = load_config(os.path.join(ROOT, "configs", "word2vec.yaml"),
                      ["data.paths=[%s]" % paths, "eval.root=%s" % data_root, "train.epochs=%d" % epochs,
                       "train.progress=false", "train.seed=%d" % seed] + list(extra))
    run = "/tmp/zoo-bench-w2v-%d" % os.getpid()
    results = train(cfg, run, overwrite=True)
    seconds = time.time() - started
    with open(os.path.join(run, "log.jsonl")) as f:
        epochs = [json.loads(line) for line in f]
    train_seconds = sum(e["seconds"] - e.get("eval.seconds", 0) for e in epochs)
    return {"system": "zoo skip-gram, seed %d" % seed, "wordsim353": results["wordsim353"]["spearman"],
            "analogy": results["analogy"]["accuracy"], "seconds": seconds, "train_seconds": train_seconds,
            "words_per_s": sum(e["train.words"] for e in epochs) / train_seconds}


def gensim_word2vec(data_root, epochs, workers=2, repeat=1, seed=0):
    """gensim's skip-gram with word2vec's settings: ``seconds`` is its whole job (reading and tokenizing the
    texts, the vocabulary, training), ``train_seconds`` its ``train`` call."""
    from gensim.models import Word2Vec
    from zoo.data.text import Tokenizer
    from zoo.data.wordsets import read_analogies, read_similarity
    from zoo.eval.words import analogy_score, similarity_score
    started = time.time()
    tok = Tokenizer()
    sentences = []
    for name in TEXTS:
        with open(os.path.join(data_root, name), encoding="utf-8", errors="replace") as f:
            sentences += [s for s in (tok(line) for line in f) if s]
    sentences *= repeat
    model = Word2Vec(sg=1, negative=5, vector_size=100, window=5, min_count=5, sample=1e-3, workers=workers,
                     seed=seed)
    model.build_vocab(sentences)
    trained = time.time()
    effective, _ = model.train(sentences, total_examples=model.corpus_count, epochs=epochs)
    done = time.time()
    index = model.wv.key_to_index
    ws = similarity_score(model.wv.vectors, index, read_similarity(os.path.join(data_root, "wordsim353.tsv")))
    an = analogy_score(model.wv.vectors, index, read_analogies(os.path.join(data_root, "questions-words.txt")))
    return {"system": "gensim skip-gram (workers=%d), seed %d" % (workers, seed), "wordsim353": ws["spearman"],
            "analogy": an["accuracy"], "seconds": done - started, "train_seconds": done - trained,
            "words_per_s": effective / (done - trained)}


def bench_word2vec(args):
    """zoo against gensim for each seed, then the means and the ratios of the means."""
    rows, ours, theirs = [], [], []
    for seed in args.seeds:
        common = dict(data_root=args.data_root, epochs=args.epochs, repeat=args.repeat, seed=seed)
        ours.append(isolated(zoo_word2vec, extra=args.zoo, **common))
        theirs.append(isolated(gensim_word2vec, **common))
        rows += [ours[-1], theirs[-1]]
    keys = ("wordsim353", "analogy", "seconds", "train_seconds", "words_per_s", "peak_rss_mb")

    def mean(runs, name):
        ok = [r for r in runs if "error" not in r]
        return dict({k: float(np.mean([r[k] for r in ok])) for k in keys if ok and k in ok[0]}, system=name)
    zoo_mean, gensim_mean = mean(ours, "zoo, mean"), mean(theirs, "gensim, mean")
    rows += [zoo_mean, gensim_mean, dict(ratio(zoo_mean, gensim_mean, keys), system="ratio of the means zoo/gensim")]
    table(rows, ["system", "wordsim353", "analogy", "seconds", "train_seconds", "words_per_s", "peak_rss_mb",
                 "error"])
    return 0


def table(rows, columns):
    widths = [max(len(c), *(len(fmt(r.get(c))) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    for r in rows:
        print("  ".join(fmt(r.get(c)).ljust(w) for c, w in zip(columns, widths)))


def ratio(ours, peer, keys):
    """``{key: ours[key] / peer[key]}`` for the keys both measured."""
    return {k: ours[k] / peer[k] for k in keys if isinstance(ours.get(k), float) and isinstance(peer.get(k), float)}


def fmt(value):
    if isinstance(value, float):
        return "%.4g" % value
    return "-" if value is None else str(value)


def bench_rank(args):
    """zoo's ranking config against popularity, EASE, implicit (ALS, BPR) and LightFM (WARP, BPR) (``--memory``:
    the evaluation's peak memory instead). With
    ``--repeat N``, zoo and the fitted peers run N times each (this machine drifts 10-20%): every run is printed,
    with a ratio row per run against the run of the same number of the best fitted peer (by NDCG@10)."""
    import bench_rank as peers
    common = dict(data_root=args.data_root, seed=args.seed)
    if args.memory:
        rows = [isolated(peers.eval_memory, **common),
                isolated(peers.eval_memory, num_users=args.memory_users, num_items=args.memory_items, **common)]
        table(rows, ["system", "users", "seconds", "peak_rss_mb", "error"])
        return 0
    fits = [(peers.implicit_model, dict(kind="ALS")), (peers.implicit_model, dict(kind="BPR")),
            (peers.lightfm_model, dict(loss="warp")), (peers.lightfm_model, dict(loss="bpr"))]
    runs = []  # per repeat: (zoo's row, the fitted peers' rows)
    for r in range(args.repeat):
        ours = isolated(peers.zoo_rank, extra=args.zoo, **common)
        fitted = [isolated(fn, **kwargs, **common) for fn, kwargs in fits]
        if args.repeat > 1:
            for row in [ours] + fitted:
                row["system"] += " (run %d)" % (r + 1)
        runs.append((ours, fitted))
    rows = [row for ours, fitted in runs for row in [ours] + fitted]
    rows += [isolated(peers.popularity, **common), isolated(peers.ease, **common)]
    for ours, fitted in runs:
        fitted = [row for row in fitted if "error" not in row]
        if fitted and "error" not in ours:
            best = max(fitted, key=lambda row: row["ndcg@10"])
            rows.append(dict(ratio(ours, best, ("ndcg@10", "seconds")), system="ratio zoo/" + best["system"]))
    table(rows, ["system", "ndcg@10", "recall@10", "precision@10", "seconds", "peak_rss_mb", "error"])
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    mf = sub.add_parser("mf")
    mf.add_argument("--data-root", default=os.path.join(ROOT, "..", "shared", "data", "movielens", "ml-latest-small"))
    mf.add_argument("--seed", type=int, default=0)
    mf.add_argument("--configs", nargs="+", help="zoo configs (in configs/) to run against the peers (default "
                    "movielens_mf_fast.yaml and movielens_mf.yaml; with --process, movielens_mf.yaml)")
    mf.add_argument("--synthetic", action="store_true", help="epochs on a MovieLens-20M-sized synthetic table")
    mf.add_argument("--users", type=int, default=138493)
    mf.add_argument("--items", type=int, default=26744)
    mf.add_argument("--ratings", type=int, default=20_000_000)
    mf.add_argument("--dim", type=int, default=64)
    mf.add_argument("--batch-size", type=int, default=524288)
    mf.add_argument("--lr", type=float, default=0.02, help="the learning rate for --synthetic")
    mf.add_argument("--optimizer", default="adam", help="zoo's optimizer for --synthetic (adam, rowwise_adagrad, ...)")
    mf.add_argument("--order", choices=["blocks", "shuffle"], default="blocks",
                    help="--synthetic: LIBMF's tiles (data.order=blocks) or a shuffle every epoch")
    mf.add_argument("--blocks", type=int, default=16, help="--synthetic --order blocks: blocks a side")
    mf.add_argument("--epochs", type=int, default=5, help="epochs for --synthetic (seconds are per epoch, the "
                    "one-time reordering of --order blocks included)")
    mf.add_argument("--prefetch", type=int, default=0, help="batches prepared ahead, for --synthetic")
    mf.add_argument("--svdpp", action="store_true", help="--synthetic: SVD++ (configs/movielens_svdpp.yaml) "
                    "through the whole pipeline instead, its peak memory the point")
    mf.add_argument("--process", type=int, default=0, metavar="N", help="N times, what a user waits for: "
                    "tools/train.py with the first of --configs (default configs/movielens_mf.yaml) as its own "
                    "process, start to exit minus `import zoo`, against Surprise's fit")
    mf.add_argument("--no-peer", nargs="*", default=None, choices=["Surprise", "LIBMF"],
                    help="--synthetic without these peers (all when none is named; Surprise's trainset of 20M "
                    "ratings takes minutes to build)")
    w2v = sub.add_parser("word2vec")
    w2v.add_argument("--data-root", default=os.path.join(ROOT, "..", "shared", "data", "text"))
    w2v.add_argument("--epochs", type=int, default=5)
    w2v.add_argument("--repeat", type=int, default=1, help="the texts repeated this many times (a larger corpus)")
    w2v.add_argument("--seeds", type=lambda v: [int(x) for x in v.split(",")], default=[0, 1, 2],
                     help="comma-separated seeds, each run by both systems")
    w2v.add_argument("--zoo", nargs="*", default=[], metavar="key=value", help="overrides for zoo's config")
    rank = sub.add_parser("rank")
    rank.add_argument("--data-root", default=os.path.join(ROOT, "..", "shared", "data", "movielens", "ml-latest-small"))
    rank.add_argument("--seed", type=int, default=0)
    rank.add_argument("--repeat", type=int, default=1, help="runs of zoo and of each fitted peer")
    rank.add_argument("--memory", action="store_true", help="peak memory of the ranking evaluation instead: "
                      "ml-latest-small and a synthetic catalog")
    rank.add_argument("--memory-users", type=int, default=100_000)
    rank.add_argument("--memory-items", type=int, default=60_000)
    rank.add_argument("--zoo", nargs="*", default=[], metavar="key=value", help="overrides for zoo's config")
    args = parser.parse_args(argv)
    print("machine: %d cores; python %s" % (os.cpu_count(), sys.version.split()[0]))
    if args.task == "mf" and args.synthetic:
        sizes = dict(num_users=args.users, num_items=args.items, num_ratings=args.ratings, dim=args.dim,
                     epochs=args.epochs)
        if args.svdpp:
            table([isolated(zoo_svdpp_synthetic, **sizes)], ["system", "seconds", "peak_rss_mb", "rmse", "error"])
            return 0
        ours = isolated(zoo_mf_synthetic, batch_size=args.batch_size, lr=args.lr, prefetch=args.prefetch,
                        optimizer=args.optimizer, order=args.order, blocks=args.blocks, **sizes)
        rows = [ours]
        keys = ("seconds", "ratings_per_s", "peak_rss_mb", "rmse")
        skip = {"Surprise", "LIBMF"} if args.no_peer == [] else set(args.no_peer or ())  # a bare --no-peer: all
        for name, fn in (("Surprise", surprise_svd_synthetic), ("LIBMF", libmf_synthetic)):
            if name not in skip:
                peer = isolated(fn, **sizes)
                rows += [peer, dict(ratio(ours, peer, keys), system="ratio zoo/%s" % name)]
        table(rows, ["system", "seconds", "prepare_s", "ratings_per_s", "peak_rss_mb", "train_loss", "rmse", "error"])
        return 0
    if args.task == "mf" and args.process:
        rows = []
        for _ in range(args.process):  # one after the other, so that the machine's drift touches both alike
            ours = zoo_process(args.data_root, args.seed, (args.configs or ["movielens_mf.yaml"])[0])
            peer = isolated(surprise_svd, data_root=args.data_root, seed=args.seed)
            rows += [ours, peer, dict(ratio(ours, peer, ("rmse", "seconds")), system="ratio zoo/Surprise")]
        table(rows, ["system", "rmse", "seconds", "process_s", "import_zoo_s", "error"])
        return 0
    if args.task == "mf":
        configs = args.configs or ["movielens_mf_fast.yaml", "movielens_mf.yaml"]
        ours = [isolated(zoo_mf, data_root=args.data_root, seed=args.seed, config=c) for c in configs]
        peers = [("Surprise", isolated(surprise_svd, data_root=args.data_root, seed=args.seed)),
                 ("LIBMF", isolated(libmf_mf, data_root=args.data_root, seed=args.seed))]
        keys = ("rmse", "seconds", "seconds_to_final", "ratings_per_s", "peak_rss_mb")
        ratios = [dict(ratio(row, peer, keys), system="ratio %s/%s" % (config, name))
                  for name, peer in peers for row, config in zip(ours, configs)]
        table(ours + [peer for _, peer in peers] + ratios, ["system", "rmse", "seconds", "seconds_to_final",
                                                               "ratings_per_s", "peak_rss_mb", "error"])
        return 0
    if args.task == "rank":
        return bench_rank(args)
    return bench_word2vec(args)


if __name__ == "__main__":
    sys.exit(main())
