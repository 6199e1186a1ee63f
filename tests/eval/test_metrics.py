import mxnet as mx
import numpy as np

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


def test_recall_at_k_against_brute_force():
    from zoo.eval.metrics import recall_at_k
    rng = np.random.default_rng(0)
    emb, labels = rng.normal(size=(50, 3)).astype(np.float32), rng.integers(0, 4, 50)
    scores = emb @ emb.T
    np.fill_diagonal(scores, -np.inf)
    want = {}
    for k in (1, 5):
        top = [sorted(range(50), key=lambda j: -scores[i, j])[:k] for i in range(50)]
        want["recall@%d" % k] = np.mean([any(labels[j] == labels[i] for j in top[i]) for i in range(50)])
    assert recall_at_k(emb, labels, block=7) == want
