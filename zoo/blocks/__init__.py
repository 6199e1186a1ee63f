"""Building blocks: towers turn ids (or images) into vectors, scorers turn two vectors into a score, losses
turn scores into a per-example training signal."""
from .towers import EmbeddingTower
from .scorers import CandidateScorer, DotScorer, PairwiseCandidateScorer
from .losses import EmbeddingPenalty, NegativeSamplingLoss, SquaredLoss

__all__ = ["EmbeddingTower", "DotScorer", "CandidateScorer", "PairwiseCandidateScorer", "SquaredLoss",
           "EmbeddingPenalty", "NegativeSamplingLoss"]
