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
    files = run.export_mxnet(str(tmp_path / "export"))
    block = gluon.SymbolBlock.imports(files["symbol"], files["inputs"], files["params"])
    inputs = [mx.nd.array(x) for x in sample_inputs(run)]
    np.testing.assert_allclose(block(*inputs).asnumpy(), run.model(*inputs).asnumpy(), rtol=1e-5, atol=1e-6)


def test_onnx_export_round_trip(run, tmp_path):
    ort = pytest.importorskip("onnxruntime")  # in the test extra
    path = run.export_onnx(str(tmp_path / "export"))["model"]
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
    assert sorted(os.listdir(tmp_path / "m")) == ["ids.json", "model-0000.params", "model-symbol.json"]


def test_the_readme_onnx_example_gives_the_live_models_ratings_for_raw_ids(run, tmp_path, capsys):
    """The README's onnxruntime code, run as written (its folder and movie ids pointed at this test's run), prints
    what the live model predicts for those raw ids, clipped to the rating range: no warnings, no float row ids
    of one's own making."""
    import re
    pytest.importorskip("onnxruntime")
    if run.cfg.model.name != "mf":
        pytest.skip("the example is for a rating run")
    from conftest import ROOT
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("### Serving an export"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    folder = str(tmp_path / "export-onnx")
    run.export_onnx(folder)
    movies = [int(m) for m in run.arrays["item_ids"][[0, 5, 9]]]
    code = code.replace('"runs/movielens_mf-20261129-101500/export-onnx"', repr(folder))
    code = code.replace("movies = [1, 50, 260]", "movies = %r" % movies)
    exec(compile(code, "README.md", "exec"), {})
    printed = np.array([float(x) for x in re.findall(r"[-\d.]+", capsys.readouterr().out)])
    ds = run.dataset
    users = ds.user_map.index([1] * 3).astype(np.int32)
    items = ds.item_map.index(movies).astype(np.int32)
    want = np.clip(run.model(mx.nd.array(users, dtype="int32"), mx.nd.array(items, dtype="int32")).asnumpy(),
                   *ds.rating_range)
    np.testing.assert_allclose(printed, want, rtol=1e-5, atol=1e-5)


def test_onnx_export_has_named_inputs_and_no_initializer_inputs(run, tmp_path):
    onnx = pytest.importorskip("onnx")
    files = run.export_onnx(str(tmp_path / "e"))
    graph = onnx.load(files["model"]).graph
    assert [i.name for i in graph.input] == list(run.model.input_names) and graph.output[0].name == "scores"
    import json
    with open(files["ids"]) as f:
        ids = json.load(f)
    if run.cfg.model.name == "mf":
        assert ids["user_ids"] == run.arrays["user_ids"].tolist()


@pytest.mark.filterwarnings("ignore:Cannot decide type:UserWarning")
def test_an_svdpp_run_exports_to_mxnet_and_refuses_onnx_by_name(tmp_path):
    """SVD++'s rated items are sparse rows, which ONNX lacks: the ONNX export says so, naming the input, before
    writing anything; the MXNet export gives the live model's ratings."""
    from conftest import low_rank_ratings, write_ratings_csv
    from zoo.ops.arrays import as_ndarrays
    data = {"name": "movielens", "root": write_ratings_csv(str(tmp_path / "ml"), *low_rank_ratings()),
            "implicit": True}
    cfg = from_raw({"model": {"name": "svdpp", "dim": 4}, "data": data,
                    "train": {"epochs": 1, "batch_size": 64, "progress": False}})
    train(cfg, str(tmp_path / "run"))
    run = zoo.load_run(str(tmp_path / "run"))
    with pytest.raises(ValueError, match="cannot be exported to ONNX: its input rated is sparse"):
        run.export_onnx(str(tmp_path / "onnx"))
    assert not os.path.exists(tmp_path / "onnx")
    files = run.export_mxnet(str(tmp_path / "export"))
    block = gluon.SymbolBlock.imports(files["symbol"], files["inputs"], files["params"])
    inputs = as_ndarrays(run.dataset.inputs(np.array([0, 3, 3, 1], np.int32), np.array([2, 2, 9, 4], np.int32)))
    np.testing.assert_allclose(block(*inputs).asnumpy(), run.model(*inputs).asnumpy(), rtol=1e-5, atol=1e-6)
