"""C++ operators for MXNet, compiled on first use and loaded with ``mx.library.load``: the kernels layer.

The CPU wheel of MXNet 1.9 runs each element-wise operator as its own pass over memory; a fused operator makes
one. ``rating_loss.cc``: biased MF's loss from the towers' outputs; ``mf_loss.cc`` and ``sgns_loss.cc``: biased
MF's and skip-gram's losses read straight from the embedding tables, writing row_sparse gradients;
``sgns_sgd.cc``: word2vec's training step, SGD one skip-gram pair at a time in place in the tables;
``mf_adam_steps.cc``: several of biased MF's Adam steps in one call; ``svdpp_sgd_steps.cc``: several of
SVD++'s SGD steps in one call; ``multinomial_loss.cc``: the ranking model's
softmax over the catalog against a user's positives (the blocks around them are in :mod:`zoo.ops.fused`);
``lazy_adam.cc``, ``lazy_sgd.cc``, ``lazy_rowwise_adagrad.cc``: row_sparse updates (see
:mod:`zoo.ops.optimizers`); ``batches.cc``: an epoch's random order, its batches' rows and skip-gram's
negatives, for the data code, and ``topk.cc``: the best-scored items of each row, for the ranking metrics
(:mod:`zoo.ops.arrays`); ``vec.h``: vectorized kernels they share.
Which of them a run uses is decided in one place, :mod:`zoo.fastpath`; ``README.md`` beside this file holds
the engineering notes (profiles, what was tried).
The library is built with the C++ compiler (``$CXX``, default ``g++``) against the headers the MXNet wheel
ships, into ``$ZOO_CACHE/ops`` (default ``~/.cache/zoo/ops``), once per source, MXNet version and processor.
Without a compiler, or with ``ZOO_CPP_OPS=0``, :func:`load` returns False and runs use MXNet's own
operators: same results, slower.
"""
import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import time

import mxnet as mx

from ..paths import cache_dir

log = logging.getLogger(__name__)

SOURCES = ("rating_loss.cc", "mf_loss.cc", "mf_adam_steps.cc", "svdpp_sgd_steps.cc", "sgns_loss.cc", "sgns_sgd.cc",
           "multinomial_loss.cc", "lazy_adam.cc", "lazy_sgd.cc", "lazy_rowwise_adagrad.cc", "batches.cc", "topk.cc",
           "random_normal.cc")
# -march=native: the library is built on the machine that runs it (and the cache key names the processor).
# -fno-math-errno -fno-trapping-math: math without side effects, so that loops over sqrt, floor and selects
# vectorize; -ffp-contract=fast: a * b + c as one fused multiply-add (ISO C++ mode would keep them apart).
FLAGS = ("-shared", "-fPIC", "-std=c++17", "-O3", "-march=native", "-fopenmp", "-fno-math-errno",
         "-fno-trapping-math", "-ffp-contract=fast")
_loaded = None
_library = None  # the same library opened with ctypes, for its plain C functions


def load():
    """Build (if needed) and load the operators; True when ``mx.nd.zoo_rating_loss`` and friends exist."""
    global _loaded, _library
    if _loaded is None:
        _loaded = False
        if os.environ.get("ZOO_CPP_OPS", "1") == "0":
            log.info("C++ operators switched off (ZOO_CPP_OPS=0)")
        else:
            try:
                path = build()
                _load_library(path)
                _library = ctypes.CDLL(path)
                _library.zoo_permutation.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64]
                _library.zoo_take.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                              ctypes.c_void_p, ctypes.c_int64]
                _library.zoo_alias_sample.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                                      ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64]
                _library.zoo_grouped_positions.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                                           ctypes.c_int64, ctypes.c_int64, ctypes.c_uint64]
                _library.zoo_scatter.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p,
                                                 ctypes.c_int64]
                _library.zoo_topk.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                              ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
                _loaded = True
            except (OSError, RuntimeError, subprocess.SubprocessError, mx.base.MXNetError) as err:
                log.warning("C++ operators unavailable, using MXNet's own (slower): %s", err)
    return _loaded


def _op_names():
    size, names = ctypes.c_uint(), ctypes.POINTER(ctypes.c_char_p)()
    mx.base.check_call(mx.base._LIB.MXListAllOpNames(ctypes.byref(size), ctypes.byref(names)))
    return {mx.base.py_str(names[i]) for i in range(size.value)}


def _load_library(path):
    """``mx.library.load`` for a library of operators with plain names (``zoo_*``), at a tenth of the cost: MXNet's
    own regenerates the Python functions of all of its ~1,000 operators after loading (about 0.35 s a process);
    this makes them for the library's new operators only, in the same places (``mx.nd``, ``mx.sym`` and their
    ``op`` modules; names starting with ``_`` in ``_internal``)."""
    from mxnet.ndarray.register import _make_ndarray_function
    from mxnet.symbol.register import _make_symbol_function
    before = _op_names()
    mx.base.check_call(mx.base._LIB.MXLoadLib(mx.base.c_str(path), mx.base.mx_uint(0)))
    for name in sorted(_op_names() - before):
        for package, make in (("ndarray", _make_ndarray_function), ("symbol", _make_symbol_function)):
            handle = mx.base.OpHandle()
            mx.base.check_call(mx.base._LIB.NNGetOpHandle(mx.base.c_str(name), ctypes.byref(handle)))
            function = make(handle, name, name)
            function.__module__ = "mxnet.%s" % package
            targets = ("_internal",) if name.startswith("_") else ("op", "")
            for module in targets:
                setattr(sys.modules["mxnet.%s%s" % (package, "." + module if module else "")], name, function)


def library():
    """The loaded library opened with ctypes, for its plain C functions (call after :func:`load` gave True)."""
    return _library


def build(folder=None):
    """Compile the operator library unless the cache has it; returns its path."""
    here = os.path.dirname(os.path.abspath(__file__))
    mx_root = os.path.dirname(os.path.abspath(mx.__file__))
    sources = [os.path.join(here, name) for name in SOURCES] + [os.path.join(mx_root, "src", "lib_api.cc")]
    key = hashlib.sha1(mx.__version__.encode() + " ".join(FLAGS).encode() + _processor().encode())
    for path in sources + [os.path.join(here, name) for name in ("common.h", "rows.h", "sgns.h", "vec.h")]:
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
    log.info("building zoo's C++ operators, once for this MXNet and processor (%s)", target)
    log.debug("%s", " ".join(cmd))
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError("building %s failed:\n%s" % (target, proc.stderr[-2000:]))
    os.replace(tmp, target)
    log.info("built zoo's C++ operators in %.0f s", time.time() - started)
    return target


def _processor():
    """What -march=native compiles for: a library built on one kind of processor is not loaded on another."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), None)
        return flags or platform.processor()  # platform.processor() runs `uname -p` in a new process
    except OSError:
        return platform.machine() + platform.processor()
