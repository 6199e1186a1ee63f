"""Losses: each returns one value per example, shape ``(batch,)``; the loop sums them."""
from mxnet.gluon.loss import Loss

from .mining import AllPairs, masked_max
from .rowsum import row_sum


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
    """Skip-gram negative sampling: ``-log sigmoid(s_0) - sum_{k>=1} log sigmoid(-s_k)`` for a row of scores
    whose first column is the true pair and the others its ``K`` negatives.

    Written with softplus (``-log sigmoid(x) = softplus(-x)``), which stays finite for large scores.
    ``negative_weight`` scales the negatives' term: with ``K`` negatives shared by a whole batch, ``n / K`` makes
    it an unbiased estimate of the term for ``n`` negatives a pair, instead of ``K`` full-weight ones.

    Input: ``scores`` of shape ``(batch, 1 + K)``. Output: ``(batch,)``.
    """

    def __init__(self, negative_weight=1.0, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        self.negative_weight = negative_weight

    def hybrid_forward(self, F, scores):
        pos = F.reshape(F.slice_axis(scores, axis=1, begin=0, end=1), shape=(-1,))      # (batch,)
        neg = F.slice_axis(scores, axis=1, begin=1, end=None)                           # (batch, K)
        negatives = row_sum(F, F.Activation(neg, act_type="softrelu"))
        if self.negative_weight != 1.0:
            negatives = negatives * self.negative_weight
        return F.Activation(-pos, act_type="softrelu") + negatives


class MultinomialLoss(Loss):
    """Multinomial log-likelihood of a user's positives under a softmax over the catalog (Mult-DAE/VAE):
    ``-sum_i target_i * log softmax(scores)_i``, one row per user instead of one per positive.

    Inputs: ``scores`` and ``target`` (0/1 or weights) of shape ``(batch, num_items)``. Output: ``(batch,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, scores, target):
        return -row_sum(F, target * F.log_softmax(scores, axis=-1))


class BPRLoss(Loss):
    """Bayesian personalized ranking (Rendle et al. 2009) over sampled negatives: ``softplus(z_k - z_0)``
    (``= -log sigmoid(z_0 - z_k)``) averaged over the ``K`` negatives of a row whose first column is the
    positive, on scores ``z = s - log q`` shifted by the log-probability that the sampler draws each item (the
    logit adjustment of Menon et al. 2021). With uniform negatives the shift cancels and this is Rendle's BPR;
    with popularity-skewed ones, a popular negative is met more often but pushes no harder than a rare one.

    Inputs: ``scores`` and ``logq`` of shape ``(batch, 1 + K)``. Output: ``(batch,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, scores, logq):
        z = scores - logq
        pos = F.slice_axis(z, axis=1, begin=0, end=1)                                   # (batch, 1)
        neg = F.slice_axis(z, axis=1, begin=1, end=None)                                # (batch, K)
        return F.mean(F.Activation(F.broadcast_sub(neg, pos), act_type="softrelu"), axis=1)


class SampledSoftmaxLoss(Loss):
    """Softmax cross-entropy over a sample of candidates with the log-Q correction (Bengio & Senecal 2008;
    Yi et al. 2019): ``-log softmax(s - log q)[label]``, ``q_j`` the probability that the sampler draws
    candidate ``j``, so that the sample's softmax estimates the full one (an item drawn often is not pushed down
    more for it). With a row's own candidates the positive is column 0; with in-batch negatives the candidates
    are the batch's items and ``label`` names each row's own.

    Inputs: ``scores`` ``(batch, C)``, ``logq`` ``(batch, C)`` or ``(1, C)``, optionally ``label`` ``(batch,)``
    (default: column 0). Output: ``(batch,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, scores, logq, *label):
        logp = F.log_softmax(F.broadcast_sub(scores, logq), axis=-1)                    # (batch, C)
        if label:
            return -F.pick(logp, label[0], axis=-1)
        return -F.reshape(F.slice_axis(logp, axis=1, begin=0, end=1), shape=(-1,))


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


class NormSoftmaxLoss(Loss):
    """Softmax cross-entropy over class scores times ``scale``, the true class's score first lowered by
    ``margin``: with cosines to class proxies (:class:`~zoo.blocks.ProxyScorer`) this is NormSoftmax (Zhai & Wu,
    2019) at ``margin`` 0 and CosFace's additive cosine margin (Wang et al., 2018) above it.

    ``loss[n] = -log softmax(scale * (s[n] - margin * onehot(y[n])))[y[n]]``

    Inputs: ``scores`` ``(batch, classes)``, ``labels`` ``(batch,)`` class numbers. Output: ``(batch,)``.
    """

    def __init__(self, scale=16.0, margin=0.0, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.scale, self.margin = scale, margin

    def hybrid_forward(self, F, scores, labels):
        labels = F.reshape(F.cast(labels, "float32"), shape=(-1, 1))
        if self.margin:
            true = F.broadcast_equal(F.reshape(F.contrib.arange_like(scores, axis=1), shape=(1, -1)), labels)
            scores = scores - self.margin * true
        return -F.pick(F.log_softmax(self.scale * scores, axis=1), labels, axis=1)


def log_one_plus_sum_exp(F, x, mask):
    """``log(1 + sum_k mask[:, k] * exp(x[:, k]))`` row-wise, computed without overflow (the largest term
    factored out) and with no gradient reaching the entries ``mask`` leaves out. Output: ``(rows,)``."""
    x = F.where(mask, x, F.ones_like(x) * -1e4)                   # left-out entries: exp gives exactly 0
    top = F.stop_gradient(F.relu(masked_max(F, x, mask)))         # (rows,), >= 0: the "1" is exp(0)
    shifted = F.exp(F.broadcast_sub(x, F.reshape(top, shape=(-1, 1))))
    return top + F.log(F.exp(-top) + F.sum(shifted, axis=1))


class MultiSimilarityLoss(Loss):
    """The multi-similarity loss (Wang et al., 2019, as pytorch-metric-learning computes it) over a batch's
    pairs, one value per anchor ``i``:

    ``1/alpha * log(1 + sum_{k in P_i} exp(-alpha (s_ik - base))) + 1/beta * log(1 + sum_{k in N_i} exp(beta
    (s_ik - base)))``

    where ``P_i`` and ``N_i`` are the positive and negative pairs of the anchor that ``miner`` keeps (all of them
    with :class:`~zoo.blocks.AllPairs`, the default; :class:`~zoo.blocks.MultiSimilarityMiner` keeps the hard
    ones). An anchor whose pairs are all left out adds 0; the loop averages over all anchors.

    A positive of weight ``w`` in (0, 1] (its relation) counts ``w`` of a pair: its term in the first sum is
    multiplied by ``w``.

    Inputs: ``sim`` ``(anchors, n)`` (cosines, e.g. from :class:`~zoo.blocks.AllPairsScorer`) and ``relations``
    ``(anchors, n)`` (1 or a weight: positive, 0 negative, -1 ignored). Output: ``(anchors,)``.
    """

    def __init__(self, alpha=2.0, beta=50.0, base=0.5, miner=None, batch_axis=0, **kwargs):
        super().__init__(None, batch_axis, **kwargs)
        self.alpha, self.beta, self.base = alpha, beta, base
        with self.name_scope():
            self.miner = miner if miner is not None else AllPairs()

    def hybrid_forward(self, F, sim, relations):
        pos, neg = self.miner(sim, relations)
        # a weight w times a term is log w added to its exponent (entries that are no positive are masked out)
        weight = F.log(F.maximum(relations, F.ones_like(relations) * 1e-6))
        pull = log_one_plus_sum_exp(F, -self.alpha * (sim - self.base) + weight, pos) / self.alpha
        push = log_one_plus_sum_exp(F, self.beta * (sim - self.base), neg) / self.beta
        return pull + push
