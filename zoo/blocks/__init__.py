"""Building blocks: towers turn ids (or images) into vectors, scorers turn two vectors into a score, losses
turn scores into a per-example training signal."""
from .towers import EmbeddingTower
from .scorers import DotScorer
from .losses import SquaredLoss, EmbeddingPenalty

__all__ = ["EmbeddingTower", "DotScorer", "SquaredLoss", "EmbeddingPenalty"]
