"""Exported models give the live model's outputs."""
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import zoo
from conftest import write_idx_set
from zoo.config import from_raw
from zoo.pipeline import train


@pytest.fixture(scope="module", params=["mf", "siamese_cnn"])
def run(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "mf":
        from conftest import low_rank_ratings, write_ratings_csv
        data = {"name": "movielens", "root": write_ratings_csv(str(folder / "ml"), *low_rank_ratings())}
        model = {"name": "mf", "dim": 4}
    else:
        data = {"name": "images", "root": write_idx_set(folder / "digits", n_train=60, n_test=20)}
        model = {"name": "siamese_cnn", "dim": 4, "channels": [4]}
    cfg = from_raw({"model": model, "data": data, "train": {"epochs": 1, "batch_size": 32, "progress": False}})
    train(cfg, str(folder / "run"))
    return zoo.load_run(str(folder / "run"))


def sample_inputs(run):
    if run.cfg.model.name == "mf":
        return [np.array([0, 3, 7, 1], np.float32), np.array([2, 2, 9, 4], np.float32)]
    rng = np.random.default_rng(0)  # 5 images, 3 pairs among them by row number
    return [rng.random((5, 1, 8, 8), dtype=np.float32), np.array([0, 1, 4], np.float32),
            np.array([2, 2, 3], np.float32)]


# SymbolBlock.imports asks MXNet to infer input types before it knows them, which MXNet warns about.
@pytest.mark.filterwarnings("ignore:Cannot decide type:UserWarning")
def test_mxnet_export_round_trip(run, tmp_path):
    sym, params, names = run.export_mxnet(str(tmp_path / "model"))
    block = gluon.SymbolBlock.imports(sym, names, params)
    inputs = [mx.nd.array(x) for x in sample_inputs(run)]
    np.testing.assert_allclose(block(*inputs).asnumpy(), run.model(*inputs).asnumpy(), rtol=1e-5, atol=1e-6)


def test_onnx_export_round_trip(run, tmp_path):
    ort = pytest.importorskip("onnxruntime")  # in the test extra
    path = run.export_onnx(str(tmp_path / "model.onnx"))
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inputs = sample_inputs(run)
    feed = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    got = session.run(None, feed)[0]
    want = run.model(*[mx.nd.array(x) for x in inputs]).asnumpy()
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6)


def test_export_tool(run, tmp_path):
    from conftest import run_tool
    proc = run_tool(["tools/export.py", run.run_dir, "--format", "mxnet", "--out", str(tmp_path / "m")])
    assert proc.returncode == 0, proc.stderr
    assert os.path.exists(str(tmp_path / "m-symbol.json")) and os.path.exists(str(tmp_path / "m-0000.params"))
