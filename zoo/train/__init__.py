"""Training: one loop (``loop.py``) extended by hooks (``hooks.py``), plus checkpoints, devices, learning-rate
schedules and where training runs (one process or a parameter-server cluster). It knows no task."""
from .loop import Hook, TrainLoop

__all__ = ["Hook", "TrainLoop"]
