"""The towers' initializer: normal numbers drawn by zoo's sampler."""
import mxnet as mx
import numpy as np


@mx.init.register  # Gluon hands a parameter's initializer over by its registered name ("zoonormal")
class ZooNormal(mx.init.Initializer):
    """``N(0, sigma^2)`` numbers, as ``mx.init.Normal(sigma)``, drawn by zoo's C++ sampler
    (``zoo_random_normal``: a generator per block of numbers, Marsaglia's polar method) from a seed that MXNet's own
    generator gives, so ``mx.random.seed`` repeats them. MXNet's own sampler is several times slower: on a small
    data set its tables' start cost more than an epoch of training (``zoo/ops/README.md``). Where zoo's operators
    are not available (no compiler, ``ZOO_CPP_OPS=0``, an array off the CPU), MXNet's sampler draws them: other
    numbers of the same distribution.

    Gluon initializes a parameter on the CPU and copies it to each device, so every device starts from one draw.
    """

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, name, arr):
        if arr.stype != "default":  # a row_sparse table (on parameter servers): the numbers of a dense one
            dense = mx.nd.zeros(arr.shape, ctx=arr.context, dtype=arr.dtype)
            self._init_weight(name, dense)
            dense.tostype(arr.stype).copyto(arr)
            return
        from ..ops import load  # the operators build on first use
        if arr.context.device_type != "cpu" or np.dtype(arr.dtype) != np.float32 or not load():
            mx.nd.random.normal(0, self.sigma, out=arr)
            return
        # the seed from MXNet's generator, on the engine like the draw: nothing waits here
        seed = mx.nd.random.randint(0, 2 ** 31 - 1, shape=(1,), dtype="int32", ctx=arr.context)
        mx.nd.zoo_random_normal(seed, shape=arr.shape, scale=self.sigma, out=arr)
