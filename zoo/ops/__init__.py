"""C++ operators for MXNet, compiled on first use and loaded with ``mx.library.load``.

The CPU wheel of MXNet 1.9 runs each element-wise operator as its own pass over memory; a fused operator makes
one (``rating_loss.cc``: biased MF's loss 5x faster than the composite ops on 65,536 x 64 rows;
``lazy_adam.cc``: Adam's row_sparse update, see :class:`~zoo.ops.adam.FusedAdam`). The library is
built with the C++ compiler (``$CXX``, default ``g++``) against the headers the MXNet wheel ships, into
``$ZOO_CACHE/ops`` (default ``~/.cache/zoo/ops``), once per source and MXNet version. Without a compiler, or with
``ZOO_CPP_OPS=0``, :func:`load` returns False and the models use MXNet's own operators: same results, slower.
"""
import hashlib
import logging
import os
import shutil
import subprocess

import mxnet as mx

from ..data.download import cache_dir

log = logging.getLogger(__name__)

SOURCES = ("rating_loss.cc", "lazy_adam.cc")
FLAGS = ("-shared", "-fPIC", "-std=c++17", "-O3", "-fopenmp", "-fno-math-errno")
_loaded = None


def load():
    """Build (if needed) and load the operators; True when ``mx.nd.zoo_rating_loss`` and friends exist."""
    global _loaded
    if _loaded is None:
        _loaded = False
        if os.environ.get("ZOO_CPP_OPS", "1") == "0":
            log.info("C++ operators switched off (ZOO_CPP_OPS=0)")
        else:
            try:
                mx.library.load(build(), verbose=False)
                _loaded = True
            except (OSError, RuntimeError, subprocess.SubprocessError, mx.base.MXNetError) as err:
                log.warning("C++ operators unavailable, using MXNet's own (slower): %s", err)
    return _loaded


def build(folder=None):
    """Compile the operator library unless the cache has it; returns its path."""
    here = os.path.dirname(os.path.abspath(__file__))
    mx_root = os.path.dirname(os.path.abspath(mx.__file__))
    sources = [os.path.join(here, name) for name in SOURCES] + [os.path.join(mx_root, "src", "lib_api.cc")]
    key = hashlib.sha1(mx.__version__.encode() + " ".join(FLAGS).encode())
    for path in sources + [os.path.join(here, "common.h")]:
        with open(path, "rb") as f:
            key.update(f.read())
    folder = folder or cache_dir("ops")
    target = os.path.join(folder, "libzoo_ops-%s.so" % key.hexdigest()[:16])
    if os.path.exists(target):
        return target
    compiler = os.environ.get("CXX", "g++")
    if not shutil.which(compiler):
        raise RuntimeError("no C++ compiler %r on PATH (set CXX)" % compiler)
    os.makedirs(folder, exist_ok=True)
    tmp = "%s.%d.tmp" % (target, os.getpid())  # renamed when whole: concurrent builds (launch.py workers) agree
    include = os.path.join(mx_root, "include")
    cmd = [compiler, *FLAGS, *sources, "-I", here, "-I", include, "-I", os.path.join(include, "mxnet"), "-o", tmp]
    log.info("building C++ operators: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("building %s failed:\n%s" % (target, proc.stderr[-2000:]))
    os.replace(tmp, target)
    return target
