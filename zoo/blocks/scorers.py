"""Scorers: two batches of vectors -> one score per row."""
import mxnet as mx
from mxnet.gluon import HybridBlock


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
        score = F.sum(a * b, axis=-1)  # (batch,)
        for bias in biases:
            score = score + F.reshape(bias, shape=(-1,))
        if offset is not None:
            score = F.broadcast_add(score, offset)
        return score
