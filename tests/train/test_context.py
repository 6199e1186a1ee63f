"""Device parsing and ``auto``'s probe, with a GPU machine faked (no GPU here)."""
import logging

import mxnet as mx
import pytest

from zoo.train import context
from zoo.train.context import parse_devices, probe_gpu


def test_explicit_devices():
    assert parse_devices("cpu") == [mx.cpu()]
    assert parse_devices("cpu:0,1") == [mx.cpu(0), mx.cpu(1)]
    assert parse_devices("gpu:0,1", count=lambda: 2) == [mx.gpu(0), mx.gpu(1)]
    assert parse_devices(" GPU ", count=lambda: 1) == [mx.gpu(0)]
    with pytest.raises(ValueError, match="MXNet sees 1 GPU"):
        parse_devices("gpu:0,1", count=lambda: 1)
    for bad in ("tpu", "gpu:a", "cpu:0,0", "cpu:-1"):
        with pytest.raises(ValueError, match="train.devices"):
            parse_devices(bad)


def test_auto_uses_the_gpus_that_pass_the_probe(caplog):
    with caplog.at_level(logging.WARNING):
        assert parse_devices("auto", count=lambda: 2, probe=lambda i: None) == [mx.gpu(0), mx.gpu(1)]
        assert parse_devices("auto", count=lambda: 0, probe=lambda i: None) == [mx.cpu()]
    assert not caplog.records


def test_auto_falls_back_to_the_cpu_with_one_warning_a_gpu(caplog):
    reasons = {0: "compute capability 9.0; the installed MXNet has kernels up to 8.6"}
    with caplog.at_level(logging.WARNING):
        assert parse_devices("auto", count=lambda: 1, probe=reasons.get) == [mx.cpu()]
    (record,) = caplog.records
    assert "gpu(0) not used: compute capability 9.0" in record.getMessage() and "the CPU" in record.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # one good GPU of two: train on it
        assert parse_devices("auto", count=lambda: 2, probe={1: "a test operator failed"}.get) == [mx.gpu(0)]
    assert len(caplog.records) == 1 and "gpu(1)" in caplog.records[0].getMessage()


def test_probe_refuses_a_newer_gpu_than_the_wheel_has_kernels_for(monkeypatch):
    monkeypatch.setattr(context, "compute_capability", lambda i: (9, 0))
    assert "compute capability 9.0" in probe_gpu(0)


def test_probe_reports_a_failing_operator(monkeypatch):
    monkeypatch.setattr(context, "compute_capability", lambda i: (7, 5))
    reason = probe_gpu(0)  # the CPU wheel has no GPU kernels: the test operator fails
    assert reason is not None and reason.startswith("a test operator failed")
