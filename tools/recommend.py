"""Top-k items a user has not rated yet, by a trained rating model.

    python tools/recommend.py RUN_DIR --user RAW_ID [-k 10]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

from zoo.config import ConfigError  # noqa: E402
from zoo.data import DataError  # noqa: E402
from zoo.train.inference import predict  # noqa: E402
from zoo.train.run import load_run  # noqa: E402


def recommend(dataset, model, user_raw, k=10):
    """``[(raw item id, score, title)]``, best first, over the items the user has not rated in training."""
    if user_raw not in dataset.user_map:
        raise KeyError("unknown user %r: raw user ids run from %d to %d" % (
            user_raw, dataset.user_map.ids[0], dataset.user_map.ids[-1]))
    user = dataset.user_map.index([user_raw])[0]
    items = np.setdiff1d(np.arange(dataset.meta["num_items"], dtype=np.int32), dataset.rated(user))
    scores = predict(model, (np.full(len(items), user, np.int32), items), mx.cpu())
    scores = np.clip(scores, *dataset.rating_range)
    top = np.argsort(-scores, kind="stable")[:k]
    return [(int(dataset.item_map.ids[items[i]]), float(scores[i]),
             dataset.titles.get(int(dataset.item_map.ids[items[i]]), "")) for i in top]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--user", type=int, required=True, help="raw user id, as in the ratings file")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        _, dataset, model = load_run(args.run_dir)
        rows = recommend(dataset, model, args.user, args.k)
    except KeyError as err:
        print("error: %s" % err.args[0], file=sys.stderr)
        return 2
    except (ConfigError, DataError, ValueError, OSError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    for rank, (item, score, title) in enumerate(rows, 1):
        print("%2d. %-8d %.3f  %s" % (rank, item, score, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
