"""Parsed data files kept in the cache, so that a large file is parsed once, not by every run, seed, fold or
search trial: the columns go to ``$ZOO_CACHE/parsed`` as an ``.npz`` named by a hash of the file's content and of
how it was read. Content, not path and time: a copy of the file finds the entry, and a changed file never reads a
stale one. Files below ``MIN_BYTES`` parse faster than they hash and are not kept."""
import hashlib
import logging
import os

import numpy as np

from ..paths import atomic_write, cache_dir

log = logging.getLogger(__name__)

MIN_BYTES = 1 << 20
VERSION = b"1"  # bump when a parser's output changes for the same file


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
    entry = os.path.join(cache_dir("parsed"), digest.hexdigest() + ".npz")
    try:
        with np.load(entry, allow_pickle=False) as stored:
            return tuple(stored["%d" % k] for k in range(len(stored.files)))
    except (OSError, ValueError, KeyError):
        pass  # not there yet, or unreadable: parse
    columns = parse()
    try:
        atomic_write(entry, lambda f: np.savez(f, **{"%d" % k: np.asarray(c) for k, c in enumerate(columns)}))
    except OSError as err:
        log.info("parsed %s; not kept in the cache (%s)", path, err)
    return columns
