"""Training: one loop (``loop.py``) extended by hooks (``hooks.py``), plus checkpoints, devices and metrics."""
from .loop import Hook, TrainLoop
from .metrics import regression_metrics

__all__ = ["Hook", "TrainLoop", "regression_metrics"]
