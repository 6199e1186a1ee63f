"""Matrix factorization as a tiny neural net: user tower . item tower (+ biases) -> rating."""
import dataclasses
import typing

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..blocks import DotScorer, EmbeddingBag, EmbeddingPenalty, EmbeddingTower, SquaredLoss
from ..config import POSITIVE, at_least, between, each, one_of
from ..registry import MODELS


@MODELS.register("mf")
class MatrixFactorization(HybridBlock):
    """Rating model: ``score = scorer(user_tower(user), item_tower(item), user_bias(user), item_bias(item))``.

    Parts are passed in, so a tower, the scorer or the loss can be swapped without subclassing; :meth:`create`
    builds the standard biased MF from plain numbers. The training objective is
    ``loss_fn(self(users, items), ratings) + regularization(users, items)`` (see :class:`~zoo.models.Objective`):
    a subclass that overrides :meth:`hybrid_forward` trains on its override.

    Parameters
    ----------
    user_tower, item_tower : HybridBlock
        ids ``(batch,)`` -> vectors ``(batch, dim)``, the same ``dim`` on both sides.
    scorer : HybridBlock
        ``(u, v, *biases)`` -> ``(batch,)``, e.g. :class:`~zoo.blocks.DotScorer`.
    user_bias, item_bias : HybridBlock or None
        ids ``(batch,)`` -> ``(batch, 1)``, e.g. a width-1 :class:`~zoo.blocks.EmbeddingTower`.
    loss : Loss
        ``(pred, rating)`` -> ``(batch,)``; :class:`~zoo.blocks.SquaredLoss` when None.
    penalty : EmbeddingPenalty or None
        Applied to the tower outputs and the bias rows of each example.

    Inputs: ``users`` and ``items``, ids of shape ``(batch,)``. Output: predicted ratings ``(batch,)``.
    """

    num_targets = 1  # a batch is (users, items, ratings)
    input_names = ("users", "items")  # as exports name them

    @dataclasses.dataclass
    class Config:
        CHECKS = {"dim": POSITIVE, "hidden": each(POSITIVE), "dropout": between(0, 1, high_open=True),
                  "reg": at_least(0.0), "init_scale": at_least(0.0),
                  "activation": one_of("relu", "sigmoid", "tanh", "softrelu", "softsign")}
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
                 **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.user_tower = user_tower
            self.item_tower = item_tower
            self.scorer = scorer
            self.user_bias = user_bias
            self.item_bias = item_bias
            self.loss_fn = loss if loss is not None else SquaredLoss()
            self.penalty = penalty

    @classmethod
    def create(cls, num_users, num_items, mean_rating=0.0, **kwargs):
        """Biased MF (``biases=True``, Koren's baseline + factors) or plain MF, with optional dense towers;
        ``kwargs`` are the fields of :class:`Config` (``dim``, ``reg``, ...), with its defaults."""
        cfg = cls.Config(**kwargs)

        def tower(num, prefix):
            return EmbeddingTower(num, cfg.dim, hidden=cfg.hidden, activation=cfg.activation, dropout=cfg.dropout,
                                  sparse_grad=cfg.sparse_grad, init_scale=cfg.init_scale, prefix=prefix)

        def bias(num, prefix):
            return (EmbeddingTower(num, 1, sparse_grad=cfg.sparse_grad, init_scale=0.0, prefix=prefix)
                    if cfg.biases else None)
        return cls(tower(num_users, "user_"), tower(num_items, "item_"),
                   DotScorer(offset=mean_rating if cfg.biases else None, prefix="scorer_"),
                   bias(num_users, "user_bias_"), bias(num_items, "item_bias_"),
                   penalty=EmbeddingPenalty(cfg.reg) if cfg.reg else None, prefix="mf_")

    @classmethod
    def from_config(cls, cfg, meta):
        """From the ``model`` config section and the dataset's ``meta`` (sizes, mean rating)."""
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        return cls.create(meta["num_users"], meta["num_items"], mean_rating=meta["mean_rating"], **kwargs)

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export."""
        return [mx.nd.zeros((batch,), dtype="int32"), mx.nd.zeros((batch,), dtype="int32")]

    def biases(self, users, items):
        """The bias rows of a batch: a list of ``(batch, 1)`` arrays, empty without biases."""
        return [bias(ids) for bias, ids in ((self.user_bias, users), (self.item_bias, items)) if bias is not None]

    def hybrid_forward(self, F, users, items, *user_inputs):
        u, v = self.user_tower(users, *user_inputs), self.item_tower(items)   # (batch, dim) each
        return self.scorer(u, v, *self.biases(users, items))                   # (batch,)

    def regularization(self, users, items, *user_inputs):
        """The penalty on the rows each example uses, ``(batch,)``, or None without one."""
        if self.penalty is None:
            return None
        u, v = self.user_tower(users, *user_inputs), self.item_tower(items)   # (batch, dim) each
        return self.penalty(u, v, *self.biases(users, items))


class ImplicitUserTower(HybridBlock):
    """SVD++'s user side: the user's own vector plus a learned embedding of the items they rated,
    ``p_u + |N(u)|^-1/2 * sum_{j in N(u)} y_j``, the sum an :class:`~zoo.blocks.EmbeddingBag` over the user's
    row of rated items (CSR, already weighted by the data, see ``MovieLens(implicit=True)``): a batch costs its
    users' ratings, not the catalog.

    Inputs: ``users`` ``(batch,)`` and ``rated`` ``(batch, num_items)`` (CSR); or ``rated`` the distinct users'
    rows ``(n, num_items)`` and ``rated_rows`` ``(batch,)`` int32, each example's row among them (what
    ``MovieLens(implicit=True)`` gives: a batch costs its distinct users' ratings). Output: ``(batch, dim)``.
    """

    def __init__(self, user_tower, num_items, dim, init_scale=0.01, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        with self.name_scope():
            self.user_tower = user_tower
            self.bag = EmbeddingBag(num_items, dim, init_scale=init_scale, prefix="items_")

    def hybrid_forward(self, F, users, rated, *rated_rows):
        return self.user_tower(users) + self.bag(rated, *rated_rows)


@MODELS.register("svdpp")
class SVDpp(MatrixFactorization):
    """SVD++ (Koren, 2008) from the same blocks: biased MF whose user tower also embeds the items the user rated.
    Needs ``data.implicit: true``.

    Inputs: ``users``, ``items`` ``(batch,)``, ``rated`` the distinct users' rated items ``(n, num_items)`` (CSR)
    and ``rated_rows`` ``(batch,)`` int32, each example's row in ``rated`` (see :class:`ImplicitUserTower`).
    Output: ``(batch,)``.
    """

    input_names = ("users", "items", "rated", "rated_rows")

    @dataclasses.dataclass
    class Config(MatrixFactorization.Config):
        CHECKS = {**MatrixFactorization.Config.CHECKS, "implicit_lr_mult": at_least(0.0),
                  "implicit_init_scale": ((lambda v: v is None or v >= 0.0), ">= 0.0, or null for init_scale")}
        name: str = "svdpp"
        # the rated items' table learns at this multiple of optim.lr (Surprise's lr_yj against lr_all)
        implicit_lr_mult: float = 1.0
        # the rated items' table's start (its normal's std); None: init_scale. At 0 SVD++ starts as exactly MF
        # (the same draws for the other tables) and learns from there what the rated items add
        implicit_init_scale: typing.Optional[float] = None

    @classmethod
    def from_config(cls, cfg, meta):
        if not meta.get("implicit"):
            raise ValueError("model svdpp needs the users' rated items: set data.implicit: true")
        shared = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(MatrixFactorization.Config)}
        mf = MatrixFactorization.from_config(MatrixFactorization.Config(**shared), meta)  # the parts, passed on
        bag_init = cfg.init_scale if cfg.implicit_init_scale is None else cfg.implicit_init_scale
        user = ImplicitUserTower(mf.user_tower, meta["num_items"], cfg.dim, bag_init, prefix="implicit_")
        user.bag.weight.lr_mult = cfg.implicit_lr_mult
        return cls(user, mf.item_tower, mf.scorer, mf.user_bias, mf.item_bias, penalty=mf.penalty, prefix="svdpp_")

    @staticmethod
    def example_inputs(meta, batch=1):
        return MatrixFactorization.example_inputs(meta, batch) + [mx.nd.sparse.zeros("csr", (batch, meta["num_items"])),
                                                                 mx.nd.arange(batch, dtype="int32")]
