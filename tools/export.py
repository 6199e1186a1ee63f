"""Export a trained run's vectors.

    python tools/export.py RUN_DIR --format word2vec [--binary] [--out FILE]

``word2vec`` writes a skip-gram run's input vectors in the word2vec C tool's text (or ``--binary``) format, which
gensim's ``KeyedVectors.load_word2vec_format`` reads.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from zoo.config import ConfigError  # noqa: E402
from zoo.data.word2vec_format import write_word2vec  # noqa: E402
from zoo.train.run import load_model  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--format", default="word2vec", choices=["word2vec"])
    parser.add_argument("--binary", action="store_true", help="word2vec binary instead of text")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    parser.add_argument("--out", help="output file (default: RUN_DIR/vectors.txt or vectors.bin)")
    args = parser.parse_args(argv)
    try:
        _, model, arrays = load_model(args.run_dir, args.checkpoint)
    except (ConfigError, ValueError, OSError) as err:
        print("error: %s" % err, file=sys.stderr)
        return 2
    if "vocab" not in arrays or not hasattr(model, "embeddings"):
        print("error: %s is not a word-vector run (no vocabulary saved)" % args.run_dir, file=sys.stderr)
        return 2
    out = args.out or os.path.join(args.run_dir, "vectors.bin" if args.binary else "vectors.txt")
    write_word2vec(out, [str(w) for w in arrays["vocab"]], model.embeddings(), binary=args.binary)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
