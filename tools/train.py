"""Train a model from a YAML config.

    python tools/train.py --config configs/movielens_mf.yaml [--out DIR] [--resume | --overwrite] [section.key=value ...]
    python tools/train.py --import my_models.py --config ... model.name=my_model   # a model of your own
    python tools/train.py --config configs/movielens_mf.yaml --seeds 0,1,2         # mean +- std over seeds
    python tools/train.py --config ... data.variant=ml-100k --folds u1,u2,u3,u4,u5 # or --folds 1,2,3,4,5: kfold
"""
import argparse
import datetime
import json
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML config (with --resume, defaults to RUN_DIR/config.yaml)")
    parser.add_argument("--out", help="run folder (default: runs/CONFIG-TIMESTAMP)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--overwrite", action="store_true", help="replace the run that --out holds")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="FILE_OR_MODULE",
                        help="a Python file or module to import first, e.g. one that registers a model")
    parser.add_argument("--seeds", help="run once per seed (train.seed, and data.seed where the data has one), "
                        "e.g. 0,1,2, into OUT/seed-N, and write OUT/summary.json: each metric's mean, std, min, max")
    parser.add_argument("--folds", help="run once per fold: ml-100k's u1..u5, or numbers for data.split=kfold "
                        "(data.fold=N of data.folds), into OUT/fold-F (with --seeds: OUT/fold-F-seed-N)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value")
    args = parser.parse_intermixed_args(argv)  # overrides may stand before and after options
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.cli import freeze_imports
    from zoo.config import ConfigError, load_config
    from zoo.data import DataError
    from zoo.train.checkpoint import WriteError
    from zoo.train.loop import Interrupted, TrainingError
    from zoo.pipeline import train
    freeze_imports(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    if args.resume and not args.out:
        parser.error("--resume needs --out RUN_DIR")
    config = args.config or (os.path.join(args.out, "config.yaml") if args.resume else None)
    if not config:
        parser.error("--config is required")
    try:
        cfg = load_config(config, args.overrides, imports=args.imports)
    except ConfigError as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    out = args.out or os.path.join("runs", "%s-%s" % (
        os.path.splitext(os.path.basename(config))[0], datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
    try:
        if args.seeds or args.folds:
            from zoo import experiments
            seeds = experiments.parse_list(args.seeds, "--seeds", int) if args.seeds else ()
            folds = experiments.parse_list(args.folds, "--folds") if args.folds else ()
            summary = experiments.run_all(cfg, out, seeds, folds, resume=args.resume, overwrite=args.overwrite,
                                          log=lambda line: print(line, file=sys.stderr, flush=True))
            print(experiments.table(summary))
            print("experiment folder: %s (summary.json)" % out)
            return 0
        results = train(cfg, out, resume=args.resume, overwrite=args.overwrite)
    except (ConfigError, DataError, ValueError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    except (TrainingError, WriteError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 1
    except Interrupted as err:
        print("%s\nrun folder: %s" % (err, out), file=sys.stderr)
        return 128 + err.signum
    print(json.dumps(results, indent=2))
    print("run folder: %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
