"""Devices: ``auto`` is every GPU MXNet sees, else the CPU."""
import logging

import mxnet as mx

log = logging.getLogger(__name__)


def num_gpus():
    """GPUs MXNet can use; 0 on a CPU build or when the CUDA driver is missing."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CUDA build on a machine without a usable driver
        return 0


def parse_devices(spec):
    """``auto`` | ``cpu`` | ``gpu`` | ``gpu:0,1`` | ``cpu:0,1`` -> list of ``mx.Context``."""
    spec = str(spec).strip().lower()
    if spec == "auto":
        n = num_gpus()
        devices = [mx.gpu(i) for i in range(n)] if n else [mx.cpu()]
        log.info("devices: %s (auto: %d GPU%s found)", devices, n, "" if n == 1 else "s")
        return devices
    kind, _, ids = spec.partition(":")
    if kind not in ("cpu", "gpu"):
        raise ValueError("train.devices=%r: write auto, cpu, gpu, gpu:0,1 or cpu:0,1" % spec)
    try:
        numbers = [int(i) for i in ids.split(",")] if ids else [0]
    except ValueError:
        raise ValueError("train.devices=%r: device numbers must be integers, e.g. gpu:0,1" % spec) from None
    if kind == "gpu":
        n = num_gpus()
        missing = [i for i in numbers if i >= n]
        if missing:
            raise ValueError("train.devices=%r: MXNet sees %d GPU(s); use auto or cpu" % (spec, n))
    return [mx.Context(kind, i) for i in numbers]
