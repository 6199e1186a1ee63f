"""Training: one loop (``loop.py``) extended by hooks (``hooks.py``), plus checkpoints, devices, learning-rate
schedules and where training runs (one process or a parameter-server cluster). It knows no task."""
from .loop import GradientStep, Hook, Step, TrainLoop

__all__ = ["GradientStep", "Hook", "Step", "TrainLoop"]
