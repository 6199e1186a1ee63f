"""Registered models. Importing this package registers every built-in model with ``zoo.MODELS``."""
from .mf import MatrixFactorization
from .siamese import SiameseNet
from .skipgram import SkipGram

__all__ = ["MatrixFactorization", "SiameseNet", "SkipGram"]
