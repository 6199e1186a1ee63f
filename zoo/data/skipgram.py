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
    """(center, context) pairs with word2vec's dynamic window: each center word draws its own reduced window
    ``b`` uniformly from ``1..window`` and pairs with the words at distance ``1..b`` on both sides, in its
    sentence. A loop over distances (``window`` iterations), none over words.

    Returns ``(centers, contexts)``, int32 arrays of equal length.
    """
    return pairs_within(ids, sentences, rng.integers(1, window + 1, size=len(ids)))


def pairs_within(ids, sentences, reduced):
    """(center, context) pairs where word ``i`` is the center of a window of ``reduced[i]`` words each side."""
    centers, contexts = [], []
    for d in range(1, min(int(reduced.max(initial=0)), len(ids) - 1) + 1):
        same = sentences[:-d] == sentences[d:]
        right = same & (reduced[:-d] >= d)   # center i, context i + d
        left = same & (reduced[d:] >= d)     # center i + d, context i
        centers += [ids[:-d][right], ids[d:][left]]
        contexts += [ids[d:][right], ids[:-d][left]]
    if not centers:
        empty = np.zeros(0, np.int32)
        return empty, empty
    return np.concatenate(centers).astype(np.int32), np.concatenate(contexts).astype(np.int32)


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
