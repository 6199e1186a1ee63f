import numpy as np
import pytest

from zoo.data.skipgram import UnigramSampler, keep_probabilities, pairs_within, skipgram_pairs, subsample


def slow_pairs(ids, sentences, reduced):
    """word2vec.c's loops: each word i in turn is the context of the words j in its window, left to right."""
    pairs = []
    for i in range(len(ids)):
        for j in range(i - reduced[i], i + reduced[i] + 1):
            if j != i and 0 <= j < len(ids) and sentences[j] == sentences[i]:
                pairs.append((ids[j], ids[i]))
    return pairs


@pytest.mark.parametrize("seed", range(5))
def test_pairs_match_a_slow_reference(seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 20, 60).astype(np.int32)
    sentences = np.sort(rng.integers(0, 6, 60)).astype(np.int32)
    reduced = rng.integers(1, 6, 60)
    centers, contexts = pairs_within(ids, sentences, reduced)
    assert list(zip(centers.tolist(), contexts.tolist())) == slow_pairs(ids, sentences, reduced)  # in order


def test_full_window_pair_count_and_no_sentence_crossing():
    ids = np.arange(10, dtype=np.int32)
    sentences = np.array([0] * 4 + [1] * 6, dtype=np.int32)
    centers, contexts = pairs_within(ids, sentences, np.full(10, 2))
    # sentence of 4 words, window 2: 2+3+3+2 = 10 pairs; of 6 words: 2+3+4+4+3+2 = 18
    assert len(centers) == 28
    assert ((centers < 4) == (contexts < 4)).all()


def test_dynamic_window_is_uniform():
    rng = np.random.default_rng(0)
    n = 200_000
    ids = np.arange(n, dtype=np.int32)
    centers, contexts = skipgram_pairs(ids, np.zeros(n, np.int32), 5, rng)
    # with reduced windows uniform on 1..5, a pair at distance d exists with probability (6 - d) / 5
    distance = np.abs(centers.astype(np.int64) - contexts)
    for d in range(1, 6):
        share = (distance == d).sum() / (2 * n)
        assert abs(share - (6 - d) / 5) < 0.01, (d, share)
    assert distance.max() == 5


def test_keep_probabilities_formula_and_rates():
    counts = np.array([1000, 100, 10, 1])
    keep = keep_probabilities(counts, 1e-2)
    t = 1e-2 * counts.sum()
    assert np.isclose(keep[0], (np.sqrt(1000 / t) + 1) * t / 1000)
    assert keep[-1] == 1.0 and np.all(np.diff(keep) >= 0)
    assert np.all(keep_probabilities(counts, 0) == 1)
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(4, dtype=np.int32), 100_000)
    kept, _ = subsample(ids, np.zeros_like(ids), keep, rng)
    rates = np.bincount(kept, minlength=4) / 100_000
    np.testing.assert_allclose(rates, keep, atol=0.01)


@pytest.mark.parametrize("cpp", [True, False], ids=["cpp", "numpy"])
def test_negatives_follow_unigram_to_the_three_quarters(cpp, monkeypatch):
    from zoo import ops
    if not cpp:
        monkeypatch.setattr(ops, "load", lambda: False)
    counts = np.array([1000, 300, 50, 5, 1])
    sampler = UnigramSampler(counts)
    draws = sampler((400_000,), np.random.default_rng(0))
    assert draws.dtype == np.int32
    expected = counts ** 0.75 / (counts ** 0.75).sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / len(draws), expected, atol=0.005)
    small = sampler((3, 4), np.random.default_rng(1))
    assert small.shape == (3, 4) and small.dtype == np.int32
    np.testing.assert_array_equal(small, sampler((3, 4), np.random.default_rng(1)))  # a seed repeats


def test_expected_pairs_is_the_mean_over_random_windows():
    from zoo.data.skipgram import expected_pairs
    rng = np.random.default_rng(1)
    sentences = np.repeat(np.arange(40), rng.integers(1, 15, 40)).astype(np.int32)  # lines of 1 to 14 words
    ids = np.zeros(len(sentences), np.int32)
    counts = [len(skipgram_pairs(ids, sentences, 5, rng)[0]) for _ in range(2000)]
    assert abs(np.mean(counts) - expected_pairs(sentences, 5)) < 0.01 * np.mean(counts)
    assert expected_pairs(np.zeros(0, np.int32), 5) == 0.0


def test_a_pair_never_has_its_context_word_as_a_negative():
    from zoo.data.skipgram import different_negatives
    rng = np.random.default_rng(2)
    sampler = UnigramSampler(np.array([1000, 10, 10]))  # word 0 is drawn most of the time
    contexts = np.zeros(500, np.int32)
    negatives = different_negatives(sampler((500, 5), rng), contexts, sampler, rng)
    assert (negatives != 0).all() and set(np.unique(negatives)) == {1, 2}
    contexts = rng.integers(0, 3, 500).astype(np.int32)
    negatives = different_negatives(sampler((500, 5), rng), contexts, sampler, rng)
    assert (negatives != contexts[:, None]).all()
