"""A run folder owned by one run at a time: the checks before a run starts, and an OS lock held while it trains.

A run folder holds ``config.yaml``, ``log.jsonl``, ``checkpoints/{best,last}.npz`` and ``results.json``; the
lock is ``.lock`` (an ``flock`` on it, released by the OS when the process ends, however it ends).
"""
import fcntl
import json
import os
import shutil

RUN_FILES = ("config.yaml", "log.jsonl", "results.json", "checkpoints")


def finished_results(run_dir):
    """A finished run's ``results.json`` as a dict, or None when the run has not finished (there is none)."""
    path = os.path.join(run_dir, "results.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def best_epoch(run_dir):
    """The best epoch a finished run's ``results.json`` records, or None (no results yet, or none recorded)."""
    try:
        return (finished_results(run_dir) or {}).get("best_epoch")
    except (OSError, ValueError):
        return None


class RunFolderError(ValueError):
    """A run folder that cannot be used as asked; the message names it and what to do."""


class RunFolder:
    """``path`` as the folder of a new run (refused if it holds one, unless ``overwrite``) or of a run to
    continue (``resume``: refused without ``checkpoints/last.npz``)."""

    def __init__(self, path, resume=False, overwrite=False):
        self.path, self.resume, self.overwrite = path, resume, overwrite
        self._fd = None

    @property
    def last(self):
        return os.path.join(self.path, "checkpoints", "last.npz")

    def check(self):
        """Raise :class:`RunFolderError` if the folder cannot be used as asked. Cheap: call it before any work,
        and again under the lock."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise RunFolderError("--out %s is a file, not a folder" % self.path)
        if self.resume:
            if not os.path.exists(self.last):
                raise RunFolderError("nothing to resume in %s: checkpoints/last.npz is missing" % self.path)
        elif not self.overwrite:
            found = [name for name in RUN_FILES if os.path.exists(os.path.join(self.path, name))]
            if found:
                raise RunFolderError("%s already holds a run (%s): continue it with --resume, choose another --out, "
                                     "or pass --overwrite to replace it" % (self.path, ", ".join(found)))

    def __enter__(self):
        """Create the folder, take its lock (refused while another process holds it), check it again, and with
        ``overwrite`` remove the previous run's files."""
        try:
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(os.path.join(self.path, ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise RunFolderError("cannot write the run folder %s: %s" % (self.path, err.strerror or err)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunFolderError("%s is in use by another run (pid %s): wait for it to end, or choose another "
                                 "--out" % (self.path, holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        try:
            self.check()
            if self.overwrite and not self.resume:
                for name in RUN_FILES:
                    target = os.path.join(self.path, name)
                    if os.path.isdir(target):
                        shutil.rmtree(target)
                    elif os.path.exists(target):
                        os.remove(target)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        return False
