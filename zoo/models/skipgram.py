"""Skip-gram word2vec: a center-word tower and a context-word tower meet in a dot product; negative sampling
turns the scores into a loss. Negatives come from the data pipeline (``zoo.data.text``), not from the graph."""
import dataclasses

from mxnet.gluon import HybridBlock

from .. import ops
from ..blocks import (CandidateScorer, DotScorer, EmbeddingTower, FusedSkipGramLoss, NegativeSamplingLoss,
                      PairwiseCandidateScorer, bare_tables, dense_table)
from ..registry import MODELS


@MODELS.register("skipgram")
class SkipGram(HybridBlock):
    """Skip-gram with negative sampling (Mikolov et al., 2013).

    Parameters
    ----------
    center_tower, context_tower : HybridBlock
        word ids ``(batch,)`` (or ``(batch, K)``) -> vectors ``(batch, dim)`` (or ``(batch, K, dim)``).
    scorer : HybridBlock
        ``(center_vecs, context_vecs)`` -> ``(batch,)``, e.g. :class:`~zoo.blocks.DotScorer`.
    negative_scorer : HybridBlock
        ``(center_vecs, negative_vecs)`` -> ``(batch, K)``: :class:`~zoo.blocks.CandidateScorer` when the batch
        shares ``K`` negatives ``(K, dim)``, :class:`~zoo.blocks.PairwiseCandidateScorer` when each pair has its
        own ``(batch, K, dim)``.
    loss : Loss
        ``(pos (batch,), neg (batch, K))`` -> ``(batch,)``.
    fused : bool
        With the standard parts (bare :class:`~zoo.blocks.EmbeddingTower` tables, ``DotScorer`` without offset,
        either candidate scorer, ``NegativeSamplingLoss``) and zoo's C++ operators loaded (:mod:`zoo.ops`), train
        on CPUs with :class:`~zoo.blocks.FusedSkipGramLoss`: the same loss straight from the tables.

    Inputs: ``center`` and ``context`` word ids ``(batch,)``. Output: their scores ``(batch,)``.
    """

    @dataclasses.dataclass
    class Config:
        name: str = "skipgram"
        dim: int = 100
        sparse_grad: bool = True
        negative_weight: float = 1.0  # e.g. 5 / data.negatives with shared negatives: the 5-negative objective

    def __init__(self, center_tower, context_tower, scorer, negative_scorer, loss=None, fused=True, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.center_tower = center_tower
            self.context_tower = context_tower
            self.scorer = scorer
            self.negative_scorer = negative_scorer
            self.loss_fn = loss if loss is not None else NegativeSamplingLoss()
            standard = (type(scorer) is DotScorer and not hasattr(scorer, "offset")
                        and type(negative_scorer) in (CandidateScorer, PairwiseCandidateScorer)
                        and type(self.loss_fn) is NegativeSamplingLoss and self.loss_fn._weight is None
                        and bare_tables(center_tower, context_tower))
            self.table_loss = (FusedSkipGramLoss(self.loss_fn.negative_weight, center_tower.sparse_grad,
                                                 prefix="table_loss_") if fused and standard and ops.load() else None)

    @classmethod
    def create(cls, vocab_size, dim=100, negatives=5, shared_negatives=False, sparse_grad=True, negative_weight=1.0,
               fused=True):
        """word2vec's setup: input vectors start small and random, output vectors at zero."""
        return cls(EmbeddingTower(vocab_size, dim, sparse_grad=sparse_grad, init_scale=0.5 / dim, prefix="center_"),
                   EmbeddingTower(vocab_size, dim, sparse_grad=sparse_grad, init_scale=0.0, prefix="context_"),
                   DotScorer(prefix="scorer_"),
                   CandidateScorer(negatives) if shared_negatives else PairwiseCandidateScorer(),
                   NegativeSamplingLoss(negative_weight), fused=fused, prefix="skipgram_")

    @classmethod
    def from_config(cls, cfg, dataset):
        meta = dataset.meta
        return cls.create(meta["vocab_size"], cfg.dim, meta["negatives"], meta["shared_negatives"], cfg.sparse_grad,
                          cfg.negative_weight)

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export."""
        import mxnet as mx
        return [mx.nd.zeros((batch,), dtype="int32"), mx.nd.zeros((batch,), dtype="int32")]

    def hybrid_forward(self, F, center, context):
        return self.scorer(self.center_tower(center), self.context_tower(context))  # (batch,)

    def loss(self, center, context, negatives):
        """Per-pair loss ``(batch,)``; ``negatives`` is ``(K,)`` shared by the batch or ``(batch, K)``."""
        ctx = center.context
        # Checked per call: row_sparse_tables (distributed training) swaps the tables after construction.
        if self.table_loss is not None and ctx.device_type == "cpu" and bare_tables(self.center_tower,
                                                                                   self.context_tower):
            ids = [x.astype("int32", copy=False) for x in (center, context, negatives)]
            return self.table_loss(*ids, self.center_tower.embedding.weight.data(ctx),
                                   self.context_tower.embedding.weight.data(ctx))
        c = self.center_tower(center)                                   # (batch, dim)
        pos = self.scorer(c, self.context_tower(context))               # (batch,)
        neg = self.negative_scorer(c, self.context_tower(negatives))    # (batch, K)
        return self.loss_fn(pos, neg)

    def embeddings(self):
        """The input (center-word) vectors, ``(vocab_size, dim)`` numpy: the word vectors word2vec publishes."""
        return dense_table(self.center_tower.embedding.weight).asnumpy()
