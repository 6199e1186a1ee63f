"""Fast parsing of numeric delimited files into numpy columns, with exact file:line errors.

The fast path hands the whole file to numpy's C parser; only when the value count does not add up does a slow
pass look for the first bad line, so well-formed files never pay for per-line Python.
"""
import gzip
import warnings

import numpy as np

from .download import DataError


EXACT = 2 ** 53  # float64 holds every integer below this, and not all above


def read_columns(path, sep, ncols, header=False, skip_bad_lines=False, checks=None, int_cols=None):
    """Read a file of ``ncols`` numeric fields per line (separator ``sep``) into a float64 ``(n, ncols)`` array.

    ``checks`` maps a column index to ``(predicate, description)``: a row whose value fails the predicate is bad.
    A bad line raises :class:`DataError` naming ``path:line``, or with ``skip_bad_lines`` is dropped and counted.
    Returns ``(array, n_skipped)``; with ``int_cols`` (column indices, e.g. ids), ``(array, n_skipped, ints)``
    where ``ints`` holds those columns as exact int64 (a value that is not a whole number fitting 64 bits is a
    bad line), also above 2^53, where float64 would merge neighbouring ids.
    """
    raw = read_bytes(path)
    first = 0
    if header and not _numeric_line(raw[:raw.find(b"\n") if b"\n" in raw else len(raw)], sep, ncols):
        first = raw.find(b"\n") + 1 if b"\n" in raw else len(raw)
    body = raw[first:].replace(b"\r", b"")
    if sep != ",":
        body = body.replace(sep.encode(), b",")
    if body and not body.endswith(b"\n"):
        body += b"\n"
    chars = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(chars == ord("\n"))
    commas_per_line = np.diff(np.searchsorted(np.flatnonzero(chars == ord(",")), ends), prepend=0)
    values = None
    if (commas_per_line == ncols - 1).all():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns (and stops) at the first token it cannot read
            try:
                values = np.fromstring(body.replace(b"\n", b",").decode("ascii"), dtype=np.float64, sep=",")
            except (UnicodeDecodeError, ValueError):
                values = None
    lines = len(ends)
    # Every line has ncols - 1 separators, so a full count means every field was a number.
    if values is not None and values.size == lines * ncols and lines:
        table = values.reshape(lines, ncols)
        bad = _failed_rows(table, checks)
        if int_cols is not None:
            ints = table[:, list(int_cols)]
            bad |= (np.abs(ints) >= EXACT).any(axis=1) | (ints != np.round(ints)).any(axis=1)
        if not bad.any():
            return (table, 0) if int_cols is None else (table, 0, ints.astype(np.int64))
    return _slow(path, raw, first, sep, ncols, header, skip_bad_lines, checks, int_cols)


GZIP_MAGIC = b"\x1f\x8b"


def open_file(path, text=False):
    """``path`` opened for reading, through gzip when its bytes are gzip's (whatever the name says); ``text``:
    as UTF-8 text with undecodable bytes replaced, else binary."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    kwargs = {"encoding": "utf-8", "errors": "replace"} if text else {}
    if gzipped:
        return gzip.open(path, "rt" if text else "rb", **kwargs)
    return open(path, "r" if text else "rb", **kwargs)


def read_bytes(path):
    """The bytes of ``path``, decompressed when they are gzip's (whatever the file's name says)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as err:
        raise DataError("cannot read %s: %s" % (path, getattr(err, "strerror", None) or err)) from None
    return raw


def _numeric_line(line, sep, ncols):
    """Whether ``line`` is a data line (``ncols`` numbers) rather than a header: a file whose header line is
    missing keeps its first row."""
    try:
        fields = line.decode("ascii").strip().split(sep)
        return len(fields) == ncols and all(np.isfinite(float(x)) for x in fields)
    except (UnicodeDecodeError, ValueError):
        return False


def _failed_rows(table, checks):
    bad = ~np.isfinite(table).all(axis=1)
    for col, (ok, _) in (checks or {}).items():
        bad |= ~ok(table[:, col])
    return bad


def _slow(path, raw, first, sep, ncols, header, skip_bad_lines, checks, int_cols=None):
    rows, ints, skipped = [], [], 0
    for lineno, line in enumerate(raw[first:].split(b"\n"), start=2 if first else 1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        problem, row = _parse_line(line, sep, ncols, checks)
        exact = None
        if not problem and int_cols is not None:
            problem, exact = _exact_ints(line.decode("ascii").split(sep), int_cols)
        if problem:
            if not skip_bad_lines:
                raise DataError("%s:%d: %s (line: %r); fix the line or set data.skip_bad_lines: true" % (
                    path, lineno, problem, line[:80].decode("utf-8", "replace")))
            skipped += 1
            continue
        rows.append(row)
        ints.append(exact)
    if not rows:
        raise DataError("%s has no usable lines" % path)
    table = np.asarray(rows, dtype=np.float64)
    return (table, skipped) if int_cols is None else (table, skipped, np.asarray(ints, dtype=np.int64))


def _exact_ints(fields, cols):
    """``(problem, values)``: the fields ``cols`` as exact Python ints, or why one is not a 64-bit whole number."""
    values = []
    for col in cols:
        text = fields[col].strip()
        try:
            value = int(text)
        except ValueError:
            number = float(text)
            if number != round(number) or abs(number) >= EXACT:
                return "field %d (%s) is not an exact whole number" % (col + 1, text), None
            value = int(number)
        if not -2 ** 63 <= value < 2 ** 63:
            return "field %d (%s) does not fit a 64-bit integer" % (col + 1, text), None
        values.append(value)
    return None, values


def _parse_line(line, sep, ncols, checks):
    try:
        fields = line.decode("ascii").split(sep)
    except UnicodeDecodeError:
        return "bytes that are not ASCII text", None
    if len(fields) != ncols:
        return "expected %d fields separated by %r, found %d" % (ncols, sep, len(fields)), None
    try:
        row = [float(x) for x in fields]
    except ValueError:
        return "a field is not a number", None
    if not np.isfinite(row).all():
        return "a field is not a finite number", None
    for col, (ok, description) in (checks or {}).items():
        if not ok(np.asarray([row[col]]))[0]:
            return "field %d (%s) is %s" % (col + 1, fields[col], description), None
    return None, row
