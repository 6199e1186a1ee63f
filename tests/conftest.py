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


def mf_config(tmp_path, ratings_dir, **train):
    """``configs/movielens_mf.yaml`` pointed at ``ratings_dir``, short and quiet; returns the file's path."""
    import yaml
    with open(os.path.join(ROOT, "configs", "movielens_mf.yaml")) as f:
        raw = yaml.safe_load(f)
    raw["data"]["root"] = ratings_dir
    raw["train"].update({"epochs": 3, "batch_size": 256, "progress": False}, **train)
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def run_tool(args, cwd=ROOT, timeout=300):
    import subprocess
    return subprocess.run([sys.executable] + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def synthetic_digits(n, seed=0, size=8):
    """Images of 3 classes (a bright row, column or diagonal at a random place) with noise: uint8 (n, size, size)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.integers(0, 60, (n, size, size))
    where = rng.integers(1, size - 1, n)
    for i, (label, w) in enumerate(zip(labels, where)):
        if label == 0:
            images[i, w, :] = 250
        elif label == 1:
            images[i, :, w] = 250
        else:
            np.fill_diagonal(images[i], 250)
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_idx_set(folder, n_train=300, n_test=120, gz=True):
    from zoo.data.idx import write_idx
    os.makedirs(folder, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = synthetic_digits(n, seed)
        write_idx(os.path.join(folder, "%s-images-idx3-ubyte%s" % (prefix, ext)), images)
        write_idx(os.path.join(folder, "%s-labels-idx1-ubyte%s" % (prefix, ext)), labels)
    return str(folder)


def write_png(path, image):
    """A minimal greyscale PNG writer (no imaging library needed)."""
    import struct
    import zlib
    h, w = image.shape
    raw = b"".join(b"\x00" + image[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def topic_corpus(folder, seed=0):
    """Sentences that each draw words from one of two topics, and a similarity file that scores same-topic
    pairs high and cross-topic pairs low."""
    rng = np.random.default_rng(seed)
    topics = [["a%d" % i for i in range(15)], ["b%d" % i for i in range(15)]]
    with open(folder / "corpus.txt", "w") as f:
        for _ in range(1500):
            f.write(" ".join(rng.choice(topics[rng.integers(2)], 8)) + "\n")
    with open(folder / "wordsim353.tsv", "w") as f:
        f.write("# word1\tword2\tscore\n")
        for i in range(0, 14, 2):
            f.write("a%d\ta%d\t9\nb%d\tb%d\t9\na%d\tb%d\t1\nb%d\ta%d\t1\n" % (i, i + 1, i, i + 1, i, i + 1, i, i + 1))
    return str(folder / "corpus.txt")
