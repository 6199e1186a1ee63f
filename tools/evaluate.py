"""Print the metrics of a saved run on a split, or score a word-vector file.

    python tools/evaluate.py RUN_DIR [--split test] [--checkpoint best]
    python tools/evaluate.py --vectors FILE [--format auto] [--eval-root DIR] [--sets wordsim353 analogy]

``--vectors`` reads word2vec (text or binary), fastText ``.vec`` or GloVe files and scores them on the
word-similarity and analogy sets (found in ``--eval-root``, default the cache, downloaded when missing), as gensim's
``evaluate_word_pairs`` and ``evaluate_word_analogies`` do (analogy accuracy per section too).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SETS = ("wordsim353", "simlex999", "analogy")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--split", default=None, help="an evaluation set (default: all of the final ones)")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    parser.add_argument("--vectors", metavar="FILE", help="a word-vector file to score instead of a run")
    parser.add_argument("--format", default="auto", choices=["auto", "word2vec", "word2vec-binary", "glove"])
    parser.add_argument("--eval-root", default="", help="folder of the evaluation files (default: the cache)")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    args = parser.parse_args(argv)
    if (args.run_dir is None) == (args.vectors is None):
        parser.error("give a RUN_DIR or --vectors FILE (one of them)")
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.cli import freeze_imports, report_errors
    freeze_imports(argv)

    def show_run():
        import mxnet as mx
        from zoo.api import load_run
        from zoo.pipeline import evaluate
        run = load_run(args.run_dir, args.checkpoint)
        names = run.dataset.eval_sets(final=True)
        if args.split is not None:
            if args.split not in names:
                raise KeyError("unknown evaluation set %r; choose one of: %s" % (args.split, ", ".join(names)))
            names = [args.split]
        print(json.dumps(evaluate(run.model, run.dataset, names, mx.cpu(), run.cfg.train.eval_batch_size),
                         indent=2))

    def show_vectors():
        from zoo.data.download import data_folder
        from zoo.data.wordsets import SETS as FILES, locate
        from zoo.vectors import load_vectors
        vectors = load_vectors(args.vectors, args.format)
        root = data_folder(args.eval_root, "word-eval")
        results = {"words": len(vectors), "dim": int(vectors.vectors.shape[1])}
        for name in args.sets:
            path = locate(name, root)
            if path is None:
                continue
            score = (vectors.evaluate_word_analogies if FILES[name][3] == "analogy" else vectors.evaluate_word_pairs)
            results[name] = score(path)
        print(json.dumps(results, indent=2))
    return report_errors(show_vectors if args.vectors else show_run)


if __name__ == "__main__":
    sys.exit(main())
