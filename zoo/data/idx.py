"""The idx format of MNIST and Fashion-MNIST: a big-endian header (two zero bytes, a type code, the number of
dimensions, then each dimension as uint32) followed by the values."""
import gzip
import struct

import numpy as np

from .download import DataError

_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """The array in an idx file (gzipped when the name ends in ``.gz``)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:
        raise DataError("cannot read idx file %s: %s" % (path, err)) from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES or data[3] == 0:
        raise DataError("%s is not an idx file: wrong magic number %s" % (path, data[:4].hex() or "(empty)"))
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError("%s: truncated idx header" % path)
    shape = struct.unpack(">%dI" % ndim, data[4:header])
    dtype = np.dtype(_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError("%s: the header promises %s values (%d bytes) but %d bytes follow: truncated or corrupt" % (
            path, "x".join(map(str, shape)), expected, len(data) - header))
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array):
    """Write ``array`` (uint8 unless another idx type fits its dtype) as an idx file (gzipped for ``.gz``)."""
    array = np.asarray(array)
    code = {np.dtype(v).newbyteorder(">"): k for k, v in _TYPES.items()}.get(array.dtype.newbyteorder(">"))
    if code is None:
        raise ValueError("no idx type for dtype %s" % array.dtype)
    big = array.astype(np.dtype(_TYPES[code]))
    payload = bytes([0, 0, code, array.ndim]) + struct.pack(">%dI" % array.ndim, *array.shape) + big.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)
