"""Registered models. Importing this package registers every built-in model with ``zoo.MODELS``.

What every model has: ``hybrid_forward`` (its prediction), ``loss_fn`` (``(output, *targets) -> (batch,)``),
``num_targets`` (how many trailing entries of a batch are targets), ``regularization(*inputs)`` (a per-example
penalty or None), ``create(...)`` from plain arguments, ``from_config(cfg, meta)`` and
``example_inputs(meta)``; optionally ``initialize_from(dataset)``, a start computed from the training data,
called once on a new run.
:class:`Objective` turns these into the training loss.
"""
from .mf import ImplicitUserTower, MatrixFactorization, SVDpp
from .metric import InBatchMetricNet
from .objective import Objective
from .proxy import ProxyNet
from .ranking import RankingMF
from .siamese import SiameseNet
from .skipgram import SkipGram

__all__ = ["ImplicitUserTower", "InBatchMetricNet", "MatrixFactorization", "Objective", "ProxyNet", "RankingMF",
           "SVDpp", "SiameseNet", "SkipGram"]
