"""Blocks around zoo's fused C++ operators. Each computes what a composition of zoo's blocks computes (named in its
docstring), in one pass over memory; CPU only. Constructing one builds and loads the operators
(:func:`zoo.ops.load`) and fails if they are unavailable. Whether a run uses them is decided by
:mod:`zoo.fastpath`, never by the blocks or models themselves."""
import mxnet as mx
from mxnet.gluon.loss import Loss

from . import load


def _require_ops():
    if not load():
        raise RuntimeError("zoo's C++ operators are not available (no compiler, or ZOO_CPP_OPS=0)")


def _nonempty(F, op, **arrays):
    """Refuse an empty input with a ValueError: MXNet 1.x aborts the process on a zero-size array in a custom
    operator, before the operator's own shape check can answer."""
    if F is mx.nd:
        empty = [name for name, a in arrays.items() if 0 in a.shape]
        if empty:
            raise ValueError("%s: %s is empty (shape %s); a batch needs at least one example and one negative"
                             % (op, empty[0], arrays[empty[0]].shape))


class FusedRatingLoss(Loss):
    """Biased MF's training loss in one C++ operator:
    ``(offset + u.v + bu + bi - r)^2 + strength * (|u|^2 + |v|^2 + bu^2 + bi^2)`` per row, the same as
    ``SquaredLoss()(DotScorer(offset)(u, v, bu, bi), r) + EmbeddingPenalty(strength)(u, v, bu, bi)`` with one pass
    over memory instead of one per element-wise step. CPU only.

    Inputs: ``u``, ``v`` ``(batch, dim)``; ``bu``, ``bi`` ``(batch, 1)``; ``offset`` ``(1,)``; ``r`` ``(batch,)``.
    Output: ``(batch,)``.
    """

    def __init__(self, strength=0.0, batch_axis=0, **kwargs):
        _require_ops()
        super().__init__(None, batch_axis, **kwargs)
        self.strength = strength

    def hybrid_forward(self, F, u, v, bu, bi, offset, r):
        _nonempty(F, "zoo_rating_loss", u=u, v=v, r=r)
        return F.zoo_rating_loss(u, v, bu, bi, offset, r, reg=self.strength)


class FusedMultinomialLoss(Loss):
    """:class:`~zoo.blocks.MultinomialLoss` in one C++ operator (``zoo_multinomial_loss``):
    ``-sum_j t_j log softmax(s)_j`` per row, with its gradient, in three passes over a row instead of MXNet's
    separate ``log_softmax``, product and sum with their backwards. CPU only.

    Inputs: ``scores`` and ``target`` ``(batch, num_items)``. Output: ``(batch,)``.
    """

    def __init__(self, weight=None, batch_axis=0, **kwargs):
        _require_ops()
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, scores, target):
        _nonempty(F, "zoo_multinomial_loss", scores=scores, target=target)
        return F.zoo_multinomial_loss(scores, target)


class FusedTableLoss(Loss):
    """Biased MF's training loss read straight from the embedding tables, in one C++ operator: the numbers of
    ``Embedding`` lookups followed by :class:`FusedRatingLoss`, without the
    ``(batch, dim)`` copies of the rows, and with the tables' gradients written as row_sparse arrays over the rows
    the batch used (``sparse_grad=True``, as ``nn.Embedding(sparse_grad=True)`` gives) or as dense tables. CPU
    only.

    Inputs: ``users``, ``items`` ``(batch,)`` int32; ``user_table`` ``(num_users, dim)``, ``item_table``
    ``(num_items, dim)``; ``user_bias`` ``(num_users, 1)``, ``item_bias`` ``(num_items, 1)``; ``offset`` ``(1,)``;
    ``r`` ``(batch,)``. Output: ``(batch,)``.
    """

    def __init__(self, strength=0.0, sparse_grad=True, batch_axis=0, **kwargs):
        _require_ops()
        super().__init__(None, batch_axis, **kwargs)
        self.strength, self.sparse_grad = strength, sparse_grad

    def hybrid_forward(self, F, users, items, user_table, item_table, user_bias, item_bias, offset, r):
        _nonempty(F, "zoo_mf_loss", users=users, items=items, r=r)
        return F.zoo_mf_loss(users, items, user_table, item_table, user_bias, item_bias, offset, r,
                             reg=self.strength, sparse_grad=int(self.sparse_grad))[0]


class FusedSkipGramLoss(Loss):
    """Skip-gram's negative-sampling loss read straight from the two embedding tables, in one C++ operator:
    the numbers of ``Embedding`` lookups, :class:`~zoo.blocks.DotScorer`, a candidate scorer and
    :class:`~zoo.blocks.NegativeSamplingLoss`, without the ``(batch, K, dim)`` copies of the rows, and
    with both tables' gradients written as row_sparse arrays over the rows the batch used (``sparse_grad=True``)
    or as dense tables. CPU only.

    Inputs: ``center``, ``context`` ``(batch,)`` int32; ``negatives`` int32, ``(batch, K)`` (each pair its own)
    or ``(K,)`` (shared by the batch); ``center_table``, ``context_table`` ``(vocab, dim)``. Output: ``(batch,)``.
    """

    def __init__(self, negative_weight=1.0, sparse_grad=True, batch_axis=0, **kwargs):
        _require_ops()
        super().__init__(None, batch_axis, **kwargs)
        self.negative_weight, self.sparse_grad = negative_weight, sparse_grad

    def hybrid_forward(self, F, center, context, negatives, center_table, context_table):
        _nonempty(F, "zoo_sgns_loss", center=center, context=context, negatives=negatives)
        return F.zoo_sgns_loss(center, context, negatives, center_table, context_table,
                               negative_weight=self.negative_weight, sparse_grad=int(self.sparse_grad))[0]


def sgns_sgd(center, context, negatives, center_table, context_table, lr, negative_weight=1.0, clip_gradient=-1.0):
    """Plain SGD on skip-gram's negative-sampling loss applied one pair at a time, in place in the two tables
    (``zoo_sgns_sgd``): for each pair in order, the update ``SGD(lr, clip_gradient)`` makes on a batch of that
    pair alone (each pair sees the rows the pairs before it updated; several threads share the batch without
    locks, as word2vec.c does, when it has at least 4,096 pairs a thread). CPU only.

    Inputs: ``center``, ``context`` ``(batch,)`` int32; ``negatives`` int32, ``(batch, K)`` or ``(K,)``;
    ``center_table``, ``context_table`` ``(vocab, dim)`` float32, updated. Returns each pair's loss before its
    update, ``(batch,)``."""
    _require_ops()
    _nonempty(mx.nd, "zoo_sgns_sgd", center=center, context=context, negatives=negatives)
    return mx.nd.zoo_sgns_sgd(center, context, negatives, center_table, context_table, lr=lr,
                              negative_weight=negative_weight, clip_gradient=clip_gradient)


def mf_adam_steps(users, items, ratings, hyper, rescale, *tables_and_moments, batch, reg=0.0, beta1=0.9,
                  beta2=0.999, epsilon=1e-8, clip_gradient=-1.0):
    """Biased MF's training steps with lazy Adam, ``batch`` examples a step, in one C++ call
    (``zoo_mf_adam_steps``): each step's gradient of ``FusedTableLoss(reg)`` then Adam's update of the rows it used
    and of the offset, as ``trainer.step`` with :class:`~zoo.ops.optimizers.FusedAdam` makes it. CPU only.

    Inputs: ``users``, ``items`` ``(n,)`` int32; ``ratings`` ``(n,)``; ``hyper`` ``(steps, 5, 2)``: each step's
    learning rate (Adam's bias correction included) and weight decay for the user table, item table, user bias,
    item bias and offset; ``rescale`` ``(steps,)``; then those five parameters and the mean and variance of each,
    updated in place. Returns each example's loss before its step, ``(n,)``."""
    _require_ops()
    _nonempty(mx.nd, "zoo_mf_adam_steps", users=users)
    return mx.nd.zoo_mf_adam_steps(users, items, ratings, hyper, rescale, *tables_and_moments, batch=batch, reg=reg,
                                   beta1=beta1, beta2=beta2, epsilon=epsilon, clip_gradient=clip_gradient)


def svdpp_sgd_steps(users, items, which, row_start, indptr, indices, values, ratings, lr, *tables, batch, reg=0.0,
                    rescale_grad=1.0):
    """SVD++'s training steps with plain SGD on each step's summed gradient, ``batch`` examples a step, in one C++
    call (``zoo_svdpp_sgd_steps``): each step's gradient of ``Objective(SVDpp)`` (squared error, ``reg`` on the
    user side's sum, the item row and the biases) then SGD's update of the rows it used and of the offset, as
    ``trainer.step`` with SGD makes it. CPU only.

    Inputs: ``users``, ``items``, ``which`` ``(n,)`` int32 (``which``: each example's row of rated items);
    ``row_start`` ``(steps + 1,)`` int32 (step ``s`` has the rows ``[row_start[s], row_start[s + 1])``);
    ``indptr``, ``indices`` int32 and ``values`` float32: those rows in CSR form; ``ratings`` ``(n,)``; ``lr``
    ``(steps, 6)``: each step's rate for the user table, item table, user bias, item bias, offset and rated items'
    table; then those six parameters, updated in place. Returns each example's loss before its step, ``(n,)``."""
    _require_ops()
    _nonempty(mx.nd, "zoo_svdpp_sgd_steps", users=users)
    return mx.nd.zoo_svdpp_sgd_steps(users, items, which, row_start, indptr, indices, values, ratings, lr, *tables,
                                     batch=batch, reg=reg, rescale_grad=rescale_grad)
