"""Checkpoints: one file holding parameters, optimizer state and metadata, written under a temporary name and
renamed, so a crash (even ``kill -9``) at any moment leaves the previous checkpoint whole."""
import json
import os
import pickle
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor

import mxnet as mx
import numpy as np

from ..blocks.sparse import dense_table
from ..paths import atomic_write


def save_checkpoint(path, model, trainer=None, meta=None, arrays=None):
    """Write ``path`` (an ``.npz``): the model's parameters, ``trainer``'s optimizer state, a JSON-able ``meta``
    dict and extra numpy ``arrays`` (e.g. id maps)."""
    write_content(path, checkpoint_content(model, trainer, meta, arrays))


def checkpoint_content(model, trainer=None, meta=None, arrays=None, on_device=False, into=None):
    """The arrays of a checkpoint, copied to the host: training may go on while they are written. With
    ``on_device``, the parameters are copies on their device instead, which the engine makes in its own time, before
    any later step changes them (:func:`write_content` brings them to the host); ``into``, an earlier such content
    of the same model that nothing else holds any more, gives its arrays to copy into (new ones would be new
    memory, which the system faults in and zeroes page by page, at several times the copy's cost)."""
    def copy(name, a):
        if not on_device:
            return a.asnumpy()
        old = (into or {}).get("param/" + name)
        if old is None or old.shape != a.shape or old.dtype != a.dtype or old.context != a.context:
            return a.copy()
        a.copyto(old)
        return old
    content = {"param/" + name: copy(name, dense_table(p)) for name, p in _params(model).items()}
    if trainer is not None:
        content.update(_trainer_content(trainer))
    content["meta"] = np.frombuffer(json.dumps(meta or {}).encode(), dtype=np.uint8)
    for key, value in (arrays or {}).items():
        content["array/" + key] = np.asarray(value)
    return content


def write_content(path, content, also=None):
    """Write a checkpoint ``content`` to ``path``; with ``also``, the same file under that name too (see
    :func:`~zoo.paths.atomic_write`): ``best.npz`` when the best epoch is the one ``last.npz`` holds."""
    content = {k: v.asnumpy() if isinstance(v, mx.nd.NDArray) else v for k, v in content.items()}
    atomic_write(path, lambda f: savez(f, content), also=also)


def savez(f, arrays):
    """``np.savez(f, **arrays)``'s file (what ``np.load`` reads), each array's bytes written from its memory:
    ``np.savez`` first copies them (``tobytes``), holding the interpreter while the final evaluation would run."""
    with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            array = np.array(array, order="C", copy=False)  # (ascontiguousarray makes 0-d arrays 1-d)
            header = np.lib.format.header_data_from_array_1_0(array)
            with archive.open(name + ".npy", "w", force_zip64=True) as out:
                try:
                    np.lib.format.write_array_header_1_0(out, header)
                except ValueError:  # a header too long for format 1.0 (numpy's own choice then)
                    np.lib.format.write_array_header_2_0(out, header)
                out.write(array.reshape(-1).view(np.uint8))  # a view of the array's bytes


class WriteError(OSError):
    """A checkpoint or log write failed; training stops, and what is on disk is from before the failure."""


class BackgroundWriter:
    """Writes run files in one background thread, in the order they were submitted, so that the disk (``savez``
    and ``fsync`` cost as much as a whole epoch of a small model) does not hold up training. After a write fails,
    the writes queued behind it are skipped (a log line never gets ahead of its checkpoint), and :meth:`check`
    and :meth:`wait` raise :class:`WriteError` naming the file, the reason and the free space. As a context
    manager, it waits for every write at the end of the block."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending = []
        self.error = None

    def submit(self, path, content, also=None):
        """Write a checkpoint ``content`` (see :func:`checkpoint_content`) to ``path`` (and name it ``also``)."""
        self.run(path, lambda: write_content(path, content, also=also))

    def run(self, path, task):
        """Run ``task()``, which writes ``path``, after the writes submitted before it."""
        def guarded():
            if self.error is None:
                try:
                    task()
                except OSError as err:
                    self.error = _write_error(path, err)
        self._pending = [f for f in self._pending if not f.done()] + [self._pool.submit(guarded)]

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        """Wait for the writes, so that none outlives the block; a failed write's error is raised unless the block
        is raising one of its own."""
        try:
            self.wait()
        except WriteError:
            if kind is None:
                raise
        return False

    def check(self):
        """Raise the error of a failed write, if one failed."""
        if self.error is not None:
            raise self.error

    def wait(self):
        """Block until every submitted write is done; raise the error of a failed one."""
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()
        self.check()


def _write_error(path, err):
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = "%.1f MB free there" % (shutil.disk_usage(folder).free / 2 ** 20)
    except OSError:
        free = "free space unknown"
    return WriteError(err.errno, "cannot write %s: %s (%s); training stopped, and the run's files on disk are "
                      "those written before: free space and continue with --resume" % (
                          path, err.strerror or err, free))


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or that belongs to another model; the message names the file."""


def _open(path):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CheckpointError("checkpoint %s does not exist" % path) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError("checkpoint %s is damaged or not a checkpoint (%s): use the other checkpoint of the "
                              "run (best or last), or train again" % (path, err)) from None


def _read(path, content, key, convert):
    try:
        return convert(content[key])
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError("checkpoint %s is damaged (%s: %s): use the other checkpoint of the run (best or "
                              "last), or train again" % (path, key, err)) from None


def _meta(content):
    return json.loads(content.tobytes().decode())


def load_checkpoint(path, model, trainer=None):
    """Load parameters (and optimizer state, when ``trainer`` is given) from ``path``.

    Returns ``(meta, arrays)``. A damaged file, or one of another model, raises :class:`CheckpointError`.
    """
    with _open(path) as content:
        params = _params(model)
        stored = {k[len("param/"):] for k in content.files if k.startswith("param/")}
        if stored != set(params):
            raise CheckpointError("%s does not match the model: missing %s, unexpected %s" % (
                path, sorted(set(params) - stored)[:5], sorted(stored - set(params))[:5]))
        values = {name: _read(path, content, "param/" + name, np.asarray) for name in params}
        for name, p in params.items():
            if 0 not in p.shape and tuple(values[name].shape) != tuple(p.shape):
                raise CheckpointError("%s does not match the model: %s is %s there and %s in the model (a run of "
                                      "another size or data set?)" % (path, name, values[name].shape, p.shape))
        for name, p in params.items():
            p.set_data(mx.nd.array(values[name], dtype=p.dtype))
        if trainer is not None and "trainer" in content.files:  # checkpoints written before trainer/state
            _load_trainer_bytes(trainer, _read(path, content, "trainer", lambda a: a.tobytes()))
        elif trainer is not None and TRAINER_BLOB in content.files:
            _load_trainer_bytes(trainer, _trainer_bytes_of(path, content))
        meta = _read(path, content, "meta", _meta)
        arrays = {k[len("array/"):]: _read(path, content, k, np.asarray) for k in content.files
                  if k.startswith("array/")}
    return meta, arrays


def read_checkpoint(path):
    """``(meta, arrays)`` of a checkpoint, without a model."""
    with _open(path) as content:
        meta = _read(path, content, "meta", _meta)
        arrays = {k[len("array/"):]: _read(path, content, k, np.asarray) for k in content.files
                  if k.startswith("array/")}
    return meta, arrays


def _params(model):
    # Structural names ("user_tower.embedding.weight") do not depend on how many blocks were created before.
    return model._collect_params_with_prefix()


TRAINER_BLOB = "trainer/optimizer"   # the optimizer and the layout of its states, pickled
TRAINER_STATE = "trainer/state/"      # + a state's key: each state array (e.g. Adam's mean of a parameter)


class _StateArray:
    """Where a state array stood in the pickled layout: the arrays themselves go into the npz as they are, which
    costs a copy, where pickling them (``trainer.save_states``) cost 4 ms an epoch for a small MF model."""

    def __init__(self, key):
        self.key = key


def _trainer_content(trainer):
    """The trainer's optimizer state as checkpoint entries: ``TRAINER_BLOB`` and one ``TRAINER_STATE`` array a
    state, or (optimizer states on a kvstore, sparse states) the bytes of ``trainer.save_states`` as ``trainer``."""
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    updater = trainer._updaters[0]

    def dense(x):  # only dense NDArrays (in tuples or lists, or None) are kept as arrays
        if isinstance(x, mx.nd.NDArray):
            return x.stype == "default"
        return all(dense(v) for v in x) if isinstance(x, (tuple, list)) else True
    if trainer._update_on_kvstore or not all(dense(s) for s in updater.states.values()):
        return {"trainer": np.frombuffer(_trainer_bytes(trainer), dtype=np.uint8)}
    arrays = {}

    def layout(x, key):
        if isinstance(x, mx.nd.NDArray):
            arrays[TRAINER_STATE + key] = x.asnumpy()
            return _StateArray(key)
        if isinstance(x, (tuple, list)):
            return type(x)(layout(v, "%s.%d" % (key, i)) for i, v in enumerate(x))
        return x
    states = {index: layout(state, str(index)) for index, state in updater.states.items()}
    arrays[TRAINER_BLOB] = np.frombuffer(pickle.dumps((states, updater.optimizer)), dtype=np.uint8)
    return arrays


def _trainer_bytes_of(path, content):
    """What ``trainer.save_states`` would have written, from ``_trainer_content``'s entries of a checkpoint."""
    states, optimizer = _read(path, content, TRAINER_BLOB, lambda a: pickle.loads(a.tobytes()))

    def restore(x):
        if isinstance(x, _StateArray):
            value = _read(path, content, TRAINER_STATE + x.key, np.asarray)
            return mx.nd.array(value, dtype=value.dtype)
        if isinstance(x, (tuple, list)):
            return type(x)(restore(v) for v in x)
        return x
    return pickle.dumps(({index: restore(state) for index, state in states.items()}, optimizer))


def _trainer_bytes(trainer):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "states")
        trainer.save_states(path)
        with open(path, "rb") as f:
            return f.read()


def _load_trainer_bytes(trainer, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "states")
        with open(path, "wb") as f:
            f.write(data)
        trainer.load_states(path)


