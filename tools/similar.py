"""Nearest neighbours by a trained run: words of a word-vector run, images of an image-similarity run.

    python tools/similar.py RUN_DIR --word king [-k 10]
    python tools/similar.py RUN_DIR --analogy man king woman      # man is to king as woman is to ?
    python tools/similar.py RUN_DIR --image digit.png [-k 5]      # nearest images of the test split
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

from zoo.config import ConfigError  # noqa: E402
from zoo.data import DataError  # noqa: E402
from zoo.data.images import read_image  # noqa: E402
from zoo.train.inference import predict  # noqa: E402
from zoo.train.run import load_model, load_run  # noqa: E402
from zoo.train.word_metrics import nearest, unit_rows  # noqa: E402


def similar_words(vectors, vocab, words, k=10):
    """Nearest words to ``words[0]`` (one word) or to ``b - a + c`` (three words: a is to b as c is to ?)."""
    index = {w: i for i, w in enumerate(vocab)}
    unknown = [w for w in words if w not in index]
    if unknown:
        raise KeyError("unknown word %r: not in the run's vocabulary of %d words" % (unknown[0], len(vocab)))
    rows = [index[w] for w in words]
    if len(rows) == 1:
        query = vectors[rows[0]]
    else:
        a, b, c = unit_rows(vectors, rows)
        query = b - a + c
    return [(vocab[i], score) for i, score in nearest(vectors, query, k, exclude=rows)]


def similar_images(dataset, model, path, k=5, split="test"):
    """``[(gallery position, label, score)]``: the images of ``split`` with the highest score against ``path``."""
    if not os.path.isfile(path):
        raise KeyError("image %s not found" % path)
    channels, height, width = dataset.meta["image_shape"]
    query = read_image(path, channels, (height, width))[None].astype(np.float32) / 255.0
    gallery = dataset.splits[split]
    vectors = predict(model.embed, (dataset.pixels(gallery),), mx.cpu(), 4096)
    scores = vectors @ predict(model.embed, (query,), mx.cpu())[0]
    top = np.argsort(-scores, kind="stable")[:k]
    return [(int(gallery[i]), int(dataset.labels[gallery[i]]), float(scores[i])) for i in top]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--word")
    group.add_argument("--analogy", nargs=3, metavar=("A", "B", "C"))
    group.add_argument("--image", help="an image file; its nearest images of the test split are listed")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    if args.image:
        try:
            _, dataset, model = load_run(args.run_dir)
            rows = similar_images(dataset, model, args.image, args.k)
        except KeyError as err:
            print("error: %s" % err.args[0], file=sys.stderr)
            return 2
        except (ConfigError, DataError, ValueError, OSError) as err:
            print("error: %s" % err, file=sys.stderr)
            return 2
        for index, label, score in rows:
            print("image %-8d label %-4d %.4f" % (index, label, score))
        return 0
    try:
        _, model, arrays = load_model(args.run_dir)
        if "vocab" not in arrays:
            raise ValueError("%s is not a word-vector run (no vocabulary saved)" % args.run_dir)
        words = [args.word.lower()] if args.word else [w.lower() for w in args.analogy]
        rows = similar_words(model.embeddings(), [str(w) for w in arrays["vocab"]], words, args.k)
    except KeyError as err:
        print("error: %s" % err.args[0], file=sys.stderr)
        return 2
    except (ConfigError, ValueError, OSError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    for word, score in rows:
        print("%-20s %.4f" % (word, score))
    return 0


if __name__ == "__main__":
    sys.exit(main())
