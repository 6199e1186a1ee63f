"""Top-K recommendation: a two-tower model scores items for a user; the loss decides which items a training row
scores (the whole catalog, or a sample of it) and how the scores become a signal."""
import dataclasses

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock
from mxnet.gluon.loss import SoftmaxCrossEntropyLoss

from ..blocks import (BPRLoss, CandidateScorer, EmbeddingBag, EmbeddingPenalty, EmbeddingTower, MultinomialLoss,
                      PairwiseCandidateScorer, SampledSoftmaxLoss)
from ..config import POSITIVE, at_least, one_of
from ..registry import MODELS
from .svd import CSR, top_right_singular_vectors

# What each loss scores, and the batch layout it needs (the data's keys that make it); [history] is the user's
# training positives as weighted CSR rows, with data.history:
#   softmax          the catalog           (users, [history,] items)                  a row per positive
#   multinomial      the catalog           (users, history, rows of positives)        data.per_user
#   bpr              the row's candidates  (users, [history,] candidates, logq)       data.negatives: K
#   sampled_softmax  the row's candidates  (users, [history,] candidates, logq)       data.negatives: K
#   in_batch         the batch's items     (users, [history,] items, logq, label)     data.in_batch
CANDIDATES = {"softmax": None, "multinomial": None, "bpr": "row", "sampled_softmax": "row", "in_batch": "shared"}
LAYOUT = {"softmax": "positives", "multinomial": "per_user", "bpr": "negatives", "sampled_softmax": "negatives",
          "in_batch": "in_batch"}
NEEDS = {"positives": "no data.per_user, data.negatives or data.in_batch", "per_user": "data.per_user: true",
         "negatives": "data.negatives: K > 0", "in_batch": "data.in_batch: true"}


def layout_of(meta):
    """The batch layout a dataset's ``meta`` announces (see the table above)."""
    if meta.get("per_user"):
        return "per_user"
    if meta.get("negatives"):
        return "negatives"
    return "in_batch" if meta.get("in_batch") else "positives"


class LikedItemsTower(HybridBlock):
    """A user as their id's vector plus an embedding of the items they liked in training, ``p_u + sum_j w_j y_j``
    with ``w_j = |N(u)|^-1/2`` (the SVD++ / YouTube-DNN idea), the sum an :class:`~zoo.blocks.EmbeddingBag`.

    Inputs: ``users`` ``(batch,)`` and ``liked`` ``(batch, num_items)``, the weights ``w_j`` (CSR).
    Output: ``(batch, dim)``.
    """

    def __init__(self, user_tower, bag, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.user_tower = user_tower
            self.bag = bag

    def hybrid_forward(self, F, users, liked):
        return self.user_tower(users) + self.bag(liked)


@MODELS.register("ranking_mf")
class RankingMF(HybridBlock):
    """``score(user, item) = user_tower(user) . item_tower(item) + item_bias(item)``, for top-K recommendation.

    With a catalog loss (``softmax``, ``multinomial``) the forward scores every item (one ``FullyConnected``
    against the item table, cheap for MovieLens-sized catalogs); with a sampled one (``bpr``,
    ``sampled_softmax``: the row's own candidates, the positive first; ``in_batch``: the items of the batch),
    only those, so a step costs the same for any catalog size. :meth:`score` always gives the whole catalog
    (evaluation and recommendations).

    Parameters
    ----------
    user_tower : HybridBlock
        ``users (batch,)`` (and, for a :class:`LikedItemsTower`, their training positives as CSR rows)
        -> ``(batch, dim)``.
    item_tower : HybridBlock
        item ids (any shape ``S``) -> ``S + (dim,)``.
    num_items : int
    item_bias : HybridBlock or None
        item ids -> ``S + (1,)``: a popularity term.
    loss : Loss
        Takes the forward's scores and the batch's targets.
    candidates : None, "row" or "shared"
        What the forward scores: the catalog; ``(batch, C)`` item ids, a row's own; ``(C,)`` ids shared by the
        batch.
    penalty : EmbeddingPenalty or None
        L2 on the user vectors of a batch.

    Inputs: ``users`` ``(batch,)``, for a :class:`LikedItemsTower` the liked items ``(batch, num_items)`` (CSR),
    then the candidates (``(batch, C)`` or ``(C,)``) when ``candidates`` is set. Output: scores
    ``(batch, num_items)``, or ``(batch, C)``.
    """

    input_names = ("users",)
    num_targets = 1  # create() sets it for the loss it picks (see the table above)

    @dataclasses.dataclass
    class Config:
        CHECKS = {"dim": POSITIVE, "reg": at_least(0.0), "init_scale": at_least(0.0),
                  "loss": one_of(*CANDIDATES), "init": one_of("normal", "svd"), "svd_scale": POSITIVE}
        name: str = "ranking_mf"
        dim: int = 64
        item_bias: bool = True
        reg: float = 0.0
        init_scale: float = 0.05
        loss: str = "softmax"      # see the table at the top of zoo/models/ranking.py for the data each needs
        init: str = "normal"       # svd: item tables from the training positives' top singular vectors
        svd_scale: float = 3.0     # init: svd: both tables scaled by it (scores by its square)

    def __init__(self, user_tower, item_tower, num_items, item_bias=None, loss=None, candidates=None, penalty=None,
                 **kwargs):
        super().__init__(**kwargs)
        if candidates not in (None, "row", "shared"):
            raise ValueError("candidates=%r: choose None, 'row' or 'shared'" % (candidates,))
        self.num_items, self.candidates = num_items, candidates
        self.warm_start_scale = None  # set to start from the training positives' SVD (see initialize_from)
        with self.name_scope():
            self.user_tower = user_tower
            self.item_tower = item_tower
            self.item_bias = item_bias
            self.scorer = CandidateScorer(num_items, prefix="scorer_")
            self.row_scorer = PairwiseCandidateScorer(prefix="row_scorer_")
            self.loss_fn = loss if loss is not None else SoftmaxCrossEntropyLoss()
            self.penalty = penalty

    @classmethod
    def create(cls, num_users, num_items, history=False, **kwargs):
        """From plain numbers; ``kwargs`` are the fields of :class:`Config`. ``history``: the user tower adds an
        embedding of the user's training positives (the SVD++ / YouTube-DNN idea)."""
        cfg = cls.Config(**kwargs)
        user = EmbeddingTower(num_users, cfg.dim, sparse_grad=True, init_scale=cfg.init_scale, prefix="user_")
        if history:
            user = LikedItemsTower(user, EmbeddingBag(num_items, cfg.dim, init_scale=cfg.init_scale, prefix="liked_"),
                                   prefix="history_")
        candidates = CANDIDATES[cfg.loss]
        sparse = candidates is not None  # a catalog loss uses the whole item table every step: dense gradients
        item = EmbeddingTower(num_items, cfg.dim, sparse_grad=sparse, init_scale=cfg.init_scale, prefix="item_")
        bias = EmbeddingTower(num_items, 1, sparse_grad=sparse, init_scale=0.0, prefix="item_bias_") \
            if cfg.item_bias else None
        loss = {"softmax": SoftmaxCrossEntropyLoss, "multinomial": MultinomialLoss, "bpr": BPRLoss,
                "sampled_softmax": SampledSoftmaxLoss, "in_batch": SampledSoftmaxLoss}[cfg.loss]()
        model = cls(user, item, num_items, bias, loss=loss, candidates=candidates,
                    penalty=EmbeddingPenalty(cfg.reg) if cfg.reg else None, prefix="ranking_")
        model.num_targets = {"softmax": 1, "multinomial": 1, "bpr": 1, "sampled_softmax": 1, "in_batch": 2}[cfg.loss]
        model.input_names = ("users",) + (("history",) if history else ()) + (("candidates",) if sparse else ())
        if cfg.init == "svd":
            model.warm_start_scale = cfg.svd_scale
        return model

    @classmethod
    def from_config(cls, cfg, meta):
        if LAYOUT[cfg.loss] != layout_of(meta):
            raise ValueError("model.loss=%s needs %s" % (cfg.loss, NEEDS[LAYOUT[cfg.loss]]))
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        return cls.create(meta["num_users"], meta["num_items"], history=meta.get("history", False), **kwargs)

    @staticmethod
    def example_inputs(meta, batch=1):
        inputs = [mx.nd.zeros((batch,), dtype="int32")]
        if meta.get("history"):
            inputs.append(mx.nd.sparse.zeros("csr", (batch, meta["num_items"])))
        layout = layout_of(meta)
        if layout == "negatives":
            inputs.append(mx.nd.zeros((batch, 1 + meta["negatives"]), dtype="int32"))
        elif layout == "in_batch":
            inputs.append(mx.nd.zeros((batch,), dtype="int32"))
        return inputs

    def hybrid_forward(self, F, users, *rest):
        if self.candidates is None:
            return self._catalog(F, self.user_tower(users, *rest))
        *history, candidates = rest
        u = self.user_tower(users, *history)                                   # (batch, dim)
        v = self.item_tower(candidates)                                        # (batch, C, dim) or (C, dim)
        if self.candidates == "row":
            scores = self.row_scorer(u, v)                                     # (batch, C)
            if self.item_bias is not None:
                scores = scores + F.reshape(self.item_bias(candidates), shape=(0, -1))
            return scores
        scores = F.dot(u, v, transpose_b=True)                                 # (batch, C)
        if self.item_bias is not None:
            scores = F.broadcast_add(scores, F.reshape(self.item_bias(candidates), shape=(1, -1)))
        return scores

    def _catalog(self, F, u):
        """Scores of every item for the user vectors ``u`` ``(batch, dim)``: ``(batch, num_items)``."""
        every = F.arange(0, self.num_items, **({"ctx": u.context} if F is mx.nd else {}))  # (num_items,)
        bias = () if self.item_bias is None else (F.reshape(self.item_bias(every), shape=(-1,)),)
        return self.scorer(u, self.item_tower(every), *bias)                   # (batch, num_items)

    def score(self, users, *history):
        """Scores of every catalog item for ``users`` (and their liked items): ``(batch, num_items)``. With a
        catalog loss this is the forward itself, so a subclass's override is what gets evaluated."""
        if self.candidates is None:
            return self(users, *history)
        return self._catalog(mx.nd, self.user_tower(users, *history))

    def regularization(self, users, *rest):
        """L2 on the batch's user vectors, ``(batch,)``, or None."""
        if self.penalty is None:
            return None
        history = rest[:1] if isinstance(self.user_tower, LikedItemsTower) else ()
        return self.penalty(self.user_tower(users, *history))

    def initialize_from(self, dataset):
        """With ``init: svd``, start from the truncated SVD of the training positives (PureSVD, Cremonesi et al.
        2010): item vectors ``V`` (the top ``dim`` right singular vectors), liked-items embedding ``V``, and user
        vectors ``x_u V`` (``x_u`` the user's row, scaled as the history rows are) for an id tower without a
        history, zero beside one; every table times ``svd_scale`` and biases zero, so the first scores are
        PureSVD's ranking. Training then refines it with the model's own loss, in a few epochs instead of tens.
        The pipeline calls this once on a new run (after ``initialize``); it reads ``dataset.positives["train"]``.
        The towers must be bare tables (the ones :meth:`create` builds)."""
        if self.warm_start_scale is None:
            return
        towers = [self.item_tower, getattr(self.user_tower, "user_tower", self.user_tower)]
        if any(not isinstance(t, EmbeddingTower) or len(t.layers) for t in towers):
            raise ValueError("model.init=svd sets the embedding tables themselves: it needs towers that are bare "
                             "EmbeddingTowers, without dense layers")
        indptr, indices = dataset.positives["train"]
        matrix = CSR(indptr, indices, self.num_items)
        dim = self.item_tower.embedding.weight.shape[1]
        v = top_right_singular_vectors(matrix, dim).astype(np.float32) * self.warm_start_scale   # (items, dim)
        self.item_tower.embedding.weight.set_data(mx.nd.array(v))
        if self.item_bias is not None:
            self.item_bias.embedding.weight.set_data(mx.nd.zeros(self.item_bias.embedding.weight.shape))
        ids = self.user_tower
        if isinstance(ids, LikedItemsTower):
            ids.bag.weight.set_data(mx.nd.array(v))
            ids = ids.user_tower
            users = np.zeros(ids.embedding.weight.shape, np.float32)
        else:
            counts = np.maximum(np.diff(indptr), 1).astype(np.float32)[:, None]
            users = (matrix @ v) / np.sqrt(counts)
        ids.embedding.weight.set_data(mx.nd.array(users))
