"""Adam and SGD whose lazy row_sparse updates run as C++ operators (``lazy_adam.cc``, ``lazy_sgd.cc``)."""
import math

import mxnet as mx
import numpy as np


class FusedAdam(mx.optimizer.Adam):
    """``mx.optimizer.Adam`` with the same arithmetic; a row_sparse gradient of a dense float32 CPU weight is
    applied by ``zoo_lazy_adam`` (one vectorized pass over each row, on every core), anything else, or a
    process where :func:`zoo.ops.load` failed, by MXNet's ``adam_update``. Learning rate schedules, weight decay,
    ``rescale_grad`` and ``clip_gradient`` act as in Adam."""

    def update(self, index, weight, grad, state):
        from . import load
        if not (self.lazy_update and grad.stype == "row_sparse" and weight.stype == "default"
                and weight.dtype == np.float32 and weight.context.device_type == "cpu" and load()):
            return super().update(index, weight, grad, state)
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        t = self._index_update_count[index]
        lr *= math.sqrt(1. - self.beta2 ** t) / (1. - self.beta1 ** t)
        mean, var = state
        clip = self.clip_gradient if self.clip_gradient is not None else -1.0
        mx.nd.zoo_lazy_adam(weight, grad, mean, var, lr=lr, wd=wd, beta1=self.beta1, beta2=self.beta2,
                            epsilon=self.epsilon, rescale_grad=self.rescale_grad, clip_gradient=clip)


class FusedSGD(mx.optimizer.SGD):
    """``mx.optimizer.SGD`` with the same arithmetic; without momentum, a row_sparse gradient of a dense float32
    CPU weight is applied by ``zoo_lazy_sgd`` on every core (MXNet's own update runs on one), anything else,
    or a process where :func:`zoo.ops.load` failed, by MXNet's ``sgd_update``."""

    def update(self, index, weight, grad, state):
        if not self._fused_update(index, weight, grad, state):
            super().update(index, weight, grad, state)

    def update_multi_precision(self, index, weight, grad, state):  # what Trainer calls; SGD's skips update()
        if not isinstance(index, (list, tuple)):
            if not self._fused_update(index, weight, grad, state):
                super().update_multi_precision(index, weight, grad, state)
            return
        # MXNet hands several parameters at once (MXNET_OPTIMIZER_AGGREGATION_SIZE): the rest go to SGD together.
        rest = [p for p in zip(index, weight, grad, state) if not self._fused_update(*p)]
        if rest:
            super().update_multi_precision(*(list(column) for column in zip(*rest)))

    def _fused_update(self, index, weight, grad, state):
        from . import load
        if not (state is None and self.lazy_update and grad.stype == "row_sparse" and weight.stype == "default"
                and weight.dtype == np.float32 and weight.context.device_type == "cpu" and load()):
            return False
        self._update_count(index)
        clip = self.clip_gradient if self.clip_gradient is not None else -1.0
        mx.nd.zoo_lazy_sgd(weight, grad, lr=self._get_lr(index), wd=self._get_wd(index),
                           rescale_grad=self.rescale_grad, clip_gradient=clip)
        return True
