"""Parsed data files kept in the cache, so that a large file is parsed once, not by every run, seed, fold or
search trial: the columns go to ``$ZOO_CACHE/parsed`` in a file named by a hash of the file's content and of how
it was read. Content, not path and time: a copy of the file finds the entry, and a changed file never reads a
stale one. Files below ``MIN_BYTES`` parse faster than they hash and are not kept.

An entry is a JSON list of the columns' dtypes and shapes, then their bytes, each column starting on a multiple
of 64 bytes: read back with one read and no copy (an ``.npz`` had cost a zip directory and a header parsed with
the tokenizer for every column)."""
import hashlib
import json
import logging
import os

import numpy as np

from ..paths import atomic_write, cache_dir

log = logging.getLogger(__name__)

MIN_BYTES = 1 << 20
VERSION = b"2"  # bump when a parser's output changes for the same file, or the entries' layout


def cached(path, how, parse):
    """``parse()``'s tuple of numpy arrays (and ints) for the file ``path``, from the cache when ``path``'s content
    was parsed the same way (``how``, a string) before; else parsed and stored. A cache that cannot be read or
    written is passed over (logged), never an error."""
    if os.path.getsize(path) < MIN_BYTES:
        return parse()
    digest = hashlib.sha1(VERSION + how.encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            digest.update(chunk)
    entry = os.path.join(cache_dir("parsed"), digest.hexdigest() + ".columns")
    try:
        return read_columns(entry)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not there yet, or unreadable: parse
    columns = parse()
    try:
        atomic_write(entry, lambda f: write_columns(f, columns))
    except OSError as err:
        log.info("parsed %s; not kept in the cache (%s)", path, err)
    return columns


ALIGN = 64


def _padded(n):
    return -(-n // ALIGN) * ALIGN


def write_columns(f, columns):
    """Write ``columns`` (arrays, or numbers kept as 0-d arrays) to the binary file ``f`` as an entry."""
    arrays = [np.array(c, order="C", copy=False) for c in columns]  # (ascontiguousarray makes 0-d arrays 1-d)
    header = json.dumps([[a.dtype.str, list(a.shape)] for a in arrays]).encode()
    f.write(len(header).to_bytes(8, "little") + header + b"\0" * (_padded(8 + len(header)) - 8 - len(header)))
    for a in arrays:
        f.write(a.tobytes())
        f.write(b"\0" * (_padded(a.nbytes) - a.nbytes))


def read_columns(path):
    """The columns :func:`write_columns` wrote to ``path``, as arrays that share one buffer; ValueError for an
    entry cut short or of another layout."""
    size = os.path.getsize(path)
    data = np.empty(size, dtype=np.uint8)  # numpy aligns an allocation for any dtype: so every column is
    with open(path, "rb") as f:
        if f.readinto(memoryview(data)) != size:
            raise ValueError("%s: read short" % path)
    length = int.from_bytes(data[:8].tobytes(), "little")
    specs = json.loads(data[8:8 + length].tobytes())
    offset, columns = _padded(8 + length), []
    for dtype, shape in specs:
        dtype = np.dtype(dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if offset + count * dtype.itemsize > size:
            raise ValueError("%s: cut short" % path)
        columns.append(data[offset:offset + count * dtype.itemsize].view(dtype).reshape(tuple(shape)))
        offset += _padded(count * dtype.itemsize)
    return tuple(columns)
