import numpy as np
import pytest

from zoo.data import DataError, TextCorpus
from zoo.data.text import Tokenizer
from zoo.data.word2vec_format import read_word2vec, write_word2vec
from zoo.data.wordsets import read_analogies, read_similarity


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


def test_tokenizer_default_pattern():
    assert Tokenizer()("The cat's 2 HATS, don't-stop!") == ["the", "cat's", "2", "hats", "don't", "stop"]
    assert Tokenizer(r"\S+", lowercase=False)("A b") == ["A", "b"]


def test_vocab_min_count_cap_and_batches(tmp_path):
    path = write(tmp_path / "c.txt", "a a a b b c\na b a d\n\nb a\n")
    ds = TextCorpus(paths=[path], min_count=2, sample=0, window=2, negatives=3, eval_sets=())
    assert ds.vocab.idx_to_token == ["a", "b"] and ds.corpus.counts.tolist() == [6, 4]
    assert TextCorpus(paths=[path], min_count=1, max_vocab=1, eval_sets=()).vocab.idx_to_token == ["a"]
    batches = list(ds.batches("train", 4, seed=0))
    centers = np.concatenate([b[0] for b in batches])
    assert all(b[2].shape == (len(b[0]), 3) for b in batches)
    assert ds.words_seen == 10  # every in-vocabulary word, nothing subsampled
    shared = TextCorpus(paths=[path], min_count=2, sample=0, window=2, negatives=3, shared_negatives=True,
                        eval_sets=())
    assert all(b[2].shape == (3,) for b in shared.batches("train", 4, seed=0))
    assert centers.max() < 2


def test_an_epoch_has_about_the_expected_pairs_in_text_order_unless_shuffled(tmp_path):
    """num_examples (what the learning rate schedule counts on) is within 3% of an epoch's pairs, with lines
    shorter than the window cutting many short; unshuffled, the pairs come in the text's order."""
    rng = np.random.default_rng(0)
    lines = "\n".join(" ".join("w%d" % rng.zipf(1.5) for _ in range(rng.integers(2, 12))) for _ in range(3000))
    ds = TextCorpus(paths=[write(tmp_path / "c.txt", lines)], min_count=2, sample=1e-2, window=5, eval_sets=())
    pairs = [sum(len(b[0]) for b in ds.batches("train", 1000, seed=s)) for s in range(3)]
    assert abs(np.mean(pairs) - ds.num_examples("train")) < 0.03 * np.mean(pairs), (pairs, ds.num_examples("train"))
    text_order = np.concatenate([b[1] for b in ds.batches("train", 1000, shuffle=False, seed=0)])
    shuffled = np.concatenate([b[1] for b in ds.batches("train", 1000, shuffle=True, seed=0)])
    assert sorted(shuffled.tolist()) == sorted(text_order.tolist()) and not np.array_equal(shuffled, text_order)
    small = TextCorpus(paths=[write(tmp_path / "s.txt", "a b c d\ne f g\n")], min_count=1, sample=0, window=1,
                       eval_sets=())
    (center, context, _), = small.batches("train", 100, shuffle=False)
    words = small.vocab.idx_to_token
    assert " ".join(words[i] for i in context) == "a b b c c d e f f g"  # each word in turn, predicted ...
    assert " ".join(words[i] for i in center) == "b a c b d c f e g f"   # ... from its window's words in order


def test_chunks_stream_the_same_pairs_as_one_block(tmp_path):
    lines = "\n".join(" ".join("w%d" % ((i * 7 + j) % 13) for j in range(9)) for i in range(50))
    path = write(tmp_path / "c.txt", lines)
    whole = TextCorpus(paths=[path], min_count=1, sample=0, eval_sets=())
    streamed = TextCorpus(paths=[path], min_count=1, sample=0, chunk_tokens=40, cache_tokens=0, eval_sets=())
    assert len(list(streamed.corpus.chunks())) > 5
    ids = [np.concatenate([c[0] for c in ds.corpus.chunks()]) for ds in (whole, streamed)]
    assert np.array_equal(ids[0], ids[1])


def test_missing_corpus_and_empty_vocab(tmp_path):
    with pytest.raises(DataError, match="corpus file .*nope.txt not found"):
        TextCorpus(paths=[str(tmp_path / "nope.txt")], eval_sets=())
    with pytest.raises(DataError, match="min_count=5"):
        TextCorpus(paths=[write(tmp_path / "c.txt", "a b c")], eval_sets=())


def test_eval_files_and_skipped_sets(tmp_path, caplog):
    write(tmp_path / "wordsim353.tsv", "# header\n# more\nCat\tdog\t7.5\ncar\tdog\t2\n")
    write(tmp_path / "questions-words.txt", ": capital\nathens greece paris france\n: other\na b c d\n")
    assert read_similarity(str(tmp_path / "wordsim353.tsv")) == [("cat", "dog", 7.5), ("car", "dog", 2.0)]
    assert read_analogies(str(tmp_path / "questions-words.txt"))[0] == ("capital", "athens", "greece", "paris",
                                                                        "france")
    corpus = write(tmp_path / "c.txt", "cat dog car\n" * 5)
    ds = TextCorpus(paths=[corpus], eval_root=str(tmp_path), eval_download=False)
    assert ds.eval_sets() == ["wordsim353", "analogy"]
    assert "simlex999 skipped" in caplog.text


def test_word2vec_formats_round_trip(tmp_path):
    words = ["the", "caf\xe9", "x"]
    vectors = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    for binary in (False, True):
        path = str(tmp_path / ("v.bin" if binary else "v.txt"))
        write_word2vec(path, words, vectors, binary=binary)
        got_words, got = read_word2vec(path, binary=binary)
        assert got_words == words
        np.testing.assert_allclose(got, vectors, rtol=1e-5)


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_our_files(tmp_path, binary):
    gensim = pytest.importorskip("gensim")  # in the test extra; skipped only where it was left out
    words, vectors = ["the", "caf\xe9", "x"], np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    path = str(tmp_path / "v")
    write_word2vec(path, words, vectors, binary=binary)
    kv = gensim.models.KeyedVectors.load_word2vec_format(path, binary=binary)
    assert list(kv.index_to_key) == words
    np.testing.assert_allclose(kv["caf\xe9"], vectors[1], rtol=1e-5)


def test_long_lines_come_in_bounded_pieces_that_keep_words_and_sentences(tmp_path):
    import io
    from zoo.data.text import pieces
    line = " ".join("w%d" % (i % 50) for i in range(2000))
    text = line + "\nshort line\n" + line  # the last line has no newline
    got = list(pieces(io.StringIO(text), limit=64))
    assert max(len(p) for p, _ in got) <= 64 + 8                        # bounded (plus a carried word)
    assert [end for _, end in got].count(True) == 3                      # three lines end
    tok = Tokenizer(r"\S+")
    assert [t for p, _ in got for t in tok(p)] == tok(text)              # no word cut, none lost
    # the ids and sentence numbers are those of reading whole lines
    path = write(tmp_path / "c.txt", text)
    from zoo.data import text as text_module
    small = TextCorpus(paths=[path], min_count=1, sample=0, cache_tokens=0, eval_sets=())
    whole = list(small.corpus._encode())
    text_module.PIECE_CHARS, saved = 64, text_module.PIECE_CHARS
    try:
        cut = list(TextCorpus(paths=[path], min_count=1, sample=0, cache_tokens=0, eval_sets=()).corpus._encode())
    finally:
        text_module.PIECE_CHARS = saved
    assert len(whole) == len(cut) == 1
    for a, b in zip(whole, cut):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_chunked_pairs_are_the_whole_corpus_pairs(tmp_path):
    """Chunks end at line ends and windows stay inside a line, so the pairs of the chunks (full windows) are
    exactly those of the corpus read in one block."""
    from collections import Counter
    from zoo.data.skipgram import pairs_within
    lines = "\n".join(" ".join("w%d" % ((i * 7 + j) % 13) for j in range(3 + i % 6)) for i in range(80))
    path = write(tmp_path / "c.txt", lines)

    def pair_counts(**kwargs):
        ds = TextCorpus(paths=[path], min_count=1, sample=0, window=3, eval_sets=(), **kwargs)
        counts = Counter()
        for ids, sentences in ds.corpus.chunks():
            counts.update(zip(*(a.tolist() for a in pairs_within(ids, sentences, np.full(len(ids), 3)))))
        return counts
    assert pair_counts(chunk_tokens=17, cache_tokens=0) == pair_counts()


def test_paths_take_folders_globs_and_gzip(tmp_path):
    import gzip
    folder = tmp_path / "texts"
    folder.mkdir()
    write(folder / "b.txt", "b b b\n")
    with gzip.open(folder / "a.gz", "wt", encoding="utf-8") as f:
        f.write("a a a\n")
    write(folder / "notes.md", "c c c\n")                                  # neither .txt nor .gz: left out
    by_folder = TextCorpus(paths=[str(folder)], min_count=1, eval_sets=())
    assert by_folder.corpus.paths == [str(folder / "a.gz"), str(folder / "b.txt")]
    assert sorted(by_folder.vocab.idx_to_token) == ["a", "b"]
    by_glob = TextCorpus(paths=[str(folder / "*.txt")], min_count=1, eval_sets=())
    assert by_glob.vocab.idx_to_token == ["b"]
    with pytest.raises(DataError, match=r"corpus file .*\*.zip not found"):
        TextCorpus(paths=[str(folder / "*.zip")], eval_sets=())
