"""Building blocks: towers turn ids (or images) into vectors, scorers turn two vectors into a score, losses
turn scores into a per-example training signal."""
from .towers import ConvTower, EmbeddingTower, bare_tables
from .scorers import CandidateScorer, DotScorer, PairwiseCandidateScorer
from .losses import (ContrastiveLoss, EmbeddingPenalty, FusedRatingLoss, FusedSkipGramLoss, FusedTableLoss,
                     LogisticPairLoss, NegativeSamplingLoss, SquaredLoss)
from .sparse import RowSparseEmbedding, dense_table, hybridize_dense, row_sparse_tables

__all__ = ["EmbeddingTower", "bare_tables", "ConvTower", "DotScorer", "CandidateScorer", "PairwiseCandidateScorer",
           "SquaredLoss", "EmbeddingPenalty", "FusedRatingLoss", "FusedTableLoss", "FusedSkipGramLoss",
           "NegativeSamplingLoss", "LogisticPairLoss", "ContrastiveLoss",
           "RowSparseEmbedding", "row_sparse_tables", "hybridize_dense", "dense_table"]
