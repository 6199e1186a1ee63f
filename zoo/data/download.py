"""Downloads into a cache folder: checksum verified, written under a temporary name, extracted atomically."""
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile

from tqdm import tqdm

from ..paths import cache_dir


class DataError(ValueError):
    """Data that cannot be read or fetched; the message names the file (and line) and what to do."""


def data_folder(root, *cache_parts):
    """The folder a data set is read from: ``root`` as given (it must exist: zoo creates no folder outside its
    cache), or, when ``root`` is empty, the cache's folder ``cache_parts`` (created when needed)."""
    if not root:
        return cache_dir(*cache_parts)
    root = os.path.expanduser(root)
    if not os.path.isdir(root):
        raise DataError("data.root %s is not a folder (a relative root is read from the folder you run from: %s); "
                        "point it at the folder that holds the data, or leave it empty to download into %s" % (
                            root, os.getcwd(), cache_dir(*cache_parts)))
    return root


def file_digest(path, algorithm="md5"):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(url, path, checksum=None, algorithm="md5", progress=True):
    """Fetch ``url`` to ``path`` unless a file with the right checksum is already there.

    The bytes go to ``path + '.part'`` and are renamed only after the checksum matched, so an interrupted or
    corrupt download never leaves a file that a later run would trust. ``checksum`` may be None for releases that
    change over time; then ``url + '.md5'`` (GroupLens publishes one beside each zip) is used when it exists.
    """
    if os.path.exists(path) and (checksum is None or file_digest(path, algorithm) == checksum):
        return path
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    part = path + ".part"
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=os.path.basename(path),
                      disable=not progress) as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        if checksum is None:
            checksum, algorithm = _published_md5(url), "md5"
        if checksum is not None:
            got = file_digest(part, algorithm)
            if got != checksum:
                os.remove(part)
                raise DataError("checksum mismatch for %s (%s %s, expected %s): the download was deleted; "
                                "try again, or put the file there yourself" % (url, algorithm, got, checksum))
        os.replace(part, path)
    except (urllib.error.URLError, OSError) as err:
        if os.path.exists(part):
            os.remove(part)
        raise DataError("could not download %s to %s (%s)" % (url, path, getattr(err, "reason", err))) from None
    return path


def _published_md5(url):
    try:
        with urllib.request.urlopen(url + ".md5", timeout=30) as response:
            text = response.read().decode("ascii", "replace")
    except (urllib.error.URLError, OSError):
        return None
    # Formats seen: "MD5 (file.zip) = <hex>" and "<hex>  file.zip".
    for token in text.replace("=", " ").split():
        if len(token) == 32 and all(c in "0123456789abcdef" for c in token.lower()):
            return token.lower()
    return None


def extract_zip(archive, dest, subdir=None):
    """Extract ``archive`` (optionally only its ``subdir/``) into ``dest``, file by file through a temporary
    folder beside ``dest``, so ``dest`` never holds a half-extracted file."""
    os.makedirs(dest, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".extract-", dir=dest)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        src = os.path.join(tmp, subdir) if subdir else tmp
        for name in os.listdir(src):
            target = os.path.join(dest, name)
            if os.path.isdir(target):
                shutil.rmtree(target)
            os.replace(os.path.join(src, name), target)
    except zipfile.BadZipFile as err:
        raise DataError("%s is not a valid zip file (%s): delete it and run again" % (archive, err)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
