"""The word2vec C tool's vector formats, which gensim's ``KeyedVectors.load_word2vec_format`` reads.

Text: a ``"count dim"`` line, then ``word v1 v2 ...`` a line. Binary: the same header, then for each word its
UTF-8 bytes, a space, ``dim`` little-endian float32 values and a newline.
"""
import numpy as np

from .download import DataError


def write_word2vec(path, words, vectors, binary=False):
    vectors = np.asarray(vectors, dtype=np.float32)
    with open(path, "wb") as f:
        f.write(("%d %d\n" % vectors.shape).encode())
        for word, vec in zip(words, vectors):
            if binary:
                f.write(word.encode("utf-8") + b" " + vec.astype("<f4").tobytes() + b"\n")
            else:
                f.write((word + " " + " ".join("%.6g" % x for x in vec) + "\n").encode("utf-8"))


def read_word2vec(path, binary=False):
    """``(words, vectors)`` from a word2vec file."""
    with open(path, "rb") as f:
        try:
            count, dim = (int(x) for x in f.readline().split())
        except ValueError:
            raise DataError("%s:1: expected the header 'count dim'" % path) from None
        words, vectors = [], np.zeros((count, dim), dtype=np.float32)
        for i in range(count):
            if binary:
                word = b""
                while True:
                    ch = f.read(1)
                    if ch == b" " or not ch:
                        break
                    if ch != b"\n":
                        word += ch
                raw = f.read(4 * dim)
                if len(raw) != 4 * dim:
                    raise DataError("%s: truncated at word %d of %d" % (path, i + 1, count))
                vectors[i] = np.frombuffer(raw, dtype="<f4")
                words.append(word.decode("utf-8"))
            else:
                fields = f.readline().decode("utf-8").rstrip("\n").split(" ")
                if len(fields) != dim + 1:
                    raise DataError("%s:%d: expected a word and %d numbers" % (path, i + 2, dim))
                words.append(fields[0])
                vectors[i] = [float(x) for x in fields[1:]]
    return words, vectors
