"""Matrix factorization as a tiny neural net: user tower . item tower (+ biases) -> rating."""
import dataclasses
import typing

import mxnet as mx
from mxnet.gluon import HybridBlock

from .. import ops
from ..blocks import (DotScorer, EmbeddingPenalty, EmbeddingTower, FusedRatingLoss, FusedTableLoss, SquaredLoss,
                      bare_tables)
from ..registry import MODELS


@MODELS.register("mf")
class MatrixFactorization(HybridBlock):
    """Rating model: ``score = scorer(user_tower(user), item_tower(item), user_bias(user), item_bias(item))``.

    Parts are passed in, so a tower, the scorer or the loss can be swapped without subclassing; :meth:`create`
    builds the standard biased MF from plain numbers.

    Parameters
    ----------
    user_tower, item_tower : HybridBlock
        ids ``(batch,)`` -> vectors ``(batch, dim)``, the same ``dim`` on both sides.
    scorer : HybridBlock
        ``(u, v, *biases)`` -> ``(batch,)``, e.g. :class:`~zoo.blocks.DotScorer`.
    user_bias, item_bias : HybridBlock or None
        ids ``(batch,)`` -> ``(batch, 1)``, e.g. a width-1 :class:`~zoo.blocks.EmbeddingTower`.
    loss : Loss
        ``(pred, rating)`` -> ``(batch,)``.
    penalty : EmbeddingPenalty or None
        Applied to the tower outputs and the bias rows of each example.
    fused : bool
        With the standard parts (``DotScorer`` with an offset, both biases, ``SquaredLoss``, ``EmbeddingPenalty``
        or none) and zoo's C++ operators loaded (:mod:`zoo.ops`), train on CPUs with the same loss in one pass over
        memory: :class:`~zoo.blocks.FusedTableLoss` straight from the tables when every tower is a bare
        :class:`~zoo.blocks.EmbeddingTower` (no dense layers, no dropout), else
        :class:`~zoo.blocks.FusedRatingLoss` on the towers' outputs.

    Inputs: ``users`` and ``items``, ids of shape ``(batch,)``. Output: predicted ratings ``(batch,)``.
    """

    @dataclasses.dataclass
    class Config:
        name: str = "mf"
        dim: int = 64
        hidden: typing.List[int] = dataclasses.field(default_factory=list)
        activation: str = "relu"
        dropout: float = 0.0
        biases: bool = True
        reg: float = 0.05
        init_scale: float = 0.1
        sparse_grad: bool = True

    def __init__(self, user_tower, item_tower, scorer, user_bias=None, item_bias=None, loss=None, penalty=None,
                 fused=True, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.user_tower = user_tower
            self.item_tower = item_tower
            self.scorer = scorer
            self.user_bias = user_bias
            self.item_bias = item_bias
            self.loss_fn = loss if loss is not None else SquaredLoss()
            self.penalty = penalty
            standard = (type(scorer) is DotScorer and hasattr(scorer, "offset") and user_bias is not None
                        and item_bias is not None and type(self.loss_fn) is SquaredLoss
                        and (penalty is None or type(penalty) is EmbeddingPenalty))
            strength = penalty.strength if penalty else 0.0
            fused = fused and standard and ops.load()
            self.fused_loss = FusedRatingLoss(strength, prefix="fused_loss_") if fused else None
            tables = self._tables()
            self.table_loss = (FusedTableLoss(strength, tables[0].sparse_grad, prefix="table_loss_")
                               if fused and tables else None)

    @classmethod
    def create(cls, num_users, num_items, dim=64, hidden=(), activation="relu", dropout=0.0, biases=True,
               reg=0.05, init_scale=0.1, sparse_grad=True, mean_rating=0.0, fused=True):
        """Biased MF (``biases=True``, Koren's baseline + factors) or plain MF, with optional dense towers."""
        def tower(num, prefix):
            return EmbeddingTower(num, dim, hidden=hidden, activation=activation, dropout=dropout,
                                  sparse_grad=sparse_grad, init_scale=init_scale, prefix=prefix)

        def bias(num, prefix):
            return EmbeddingTower(num, 1, sparse_grad=sparse_grad, init_scale=0.0, prefix=prefix) if biases else None
        return cls(tower(num_users, "user_"), tower(num_items, "item_"),
                   DotScorer(offset=mean_rating if biases else None, prefix="scorer_"),
                   bias(num_users, "user_bias_"), bias(num_items, "item_bias_"),
                   penalty=EmbeddingPenalty(reg) if reg else None, fused=fused, prefix="mf_")

    @classmethod
    def from_config(cls, cfg, dataset):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        meta = dataset.meta
        return cls.create(meta["num_users"], meta["num_items"], mean_rating=meta["mean_rating"], **kwargs)

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export."""
        return [mx.nd.zeros((batch,), dtype="int32"), mx.nd.zeros((batch,), dtype="int32")]

    def _tables(self):
        """The four towers when each is a bare embedding table (see :func:`~zoo.blocks.bare_tables`), else None."""
        towers = (self.user_tower, self.item_tower, self.user_bias, self.item_bias)
        return towers if bare_tables(*towers) else None

    def biases(self, users, items):
        """The bias rows of a batch: a list of ``(batch, 1)`` arrays, empty without biases."""
        return [bias(ids) for bias, ids in ((self.user_bias, users), (self.item_bias, items)) if bias is not None]

    def hybrid_forward(self, F, users, items, *user_inputs):
        u, v = self.user_tower(users, *user_inputs), self.item_tower(items)   # (batch, dim) each
        return self.scorer(u, v, *self.biases(users, items))                   # (batch,)

    def loss(self, users, items, *rest):
        """Per-example training loss ``(batch,)``: squared error plus the penalty on the rows used.

        ``rest`` is ``(ratings,)``, or extra user-tower inputs then the ratings (SVD++'s rated items)."""
        *user_inputs, ratings = rest
        ctx = users.context
        # Checked per call: row_sparse_tables (distributed training) swaps the tables after construction.
        towers = self._tables() if self.table_loss is not None and ctx.device_type == "cpu" else None
        if towers and not user_inputs:
            tables = [t.embedding.weight.data(ctx) for t in towers]
            return self.table_loss(users.astype("int32", copy=False), items.astype("int32", copy=False), *tables,
                                   self.scorer.offset.data(ctx), ratings)
        u, v = self.user_tower(users, *user_inputs), self.item_tower(items)  # (batch, dim) each
        biases = self.biases(users, items)                                 # (batch, 1) each
        if self.fused_loss is not None and u.context.device_type == "cpu":
            return self.fused_loss(u, v, *biases, self.scorer.offset.data(u.context), ratings)
        loss = self.loss_fn(self.scorer(u, v, *biases), ratings)
        if self.penalty is not None:
            loss = loss + self.penalty(u, v, *biases)
        return loss


class ImplicitUserTower(HybridBlock):
    """SVD++'s user side: the user's own vector plus a learned embedding of the items they rated,
    ``p_u + |N(u)|^-1/2 * sum_{j in N(u)} y_j``, the sum being one ``FullyConnected`` over the user's row of
    rated items (already scaled by the data, see ``MovieLens(implicit=True)``).

    Inputs: ``users`` ``(batch,)`` and ``rated`` ``(batch, num_items)``. Output: ``(batch, dim)``.
    """

    def __init__(self, user_tower, num_items, dim, init_scale=0.01, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        with self.name_scope():
            self.user_tower = user_tower
            self.items = self.params.get("implicit_weight", shape=(dim, num_items),
                                         init=mx.init.Normal(init_scale) if init_scale else "zeros")

    def hybrid_forward(self, F, users, rated, items):
        return self.user_tower(users) + F.FullyConnected(rated, items, num_hidden=self.dim, no_bias=True)


@MODELS.register("svdpp")
class SVDpp(MatrixFactorization):
    """SVD++ (Koren, 2008) from the same blocks: biased MF whose user tower also embeds the items the user rated.
    Needs ``data.implicit: true``.

    Inputs: ``users``, ``items`` ``(batch,)`` and ``rated`` ``(batch, num_items)``. Output: ``(batch,)``.
    """

    @classmethod
    def from_config(cls, cfg, dataset):
        meta = dataset.meta
        if not meta.get("implicit"):
            raise ValueError("model svdpp needs the users' rated items: set data.implicit: true")
        mf = MatrixFactorization.from_config(cfg, dataset)  # the parts, passed on to the SVD++ model
        user = ImplicitUserTower(mf.user_tower, meta["num_items"], cfg.dim, cfg.init_scale, prefix="implicit_")
        return cls(user, mf.item_tower, mf.scorer, mf.user_bias, mf.item_bias, penalty=mf.penalty, prefix="svdpp_")

    @staticmethod
    def example_inputs(meta, batch=1):
        return MatrixFactorization.example_inputs(meta, batch) + [mx.nd.zeros((batch, meta["num_items"]))]
