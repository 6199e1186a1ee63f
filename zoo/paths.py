"""Where zoo keeps what it downloads or builds (``$ZOO_CACHE``, default ``~/.cache/zoo``), and how it writes a file
whole or not at all."""
import os
import shutil
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


def atomic_write(path, write, also=None):
    """Call ``write(fileobj)`` on a temporary file beside ``path``, flush it to disk, then rename it to ``path``.
    With ``also`` (a path in the same folder), the same file gets that name too, before ``path``: a hard link, no
    second write (a copy where the file system has no hard links), so that a crash between the two renames leaves
    ``also`` ahead of ``path``, never behind it."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # the mode of any file the process creates (mkstemp's is 0600)
        if also is not None:
            _second_name(tmp, also)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _second_name(source, path):
    """Make ``path`` name the file ``source`` (a hard link; else a copy), replacing what it named in one step."""
    other = os.path.join(os.path.dirname(source), "." + os.path.basename(path) + ".link.tmp")
    try:
        if os.path.exists(other):
            os.remove(other)
        try:
            os.link(source, other)
        except OSError:  # a file system without hard links
            shutil.copyfile(source, other)
            with open(other, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(other, path)
    except BaseException:
        if os.path.exists(other):
            os.remove(other)
        raise
