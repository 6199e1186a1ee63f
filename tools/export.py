"""Export a trained run.

    python tools/export.py RUN_DIR --format onnx [--out FOLDER]       # needs the export extra
    python tools/export.py RUN_DIR --format mxnet [--out FOLDER]      # symbol JSON + params
    python tools/export.py RUN_DIR --format word2vec [--binary] [--out FILE]

``onnx`` writes ``FOLDER/model.onnx`` (default ``RUN_DIR/export-onnx``): the forward pass with named inputs
(``users``, ``items``: row numbers as float32) and output ``scores`` (ratings clipped to the data's range);
``mxnet`` writes ``FOLDER/model-symbol.json`` and ``model-0000.params`` (``gluon.SymbolBlock.imports``). Both
write ``FOLDER/ids.json``, the raw ids (or words) in row order. ``word2vec`` writes a skip-gram run's input
vectors in the word2vec C tool's text (or ``--binary``) format, which gensim's ``load_word2vec_format`` reads.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--format", required=True, choices=["mxnet", "onnx", "word2vec"])
    parser.add_argument("--binary", action="store_true", help="word2vec binary instead of text")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"])
    parser.add_argument("--out", help="output folder (word2vec: file; default: RUN_DIR/export-FORMAT, vectors.txt)")
    args = parser.parse_args(argv)
    # imported after the arguments are parsed, so that --help answers without loading MXNet
    from zoo.api import load_run
    from zoo.cli import freeze_imports, report_errors
    from zoo.data.word2vec_format import write_word2vec
    freeze_imports(argv)

    def export():
        if args.out and not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
            raise ValueError("--out %s: the folder %s does not exist; create it first" % (
                args.out, os.path.dirname(os.path.abspath(args.out))))
        run = load_run(args.run_dir, args.checkpoint)
        if args.format == "word2vec":
            out = args.out or os.path.join(args.run_dir, "vectors.bin" if args.binary else "vectors.txt")
            write_word2vec(out, run.vocab, run.word_vectors(), binary=args.binary)
            print(out)
            return
        folder = args.out or os.path.join(args.run_dir, "export-" + args.format)
        files = run.export_mxnet(folder) if args.format == "mxnet" else run.export_onnx(folder)
        print("\n".join("%s: %s" % item for item in files.items()))
    return report_errors(export, hint="install the export extra: pip install -e '.[cpu,export]'")


if __name__ == "__main__":
    sys.exit(main())
