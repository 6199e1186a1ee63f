"""Skip-gram word2vec: a center-word tower and a context-word tower meet in a dot product; negative sampling
turns the scores into a loss. Negatives come from the data pipeline (``zoo.data.text``), not from the graph."""
import dataclasses
import logging

import mxnet as mx
import numpy as np
from mxnet.gluon import HybridBlock

from ..blocks import (CandidateScorer, DotScorer, EmbeddingTower, NegativeSamplingLoss, PairwiseCandidateScorer,
                      dense_table)
from ..config import POSITIVE, above
from ..registry import MODELS

log = logging.getLogger(__name__)


@MODELS.register("skipgram")
class SkipGram(HybridBlock):
    """Skip-gram with negative sampling (Mikolov et al., 2013).

    The forward scores a batch of (center, context) pairs and each pair's negatives; the training objective is
    ``loss_fn(self(center, context, negatives))`` (see :class:`~zoo.models.Objective`).

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
        ``scores (batch, 1 + K)`` -> ``(batch,)``; :class:`~zoo.blocks.NegativeSamplingLoss` when None.

    Inputs: ``center`` and ``context`` word ids ``(batch,)``, ``negatives`` ``(batch, K)`` or ``(K,)``.
    Output: scores ``(batch, 1 + K)``, the true context's first.
    """

    num_targets = 0  # a batch is (center, context, negatives): all inputs
    input_names = ("center", "context", "negatives")

    @dataclasses.dataclass
    class Config:
        PATHS = ("init_vectors",)  # stored resolved, so that a saved run finds the file from any folder
        CHECKS = {"dim": POSITIVE, "negative_weight": above(0)}
        name: str = "skipgram"
        dim: int = 100
        sparse_grad: bool = True
        negative_weight: float = 1.0  # e.g. 5 / data.negatives with shared negatives: the 5-negative objective
        init_vectors: str = ""        # a word-vector file (word2vec, fastText .vec, GloVe) to start the input vectors

    def __init__(self, center_tower, context_tower, scorer, negative_scorer, loss=None, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.center_tower = center_tower
            self.context_tower = context_tower
            self.scorer = scorer
            self.negative_scorer = negative_scorer
            self.loss_fn = loss if loss is not None else NegativeSamplingLoss()

    @classmethod
    def create(cls, vocab_size, negatives=5, shared_negatives=False, **kwargs):
        """word2vec's setup: input vectors start small and random, output vectors at zero. ``kwargs`` are the
        fields of :class:`Config` (``dim``, ``sparse_grad``, ``negative_weight``), with its defaults."""
        cfg = cls.Config(**kwargs)
        model = cls(EmbeddingTower(vocab_size, cfg.dim, sparse_grad=cfg.sparse_grad, init_scale=0.5 / cfg.dim,
                                   prefix="center_"),
                    EmbeddingTower(vocab_size, cfg.dim, sparse_grad=cfg.sparse_grad, init_scale=0.0,
                                   prefix="context_"),
                    DotScorer(prefix="scorer_"),
                    CandidateScorer(negatives) if shared_negatives else PairwiseCandidateScorer(),
                    NegativeSamplingLoss(cfg.negative_weight), prefix="skipgram_")
        model.init_vectors = cfg.init_vectors
        return model

    init_vectors = ""

    def initialize_from(self, dataset):
        """With ``init_vectors`` (a file in any format :func:`~zoo.data.word2vec_format.read_vectors` reads), the
        input vector of every vocabulary word the file has (exactly, else lowercased) starts as the file's; the
        others keep their random start. Called once on a new run; reads ``dataset.vocab``."""
        if not self.init_vectors:
            return
        from ..data.word2vec_format import read_vectors
        words, vectors = read_vectors(self.init_vectors)
        table = self.center_tower.embedding.weight
        if vectors.shape[1] != table.shape[1]:
            raise ValueError("model.init_vectors: %s holds vectors of %d numbers, model.dim is %d"
                             % (self.init_vectors, vectors.shape[1], table.shape[1]))
        index = {}
        for i, w in enumerate(words):
            index.setdefault(w, i)
        for i, w in enumerate(words):
            index.setdefault(w.lower(), i)
        vocab = dataset.vocab.idx_to_token
        rows = [(r, index[w]) for r, w in enumerate(vocab) if w in index]
        values = table.data(table.list_ctx()[0]).asnumpy()
        if rows:
            mine, theirs = (np.array(c) for c in zip(*rows))
            values[mine] = vectors[theirs]
        table.set_data(mx.nd.array(values))
        log.info("model.init_vectors: %d of %d vocabulary words start from %s", len(rows), len(vocab),
                 self.init_vectors)

    @classmethod
    def from_config(cls, cfg, meta):
        kwargs = {k: v for k, v in dataclasses.asdict(cfg).items() if k != "name"}
        return cls.create(meta["vocab_size"], meta["negatives"], meta["shared_negatives"], **kwargs)

    @staticmethod
    def example_inputs(meta, batch=1):
        """Inputs of the right dtypes and shapes, e.g. for tracing an export."""
        negatives = (meta["negatives"],) if meta["shared_negatives"] else (batch, meta["negatives"])
        return [mx.nd.zeros((batch,), dtype="int32"), mx.nd.zeros((batch,), dtype="int32"),
                mx.nd.zeros(negatives, dtype="int32")]

    def hybrid_forward(self, F, center, context, negatives):
        c = self.center_tower(center)                                   # (batch, dim)
        pos = self.scorer(c, self.context_tower(context))               # (batch,)
        neg = self.negative_scorer(c, self.context_tower(negatives))    # (batch, K)
        return F.concat(F.expand_dims(pos, axis=1), neg, dim=1)         # (batch, 1 + K)

    def regularization(self, *inputs):
        """None: word2vec has no penalty."""
        return None

    def embeddings(self):
        """The input (center-word) vectors, ``(vocab_size, dim)`` numpy: the word vectors word2vec publishes."""
        return dense_table(self.center_tower.embedding.weight).asnumpy()
