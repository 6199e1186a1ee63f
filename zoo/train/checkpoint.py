"""Checkpoints: one file holding parameters, optimizer state and metadata, written under a temporary name and
renamed, so a crash (even ``kill -9``) at any moment leaves the previous checkpoint whole."""
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor

import mxnet as mx
import numpy as np

from ..blocks.sparse import dense_table


def save_checkpoint(path, model, trainer=None, meta=None, arrays=None):
    """Write ``path`` (an ``.npz``): the model's parameters, ``trainer``'s optimizer state, a JSON-able ``meta``
    dict and extra numpy ``arrays`` (e.g. id maps)."""
    write_content(path, checkpoint_content(model, trainer, meta, arrays))


def checkpoint_content(model, trainer=None, meta=None, arrays=None):
    """The arrays of a checkpoint, copied to the host: training may go on while they are written."""
    content = {"param/" + name: dense_table(p).asnumpy() for name, p in _params(model).items()}
    if trainer is not None:
        content["trainer"] = np.frombuffer(_trainer_bytes(trainer), dtype=np.uint8)
    content["meta"] = np.frombuffer(json.dumps(meta or {}).encode(), dtype=np.uint8)
    for key, value in (arrays or {}).items():
        content["array/" + key] = np.asarray(value)
    return content


def model_only(content):
    """``content`` without the optimizer state (what ``best.npz`` keeps)."""
    return {key: value for key, value in content.items() if key != "trainer"}


def write_content(path, content):
    atomic_write(path, lambda f: np.savez(f, **content))


class BackgroundWriter:
    """Writes checkpoints in one background thread, in the order they were submitted, so that the disk (``savez``
    and ``fsync`` cost as much as a whole epoch of a small model) does not hold up training. :meth:`wait` blocks
    until every write is on disk and re-raises the first error."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="checkpoint")
        self._pending = []

    def submit(self, path, content):
        self._pending.append(self._pool.submit(write_content, path, content))

    def wait(self):
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()


def load_checkpoint(path, model, trainer=None):
    """Load parameters (and optimizer state, when ``trainer`` is given) from ``path``.

    Returns ``(meta, arrays)``.
    """
    with np.load(path, allow_pickle=False) as content:
        params = _params(model)
        stored = {k[len("param/"):] for k in content.files if k.startswith("param/")}
        if stored != set(params):
            raise ValueError("%s does not match the model: missing %s, unexpected %s" % (
                path, sorted(set(params) - stored)[:5], sorted(stored - set(params))[:5]))
        for name, p in params.items():
            p.set_data(mx.nd.array(content["param/" + name], dtype=p.dtype))
        if trainer is not None and "trainer" in content.files:
            _load_trainer_bytes(trainer, content["trainer"].tobytes())
        meta = json.loads(content["meta"].tobytes().decode())
        arrays = {k[len("array/"):]: content[k] for k in content.files if k.startswith("array/")}
    return meta, arrays


def read_checkpoint(path):
    """``(meta, arrays)`` of a checkpoint, without a model."""
    with np.load(path, allow_pickle=False) as content:
        meta = json.loads(content["meta"].tobytes().decode())
        arrays = {k[len("array/"):]: content[k] for k in content.files if k.startswith("array/")}
    return meta, arrays


def atomic_write(path, write):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, flush it to disk, then rename it to ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _params(model):
    # Structural names ("user_tower.embedding.weight") do not depend on how many blocks were created before.
    return model._collect_params_with_prefix()


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


