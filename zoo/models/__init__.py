"""Registered models. Importing this package registers every built-in model with ``zoo.MODELS``."""
from .mf import MatrixFactorization

__all__ = ["MatrixFactorization"]
