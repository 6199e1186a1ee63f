"""Losses: each returns one value per example, shape ``(batch,)``; the loop sums them."""
from mxnet.gluon.loss import Loss

from .ops import row_sum


class SquaredLoss(Loss):
    """``(pred - label) ** 2`` (no factor 1/2, so its mean is the mean squared error).

    Inputs: ``pred`` and ``label`` of shape ``(batch,)``. Output: ``(batch,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, label):
        return F.square(pred - F.reshape_like(label, pred))


class EmbeddingPenalty(Loss):
    """L2 penalty on the embedding rows an example uses: ``strength * sum_k ||x_k[n]||^2``.

    This is how SGD matrix factorization regularises (each rating pulls on its own user and item rows), unlike
    weight decay, which shrinks every row of every table at every step, and so shrinks rare ids the most.

    Inputs: any number of arrays of shape ``(batch, dim_k)``. Output: ``(batch,)``.
    """

    def __init__(self, strength, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.strength = strength

    def hybrid_forward(self, F, *embeddings):
        total = row_sum(F, F.square(embeddings[0]))
        for x in embeddings[1:]:
            total = total + row_sum(F, F.square(x))
        return self.strength * total


class NegativeSamplingLoss(Loss):
    """Skip-gram negative sampling: ``-log sigmoid(pos) - sum_k log sigmoid(-neg_k)``.

    Written with softplus (``-log sigmoid(x) = softplus(-x)``), which stays finite for large scores.
    ``negative_weight`` scales the negatives' term: with ``K`` negatives shared by a whole batch, ``n / K`` makes
    it an unbiased estimate of the term for ``n`` negatives a pair, instead of ``K`` full-weight ones.

    Inputs: ``pos`` of shape ``(batch,)`` (score of the true pair) and ``neg`` of shape ``(batch, K)`` (scores of
    the negatives). Output: ``(batch,)``.
    """

    def __init__(self, negative_weight=1.0, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.negative_weight = negative_weight

    def hybrid_forward(self, F, pos, neg):
        negatives = row_sum(F, F.Activation(neg, act_type="softrelu"))
        if self.negative_weight != 1.0:
            negatives = negatives * self.negative_weight
        return F.Activation(-pos, act_type="softrelu") + negatives


class LogisticPairLoss(Loss):
    """Binary cross-entropy of ``sigmoid(scale * score + bias)`` against a 0/1 target, so the score of similar
    pairs is pushed up and of dissimilar pairs down. ``scale`` sharpens cosine scores, which lie in [-1, 1].

    Inputs: ``score`` and ``target`` of shape ``(batch,)``. Output: ``(batch,)``.
    """

    def __init__(self, scale=10.0, bias=0.0, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.scale, self.bias = scale, bias

    def hybrid_forward(self, F, score, target):
        z = self.scale * score + self.bias
        return target * F.Activation(-z, act_type="softrelu") + (1 - target) * F.Activation(z, act_type="softrelu")


class ContrastiveLoss(Loss):
    """Hadsell, Chopra and LeCun's contrastive loss on unit-length embeddings, whose distance follows from the
    cosine score: ``d^2 = 2 - 2 * score``. Similar pairs pay ``d^2``, dissimilar ones ``max(0, margin - d)^2``.

    Inputs: ``score`` (cosines) and ``target`` (1 similar, 0 not) of shape ``(batch,)``. Output: ``(batch,)``.
    """

    def __init__(self, margin=1.0, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.margin = margin

    def hybrid_forward(self, F, score, target):
        d2 = F.relu(2 - 2 * score)
        d = F.sqrt(d2 + 1e-12)
        return target * d2 + (1 - target) * F.square(F.relu(self.margin - d))


class FusedRatingLoss(Loss):
    """Biased MF's training loss in one C++ operator (``zoo.ops``, which must be loaded):
    ``(offset + u.v + bu + bi - r)^2 + strength * (|u|^2 + |v|^2 + bu^2 + bi^2)`` per row, the same as
    ``SquaredLoss(DotScorer(offset)(u, v, bu, bi), r) + EmbeddingPenalty(strength)(u, v, bu, bi)`` with one pass
    over memory instead of one per element-wise step. CPU only.

    Inputs: ``u``, ``v`` ``(batch, dim)``; ``bu``, ``bi`` ``(batch, 1)``; ``offset`` ``(1,)``; ``r`` ``(batch,)``.
    Output: ``(batch,)``.
    """

    def __init__(self, strength=0.0, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.strength = strength

    def hybrid_forward(self, F, u, v, bu, bi, offset, r):
        return F.zoo_rating_loss(u, v, bu, bi, offset, r, reg=self.strength)


class FusedTableLoss(Loss):
    """Biased MF's training loss read straight from the embedding tables, in one C++ operator (``zoo.ops``, which
    must be loaded): the numbers of ``Embedding`` lookups followed by :class:`FusedRatingLoss`, without the
    ``(batch, dim)`` copies of the rows, and with the tables' gradients written as row_sparse arrays over the rows
    the batch used (``sparse_grad=True``, as ``nn.Embedding(sparse_grad=True)`` gives) or as dense tables. CPU
    only.

    Inputs: ``users``, ``items`` ``(batch,)`` int32; ``user_table`` ``(num_users, dim)``, ``item_table``
    ``(num_items, dim)``; ``user_bias`` ``(num_users, 1)``, ``item_bias`` ``(num_items, 1)``; ``offset`` ``(1,)``;
    ``r`` ``(batch,)``. Output: ``(batch,)``.
    """

    def __init__(self, strength=0.0, sparse_grad=True, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.strength, self.sparse_grad = strength, sparse_grad

    def hybrid_forward(self, F, users, items, user_table, item_table, user_bias, item_bias, offset, r):
        return F.zoo_mf_loss(users, items, user_table, item_table, user_bias, item_bias, offset, r,
                             reg=self.strength, sparse_grad=int(self.sparse_grad))[0]


class FusedSkipGramLoss(Loss):
    """Skip-gram's negative-sampling loss read straight from the two embedding tables, in one C++ operator
    (``zoo.ops``, which must be loaded): the numbers of ``Embedding`` lookups, :class:`~zoo.blocks.DotScorer`,
    a candidate scorer and :class:`NegativeSamplingLoss`, without the ``(batch, K, dim)`` copies of the rows, and
    with both tables' gradients written as row_sparse arrays over the rows the batch used (``sparse_grad=True``)
    or as dense tables. CPU only.

    Inputs: ``center``, ``context`` ``(batch,)`` int32; ``negatives`` int32, ``(batch, K)`` (each pair its own)
    or ``(K,)`` (shared by the batch); ``center_table``, ``context_table`` ``(vocab, dim)``. Output: ``(batch,)``.
    """

    def __init__(self, negative_weight=1.0, sparse_grad=True, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.negative_weight, self.sparse_grad = negative_weight, sparse_grad

    def hybrid_forward(self, F, center, context, negatives, center_table, context_table):
        return F.zoo_sgns_loss(center, context, negatives, center_table, context_table,
                               negative_weight=self.negative_weight, sparse_grad=int(self.sparse_grad))[0]
