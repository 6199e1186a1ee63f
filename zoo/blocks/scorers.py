"""Scorers: two batches of vectors -> one score per row."""
import mxnet as mx
from mxnet.gluon import HybridBlock

from .rowsum import row_sum
from .towers import l2_normalize


class DotScorer(HybridBlock):
    """Dot product, plus optional per-id biases and a learned global offset.

    ``score[n] = sum_d a[n, d] * b[n, d] + sum_k biases_k[n] + offset``

    The bias rows are inputs (looked up by the model, e.g. with a width-1 :class:`EmbeddingTower`), so the model
    can put exactly the rows a batch used into its penalty.

    Parameters
    ----------
    offset : float or None
        Initial value of the global offset (e.g. the mean rating); None for no offset.

    Inputs: ``a`` and ``b`` of shape ``(batch, dim)``, then any number of biases of shape ``(batch, 1)``.
    Output: ``(batch,)``.
    """

    def __init__(self, offset=None, **kwargs):
        super().__init__(**kwargs)
        if offset is not None:
            with self.name_scope():
                self.offset = self.params.get("offset", shape=(1,), init=mx.init.Constant(offset))

    def hybrid_forward(self, F, a, b, *biases, offset=None):
        score = row_sum(F, a * b)  # (batch,)
        for bias in biases:
            score = score + F.reshape(bias, shape=(-1,))
        if offset is not None:
            score = F.broadcast_add(score, offset)
        return score


class AllPairsScorer(HybridBlock):
    """Dot products of every row of ``a`` with every row of ``b``, e.g. a batch's anchor images against all of
    its images (the in-batch pairs of metric-learning losses); with unit vectors, their cosines.

    Inputs: ``a`` ``(m, dim)`` and ``b`` ``(n, dim)``. Output: ``(m, n)``.
    """

    def hybrid_forward(self, F, a, b):
        return F.dot(a, b, transpose_b=True)


class CandidateScorer(HybridBlock):
    """Dot products of each query with each of ``K`` candidates, as one ``FullyConnected`` (the candidate matrix
    is the weight), which runs through oneDNN on CPUs and is several times faster than ``batch_dot``.

    Parameters
    ----------
    num_candidates : int
        ``K``; fixed, since the graph is static.

    Inputs: ``queries`` of shape ``(batch, dim)``, ``candidates`` of shape ``(K, dim)`` and optionally ``bias``
    ``(K,)``, a term per candidate added inside the same operator (its gradient too: a separate broadcast add
    costs more than the product on CPUs). Output: ``(batch, K)``.
    """

    def __init__(self, num_candidates, **kwargs):
        super().__init__(**kwargs)
        self.num_candidates = num_candidates

    def hybrid_forward(self, F, queries, candidates, *bias):
        return F.FullyConnected(queries, candidates, *bias, num_hidden=self.num_candidates, no_bias=not bias,
                                flatten=False)


class PairwiseCandidateScorer(HybridBlock):
    """Dot products of each query with its own ``K`` candidates.

    Inputs: ``queries`` of shape ``(batch, dim)`` and ``candidates`` of shape ``(batch, K, dim)``.
    Output: ``(batch, K)``.
    """

    def hybrid_forward(self, F, queries, candidates):
        scores = F.batch_dot(candidates, F.expand_dims(queries, axis=2))  # (batch, K, 1)
        return F.reshape(scores, shape=(0, -1))


class ProxyScorer(HybridBlock):
    """Scores each example against one learned proxy per class by the dot product, the proxies scaled to unit
    length: with unit-length embeddings (``ConvTower(normalize=True)``) the scores are cosines, as NormSoftmax,
    CosFace and ProxyAnchor score them.

    Parameters
    ----------
    num_classes, dim : int
        The proxy table's shape.

    Input: ``x`` ``(batch, dim)``. Output: ``(batch, num_classes)``.
    """

    def __init__(self, num_classes, dim, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.proxies = self.params.get("proxies", shape=(num_classes, dim), init=mx.init.Normal(1.0))

    def hybrid_forward(self, F, x, proxies):
        return F.dot(x, l2_normalize(F, proxies), transpose_b=True)             # (batch, num_classes)
