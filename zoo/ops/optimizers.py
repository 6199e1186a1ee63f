"""Adam, SGD and row-wise AdaGrad whose lazy row_sparse updates run as C++ operators (``lazy_adam.cc``,
``lazy_sgd.cc``, ``lazy_rowwise_adagrad.cc``)."""
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


class RowwiseAdaGrad(mx.optimizer.Optimizer):
    """Row-wise AdaGrad (``optim.name: rowwise_adagrad``): one accumulator per row of a parameter instead of one per
    entry (LIBMF's AdaGrad; TorchRec's row-wise AdaGrad), so updating an embedding row moves the row and one scalar
    where Adam moves the row and two moment rows. The arithmetic of MXNet's ``groupadagrad``::

        g = clip(rescale_grad * grad, clip_gradient);  h += mean(g^2 over the row);  w -= lr * g / sqrt(h + eps)

    for parameters of any shape (a row is everything along the first axis; a 1-D parameter's entries are rows of
    one, e.g. a global offset: plain AdaGrad), where ``groupadagrad`` takes 2-D ones only. A row whose gradient is
    zero does not move, so lazy (row_sparse) and dense updates agree. A row_sparse gradient of a 2-D float32 CPU
    weight is applied by ``zoo_lazy_rowwise_adagrad`` when zoo's operators load, by MXNet's
    ``group_adagrad_update`` otherwise; dense gradients by MXNet's element-wise operators. Weight decay is not
    supported (as in ``groupadagrad``).

    Parameters
    ----------
    eps : float
        Added to the accumulator under the square root (as ``groupadagrad``'s ``eps``).
    """

    def __init__(self, eps=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def create_state(self, index, weight):
        return mx.nd.zeros((weight.shape[0], 1), weight.context, dtype=weight.dtype)

    def update(self, index, weight, grad, state):
        from . import load
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        if wd:
            raise ValueError("rowwise_adagrad does not support weight decay (optim.wd / a parameter's wd_mult): "
                             "regularize with the model's own penalty (model.reg)")
        clip = self.clip_gradient if self.clip_gradient is not None else -1.0
        if grad.stype == "row_sparse" and weight.ndim == 2:
            if weight.dtype == np.float32 and weight.context.device_type == "cpu" and load():
                mx.nd.zoo_lazy_rowwise_adagrad(weight, grad, state, lr=lr, epsilon=self.float_stable_eps,
                                               rescale_grad=self.rescale_grad, clip_gradient=clip)
            else:
                mx.nd.contrib.group_adagrad_update(weight, grad, state, out=weight, lr=lr,
                                                   epsilon=self.float_stable_eps, rescale_grad=self.rescale_grad,
                                                   clip_gradient=clip)
            return
        g = grad.tostype("default").reshape((weight.shape[0], -1)) * self.rescale_grad   # (rows, row length)
        if clip >= 0:
            g = mx.nd.clip(g, -clip, clip)
        state[:] += mx.nd.mean(mx.nd.square(g), axis=1, keepdims=True)
        weight[:] -= (lr * mx.nd.broadcast_div(g, mx.nd.sqrt(state + self.float_stable_eps))).reshape(weight.shape)


# by the name configs use (``mx.optimizer.register`` would name it after the class, ``rowwiseadagrad``)
mx.optimizer.Optimizer.opt_registry["rowwise_adagrad"] = RowwiseAdaGrad
