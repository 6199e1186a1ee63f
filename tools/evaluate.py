"""Print the metrics of a saved run on a split.

    python tools/evaluate.py RUN_DIR [--split test] [--checkpoint best]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--split", default=None, help="an evaluation set (default: all of the final ones)")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    args = parser.parse_args(argv)
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    import mxnet as mx
    from zoo.api import load_run
    from zoo.cli import report_errors
    from zoo.pipeline import evaluate

    def show():
        run = load_run(args.run_dir, args.checkpoint)
        names = run.dataset.eval_sets(final=True)
        if args.split is not None:
            if args.split not in names:
                raise KeyError("unknown evaluation set %r; choose one of: %s" % (args.split, ", ".join(names)))
            names = [args.split]
        print(json.dumps(evaluate(run.model, run.dataset, names, mx.cpu(), run.cfg.train.eval_batch_size),
                         indent=2))
    return report_errors(show)


if __name__ == "__main__":
    sys.exit(main())
