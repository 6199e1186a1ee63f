"""The word2vec recipe on arrays of word ids, vectorized: subsampling, dynamic windows, negative sampling.

A chunk of corpus is ``ids`` (int32, the words in order) and ``sentences`` (the sentence number of each word);
windows never cross a sentence boundary.
"""
import numpy as np


def keep_probabilities(counts, sample):
    """Mikolov's subsampling, as the C tool and gensim compute it: a word with count ``c`` out of ``T`` is kept
    with probability ``(sqrt(c / (sample * T)) + 1) * (sample * T) / c`` (at most 1). ``sample <= 0`` keeps all."""
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    return np.minimum((np.sqrt(counts / threshold) + 1) * threshold / counts, 1.0)


def subsample(ids, sentences, keep_prob, rng):
    """Drop each word with probability ``1 - keep_prob[word]``; returns the kept ``(ids, sentences)``."""
    kept = rng.random(len(ids)) < keep_prob[ids]
    return ids[kept], sentences[kept]


def skipgram_pairs(ids, sentences, window, rng):
    """(center, context) pairs with word2vec's dynamic window: each word draws its own reduced window ``b``
    uniformly from ``1..window``, and each word at distance ``1..b`` on either side, in its sentence, is paired
    with it. See :func:`pairs_within` for the order.

    Returns ``(centers, contexts)``, int32 arrays of equal length.
    """
    return pairs_within(ids, sentences, rng.integers(1, window + 1, size=len(ids)))


def pairs_within(ids, sentences, reduced):
    """The pairs of word ``i`` with each word ``j`` within ``reduced[i]`` words of it in its sentence (sentence
    numbers: equal ones adjacent), in word2vec.c's and gensim's order and roles: the words of the text in turn,
    and for word ``i`` the pairs ``(center ids[j], context ids[i])`` for its window's words ``j`` left to right.
    The model's ``center`` is its input vector, as the window word's is in word2vec.c, where each word of the
    text is predicted from the words around it. (Trained one pair at a time, pairs in this order give better
    vectors than shuffled ones: ``tools/BENCHMARKS.md``.) A few vectorized passes over the pairs, none over words
    in Python.

    Returns ``(centers, contexts)``, int32 arrays of equal length."""
    n = len(ids)
    new_sentence = np.ones(n, bool)
    new_sentence[1:] = sentences[1:] != sentences[:-1]
    starts = np.flatnonzero(new_sentence)
    which = np.cumsum(new_sentence) - 1                  # each word's sentence, numbered from 0
    first, last = starts[which], np.append(starts[1:], n)[which] - 1
    position = np.arange(n)
    left = np.maximum(position - reduced, first)
    count = np.maximum(np.minimum(position + reduced, last) - left, 0)  # the window's words, i excluded
    begin = np.cumsum(count) - count
    at = np.repeat(left - begin, count) + np.arange(int(count.sum()))  # left[i] + k for word i's k-th pair
    at += at >= np.repeat(position, count)                               # skipping word i itself
    return ids[at].astype(np.int32), np.repeat(ids, count).astype(np.int32)


def expected_pairs(sentences, window):
    """The expected number of pairs :func:`skipgram_pairs` makes of words with these sentence numbers (equal ones
    adjacent), over its random windows: a word at distance ``d`` from a center word in its sentence is paired
    with it when the center's window reaches it, with probability ``(window - d + 1) / window``."""
    if not len(sentences):
        return 0.0
    starts = np.flatnonzero(np.diff(sentences)) + 1
    lengths = np.diff(np.concatenate([[0], starts, [len(sentences)]]))
    d = np.arange(1, window + 1)
    reach = (window - d + 1) / window
    return float(2 * (reach * np.maximum(lengths[:, None] - d, 0)).sum())


def different_negatives(negatives, contexts, sampler, rng):
    """``negatives`` ``(batch, K)`` with every entry equal to its pair's context word drawn again until none is:
    word2vec never takes a pair's own context word as its negative (word2vec.c and gensim skip it)."""
    same = negatives == contexts[:, None]
    while same.any():
        negatives[same] = sampler((int(same.sum()),), rng)
        same = negatives == contexts[:, None]
    return negatives


class UnigramSampler:
    """Draws word ids with probability proportional to ``count ** power`` (word2vec: 0.75).

    Walker's alias method: one uniform id and one uniform number a draw, exact, with no search (a binary search of
    the cumulative distribution took a third of a skip-gram epoch on 2 cores)."""

    def __init__(self, counts, power=0.75):
        weights = np.asarray(counts, dtype=np.float64) ** power
        self.probabilities = weights / weights.sum()
        n = len(weights)
        scaled = self.probabilities * n          # mean 1: each id gets a column of height 1
        self._keep = np.ones(n)                  # chance a draw landing on column i stays i
        self._alias = np.arange(n, dtype=np.int32)  # else it becomes _alias[i]
        small, large = [i for i in range(n) if scaled[i] < 1], [i for i in range(n) if scaled[i] >= 1]
        while small and large:  # fill each short column with the excess of a tall one
            s, g = small.pop(), large[-1]
            self._keep[s], self._alias[s] = scaled[s], g
            scaled[g] -= 1 - scaled[s]
            if scaled[g] < 1:
                small.append(large.pop())
        # Columns left in either list are full (height 1 up to rounding).

    def __call__(self, shape, rng):
        from ..ops.arrays import alias_sample  # imports mxnet, which the data modules otherwise do without
        return alias_sample(self._keep, self._alias, shape, rng)
