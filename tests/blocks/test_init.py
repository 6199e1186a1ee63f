"""The towers' initializer (zoo.blocks.init.ZooNormal) and its sampler, the zoo_random_normal operator."""
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

from zoo import ops
from zoo.blocks import EmbeddingBag, EmbeddingTower
from zoo.blocks.init import ZooNormal

from conftest import ROOT

MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_normal(seed, n, scale, block=4096):
    """The operator's numbers, written out from its description: blocks of ``block`` numbers, each from its own
    SplitMix64 sequence (its start 2^20 steps after the block before), pairs by Marsaglia's polar method."""
    out, unit = np.empty(n, np.float32), np.float32(2.0 ** -23)
    start = _mix((seed * GAMMA + 1) & MASK)
    for b in range(-(-n // block)):
        state, k, end = (start + b * ((GAMMA << 20) & MASK)) & MASK, b * block, min(n, (b + 1) * block)
        while k < end:
            state = (state + GAMMA) & MASK
            bits = _mix(state)
            a = np.float32(bits >> 40) * unit - np.float32(1)
            c = np.float32((bits >> 8) & 0xFFFFFF) * unit - np.float32(1)
            s = a * a + c * c
            if s >= 1 or s == 0:
                continue
            f = np.sqrt(np.float32(-2) * np.log(s) / s)
            out[k] = scale * a * f
            if k + 1 < end:
                out[k + 1] = scale * c * f
            k += 2
    return out


def draw(seed, shape, scale=1.0):
    return mx.nd.zoo_random_normal(mx.nd.array([seed], dtype="int32"), shape=shape, scale=scale).asnumpy()


def test_the_operator_draws_the_numbers_its_description_gives():
    assert ops.load()
    got = draw(12345, (3, 3000), scale=0.5).ravel()  # three blocks, the last one short and of odd length
    # the operator rounds a * a + b * b once (a fused multiply-add), numpy twice: where s is near 1, log(s) then
    # differs in its last digits
    np.testing.assert_allclose(got, reference_normal(12345, 9000, np.float32(0.5)), rtol=1e-4, atol=2e-6)


def test_the_numbers_are_standard_normal_and_depend_on_the_seed_alone():
    assert ops.load()
    x = draw(7, (1000, 300)).ravel()
    assert abs(x.mean()) < 0.005 and abs(x.std() - 1) < 0.005, (x.mean(), x.std())
    for k, share in ((1, 0.682689), (2, 0.954500), (3, 0.997300)):  # within k standard deviations
        assert abs(np.mean(np.abs(x) < k) - share) < 0.003, k
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.01  # neighbours, also across blocks, are independent
    assert np.array_equal(draw(7, (1000, 300)), x.reshape(1000, 300))
    other = draw(8, (1000, 300)).ravel()
    assert abs(np.corrcoef(x, other)[0, 1]) < 0.01
    # the same numbers whatever the thread count: one thread in a process of its own
    code = ("import numpy as np, mxnet as mx; from zoo import ops; ops.load(); "
            "x = mx.nd.zoo_random_normal(mx.nd.array([7], dtype='int32'), shape=(1000, 300)).asnumpy(); "
            "print(x.tobytes().hex()[:64], float(x.astype(np.float64).sum()))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [x.tobytes().hex()[:64], repr(float(x.astype(np.float64).sum()))]


def test_the_operator_refuses_a_bad_seed_or_shape():
    assert ops.load()
    with pytest.raises(mx.base.MXNetError, match="seed must be int32"):
        mx.nd.zoo_random_normal(mx.nd.array([1.0]), shape=(2, 2)).asnumpy()
    with pytest.raises(mx.base.MXNetError, match="shape attribute"):
        mx.nd.zoo_random_normal(mx.nd.array([1], dtype="int32")).asnumpy()


@pytest.mark.parametrize("make", [lambda: EmbeddingTower(400, 50, init_scale=0.02),
                                  lambda: EmbeddingBag(400, 50, init_scale=0.02)])
def test_towers_start_from_zoos_normal_repeated_by_mxnets_seed(make):
    tables = []
    for seed in (3, 3, 4):
        mx.random.seed(seed)
        block = make()
        block.initialize()
        table = next(p for name, p in block.collect_params().items() if name.endswith("weight")).data().asnumpy()
        tables.append(table)
    assert np.array_equal(tables[0], tables[1]) and not np.array_equal(tables[0], tables[2])
    assert abs(tables[0].std() - 0.02) < 0.001 and abs(tables[0].mean()) < 0.001
    param = next(iter(make().collect_params().values()))
    assert isinstance(param.init, ZooNormal)


def test_without_the_operators_mxnets_sampler_draws_them():
    code = ("import mxnet as mx; from zoo.blocks.init import ZooNormal; "
            "mx.random.seed(5); a = mx.nd.zeros((300, 40)); ZooNormal(0.1)._init_weight('w', a); "
            "mx.random.seed(5); b = mx.nd.random.normal(0, 0.1, shape=(300, 40)); "
            "print((a == b).asnumpy().all(), round(float(a.asnumpy().std()), 2))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ, ZOO_CPP_OPS="0"),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "0.1"]


def test_a_row_sparse_table_gets_the_numbers_of_a_dense_one():
    tables = []
    for stype in ("default", "row_sparse"):
        mx.random.seed(11)
        table = mx.nd.zeros((64, 8)) if stype == "default" else mx.nd.sparse.zeros("row_sparse", (64, 8))
        ZooNormal(0.3)._init_weight("weight", table)
        assert table.stype == stype
        tables.append(table.tostype("default").asnumpy())
    assert np.array_equal(tables[0], tables[1]) and tables[0].std() > 0.2
