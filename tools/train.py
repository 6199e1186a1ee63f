"""Train a model from a YAML config.

    python tools/train.py --config configs/movielens_mf.yaml [--out DIR] [--resume] [section.key=value ...]
"""
import argparse
import datetime
import json
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zoo.config import ConfigError, load_config  # noqa: E402
from zoo.data import DataError  # noqa: E402
from zoo.train.loop import Interrupted, TrainingError  # noqa: E402
from zoo.train.run import train  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML config (with --resume, defaults to RUN_DIR/config.yaml)")
    parser.add_argument("--out", help="run folder (default: runs/CONFIG-TIMESTAMP)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    if args.resume and not args.out:
        parser.error("--resume needs --out RUN_DIR")
    config = args.config or (os.path.join(args.out, "config.yaml") if args.resume else None)
    if not config:
        parser.error("--config is required")
    try:
        cfg = load_config(config, args.overrides)
    except ConfigError as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    out = args.out or os.path.join("runs", "%s-%s" % (
        os.path.splitext(os.path.basename(config))[0], datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
    try:
        results = train(cfg, out, resume=args.resume)
    except (ConfigError, DataError, ValueError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    except TrainingError as err:
        print("error: %s" % err, file=sys.stderr)
        return 1
    except Interrupted as err:
        print(str(err), file=sys.stderr)
        return 128 + err.signum
    print(json.dumps(results, indent=2))
    print("run folder: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
