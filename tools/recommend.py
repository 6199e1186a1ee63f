"""Top-k items a user has not rated yet, by a trained rating model.

    python tools/recommend.py RUN_DIR --user RAW_ID [-k 10]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zoo.api import load_run  # noqa: E402
from zoo.config import ConfigError  # noqa: E402
from zoo.data import DataError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--user", type=int, required=True, help="raw user id, as in the ratings file")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    try:
        rows = load_run(args.run_dir).recommend(args.user, args.k)
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
