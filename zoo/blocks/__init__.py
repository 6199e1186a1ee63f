"""Building blocks: towers turn ids (or images) into vectors, scorers turn two vectors into a score, losses
turn scores into a per-example training signal."""
from .towers import ConvTower, EmbeddingTower
from .scorers import CandidateScorer, DotScorer, PairwiseCandidateScorer
from .losses import ContrastiveLoss, EmbeddingPenalty, LogisticPairLoss, NegativeSamplingLoss, SquaredLoss

__all__ = ["EmbeddingTower", "ConvTower", "DotScorer", "CandidateScorer", "PairwiseCandidateScorer",
           "SquaredLoss", "EmbeddingPenalty", "NegativeSamplingLoss", "LogisticPairLoss", "ContrastiveLoss"]
