"""Every registered model: builds from its config; forward agrees hybridized and not; the training loss is the
loss of the model's own forward plus its penalty; the fused kernels compute the composite objective's losses and
gradients; two devices give the result of one. A model added to the registry without an entry in TINY fails
here on purpose."""
import itertools
import os
import signal

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

import zoo
from zoo.config import from_raw
from zoo.fastpath import fused_objective, fused_step, make_optimizer, select_objective, select_step
from zoo.models import Objective
from zoo.ops.arrays import as_ndarrays
from zoo.pipeline import build_dataset, build_model, train
from zoo.train import GradientStep, Hook, TrainLoop
from zoo.train.loop import Interrupted
from conftest import topic_corpus, write_idx_set


def corpus(root):
    return {"model": {"name": "skipgram", "dim": 8},
            "data": {"name": "text", "paths": [root + "/corpus.txt"], "min_count": 1},
            "eval": {"sets": [], "download": False}}


TINY = {
    "mf": lambda root: {"model": {"name": "mf", "dim": 4}, "data": {"name": "movielens", "root": root}},
    "mf_towers": lambda root: {"model": {"name": "mf", "dim": 6, "hidden": [5], "biases": False},
                               "data": {"name": "movielens", "root": root}},
    "svdpp": lambda root: {"model": {"name": "svdpp", "dim": 4},
                           "data": {"name": "movielens", "root": root, "implicit": True}},
    # configs/movielens_svdpp.yaml's recipe: the rated items' table from zero, SGD a rating at a time, several
    # steps a call (on one CPU the fused SVD++ SGD kernel makes them)
    "svdpp_per_example": lambda root: {
        "model": {"name": "svdpp", "dim": 4, "implicit_init_scale": 0.0, "implicit_lr_mult": 0.5},
        "data": {"name": "movielens", "root": root, "implicit": True},
        "train": {"steps_per_call": 4},
        "optim": {"name": "sgd", "lr": 0.01, "per_example": True}},
    "ranking_mf": lambda root: {"model": {"name": "ranking_mf", "dim": 4},
                                "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5},
                                "eval": {"k": [5]}},
    "ranking_mf_history": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "reg": 0.01},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "history": True},
        "eval": {"k": [5]}},
    "ranking_mf_per_user": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "loss": "multinomial"},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "history": True,
                 "per_user": True, "input_dropout": 0.5},
        "eval": {"k": [5]}},
    "ranking_mf_bpr": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "loss": "bpr"},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "negatives": 3,
                 "negative_alpha": 0.75},
        "eval": {"k": [5]}},
    "ranking_mf_sampled_softmax": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "loss": "sampled_softmax", "reg": 0.01},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "negatives": 4,
                 "history": True},
        "eval": {"k": [5]}},
    "ranking_mf_in_batch": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "loss": "in_batch"},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "in_batch": True},
        "eval": {"k": [5]}},
    # configs/movielens_ranking.yaml's recipe: a row per user, started from the SVD of the positives
    "ranking_mf_svd": lambda root: {
        "model": {"name": "ranking_mf", "dim": 4, "loss": "multinomial", "init": "svd"},
        "data": {"name": "movielens_implicit", "root": root, "positive_threshold": 3.5, "history": True,
                 "per_user": True, "input_dropout": 0.5},
        "eval": {"k": [5]}},
    "skipgram": corpus,
    "skipgram_shared": lambda root: dict(corpus(root), data=dict(corpus(root)["data"], shared_negatives=True)),
    # configs/word2vec.yaml's step: SGD one pair at a time (the fused per-example kernel)
    "skipgram_per_example": lambda root: dict(corpus(root), optim={"name": "sgd", "lr": 0.05, "per_example": True}),
    "siamese_cnn": lambda root: {"model": {"name": "siamese_cnn", "dim": 8, "channels": [4, 8]},
                                 "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2}},
    # configs/image_similarity.yaml's pairing: distinct images a batch, paired among themselves
    "siamese_cnn_in_batch_pairs": lambda root: {
        "model": {"name": "siamese_cnn", "dim": 8, "channels": [4, 8]},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2, "pairs_per_image": 2}},
    # class proxies scored by the dot product (NormSoftmax with a CosFace margin), trained on digits 0 and 1 only
    "proxy_cnn": lambda root: {
        "model": {"name": "proxy_cnn", "dim": 8, "channels": [4, 8], "margin": 0.1},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2, "targets": "classes",
                 "train_classes": [0, 1]}},
    # in-batch pairs: the multi-similarity loss over the pairs its miner keeps
    "metric_cnn": lambda root: {
        "model": {"name": "metric_cnn", "dim": 8, "channels": [4, 8]},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2, "targets": "relations"}},
    "siamese_cnn_two_towers": lambda root: {
        "model": {"name": "siamese_cnn", "dim": 8, "channels": [4], "shared": False, "loss": "contrastive"},
        "data": {"name": "images", "root": root + "/digits", "valid_ratio": 0.2}},
}


@pytest.fixture
def data_root(ratings_dir):
    with open(ratings_dir + "/corpus.txt", "w") as f:
        f.write("the cat sat on the mat\nthe dog sat on the log\n" * 3)
    write_idx_set(ratings_dir + "/digits", n_train=60, n_test=20)
    return ratings_dir


def setup(name, root, batch_size=24, steps=1, seed=0):
    cfg = from_raw(TINY[name](root))
    dataset = build_dataset(cfg)
    batches = list(itertools.islice(dataset.batches("train", batch_size, shuffle=True, seed=seed), steps))
    return cfg, dataset, batches


def new_model(cfg, dataset, devices=(mx.cpu(),), hybridize=True):
    mx.random.seed(0)  # the same initial values every time
    model = build_model(cfg, dataset.meta)
    model.initialize(ctx=list(devices))
    # Tables that start at zero (skip-gram's context vectors, the biases) give zero gradients to the rows they
    # multiply in the first step; random values make every comparison below see every gradient.
    randomize_zero_tables(model)
    if hybridize:
        model.hybridize(static_alloc=True)
    return model


def randomize_zero_tables(model):
    for p in model.collect_params().values():
        if p.init == "zeros" and 0 not in p.shape:  # (a CNN's shapes are known only after its first batch)
            p.set_data(mx.nd.random.normal(0, 0.3, shape=p.shape))


def nd(batch, ctx=mx.cpu()):
    return as_ndarrays(batch, ctx)  # SVD++'s shared rows are two arrays: the distinct rows and each example's


def test_every_registered_model_has_a_tiny_config():
    assert set(zoo.list_models()) <= {entry["model"]["name"] for entry in
                                      (make("/nowhere") for make in TINY.values())}


@pytest.mark.parametrize("name", sorted(TINY))
def test_forward_and_one_step(name, data_root, hybridize):
    cfg, dataset, (batch,) = setup(name, data_root, 32)
    model = new_model(cfg, dataset, hybridize=False)
    arrays = nd(batch)
    inputs = arrays[:len(arrays) - model.num_targets]
    imperative = model(*inputs).asnumpy()
    if hybridize:
        model.hybridize(static_alloc=True)
        np.testing.assert_allclose(model(*inputs).asnumpy(), imperative, rtol=1e-5, atol=1e-6)
    objective = select_objective(model, [mx.cpu()], hybridize=hybridize)
    trainer = gluon.Trainer(model.collect_params(), make_optimizer(cfg.optim.name, {"learning_rate": 0.01}))
    with autograd.record():
        loss = objective(*nd(batch))
    n = loss.shape[0]  # one loss per example: a rating, a word pair, an image pair
    assert loss.shape == (n,) and n == len(batch[1]) and np.isfinite(loss.asnumpy()).all()
    loss.backward()
    trainer.step(n)
    assert np.isfinite(model(*inputs).asnumpy()).all()


@pytest.mark.parametrize("name", sorted(TINY))
def test_training_loss_is_the_loss_of_the_forward_plus_the_penalty(name, data_root, hybridize):
    """What the loop trains on (the selected objective, fused or not) equals ``loss_fn(model(inputs), targets)
    + regularization(inputs)`` computed step by step, for every registered model."""
    cfg, dataset, (batch,) = setup(name, data_root)
    model = new_model(cfg, dataset, hybridize=hybridize)
    for p in model.collect_params().values():
        if "batchnorm" in p.name and "running" not in p.name:
            p.grad_req = "null"  # BatchNorm in training mode normalizes by the batch: see the composite below
    arrays = nd(batch)
    split = len(arrays) - model.num_targets
    with autograd.record():  # training mode, as in the loop
        out = model(*arrays[:split])
        want = model.loss_fn(out, *arrays[split:])
        penalty = model.regularization(*arrays[:split])
        want = want if penalty is None else want + penalty
        got = select_objective(model, [mx.cpu()], hybridize=hybridize)(*arrays)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(TINY))
def test_fused_kernels_give_the_composite_losses_and_gradients(name, data_root):
    cfg, dataset, (batch,) = setup(name, data_root)
    fused, why = fused_objective(new_model(cfg, dataset), [mx.cpu()])
    if fused is None:
        assert "no fused kernel" in why or "not used" in why
        pytest.skip(why)
    results = []
    for make in (lambda m: fused_objective(m, [mx.cpu()])[0], lambda m: Objective(m)):
        model = new_model(cfg, dataset)
        objective = make(model)
        with autograd.record():
            loss = objective(*nd(batch))
        loss.backward()
        grads = {k: p.grad().tostype("default").asnumpy() for k, p in model._collect_params_with_prefix().items()}
        results.append((loss.asnumpy(), grads))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    for key in results[1][1]:
        np.testing.assert_allclose(results[0][1][key], results[1][1][key], rtol=1e-4, atol=FUSED_ATOL.get(name, 1e-6),
                                   err_msg=key)


@pytest.mark.parametrize("name", sorted(TINY))
def test_fused_steps_are_the_composite_steps_one_example_at_a_time(name, data_root):
    """A fused per-example step (``optim.per_example``) on a batch equals SGD's composite step
    (``GradientStep(Objective(model))``) on each example of it alone, in order: the same losses and the same
    parameters after two steps, the learning rate's schedule moving once a step (0.1, then 0.05) and
    ``clip_gradient`` bounding each example's gradient."""
    cfg, dataset, (batch,) = setup(name, data_root)

    def sgd(**args):
        return make_optimizer("sgd", dict(args, clip_gradient=0.05))
    step, why = fused_step(new_model(cfg, dataset), [mx.cpu()], sgd(learning_rate=0.1))
    if step is None:
        pytest.skip(why)
    results = []
    for fused in (True, False):
        model = new_model(cfg, dataset)
        if fused:
            optimizer = sgd(learning_rate=0.1, lr_scheduler=mx.lr_scheduler.FactorScheduler(step=1, factor=0.5))
            trainer = gluon.Trainer(model.collect_params(), optimizer)
            train = fused_step(model, [mx.cpu()], optimizer)[0]
            losses = [train([nd(batch)], trainer)[0] for _ in range(2)]  # one part: one device
            assert optimizer.num_update == 2
        else:
            trainer = gluon.Trainer(model.collect_params(), sgd(learning_rate=0.1))
            composite, losses = GradientStep(Objective(model), sum_gradients=True), []
            for lr in (0.1, 0.05):
                trainer.set_learning_rate(lr)
                losses.append(mx.nd.concat(*(composite([nd(example)], trainer)[0]
                                             for example in dataset.split_batch(batch, len(batch[0]))), dim=0))
        results.append(([loss.asnumpy() for loss in losses],
                        {k: p.data().asnumpy() for k, p in model._collect_params_with_prefix().items()}))
    (fused_losses, fused_params), (losses, params) = results
    for a, b in zip(fused_losses, losses):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in params:
        np.testing.assert_allclose(fused_params[key], params[key], rtol=1e-4, atol=1e-6, err_msg=key)


# The composite softmax over a catalog rounds a row's log-sum-exp in float32: its gradients (sums over rows of
# T * softmax - target) are off by up to 4e-5 from float64, the kernel's by 7e-6 (test_ranking_mf checks the
# kernel against float64 at 2e-5), so these two are compared at that composite's accuracy.
FUSED_ATOL = {"ranking_mf_per_user": 1e-4, "ranking_mf_svd": 1e-4}


def global_batchnorm(model):
    """BatchNorm normalizes by the statistics of the part a device holds: the one thing two devices cannot share
    with one (MXNet has no synchronized BatchNorm on CPUs). For the exact comparison it normalizes by its
    running statistics instead; test_two_devices_end_with_the_metric_of_one keeps the real BatchNorm."""
    for block in _blocks(model):
        if type(block).__name__ == "BatchNorm":
            block._kwargs["use_global_stats"] = True


def _blocks(block):
    yield block
    for child in block._children.values():
        yield from _blocks(child)


@pytest.mark.parametrize("name", sorted(TINY))
def test_two_devices_give_the_parameters_of_one(name, data_root):
    """Three steps of plain SGD with the same global batches: ``cpu:0,1`` ends with the parameters ``cpu`` ends
    with. SGD's step is proportional to the gradient, so a gradient of the wrong scale (or pairs pointing at the
    wrong images, or negatives split between devices) shows."""
    cfg, dataset, batches = setup(name, data_root, batch_size=24, steps=3)
    ends = []
    for devices in ([mx.cpu()], [mx.cpu(0), mx.cpu(1)]):
        mx.random.seed(0)
        model = build_model(cfg, dataset.meta)
        global_batchnorm(model)
        model.initialize(ctx=devices)
        model.hybridize(static_alloc=True)
        randomize_zero_tables(model)
        optimizer = make_optimizer("sgd", {"learning_rate": 0.5})
        step = select_step(model, devices, optimizer, cfg.optim.per_example)
        trainer = gluon.Trainer(model.collect_params(), optimizer)
        loop = TrainLoop(model, step, trainer,
                         lambda epoch: [dataset.split_batch(b, len(devices)) for b in batches], devices, 1)
        loop.run()
        ends.append(({k: p.data(devices[-1]).asnumpy() for k, p in model._collect_params_with_prefix().items()},
                     loop.metrics["train.loss"]))
    (one, loss1), (two, loss2) = ends
    assert np.isclose(loss1, loss2, rtol=1e-5)
    for key in one:
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-6, err_msg=key)


# The final test metric of two short runs, one per device setup; BatchNorm per device is the one difference.
FINAL_METRIC = {"ranking_mf": ("test", "ndcg@5", 1e-4), "ranking_mf_history": ("test", "ndcg@5", 1e-4),
                "ranking_mf_per_user": ("test", "ndcg@5", 1e-4), "ranking_mf_bpr": ("test", "ndcg@5", 1e-4),
                "ranking_mf_sampled_softmax": ("test", "ndcg@5", 1e-4), "ranking_mf_in_batch": ("test", "ndcg@5", 1e-4),
                "ranking_mf_svd": ("test", "ndcg@5", 1e-4),
                "mf": ("test", "rmse", 1e-4), "mf_towers": ("test", "rmse", 1e-4), "svdpp": ("test", "rmse", 1e-4),
                "svdpp_per_example": ("test", "rmse", 1e-4),
                "skipgram": ("wordsim353", "spearman", 1e-4), "skipgram_shared": ("wordsim353", "spearman", 1e-4),
                "skipgram_per_example": ("wordsim353", "spearman", 1e-4),
                "siamese_cnn": ("test", "recall@1", 0.1), "siamese_cnn_in_batch_pairs": ("test", "recall@1", 0.1),
                "proxy_cnn": ("test", "recall@1", 0.1), "metric_cnn": ("test", "recall@1", 0.1),
                "siamese_cnn_two_towers": ("test", "recall@1", 0.1)}


def short_run(name, data_root, tmp_path, **train):
    """The tiny config of ``name`` as a short run that learns something, with its final metric's key."""
    split, metric, tolerance = FINAL_METRIC[name]
    raw = TINY[name](data_root)
    epochs, batch_size, optim = 2, 32, {"name": "sgd", "lr": 0.1}
    if name.startswith("skipgram"):  # two topics, and a similarity set that a trained model ranks right
        raw["data"].update(paths=[topic_corpus(tmp_path)], sample=0, window=3)
        raw["eval"] = {"root": str(tmp_path), "sets": ["wordsim353"], "download": False}
        epochs, batch_size = 3, 512  # five negatives shared by 512 pairs take a smaller step
        optim = {"name": "sgd", "lr": 3.2 if name.endswith("shared") else 12.8}
        if raw.get("optim", {}).get("per_example"):
            optim = dict(raw["optim"], lr=12.8 / batch_size)  # the same step a pair
    if name.startswith(("siamese", "proxy", "metric")):
        epochs, optim = 4, {"name": "adam", "lr": 0.01}
    if name == "svdpp_per_example":
        optim = raw["optim"]  # its recipe is its optimizer
    train = {k: v for k, v in train.items() if v is not None}
    raw.update(train={"epochs": epochs, "batch_size": batch_size, "progress": False, **raw.get("train", {}), **train},
               optim=optim)
    return from_raw(raw), split, metric, tolerance


@pytest.mark.parametrize("name", sorted(TINY))
def test_two_devices_end_with_the_metric_of_one(name, data_root, tmp_path):
    """The whole pipeline with ``train.devices=cpu`` and ``cpu:0,1``: the same final metric, to 1e-4 for models
    without BatchNorm and within 0.1 Recall@1 (2 of 20 test images) for the CNNs, whose BatchNorm normalizes each
    device's half of the batch on its own."""
    values = []
    for devices in ("cpu", "cpu:0,1"):
        cfg, split, metric, tolerance = short_run(name, data_root, tmp_path, devices=devices)
        values.append(train(cfg, str(tmp_path / devices.replace(":", "_")))[split][metric])
    assert np.isfinite(values).all() and abs(values[0] - values[1]) <= tolerance, values


class InterruptAt(Hook):
    """Sends SIGINT to this process once, after step ``step`` (or the call of several steps that passes it), as
    Ctrl-C would: the run writes last.npz at the next step and stops. No timing involved."""

    def __init__(self, step):
        self.step, self.sent = step, False

    def after_step(self, loop):
        if loop.step >= self.step and not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("name", sorted(TINY))
def test_an_interrupted_and_resumed_run_ends_like_an_uninterrupted_one(name, data_root, tmp_path):
    """Interrupted inside its first epoch and resumed, every model ends with the results of a run that was never
    stopped: the parameters, the optimizer state, the hooks' state and the batches to skip all come back."""
    # batches of 8 image pairs or images, so that the first epoch has more than 3 steps
    images = name.startswith(("siamese", "proxy", "metric"))
    cfg, split, metric, _ = short_run(name, data_root, tmp_path, batch_size=8 if images else None)
    straight = train(cfg, str(tmp_path / "straight"))
    with pytest.raises(Interrupted):
        train(cfg, str(tmp_path / "stopped"), hooks=[InterruptAt(2)])
    resumed = train(cfg, str(tmp_path / "stopped"), resume=True)
    assert resumed["epochs"] == straight["epochs"] and resumed["best_epoch"] == straight["best_epoch"]
    for part in straight:
        if isinstance(straight[part], dict):
            for key, value in straight[part].items():
                assert np.isclose(resumed[part][key], value, rtol=1e-5, atol=1e-6), (part, key, resumed, straight)


@pytest.mark.parametrize("model, targets, data, message", [
    ("svdpp", None, {"implicit": False}, "set data.implicit: true"),
    ("siamese_cnn", "classes", {}, "siamese_cnn learns from image pairs: set data.targets: pairs"),
    ("proxy_cnn", "pairs", {}, "proxy_cnn learns from image classes: set data.targets: classes"),
    ("metric_cnn", "classes", {}, "metric_cnn learns from the pairs inside a batch: set data.targets: relations"),
])
def test_a_model_refuses_batches_of_another_kind_by_the_key(model, targets, data, message, data_root):
    """Each model names the data key that gives it the batches it needs, instead of failing on their shapes."""
    raw = TINY[model](data_root)
    raw["data"].update(data, **({"targets": targets} if targets else {}))
    cfg = from_raw(raw)
    with pytest.raises(ValueError, match=message):
        build_model(cfg, build_dataset(cfg).meta)


@pytest.mark.parametrize("name", sorted(TINY))
def test_several_steps_a_call_end_with_the_metric_of_one(name, data_root, tmp_path):
    """``train.steps_per_call=3`` hands the step three batches at once: biased MF with Adam takes them in one
    kernel call (``FusedMFAdamSteps``), SVD++ with SGD per example too (``FusedSVDppSGDSteps``), every other model
    one at a time; either way the run ends as with one batch a call (Adam for the other rating models, so that
    MF's kernel runs)."""
    values = []
    for k in (1, 3):
        cfg, split, metric, _ = short_run(name, data_root, tmp_path, steps_per_call=k)
        if name in ("mf", "mf_towers", "svdpp"):
            cfg.optim.name, cfg.optim.lr = "adam", 0.01
        values.append(train(cfg, str(tmp_path / ("k%d" % k)))[split][metric])
    assert np.isfinite(values).all() and abs(values[0] - values[1]) <= 1e-5, values
