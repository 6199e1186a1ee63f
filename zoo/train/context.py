"""Devices: ``auto`` is every GPU that MXNet sees and that passes a probe, else the CPU."""
import ctypes
import logging

import mxnet as mx

log = logging.getLogger(__name__)

# The mxnet-cu112 wheel carries kernels for compute capability up to 8.6 (sm_50 ... sm_86); on a newer GPU its
# first operator fails. A CPU wheel has no GPU kernels at all.
MAX_CAPABILITY = (8, 6)


def num_gpus():
    """GPUs MXNet can use; 0 on a CPU build or when the CUDA driver is missing."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CUDA build on a machine without a usable driver
        return 0


def compute_capability(index):
    """``(major, minor)`` of GPU ``index`` from the CUDA runtime, or None when it cannot be asked."""
    for name in ("libcudart.so", "libcudart.so.11.0"):
        try:
            cudart = ctypes.CDLL(name)
        except OSError:
            continue
        major, minor = ctypes.c_int(), ctypes.c_int()
        # cudaDevAttrComputeCapabilityMajor = 75, ...Minor = 76
        if (cudart.cudaDeviceGetAttribute(ctypes.byref(major), 75, index) == 0
                and cudart.cudaDeviceGetAttribute(ctypes.byref(minor), 76, index) == 0):
            return major.value, minor.value
        return None
    return None


def probe_gpu(index):
    """None when GPU ``index`` can train: its compute capability is one the wheel has kernels for and a tiny
    operator runs on it; else the reason it cannot."""
    capability = compute_capability(index)
    if capability is not None and tuple(capability) > MAX_CAPABILITY:
        return "compute capability %d.%d; the installed MXNet has kernels up to %d.%d" % (
            capability + MAX_CAPABILITY)
    try:
        x = mx.nd.ones((2,), ctx=mx.gpu(index))
        (x + x).asnumpy()
    except mx.base.MXNetError as err:
        return "a test operator failed: %s" % str(err).strip().splitlines()[0]
    return None


def auto_devices(count=num_gpus, probe=probe_gpu):
    """Every GPU that passes ``probe`` (one warning names each that does not), else ``[mx.cpu()]``."""
    usable = []
    for i in range(count()):
        reason = probe(i)
        if reason is None:
            usable.append(mx.gpu(i))
        else:
            log.warning("gpu(%d) not used: %s; training on %s", i, reason, "the other GPUs" if i else "the CPU")
    devices = usable or [mx.cpu()]
    log.info("devices: %s (auto)", devices)
    return devices


def parse_devices(spec, count=num_gpus, probe=probe_gpu):
    """``auto`` | ``cpu`` | ``gpu`` | ``gpu:0,1`` | ``cpu:0,1`` -> list of ``mx.Context``. ``count`` and ``probe``
    (see :func:`auto_devices`) are parameters so that tests can fake a GPU machine."""
    spec = str(spec).strip().lower()
    if spec == "auto":
        return auto_devices(count, probe)
    kind, _, ids = spec.partition(":")
    if kind not in ("cpu", "gpu"):
        raise ValueError("train.devices=%r: write auto, cpu, gpu, gpu:0,1 or cpu:0,1" % spec)
    try:
        numbers = [int(i) for i in ids.split(",")] if ids else [0]
    except ValueError:
        raise ValueError("train.devices=%r: device numbers must be integers, e.g. gpu:0,1" % spec) from None
    if len(set(numbers)) != len(numbers) or min(numbers) < 0:
        raise ValueError("train.devices=%r: device numbers must be distinct and >= 0" % spec)
    if kind == "gpu":
        n = count()
        if max(numbers) >= n:
            raise ValueError("train.devices=%r: MXNet sees %d GPU(s); use auto or cpu" % (spec, n))
    return [mx.Context(kind, i) for i in numbers]
