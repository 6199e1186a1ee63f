"""Building blocks: towers turn ids (or images) into vectors, scorers turn two vectors into a score, losses
turn scores into a per-example training signal. Blocks know no config and choose no fused kernel (see
:mod:`zoo.fastpath`); the towers start from zoo's normal sampler (:class:`~zoo.blocks.init.ZooNormal`)."""
from .init import ZooNormal
from .towers import ConvTower, EmbeddingBag, EmbeddingTower
from .scorers import AllPairsScorer, CandidateScorer, DotScorer, PairwiseCandidateScorer, ProxyScorer
from .losses import (BPRLoss, ContrastiveLoss, EmbeddingPenalty, LogisticPairLoss, MultinomialLoss,
                     MultiSimilarityLoss, NegativeSamplingLoss, NormSoftmaxLoss, SampledSoftmaxLoss, SquaredLoss)
from .mining import AllPairs, MultiSimilarityMiner
from .sparse import RowSparseEmbedding, dense_table, hybridize_dense, row_sparse_tables

__all__ = ["EmbeddingTower", "EmbeddingBag", "ConvTower", "DotScorer", "AllPairsScorer", "CandidateScorer",
           "PairwiseCandidateScorer", "ProxyScorer",
           "SquaredLoss", "EmbeddingPenalty", "NegativeSamplingLoss", "MultinomialLoss", "BPRLoss",
           "SampledSoftmaxLoss", "LogisticPairLoss", "ContrastiveLoss", "NormSoftmaxLoss", "MultiSimilarityLoss",
           "AllPairs", "MultiSimilarityMiner",
           "RowSparseEmbedding", "row_sparse_tables", "hybridize_dense", "dense_table", "ZooNormal"]
