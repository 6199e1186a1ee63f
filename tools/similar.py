"""Nearest neighbours by a trained run: words of a word-vector run, images of an image-similarity run.

    python tools/similar.py RUN_DIR --word king [-k 10]
    python tools/similar.py RUN_DIR --analogy man king woman      # man is to king as woman is to ?
    python tools/similar.py RUN_DIR --image digit.png [-k 5]      # nearest images of the test split
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--word")
    group.add_argument("--analogy", nargs=3, metavar=("A", "B", "C"))
    group.add_argument("--image", help="an image file; its nearest images of the test split are listed")
    parser.add_argument("-k", type=int, default=None, help="how many (default 10 words, 5 images)")
    args = parser.parse_args(argv)
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.api import load_run
    from zoo.cli import freeze_imports, report_errors
    freeze_imports(argv)

    def show():
        run = load_run(args.run_dir)
        if args.image:
            rows = ["test image %-6d label %-4d %.4f" % row for row in run.similar_images(args.image, args.k or 5)]
        elif args.word is not None:
            rows = ["%-20s %.4f" % row for row in run.most_similar(args.word, args.k or 10)]
        else:
            rows = ["%-20s %.4f" % row for row in run.analogy(*args.analogy, k=args.k or 10)]
        print("\n".join(rows))
    return report_errors(show)


if __name__ == "__main__":
    sys.exit(main())
