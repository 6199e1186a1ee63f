"""Where zoo keeps what it downloads or builds (``$ZOO_CACHE``, default ``~/.cache/zoo``), and how it writes a file
whole or not at all."""
import os
import tempfile


def _umask():
    mask = os.umask(0)  # read at import, in one thread: os.umask can only be read by setting it
    os.umask(mask)
    return mask


_UMASK = _umask()


def cache_dir(*parts):
    """``$ZOO_CACHE`` (default ``~/.cache/zoo``) joined with ``parts``."""
    cache = os.environ.get("ZOO_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "zoo"))
    return os.path.join(cache, *parts)


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
        os.chmod(tmp, 0o666 & ~_UMASK)  # the mode of any file the process creates (mkstemp's is 0600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
