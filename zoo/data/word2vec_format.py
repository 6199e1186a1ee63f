"""Word-vector files: the word2vec C tool's text and binary formats (which gensim's
``KeyedVectors.load_word2vec_format`` reads and fastText's ``.vec`` files use) and GloVe's text format.

word2vec text / fastText ``.vec``: a ``"count dim"`` line, then ``word v1 v2 ...`` a line. Binary: the same
header, then for each word its UTF-8 bytes, a space, ``dim`` little-endian float32 values and (usually) a newline.
GloVe: ``word v1 v2 ...`` lines without a header. Any of them may be gzip-compressed (``.gz``).
"""
import numpy as np

from .download import DataError
from .parse import open_file

FORMATS = ("auto", "word2vec", "word2vec-binary", "glove")


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
    return read_vectors(path, "word2vec-binary" if binary else "word2vec")


def _header(line):
    """``(count, dim)`` when ``line`` is a word2vec header, else None."""
    fields = line.split()
    if len(fields) == 2 and all(x.isdigit() for x in fields):
        return int(fields[0]), int(fields[1])
    return None


def detect_format(path):
    """``word2vec``, ``word2vec-binary`` or ``glove``, from the first line (a ``count dim`` header or not) and
    whether what follows it is text."""
    with open_file(path) as f:
        first = f.readline()
        if _header(first) is None:
            return "glove"
        sample = f.read(4096)
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(sample) - 4:  # not a multi-byte character cut at the sample's end
            return "word2vec-binary"
        text = sample[:err.start].decode("utf-8")
    return "word2vec-binary" if "\x00" in text else "word2vec"


def read_vectors(path, fmt="auto"):
    """``(words, vectors)``: a list of words and float32 ``(len(words), dim)`` from a file in ``fmt`` (one of
    :data:`FORMATS`; ``auto`` detects it). A malformed line raises :class:`DataError` naming the file and line."""
    if fmt not in FORMATS:
        raise DataError("unknown vector format %r; choose one of: %s" % (fmt, ", ".join(FORMATS)))
    if fmt == "auto":
        fmt = detect_format(path)
    with open_file(path) as f:
        header = None
        if fmt != "glove":
            first = f.readline()
            header = _header(first.decode("utf-8", "replace"))
            if header is None:
                raise DataError("%s:1: expected the header 'count dim' of the %s format" % (path, fmt))
        if fmt == "word2vec-binary":
            return _read_binary(f, path, *header)
        return _read_text(f, path, header)


def _read_binary(f, path, count, dim):
    words, vectors = [], np.zeros((count, dim), dtype=np.float32)
    for i in range(count):
        word = bytearray()
        while True:
            ch = f.read(1)
            if ch == b" " or not ch:
                break
            if ch != b"\n":
                word += ch
        raw = f.read(4 * dim)
        if len(raw) != 4 * dim:
            raise DataError("%s: truncated at word %d of %d (the header promises %d)" % (path, i + 1, count, count))
        vectors[i] = np.frombuffer(raw, dtype="<f4")
        try:
            words.append(word.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError("%s: word %d is not UTF-8" % (path, i + 1)) from None
    return words, vectors


def _read_text(f, path, header):
    """Text lines ``word v1 ... v_dim`` (after the first line, which sets ``dim`` when there is no header, a word
    may hold spaces, as a few of GloVe's do: the last ``dim`` fields are the numbers)."""
    first_line = 2 if header else 1
    dim = header[1] if header else None
    words, rows = [], []
    for lineno, raw in enumerate(f, first_line):
        try:
            fields = raw.decode("utf-8").rstrip("\r\n").rstrip(" ").split(" ")
        except UnicodeDecodeError:
            raise DataError("%s:%d: not UTF-8 text" % (path, lineno)) from None
        if fields == [""]:
            continue
        if dim is None:
            dim = len(fields) - 1
            if dim < 1:
                raise DataError("%s:%d: expected a word and its numbers" % (path, lineno))
        if len(fields) < dim + 1:
            raise DataError("%s:%d: expected a word and %d numbers, got %d fields" % (path, lineno, dim, len(fields)))
        try:
            rows.append(np.array(fields[-dim:], dtype=np.float32))
        except ValueError:
            raise DataError("%s:%d: expected %d numbers after the word" % (path, lineno, dim)) from None
        words.append(" ".join(fields[:-dim]))
    if header and len(words) != header[0]:
        raise DataError("%s: the header promises %d words, the file has %d" % (path, header[0], len(words)))
    vectors = np.stack(rows) if rows else np.zeros((0, dim or 0), np.float32)
    return words, vectors
