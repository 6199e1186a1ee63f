"""Word-vector files (each format, malformed lines named by file:line) and the KeyedVectors-like API, against
brute force and against gensim on the same vectors."""
import gzip
import os

import numpy as np
import pytest

from zoo.data.download import DataError
from zoo.data.word2vec_format import detect_format, read_vectors, write_word2vec
from zoo.vectors import Vectors

WORDS = ["king", "queen", "man", "woman", "apple", "pear", "car", "bus", "Paris", "paris"]


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    return Vectors(WORDS, rng.normal(size=(len(WORDS), 6)).astype(np.float32))


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return str(path)


@pytest.mark.parametrize("kind", ["word2vec", "word2vec-binary", "glove", "vec", "gzip"])
def test_each_format_reads_back_and_is_detected(tmp_path, vectors, kind):
    path = str(tmp_path / ("v." + kind))
    if kind == "glove":
        write(path, "".join("%s %s\n" % (w, " ".join("%.6g" % x for x in v))
                            for w, v in zip(WORDS, vectors.vectors)))
    else:
        write_word2vec(path, WORDS, vectors.vectors, binary=kind == "word2vec-binary")
    if kind == "gzip":
        with open(path, "rb") as f, gzip.open(path + ".gz", "wb") as g:
            g.write(f.read())
        path += ".gz"
    want = {"vec": "word2vec", "gzip": "word2vec"}.get(kind, kind)
    assert detect_format(path) == want
    words, got = read_vectors(path)
    assert words == WORDS
    np.testing.assert_allclose(got, vectors.vectors, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(read_vectors(path, want)[1], got)


def test_a_glove_word_may_hold_spaces(tmp_path):
    words, got = read_vectors(write(tmp_path / "g.txt", "paris 3 4\nnew york 1 2\n"))  # (the first line sets dim)
    assert words == ["paris", "new york"] and got.tolist() == [[3, 4], [1, 2]]


@pytest.mark.parametrize("text, where", [
    ("2 3\nking 1 2 3\nqueen 1 2\n", ":3: expected a word and 3 numbers"),
    ("2 3\nking 1 x 3\nqueen 1 2 3\n", ":2: expected 3 numbers"),
    ("3 3\nking 1 2 3\nqueen 1 2 3\n", "the header promises 3 words, the file has 2"),
    ("king 1 2 3\nqueen 1 2\n", ":2: expected a word and 3 numbers"),
    ("2 three\nking 1 2 3\n", ""),
])
def test_malformed_text_names_the_file_and_line(tmp_path, text, where):
    path = write(tmp_path / "bad.txt", text)
    if not where:  # not a header: read as GloVe, whose first line has 2 fields: a word and one number
        with pytest.raises(DataError, match=":1: expected 1 numbers after the word"):
            read_vectors(path)
        return
    with pytest.raises(DataError, match=where):
        read_vectors(path)
    assert path in str(pytest.raises(DataError, read_vectors, path).value)


def test_truncated_binary_and_bad_bytes(tmp_path):
    path = str(tmp_path / "v.bin")
    write_word2vec(path, ["king", "queen"], np.ones((2, 3)), binary=True)
    with open(path, "rb") as f:
        data = f.read()
    write(path, data[:-6], "wb")
    with pytest.raises(DataError, match="truncated at word 2 of 2"):
        read_vectors(path)
    bad = write(tmp_path / "latin.txt", b"1 2\ncaf\xe9 1 2\n", "wb")
    with pytest.raises(DataError, match="latin.txt:2: not UTF-8"):
        read_vectors(bad, "word2vec")


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_queries_against_brute_force(vectors):
    v = {w: vectors.vectors[i] for i, w in enumerate(WORDS)}
    assert np.isclose(vectors.similarity("king", "queen"), unit(v["king"]) @ unit(v["queen"]))
    query = unit((unit(v["king"]) + unit(v["woman"]) - unit(v["man"])) / 3)
    want = sorted((w for w in WORDS if w not in ("king", "woman", "man")), key=lambda w: -(unit(v[w]) @ query))
    got = vectors.most_similar(positive=["king", "woman"], negative=["man"], topn=4)
    assert [w for w, _ in got] == want[:4]
    assert np.isclose(got[0][1], unit(v[want[0]]) @ query)
    group = ["apple", "pear", "car", "bus"]
    mean = unit(np.mean([unit(v[w]) for w in group], axis=0))
    assert vectors.doesnt_match(group) == min(group, key=lambda w: unit(v[w]) @ mean)
    with pytest.raises(KeyError, match="unknown word 'emperor'"):
        vectors.similarity("king", "emperor")


def test_evaluations_against_gensim(tmp_path, vectors):
    from gensim.models import KeyedVectors
    kv = KeyedVectors(vector_size=6)
    kv.add_vectors(WORDS, vectors.vectors)
    pairs = write(tmp_path / "pairs.tsv", "# comment\nking\tqueen\t9\nman\twoman\t8.5\napple\tcar\t1\n"
                  "pear\tbus\t2\nking\temperor\t7\nparis\tking\t3\nPARIS\tapple\t4\n")
    questions = write(tmp_path / "q.txt", ": royal\nman king woman queen\nking queen man woman\n"
                      ": fruit\napple pear car bus\nbus car pear apple\nman emperor woman queen\n")
    mine, theirs = vectors.evaluate_word_pairs(pairs), kv.evaluate_word_pairs(pairs)
    assert np.isclose(mine["spearman"], theirs[1][0]) and np.isclose(mine["pearson"], theirs[0][0])
    assert np.isclose(1 - mine["covered"], theirs[2] / 100)
    mine, theirs = vectors.evaluate_word_analogies(questions), kv.evaluate_word_analogies(questions)
    assert np.isclose(mine["accuracy"], theirs[0]) and mine["n"] == 4
    sections = {s["section"]: (len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in theirs[1]}
    assert [(s["section"], s["correct"], s["n"]) for s in mine["sections"]] == [
        (name, *sections[name]) for name in ("royal", "fruit")]
    for word, k in (("king", 3), ("pear", 5)):
        assert [w for w, _ in vectors.most_similar(word, topn=k)] == [w for w, _ in kv.most_similar(word, topn=k)]
    assert vectors.doesnt_match(["apple", "pear", "car", "bus"]) == kv.doesnt_match(["apple", "pear", "car", "bus"])
