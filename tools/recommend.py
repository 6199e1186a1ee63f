"""Top-k items a user has not rated yet, by a trained rating model.

    python tools/recommend.py RUN_DIR --user RAW_ID [-k 10]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--user", type=int, required=True, help="raw user id, as in the ratings file")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.api import load_run
    from zoo.cli import freeze_imports, report_errors
    freeze_imports(argv)

    def show():
        rows = load_run(args.run_dir).recommend(args.user, args.k)
        for rank, (item, score, title) in enumerate(rows, 1):
            print("%2d. %-8d %.3f  %s" % (rank, item, score, title))
    return report_errors(show)


if __name__ == "__main__":
    sys.exit(main())
