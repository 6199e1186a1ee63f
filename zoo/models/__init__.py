"""Registered models. Importing this package registers every built-in model with ``zoo.MODELS``."""
from .mf import ImplicitUserTower, MatrixFactorization, SVDpp
from .siamese import SiameseNet
from .skipgram import SkipGram

__all__ = ["ImplicitUserTower", "MatrixFactorization", "SVDpp", "SiameseNet", "SkipGram"]
