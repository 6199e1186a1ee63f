"""Top-K recommendation: a two-tower model scores the whole catalog for a user; a softmax over the catalog turns
the scores into a loss against the item the user liked."""
import dataclasses

import mxnet as mx
from mxnet.gluon import HybridBlock
from mxnet.gluon.loss import SoftmaxCrossEntropyLoss

from ..blocks import CandidateScorer, EmbeddingPenalty, EmbeddingTower, MultinomialLoss
from ..config import POSITIVE, at_least, one_of
from ..registry import MODELS
from .mf import ImplicitUserTower


@MODELS.register("ranking_mf")
class RankingMF(HybridBlock):
    """``scores = user_tower(users) . item_tower(every item) + item_bias``: one score per catalog item, trained
    with a softmax over the catalog (cheap for MovieLens-sized catalogs: one ``FullyConnected`` against the item
    table), so each positive pair pushes its item up against all others at once.

    Parameters
    ----------
    user_tower : HybridBlock
        ``users (batch,)`` (and, for a history tower, the users' rows of training positives) -> ``(batch, dim)``.
    item_tower : HybridBlock
        item ids ``(num_items,)`` -> ``(num_items, dim)``.
    num_items : int
    item_bias : HybridBlock or None
        item ids ``(num_items,)`` -> ``(num_items, 1)``: a popularity term.
    loss : Loss
        ``(scores (batch, num_items), item (batch,))`` -> ``(batch,)``; softmax cross-entropy when None.
    penalty : EmbeddingPenalty or None
        L2 on the user vectors of a batch.

    Inputs: ``users`` ``(batch,)`` (and ``history`` ``(batch, num_items)``). Output: scores ``(batch, num_items)``.
    """

    num_targets = 1  # a batch is (users, [history,] items): the item each row liked
    input_names = ("users",)

    @dataclasses.dataclass
    class Config:
        CHECKS = {"dim": POSITIVE, "reg": at_least(0.0), "init_scale": at_least(0.0),
                  "loss": one_of("softmax", "multinomial")}
        name: str = "ranking_mf"
        dim: int = 64
        item_bias: bool = True
        reg: float = 0.0
        init_scale: float = 0.05
        loss: str = "softmax"      # softmax: a row per positive (data.per_user: false); multinomial: a row per
                                   # user with all its positives (data.per_user: true)

    def __init__(self, user_tower, item_tower, num_items, item_bias=None, loss=None, penalty=None, **kwargs):
        super().__init__(**kwargs)
        self.num_items = num_items
        with self.name_scope():
            self.user_tower = user_tower
            self.item_tower = item_tower
            self.item_bias = item_bias
            self.scorer = CandidateScorer(num_items, prefix="scorer_")
            self.loss_fn = loss if loss is not None else SoftmaxCrossEntropyLoss()
            self.penalty = penalty

    @classmethod
    def create(cls, num_users, num_items, history=False, **kwargs):
        """From plain numbers; ``kwargs`` are the fields of :class:`Config`. ``history``: the user tower adds an
        embedding of the user's training positives (the SVD++ / YouTube-DNN idea)."""
        cfg = cls.Config(**kwargs)
        user = EmbeddingTower(num_users, cfg.dim, sparse_grad=True, init_scale=cfg.init_scale, prefix="user_")
        if history:
            user = ImplicitUserTower(user, num_items, cfg.dim, cfg.init_scale, prefix="history_")
        # every step uses the whole item table: dense gradients
        item = EmbeddingTower(num_items, cfg.dim, sparse_grad=False, init_scale=cfg.init_scale, prefix="item_")
        bias = EmbeddingTower(num_items, 1, sparse_grad=False, init_scale=0.0, prefix="item_bias_") \
            if cfg.item_bias else None
        loss = MultinomialLoss() if cfg.loss == "multinomial" else None
        model = cls(user, item, num_items, bias, loss=loss, penalty=EmbeddingPenalty(cfg.reg) if cfg.reg else None,
                    prefix="ranking_")
        if history:
            model.input_names = ("users", "history")
        return model

    @classmethod
    def from_config(cls, cfg, meta):
        if (cfg.loss == "multinomial") != bool(meta.get("per_user")):
            raise ValueError("model.loss=%s needs data.per_user: %s (a row per %s)" % (
                cfg.loss, str(cfg.loss == "multinomial").lower(), "user" if cfg.loss == "multinomial" else "positive"))
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        return cls.create(meta["num_users"], meta["num_items"], history=meta.get("history", False), **kwargs)

    @staticmethod
    def example_inputs(meta, batch=1):
        inputs = [mx.nd.zeros((batch,), dtype="int32")]
        if meta.get("history"):
            inputs.append(mx.nd.zeros((batch, meta["num_items"])))
        return inputs

    def hybrid_forward(self, F, users, *history):
        u = self.user_tower(users, *history)                                   # (batch, dim)
        every = F.arange(0, self.num_items)                                    # (num_items,)
        scores = self.scorer(u, self.item_tower(every))                        # (batch, num_items)
        if self.item_bias is not None:
            scores = F.broadcast_add(scores, F.reshape(self.item_bias(every), shape=(1, -1)))
        return scores

    def regularization(self, users, *history):
        """L2 on the batch's user vectors, ``(batch,)``, or None."""
        return None if self.penalty is None else self.penalty(self.user_tower(users, *history))
