"""Pair miners for in-batch metric learning: which of a batch's pairs a loss looks at.

A batch's pairs are given as a similarity matrix ``sim`` ``(anchors, n)`` (each anchor image against every image
of the batch, e.g. from :class:`~zoo.blocks.AllPairsScorer`) and a relation matrix of the same shape: 1 where the
two images are positives (the same class; a weight in (0, 1] where a loss weighs its positives), 0 where they
are negatives, -1 where the pair is to be ignored (an anchor with itself). A miner returns two 0/1 masks, the
positive and the negative pairs to use; mining is a selection, so no gradient flows through it.
"""
from mxnet.gluon import HybridBlock

# Stands in for "no pair" in masked maxima and minima: beyond any cosine and any scaled score.
_FAR = 1e4


def relation_masks(F, relations):
    """``(positives, negatives)``: 0/1 float32 masks ``(anchors, n)`` of a relation matrix (a positive pair may
    carry a weight in (0, 1] instead of 1)."""
    zeros = F.zeros_like(relations)
    return F.broadcast_greater(relations, zeros), F.broadcast_equal(relations, zeros)


def masked_max(F, x, mask):
    """Row-wise maximum of ``x`` over the entries where ``mask`` is 1 (``-1e4`` for a row without any)."""
    return F.max(F.where(mask, x, F.ones_like(x) * -_FAR), axis=1)


def masked_min(F, x, mask):
    """Row-wise minimum of ``x`` over the entries where ``mask`` is 1 (``1e4`` for a row without any)."""
    return F.min(F.where(mask, x, F.ones_like(x) * _FAR), axis=1)


class AllPairs(HybridBlock):
    """No mining: every positive and every negative pair.

    Inputs: ``sim`` and ``relations`` ``(anchors, n)``. Output: ``(positives, negatives)`` masks ``(anchors, n)``.
    """

    def hybrid_forward(self, F, sim, relations):
        return relation_masks(F, relations)


class MultiSimilarityMiner(HybridBlock):
    """The multi-similarity miner (Wang et al., 2019; pytorch-metric-learning's ``MultiSimilarityMiner``): for
    each anchor, the negatives more similar than its least similar positive minus ``epsilon``, and the positives
    less similar than its most similar negative plus ``epsilon``, i.e. the pairs that are, or nearly are, in the
    wrong order. An anchor without negatives keeps no positives, and one without positives no negatives.

    Inputs: ``sim`` and ``relations`` ``(anchors, n)``. Output: ``(positives, negatives)`` masks ``(anchors, n)``.
    """

    def __init__(self, epsilon=0.1, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def hybrid_forward(self, F, sim, relations):
        sim = F.stop_gradient(sim)
        pos, neg = relation_masks(F, relations)
        hardest_negative = F.reshape(masked_max(F, sim, neg), shape=(-1, 1))    # (anchors, 1)
        hardest_positive = F.reshape(masked_min(F, sim, pos), shape=(-1, 1))
        keep_pos = pos * F.broadcast_lesser(sim - self.epsilon, hardest_negative)
        keep_neg = neg * F.broadcast_greater(sim + self.epsilon, hardest_positive)
        return keep_pos, keep_neg
