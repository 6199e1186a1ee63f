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
    """Draws word ids with probability proportional to ``count ** power`` (word2vec: 0.75)."""

    def __init__(self, counts, power=0.75):
        weights = np.asarray(counts, dtype=np.float64) ** power
        self.probabilities = weights / weights.sum()
        self._cdf = np.cumsum(self.probabilities)
        self._cdf[-1] = 1.0

    def __call__(self, shape, rng):
        return np.searchsorted(self._cdf, rng.random(shape), side="right").astype(np.int32)
