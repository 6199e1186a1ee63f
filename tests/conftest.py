import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(params=[True, False], ids=["hybrid", "imperative"])
def hybridize(request):
    return request.param


def low_rank_ratings(num_users=60, num_items=80, rank=3, density=0.5, seed=0):
    """A synthetic rating table with low-rank structure plus user/item offsets, on the 0.5..5 scale.

    Returns (users, items, ratings) with raw ids starting at 1 (as MovieLens does) and gaps in the item ids.
    """
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 1, (num_users, rank)), rng.normal(0, 1, (num_items, rank))
    mask = rng.random((num_users, num_items)) < density
    u, i = np.nonzero(mask)
    score = 3.5 + 0.6 * (p[u] * q[i]).sum(1) + rng.normal(0, 0.1, len(u))
    ratings = np.clip(np.round(score * 2) / 2, 0.5, 5.0)
    return u + 1, i * 3 + 1, ratings


def write_ratings_csv(folder, users, items, ratings, titles=True):
    """Write MovieLens ``ratings.csv`` (+ ``movies.csv``) as the latest/20M/25M releases do."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "ratings.csv"), "w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        for n, (u, i, r) in enumerate(zip(users, items, ratings)):
            f.write("%d,%d,%s,%d\n" % (u, i, ("%.1f" % r).rstrip("0").rstrip("."), 964982703 + n))
    if titles:
        with open(os.path.join(folder, "movies.csv"), "w") as f:
            f.write("movieId,title,genres\n")
            for i in np.unique(items):
                f.write('%d,"Movie %d, The (1999)",Drama\n' % (i, i))
    return folder


@pytest.fixture
def ratings_dir(tmp_path):
    """A small ml-latest-small style folder with learnable ratings."""
    return write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings())


def run_tool(args, cwd=ROOT, timeout=300):
    import subprocess
    return subprocess.run([sys.executable] + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)
