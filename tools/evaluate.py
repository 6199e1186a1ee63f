"""Print the metrics of a saved run on a split.

    python tools/evaluate.py RUN_DIR [--split test] [--checkpoint best]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mxnet as mx  # noqa: E402

from zoo.config import ConfigError  # noqa: E402
from zoo.data import DataError  # noqa: E402
from zoo.train.run import evaluator, load_run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--split", default="test", choices=["train", "valid", "test"])
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    args = parser.parse_args(argv)
    try:
        cfg, dataset, model = load_run(args.run_dir, args.checkpoint)
    except (ConfigError, DataError, ValueError, OSError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    metrics = evaluator(dataset, mx.cpu(), cfg.train.eval_batch_size, (args.split,))(model)
    print(json.dumps({args.split: {k.split(".", 1)[1]: v for k, v in metrics.items()}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
