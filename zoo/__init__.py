"""zoo: embedding models that score with a dot product, built from Gluon blocks.

A model is towers + a scorer + a loss; one loop trains them all (see ``zoo.train``).
"""
import os

# Threads of the OpenMP runtime that MXNet and zoo's operators share sleep when a parallel loop ends, instead of
# spinning for a while: with two cores, a spinning thread takes the core that Python needs to prepare the next
# batch (measured in zoo/ops/README.md). Read when MXNet is first imported; a value the user set stays.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .cores import default_mxnet_threads  # noqa: E402  (imports nothing of MXNet's)

default_mxnet_threads()  # a thread a physical core for MXNet's operators, where the user set no count

try:
    import mxnet  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised by the install check in tests/test_package.py
    raise ImportError(
        "zoo needs MXNet 1.9.1, installed through one of its extras: "
        "pip install -e '.[cpu]' (any machine) or pip install -e '.[gpu]' (CUDA 11.2). "
        "Original error: %s" % err) from err

from .registry import MODELS, DATASETS, Registry  # noqa: E402
from . import blocks, models, data  # noqa: E402,F401  (importing registers the built-in models and datasets)
from .api import Run, build_model, load_run  # noqa: E402
from .vectors import Vectors, load_vectors  # noqa: E402

__version__ = "0.1.0"


def list_models(pattern="*"):
    """Sorted names of the registered models that match a shell-style pattern."""
    return MODELS.list(pattern)
