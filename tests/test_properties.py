"""Property-based tests: no input makes the parsers fail with anything but our own error types."""
import os
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from zoo.config import ConfigError, apply_override, from_raw
from zoo.data import DataError
from zoo.data.idx import read_idx
from zoo.data.parse import read_columns
from zoo.data.wordsets import read_analogies, read_similarity

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)
keys = st.sampled_from(["name", "dim", "epochs", "lr", "root", "paths", "hidden", "x", "variant", "sets"])
sections = st.dictionaries(keys, values, max_size=4)
raw_configs = st.dictionaries(st.sampled_from(["model", "data", "train", "optim", "eval", "other"]),
                              st.one_of(sections, values), max_size=5)


@settings(max_examples=300, deadline=None)
@given(raw_configs)
def test_config_parser_raises_only_config_errors(raw):
    try:
        from_raw(raw)
    except ConfigError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_override_parser_raises_only_config_errors(item):
    try:
        apply_override({"train": {}}, item)
    except ConfigError:
        pass


def with_file(data, read):
    fd, path = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return read(path)
    finally:
        os.remove(path)


rating_like = st.lists(st.one_of(st.sampled_from([b"1", b"2.5", b",", b"::", b"\t", b"\n", b"\r", b"-", b"e",
                                                  b"nan", b"9" * 30, b" ", b"\xff"]),
                                 st.binary(max_size=4)), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(rating_like, st.sampled_from([",", "::", "\t"]), st.booleans(), st.booleans())
def test_rating_parser_raises_only_data_errors(data, sep, header, skip):
    try:
        with_file(data, lambda p: read_columns(p, sep, 4, header=header, skip_bad_lines=skip))
    except DataError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=64), st.binary(max_size=16).map(lambda b: b"\x00\x00\x08\x01" + b)))
def test_idx_reader_raises_only_data_errors(data):
    try:
        with_file(data, read_idx)
    except DataError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([b"#", b"\t", b"\n", b":", b" ", b"a", b"1.5", b"\xe9"]),
                          st.binary(max_size=3)), max_size=30).map(b"".join))
def test_word_set_readers_raise_only_data_errors(data):
    for read in (read_similarity, read_analogies):
        try:
            with_file(data, read)
        except DataError:
            pass
