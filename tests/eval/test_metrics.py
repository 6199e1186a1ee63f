import mxnet as mx
import numpy as np
import pytest

from zoo.eval.metrics import regression_metrics


def test_global_rmse_by_hand():
    pred = np.array([3.0, 4.0, 1.0, 5.0, 2.0])
    target = np.array([3.5, 4.0, 3.0, 4.0, 2.0])
    m = regression_metrics(pred, target)
    # squared errors 0.25, 0, 4, 1, 0 -> mean 1.05; absolute errors 0.5, 0, 2, 1, 0 -> mean 0.7
    assert np.isclose(m["rmse"], np.sqrt(1.05)) and np.isclose(m["mae"], 0.7) and m["n"] == 5


def test_differs_from_mxnet_per_batch_average():
    pred, target = np.array([3.0, 4.0, 1.0, 5.0, 2.0]), np.array([3.5, 4.0, 3.0, 4.0, 2.0])
    metric = mx.metric.RMSE()
    for s in (slice(0, 2), slice(2, 5)):  # two batches of unequal size
        metric.update([mx.nd.array(target[s])], [mx.nd.array(pred[s])])
    assert not np.isclose(metric.get()[1], regression_metrics(pred, target)["rmse"])


def test_roc_auc_by_hand():
    from zoo.eval.metrics import roc_auc
    # positives 0.9, 0.4; negatives 0.5, 0.1, 0.4: pairs won 1+1+1 + 0+0.5+1 = 4.5 of 6
    assert np.isclose(roc_auc([0.9, 0.4, 0.5, 0.1, 0.4], [1, 1, 0, 0, 0]), 4.5 / 6)


@pytest.mark.parametrize("block", [7, 1024])
def test_retrieval_metrics_against_brute_force(block):
    """Recall@K, R-precision and MAP@R as "A Metric Learning Reality Check" defines them, query by query; a class
    with a single row is a query without relevant rows (recall only)."""
    from zoo.eval.metrics import retrieval_metrics
    rng = np.random.default_rng(0)
    emb, labels = rng.normal(size=(50, 3)).astype(np.float32), rng.integers(0, 4, 50)
    labels[7] = 9   # alone in its class
    scores = emb @ emb.T
    np.fill_diagonal(scores, -np.inf)
    want, rp, mapr = {}, [], []
    ranked = [sorted((j for j in range(50) if j != i), key=lambda j: -scores[i, j]) for i in range(50)]
    for k in (1, 2, 4, 8):
        want["recall@%d" % k] = np.mean([any(labels[j] == labels[i] for j in ranked[i][:k]) for i in range(50)])
    for i in range(50):
        r = int((labels == labels[i]).sum()) - 1
        if not r:
            continue
        rel = [labels[j] == labels[i] for j in ranked[i][:r]]
        rp.append(sum(rel) / r)
        mapr.append(sum(sum(rel[:p + 1]) / (p + 1) for p in range(r) if rel[p]) / r)
    got = retrieval_metrics(emb, labels, block=block)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key
    assert got["r_precision"] == pytest.approx(np.mean(rp)) and got["map@r"] == pytest.approx(np.mean(mapr))
    assert got["n"] == 50 and 0 < got["map@r"] < got["r_precision"] < 1
    perfect = retrieval_metrics(np.eye(4, dtype=np.float32)[labels % 4] + 0.01 * emb[:, [0, 1, 2, 0]], labels % 4)
    assert perfect["map@r"] == perfect["r_precision"] == perfect["recall@1"] == 1.0
