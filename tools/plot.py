"""Training curves of a run, or the history of a search, as a PNG.

    python tools/plot.py RUN_DIR [--out FILE]      # default RUN_DIR/curves.png
    python tools/plot.py SEARCH_DIR [--out FILE]   # tools/search.py's folder: default SEARCH_DIR/history.png
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.cli import report_errors
    from zoo.plot import plot_run, plot_search
    plot = plot_search if os.path.exists(os.path.join(args.run_dir, "trials.json")) else plot_run
    return report_errors(lambda: print(plot(args.run_dir, args.out)),
                         hint="install the plot extra: pip install -e '.[cpu,plot]'")


if __name__ == "__main__":
    sys.exit(main())
