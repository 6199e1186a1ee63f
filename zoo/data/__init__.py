"""Data: files -> numpy arrays -> batches. Importing this package registers the built-in datasets."""
from .download import DataError
from .movielens import MovieLens
from .images import ImagePairs
from .implicit import MovieLensImplicit
from .text import TextCorpus

__all__ = ["DataError", "ImagePairs", "MovieLens", "MovieLensImplicit", "TextCorpus"]
