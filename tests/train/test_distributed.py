"""The pieces of parameter-server training that run without servers (tests/tools/test_launch.py runs them)."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from zoo.blocks import RowSparseEmbedding, dense_table, hybridize_dense, row_sparse_tables
from zoo.config import ConfigError, OptimConfig
from zoo.models import MatrixFactorization, SkipGram
from zoo.train.distributed import is_distributed, server_lr_scheduler, shard_batches
from zoo.train.hooks import LearningRateSchedule


def test_shard_batches_splits_groups_and_drops_short_ones():
    batches = [(np.arange(i * 2, i * 2 + 2),) for i in range(7)] + [(np.arange(1),)]
    shards = [[b[0].tolist() for b in shard_batches(iter(batches), rank, 3, 2)] for rank in range(3)]
    # groups (0,1,2) and (3,4,5); batch 6 has no full group, batch 7 is short
    assert shards == [[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4, 5], [10, 11]]]
    short = [(np.arange(2),), (np.arange(1),), (np.arange(2),), (np.arange(2),)]
    assert [len(list(shard_batches(iter(short), r, 2, 2))) for r in range(2)] == [1, 1]


@pytest.mark.parametrize("schedule", ["constant", "step", "cosine", "linear"])
def test_server_schedule_follows_the_epoch_schedule(schedule):
    optim = OptimConfig(lr=0.4, schedule=schedule, min_lr=0.01, gamma=0.5, step_epochs=2)
    hook = LearningRateSchedule(optim.lr, schedule, 6, optim.gamma, optim.step_epochs, 0, optim.min_lr)
    server = server_lr_scheduler(optim, epochs=6, updates_per_epoch=10)
    for epoch in range(6):
        # the first update of each epoch gets the epoch's rate, give or take one update's worth of decay
        rate = server(epoch * 10 + 1) if server else optim.lr
        low, high = sorted([hook.rate(epoch), hook.rate(epoch + 0.1)])
        assert low - 1e-9 <= rate <= high + 1e-9, (epoch, rate, low, high)


def test_unknown_kvstore_lists_the_choices():
    assert not is_distributed("device") and is_distributed("dist_async")
    with pytest.raises(ConfigError, match="dist_sync"):
        is_distributed("horovod")


def test_row_sparse_tables_match_dense_ones(hybridize):
    dense = MatrixFactorization.create(20, 30, dim=4, reg=0.1, init_scale=0.5, mean_rating=3.0)
    sparse = MatrixFactorization.create(20, 30, dim=4, reg=0.1, init_scale=0.5, mean_rating=3.0)
    assert row_sparse_tables(sparse) == 4
    assert isinstance(sparse.user_tower.embedding, RowSparseEmbedding)
    for model in (dense, sparse):
        mx.random.seed(0)  # the same initial values
        model.initialize()
    trainers = [gluon.Trainer(m.collect_params(), "sgd", {"learning_rate": 0.5}, kvstore="local")
                for m in (dense, sparse)]
    np.testing.assert_array_equal(dense_table(sparse.user_tower.embedding.weight).asnumpy(),
                                  dense.user_tower.embedding.weight.data().asnumpy())
    if hybridize:
        dense.hybridize()
        hybridize_dense(sparse)
    users, items, ratings = mx.nd.array([1, 2, 2, 7]), mx.nd.array([0, 5, 29, 5]), mx.nd.array([4, 3, 5, 1])
    for step in range(2):
        losses = []
        for model, trainer in zip((dense, sparse), trainers):
            with autograd.record():
                loss = model.loss(users, items, ratings)
            loss.backward()
            trainer.step(4)
            losses.append(loss.asnumpy())
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
    np.testing.assert_allclose(dense(users, items).asnumpy(), sparse(users, items).asnumpy(), rtol=1e-5)
    np.testing.assert_allclose(dense_table(sparse.item_tower.embedding.weight).asnumpy(),
                               dense.item_tower.embedding.weight.data().asnumpy(), rtol=1e-5)


def test_row_sparse_table_refuses_a_whole_graph():
    model = SkipGram.create(10, dim=4)
    row_sparse_tables(model)
    model.initialize()
    gluon.Trainer(model.collect_params(), "sgd", {"learning_rate": 0.1}, kvstore="local")
    model.hybridize()  # every block, the tables' parents too: not what hybridize_dense does
    with pytest.raises(Exception, match="hybridize_dense"):
        model(mx.nd.array([1, 2]), mx.nd.array([3, 4]))
