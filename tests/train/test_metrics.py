import mxnet as mx
import numpy as np

from zoo.train.metrics import regression_metrics


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
