"""Top-K recommendation peers for ``tools/bench.py rank``: each fits on the training positives of
``movielens_implicit`` (seed, split and threshold as zoo's config) and is scored by zoo's ranking metrics, so every
system sees the same candidates and exclusions. Each function runs in its own process (bench.isolated)."""
import os
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(data_root, seed):
    from zoo.data import MovieLensImplicit
    return MovieLensImplicit(root=data_root, seed=seed, k=(10,))


def _matrix(ds):
    """The training positives as a users x items 0/1 matrix (dense: ml-latest-small is 610 x 9,724)."""
    indptr, items = ds.positives["train"]
    x = np.zeros((ds.meta["num_users"], ds.meta["num_items"]), np.float32)
    x[np.repeat(np.arange(len(indptr) - 1), np.diff(indptr)), items] = 1.0
    return x


def _scored(name, ds, score, fit_seconds, split="test"):
    from zoo.eval.ranking import ranking_metrics
    m = ranking_metrics(score, ds.positives["train"], ds.positives[split], ds.meta["num_items"], (10,),
                        ds.candidates)
    return {"system": name, "ndcg@10": m["ndcg@10"], "recall@10": m["recall@10"],
            "precision@10": m["precision@10"], "seconds": fit_seconds}


def zoo_rank(data_root, seed, config="movielens_ranking.yaml", extra=()):
    """zoo's whole training run (operator loading, data, every epoch with its evaluation, checkpoints)."""
    import logging
    from zoo.config import load_config
    from zoo.pipeline import train
    logging.disable(logging.WARNING)
    cfg = load_config(os.path.join(ROOT, "configs", config),
                      ["data.root=%s" % data_root, "data.seed=%d" % seed, "train.progress=false"] + list(extra))
    run = "/tmp/zoo-bench-rank-%d" % os.getpid()
    started = time.time()
    results = train(cfg, run, overwrite=True)
    seconds = time.time() - started
    test = results["test"]
    return {"system": "zoo " + config, "ndcg@10": test["ndcg@10"], "recall@10": test["recall@10"],
            "precision@10": test["precision@10"], "seconds": seconds}


def popularity(data_root, seed):
    ds = _data(data_root, seed)
    started = time.time()
    counts = _matrix(ds).sum(axis=0)
    return _scored("popularity", ds, lambda rows: np.tile(counts, (len(rows), 1)), time.time() - started)


def ease(data_root, seed, lambdas=(50.0, 100.0, 300.0, 1000.0)):
    """EASE (Steck 2019): ``B = I - P diag(1/diag P)``, ``P = (X^T X + lambda I)^-1`` over the catalog, lambda
    chosen on the validation part; seconds are the fits of all lambdas."""
    ds = _data(data_root, seed)
    x = _matrix(ds)
    catalog = np.flatnonzero(ds.candidates)
    xc = x[:, catalog]
    started, best = time.time(), None
    gram0 = xc.T @ xc
    for lam in lambdas:
        gram = gram0.copy()
        gram[np.diag_indices_from(gram)] += lam
        p = np.linalg.inv(gram)  # float32: lambda >= 50 keeps it well conditioned
        b = p / -np.diag(p)
        b[np.diag_indices_from(b)] = 0.0
        scores = np.full(x.shape, -np.inf)
        scores[:, catalog] = xc @ b
        valid = _scored("", ds, lambda rows: scores[rows], 0.0, split="valid")["ndcg@10"]
        if best is None or valid > best[0]:
            best = (valid, lam, scores)
    seconds = time.time() - started
    _, lam, scores = best
    return _scored("EASE (lambda %g, chosen on valid)" % lam, ds, lambda rows: scores[rows], seconds)


def implicit_model(data_root, seed, kind):
    """implicit's ALS or BPR with 64 factors and its other defaults."""
    try:
        import implicit
        from scipy.sparse import csr_matrix
    except ImportError:
        return {"system": "implicit %s" % kind, "error": "not installed: pip install implicit"}
    ds = _data(data_root, seed)
    users_items = csr_matrix(_matrix(ds))
    cls = implicit.als.AlternatingLeastSquares if kind == "ALS" else implicit.bpr.BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits
    started = time.time()
    with threadpool_limits(1, "blas"):  # as implicit asks: its own threads, BLAS on one
        model = cls(factors=64, random_state=seed)
        model.fit(users_items, show_progress=False)
    seconds = time.time() - started
    u, v = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return _scored("implicit %s (64 factors)" % kind, ds, lambda rows: u[rows] @ v.T, seconds)


def lightfm_model(data_root, seed, loss):
    """LightFM with 64 components and its other defaults (10 epochs)."""
    try:
        from lightfm import LightFM
        from scipy.sparse import coo_matrix
    except ImportError:
        return {"system": "LightFM %s" % loss, "error": "not installed: pip install setuptools wheel cython, then "
                "pip install --no-build-isolation lightfm"}
    ds = _data(data_root, seed)
    interactions = coo_matrix(_matrix(ds))
    model = LightFM(no_components=64, loss=loss, random_state=seed)
    started = time.time()
    model.fit(interactions, epochs=10, num_threads=os.cpu_count())
    seconds = time.time() - started
    u, v = model.user_embeddings, model.item_embeddings
    ub, vb = model.user_biases, model.item_biases
    return _scored("LightFM %s (64 components)" % loss, ds, lambda rows: u[rows] @ v.T + vb + ub[rows, None],
                   seconds)


def eval_memory(data_root, seed, num_users=0, num_items=0, per_user=50, dim=48):
    """Peak memory of the ranking evaluation (the catalog scored in blocks of ``eval.block`` users): the shipped
    config's model on ``data_root`` (``num_users == 0``), or a synthetic catalog of ``num_users`` x ``num_items``
    with ``per_user`` training and ``per_user / 10`` test positives a user and an untrained model of the same
    kind (history tower). The process's peak RSS is the figure; ``seconds`` is the evaluation's wall time."""
    import logging
    import mxnet as mx
    from zoo.data.positives import select_rows
    from zoo.eval.ranking import positives, ranking_metrics
    from zoo.models import RankingMF
    from zoo.ops.arrays import as_ndarray
    from zoo.rows import SparseRows
    logging.disable(logging.WARNING)
    if not num_users:
        from zoo.config import load_config
        from zoo.eval.tasks import evaluator_for
        from zoo.pipeline import build_dataset, build_model
        cfg = load_config(os.path.join(ROOT, "configs", "movielens_ranking.yaml"),
                          ["data.root=%s" % data_root, "data.seed=%d" % seed])
        ds = build_dataset(cfg)
        model = build_model(cfg, ds.meta)
        model.initialize()
        model.hybridize(static_alloc=True)
        started = time.time()
        metrics = evaluator_for(ds, mx.cpu(), cfg.train.eval_batch_size)(model, "test")
        return {"system": "evaluation, ml-latest-small %d x %d" % (ds.meta["num_users"], ds.meta["num_items"]),
                "users": metrics["users"], "seconds": time.time() - started}
    rng = np.random.default_rng(seed)
    pairs = {}
    for split, n in (("train", per_user), ("test", max(per_user // 10, 1))):
        users = np.repeat(np.arange(num_users), n)
        pairs[split] = positives(users, rng.integers(0, num_items, len(users)), num_users)
    model = RankingMF.create(num_users, num_items, history=True, dim=dim, loss="multinomial")
    model.initialize()
    model.hybridize(static_alloc=True)

    def score(rows):
        ptr, items = select_rows(pairs["train"], rows)
        counts = np.diff(ptr)
        liked = SparseRows(ptr, items, np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts), num_items)
        users = np.asarray(rows, np.int32)
        return model.score(as_ndarray(users), as_ndarray(liked)).asnumpy()
    started = time.time()
    metrics = ranking_metrics(score, pairs["train"], pairs["test"], num_items, (10, 20), None, block=1024)
    return {"system": "evaluation, synthetic %d x %d" % (num_users, num_items), "users": metrics["users"],
            "seconds": time.time() - started}
