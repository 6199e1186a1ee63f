"""Search hyperparameters with Optuna: a trial is a run of the config with values from the space, scored by
its validation metric (train.monitor); the study lives in OUT/search.db, so running the same command again
continues it up to --trials trials.

    python tools/search.py --config configs/movielens_mf.yaml --space space.yaml --trials 40 [--timeout 1200] \\
        [--out DIR] [section.key=value ...]

space.yaml maps config keys to ranges: {log: [low, high]}, {range: [low, high]}, {int: [low, high]} (log: true
for a log scale), or a list of choices. The end writes OUT/best.yaml (the best trial's whole config),
OUT/refit.yaml (the same trained on the whole training part, validation included, for the epochs the best
trial's validation peaked at: the config to ship) and OUT/trials.json, and prints the trials best first;
tools/plot.py OUT draws the search's history. With --confirm-seeds 1,2 the --confirm-top best trials are run
again with those train seeds (OUT/trial-NNN-seed-S, OUT/confirm.json) and best.yaml and refit.yaml are those of
the best mean.
"""
import argparse
import datetime
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="the YAML config every trial starts from")
    parser.add_argument("--space", required=True, help="YAML: config keys and their ranges")
    parser.add_argument("--trials", type=int, required=True, help="finished trials the study should hold")
    parser.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    parser.add_argument("--out", help="search folder (default: searches/CONFIG-TIMESTAMP)")
    parser.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    parser.add_argument("--confirm-seeds", default="", help="run the best trials again with these train seeds "
                        "(e.g. 1,2) and choose the best mean validation: a single run's best epoch is partly luck")
    parser.add_argument("--confirm-top", type=int, default=5, help="how many of the best trials --confirm-seeds "
                        "runs again (default 5)")
    parser.add_argument("overrides", nargs="*", metavar="section.key=value")
    args = parser.parse_intermixed_args(argv)
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    try:
        confirm_seeds = [int(s) for s in args.confirm_seeds.split(",") if s.strip()]
    except ValueError:
        parser.error("--confirm-seeds takes whole numbers separated by commas, e.g. 1,2; got %r" % args.confirm_seeds)
    if args.confirm_top < 1:
        parser.error("--confirm-top must be at least 1")
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.cli import freeze_imports, report_errors
    freeze_imports(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

    def run():
        import optuna
        from zoo import search
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # each trial's line is printed below, with its values
        from zoo.config import load_config
        from zoo.train.loop import Interrupted
        cfg = load_config(args.config, args.overrides)
        space = search.read_space(args.space, cfg)
        out = args.out or os.path.join("searches", "%s-%s" % (
            os.path.splitext(os.path.basename(args.config))[0], datetime.datetime.now().strftime("%Y%m%d-%H%M%S")))
        try:
            _, rows = search.search(cfg, space, out, args.trials, args.timeout, args.seed,
                                    echo=lambda line: print(line, file=sys.stderr, flush=True),
                                    confirm_seeds=confirm_seeds, top=args.confirm_top)
        except Interrupted as err:
            print("%s\nsearch folder: %s (run the same command to continue)" % (err, out), file=sys.stderr)
            return 128 + err.signum
        print(search.table(rows, cfg.train.monitor, maximize=cfg.train.monitor_mode == "max"))
        print("search folder: %s (best.yaml, refit.yaml, trials.json, search.db)" % out)
        return 0
    return report_errors(run, hint="install the search extra: pip install -e '.[cpu,search]'")


if __name__ == "__main__":
    sys.exit(main())
