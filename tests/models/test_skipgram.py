import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd

from zoo.blocks import NegativeSamplingLoss
from zoo.models import Objective, SkipGram

from conftest import topic_corpus


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("weight", [1.0, 5 / 64])
def test_negative_sampling_loss_by_hand(hybridize, weight):
    loss = NegativeSamplingLoss(negative_weight=weight)
    if hybridize:
        loss.hybridize()
    pos, neg = np.array([2.0, -1.0]), np.array([[0.5, -0.5, 1.0], [0.0, 2.0, -3.0]])
    want = -np.log(1 / (1 + np.exp(-pos))) - weight * np.log(1 / (1 + np.exp(neg))).sum(1)
    scores = mx.nd.array(np.column_stack([pos, neg]))  # (batch, 1 + K): the true pair first
    np.testing.assert_allclose(loss(scores).asnumpy(), want, rtol=1e-5)


@pytest.mark.parametrize("shared", [False, True])
def test_skipgram_loss_against_numpy_and_hybrid(shared):
    mx.random.seed(0)
    model = SkipGram.create(12, dim=4, negatives=3, shared_negatives=shared)
    model.initialize()
    model.context_tower.embedding.weight.set_data(mx.nd.random.normal(shape=(12, 4)))
    center, context = np.array([1, 5, 7]), np.array([2, 2, 9])
    negatives = np.array([3, 4, 11]) if shared else np.array([[3, 4, 11], [0, 1, 2], [6, 6, 8]])
    inputs = [mx.nd.array(x) for x in (center, context, negatives)]
    c = model.center_tower.embedding.weight.data().asnumpy()
    o = model.context_tower.embedding.weight.data().asnumpy()
    pos = (c[center] * o[context]).sum(1)
    neg = c[center] @ o[negatives].T if shared else np.einsum("bd,bkd->bk", c[center], o[negatives])
    want = softplus(-pos) + softplus(neg).sum(1)
    objective = Objective(model)
    imperative = objective(*inputs).asnumpy()
    np.testing.assert_allclose(imperative, want, rtol=1e-4)
    objective.hybridize(static_alloc=True)
    np.testing.assert_allclose(objective(*inputs).asnumpy(), imperative, rtol=1e-5)
    np.testing.assert_allclose(model(*inputs).asnumpy(), np.column_stack([pos, neg]), rtol=1e-4)


def test_skipgram_gradients_are_row_sparse():
    model = SkipGram.create(10, dim=4, negatives=2)
    model.initialize()
    with autograd.record():
        loss = Objective(model)(mx.nd.array([1]), mx.nd.array([2]), mx.nd.array([[3, 4]]))
    loss.backward()
    grad = model.context_tower.embedding.weight.grad()
    assert grad.stype == "row_sparse" and sorted(grad.indices.asnumpy().tolist()) == [2, 3, 4]
    assert model.embeddings().shape == (10, 4)


def test_skipgram_learns_topics(tmp_path):
    from zoo.config import from_raw
    from zoo.pipeline import train
    corpus = topic_corpus(tmp_path)
    cfg = from_raw({"model": {"name": "skipgram", "dim": 16},
                    "data": {"name": "text", "paths": [corpus], "min_count": 1, "sample": 0, "window": 3},
                    "eval": {"root": str(tmp_path), "sets": ["wordsim353"], "download": False},
                    "train": {"epochs": 3, "batch_size": 512, "progress": False},
                    "optim": {"name": "sgd", "lr": 12.8, "schedule": "linear"}})
    results = train(cfg, str(tmp_path / "run"))
    with open(tmp_path / "run" / "log.jsonl") as f:
        losses = [line for line in f]
    assert len(losses) == 3
    # an untrained model scores 0 (all context vectors start at zero); a trained one separates the topics
    assert results["wordsim353"]["spearman"] > 0.8, results


def test_siamese_in_batch_pairs_equal_explicit_pairs():
    """Pairs by row number score as the embeddings of the two images do (BatchNorm in inference mode)."""
    from zoo.models import SiameseNet
    mx.random.seed(0)
    model = SiameseNet.create(dim=4, channels=[4])
    model.initialize()
    images = mx.nd.random.uniform(shape=(5, 1, 8, 8))
    left, right, target = mx.nd.array([0, 1, 4]), mx.nd.array([2, 2, 3]), mx.nd.array([1, 0, 1])
    in_batch = Objective(model)(images, left, right, target).asnumpy()
    explicit = model.loss_fn(model.score(model.embed(images.take(left)), model.embed_b(images.take(right))), target)
    np.testing.assert_allclose(in_batch, explicit.asnumpy(), rtol=1e-5)


def test_init_vectors_start_the_input_vectors_of_the_words_the_file_has(tmp_path):
    import types
    from zoo.data.word2vec_format import write_word2vec
    from zoo.models import SkipGram
    path = str(tmp_path / "start.vec")
    write_word2vec(path, ["King", "queen", "zebra"], np.arange(9, dtype=np.float32).reshape(3, 3))
    model = SkipGram.create(4, dim=3, init_vectors=path)
    model.initialize()
    before = model.center_tower.embedding.weight.data().asnumpy()
    vocab = types.SimpleNamespace(vocab=types.SimpleNamespace(idx_to_token=["the", "king", "queen", "cat"]))
    model.initialize_from(vocab)
    after = model.center_tower.embedding.weight.data().asnumpy()
    np.testing.assert_array_equal(after[1], [0, 1, 2])                 # "King" in the file, lowercased
    np.testing.assert_array_equal(after[2], [3, 4, 5])
    np.testing.assert_array_equal(after[[0, 3]], before[[0, 3]])      # words the file lacks keep their start
    wrong = SkipGram.create(4, dim=5, init_vectors=path)
    wrong.initialize()
    with pytest.raises(ValueError, match="holds vectors of 3 numbers, model.dim is 5"):
        wrong.initialize_from(vocab)
