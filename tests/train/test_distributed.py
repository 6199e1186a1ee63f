"""The pieces of parameter-server training that run without servers (tests/tools/test_launch.py runs them)."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from zoo.blocks import RowSparseEmbedding, dense_table, hybridize_dense, row_sparse_tables
from zoo.config import ConfigError
from zoo.models import MatrixFactorization, Objective, SkipGram
from zoo.train.distributed import LocalTraining, is_distributed, placement, shard_batches


def test_shard_batches_splits_groups_and_drops_short_ones():
    batches = [(np.arange(i * 2, i * 2 + 2),) for i in range(7)] + [(np.arange(1),)]
    shards = [[b[0].tolist() for b in shard_batches(iter(batches), rank, 3, 2)] for rank in range(3)]
    # groups (0,1,2) and (3,4,5); batch 6 has no full group, batch 7 is short
    assert shards == [[[0, 1], [6, 7]], [[2, 3], [8, 9]], [[4, 5], [10, 11]]]
    short = [(np.arange(2),), (np.arange(1),), (np.arange(2),), (np.arange(2),)]
    assert [len(list(shard_batches(iter(short), r, 2, 2))) for r in range(2)] == [1, 1]


def test_placement_is_local_unless_a_dist_kvstore():
    local = placement("device", 256)
    assert isinstance(local, LocalTraining) and not local.on_servers and local.local_batch == 256
    assert local.run_dir("r") == "r" and local.updates_per_epoch(7) == 7
    with pytest.raises(ConfigError, match="tools/launch.py"):
        placement("dist_sync", 256)  # no DMLC_ROLE: not started by the launcher
    with pytest.raises(ConfigError, match="--resume"):
        placement("dist_sync", 256, resume=True)


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
                loss = Objective(model)(users, items, ratings)
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
        model(mx.nd.array([1, 2]), mx.nd.array([3, 4]), mx.nd.array([[5], [6]]))
