"""Print the metrics of a saved run on a split.

    python tools/evaluate.py RUN_DIR [--split test] [--checkpoint best]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402

from zoo.api import load_run  # noqa: E402
from zoo.config import ConfigError  # noqa: E402
from zoo.data import DataError  # noqa: E402
from zoo.train.run import evaluate  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--split", default=None, help="an evaluation set (default: all of the final ones)")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    args = parser.parse_args(argv)
    try:
        run = load_run(args.run_dir, args.checkpoint)
        cfg, dataset, model = run.cfg, run.dataset, run.model
    except (ConfigError, DataError, ValueError, OSError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    names = dataset.eval_sets(final=True)
    if args.split is not None:
        if args.split not in names:
            print("error: unknown evaluation set %r; choose one of: %s" % (args.split, ", ".join(names)),
                  file=sys.stderr)
            return 2
        names = [args.split]
    print(json.dumps(evaluate(model, dataset, names, mx.cpu(), cfg.train.eval_batch_size), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
