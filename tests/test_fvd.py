"""FVD / KVD: preprocessing profiles against TensorFlow and PyTorch, input contract, and the
published golden values (../shared/golden/fvd/expected.json).

The golden cases 1-4 compare constant videos: every video of a set is identical, so the set's
covariance is zero and FVD = |mu_a - mu_b|², where mu is the I3D embedding of one video. Most tests
therefore embed one video per set; ``test_fvd_zeros_vs_ones_8x30`` runs the full ``fvd()`` path
on the 8-video sets once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vbench.metrics.frechet import frechet_distance, kernel_distance
from vbench.metrics.fvd import (
    features_fingerprint,
    fvd,
    get_i3d,
    i3d_features,
    kvd,
    preprocess,
    resize_bilinear_tf1,
    resize_shorter_center_crop,
)
from vbench.metrics.i3d import WEIGHTS_SHA256

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "golden" / "fvd" / "expected.json"


@pytest.fixture(scope="module")
def golden() -> dict[str, dict]:
    if not GOLDEN.is_file():
        pytest.skip(f"golden FVD data not found at {GOLDEN} (the shared/ checkout is missing)")
    cases = json.loads(GOLDEN.read_text())["cases"]
    return {case["id"]: case for case in cases}


def _constant_pair_fvd(frames: int) -> float:
    """FVD of all-zeros vs all-ones 64x64 RGB sets of any size: |mu_0 - mu_1|² (no covariance)."""
    videos = torch.stack([torch.zeros(frames, 3, 64, 64), torch.ones(frames, 3, 64, 64)])
    feats = i3d_features(videos)  # [2, 400]
    return float(np.sum((feats[0] - feats[1]) ** 2))


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf():  # noqa: ANN201 - the tensorflow module
    return pytest.importorskip(
        "tensorflow", reason="the TF1 resize reference needs tensorflow (tensorflow-cpu)"
    )


SIZES = [(64, 64), (1, 1), (2, 3), (7, 13), (100, 57), (224, 224), (480, 640)]


@pytest.mark.parametrize("hw", SIZES)
def test_tf_resize_matches_tensorflow(tf, hw: tuple[int, int]) -> None:  # noqa: ANN001
    frames = np.random.default_rng(sum(hw)).random((3, *hw, 3), dtype=np.float32)  # NHWC
    expected = tf.compat.v1.image.resize_bilinear(frames, (224, 224), align_corners=False).numpy()
    got = resize_bilinear_tf1(torch.from_numpy(frames).permute(0, 3, 1, 2), (224, 224))
    got_nhwc = got.permute(0, 2, 3, 1).numpy()
    assert float(np.abs(got_nhwc - expected).max()) < 1e-5


def test_tf_profile_is_the_google_reference_pipeline(tf) -> None:  # noqa: ANN001
    """Google's ``frechet_video_distance.preprocess``: uint8 0..255 frames, TF1 bilinear to
    224x224, then 2x/255 - 1; ours takes the same frames as x/255 in [0, 1]."""
    rng = np.random.default_rng(0)
    uint8 = rng.integers(0, 256, (2, 10, 48, 80, 3), dtype=np.uint8)  # [B, T, H, W, C]
    frames = tf.cast(tf.reshape(uint8, (-1, 48, 80, 3)), tf.float32)
    resized = tf.compat.v1.image.resize_bilinear(frames, (224, 224), align_corners=False)
    expected = (2.0 * resized / 255.0 - 1.0).numpy().reshape(2, 10, 224, 224, 3)
    videos = torch.from_numpy(uint8).permute(0, 1, 4, 2, 3).float() / 255.0  # [B, T, C, H, W]
    got = preprocess(videos, "tf").permute(0, 2, 3, 4, 1).numpy()  # [B, T, H, W, 3]
    assert float(np.abs(got - expected).max()) < 1e-5


def test_videogpt_profile_shorter_side_and_center_crop() -> None:
    frames = torch.rand(4, 3, 48, 80, generator=torch.Generator().manual_seed(1))
    got = resize_shorter_center_crop(frames, 224)
    # Shorter side 48 -> 224, longer 80 -> ceil(80 * 224 / 48) = 374, crop columns 75..298.
    full = F.interpolate(frames, size=(224, 374), mode="bilinear", align_corners=False)
    torch.testing.assert_close(got, full[..., :, 75:299], rtol=0, atol=0)
    # Square frames: plain bilinear resize, the StyleGAN-V / common_metrics pipeline.
    square = frames[..., :48]
    expected = F.interpolate(square, size=(224, 224), mode="bilinear", align_corners=False)
    torch.testing.assert_close(resize_shorter_center_crop(square, 224), expected, rtol=0, atol=0)


def test_preprocess_layout_range_and_grey() -> None:
    grey = torch.rand(2, 10, 1, 32, 40, generator=torch.Generator().manual_seed(2))
    rgb = grey.expand(-1, -1, 3, -1, -1)
    for profile in ("tf", "videogpt"):
        out = preprocess(grey, profile)
        assert out.shape == (2, 3, 10, 224, 224)
        assert out.min() >= -1.0 and out.max() <= 1.0
        # grey is RGB with three equal channels; the resize kernels may round differently for 1 and 3
        # channels (seen with OMP_NUM_THREADS=1: 3.6e-7), far below any layout mistake (~0.1)
        torch.testing.assert_close(out, preprocess(rgb, profile), rtol=0, atol=1e-6)
    # Constant frames are constant after either resize: -1 and +1 exactly.
    ends = preprocess(torch.stack([torch.zeros(10, 3, 20, 30), torch.ones(10, 3, 20, 30)]))
    assert ends[0].eq(-1).all() and ends[1].eq(1).all()
    # The profiles differ on real content (TF1 has no half-pixel offset).
    assert not torch.allclose(preprocess(grey, "tf"), preprocess(grey, "videogpt"), atol=1e-3)


def test_input_contract() -> None:
    ok = torch.rand(1, 10, 3, 16, 16)
    with pytest.raises(TypeError, match="float"):
        i3d_features((ok * 255).to(torch.uint8))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        i3d_features(ok * 2 - 1)
    with pytest.raises(ValueError, match="at least 10"):
        i3d_features(ok[:, :9])
    with pytest.raises(ValueError, match="C = 1 or 3"):
        i3d_features(ok[:, :, :2])
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        i3d_features(ok[0])
    with pytest.raises(ValueError, match="NaN"):
        i3d_features(torch.full_like(ok, float("nan")))
    with pytest.raises(ValueError, match="unknown FVD profile"):
        i3d_features(ok, profile="clean")


def test_model_is_cached_per_device() -> None:
    assert get_i3d() is get_i3d("cpu") is get_i3d(torch.device("cpu"))
    assert features_fingerprint("tf") == {
        "embedding": "i3d-kinetics-400/logits-mean",
        "profile": "tf",
        "weights_sha256": WEIGHTS_SHA256,
    }


def test_features_batching_and_kvd_path() -> None:
    gen = torch.Generator().manual_seed(3)
    a, b = torch.rand(2, 10, 3, 24, 24, generator=gen), torch.rand(2, 10, 1, 24, 24, generator=gen)
    fa = i3d_features(a)  # one batch
    assert fa.shape == (2, 400) and fa.dtype == np.float64
    # Batch size changes only the float rounding (the conv algorithm oneDNN picks).
    np.testing.assert_allclose(i3d_features(a.numpy(), batch_size=1), fa, rtol=1e-5, atol=1e-4)
    fb = i3d_features(b)
    assert kvd(a, b) == pytest.approx(kernel_distance(fa, fb), rel=1e-6, abs=1e-6)
    assert fvd(a, a) == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------------
# Golden values
# --------------------------------------------------------------------------------------------


def test_fvd_zeros_vs_ones_8x30(golden: dict[str, dict]) -> None:
    """Case 2 through the public ``fvd()``: 8 black vs 8 white videos, 30 frames, 64x64.
    TF original 151.39244; the PyTorch port 151.256 (older run 151.168, drift ~1)."""
    case = golden["junyaohu_zeros_vs_ones_8x30_styleganv"]
    value = fvd(torch.zeros(8, 30, 3, 64, 64), torch.ones(8, 30, 3, 64, 64))
    print(f"FVD 8x30 zeros vs ones: {value:.5f}")
    assert value == pytest.approx(case["tf_original_same_input"]["value"], rel=1e-4)
    assert value == pytest.approx(case["expected"], rel=1e-2)


def test_fvd_zeros_vs_ones_15_frames(golden: dict[str, dict]) -> None:
    """Cases 1, 3 (n = 15) and 4: the same constant embedding at 15 frames, any set size."""
    value = _constant_pair_fvd(15)
    print(f"FVD 15 frames zeros vs ones: {value:.5f}")
    table = golden["junyaohu_zeros_vs_ones_8xN_prefix_lengths"]
    i = table["n"].index(15)
    assert value == pytest.approx(table["expected"][i], rel=1e-2)  # 133.70
    assert value == pytest.approx(table["older_run_same_code"]["values"][i], rel=1e-2)  # 133.89
    first_version = golden["junyaohu_first_version_zeros_vs_ones_16x15"]["expected"]  # 134.24
    assert value == pytest.approx(first_version, rel=1e-2)
    assert abs(value - golden["google_example_zeros_vs_255_16x15"]["expected"]) <= 3.0  # ~131


@pytest.mark.slow
def test_fvd_zeros_vs_ones_every_length(golden: dict[str, dict]) -> None:
    """Case 3: first n frames, n = 10..30; FVD swings between 64 and 570 with n (temporal
    padding), so this pins down the temporal handling."""
    table = golden["junyaohu_zeros_vs_ones_8xN_prefix_lengths"]
    got = {n: _constant_pair_fvd(n) for n in table["n"]}
    print("FVD by length:", {n: round(v, 4) for n, v in got.items()})
    for n, expected, older in zip(
        table["n"], table["expected"], table["older_run_same_code"]["values"], strict=True
    ):
        assert got[n] == pytest.approx(expected, rel=1e-2), n
        assert got[n] == pytest.approx(older, rel=1e-2), n


def _uniform_videos(seed: int, num: int, chunk: int) -> Iterator[np.ndarray]:
    """``np.random.RandomState(seed).rand(num, 16, 224, 224, 3)`` in chunks of videos (the
    legacy generator draws sequentially, so the chunks concatenate to the same array)."""
    rng = np.random.RandomState(seed)
    for start in range(0, num, chunk):
        yield rng.rand(min(chunk, num - start), 16, 224, 224, 3).astype(np.float32)


def test_uniform_chunks_reproduce_one_draw() -> None:
    whole = np.random.RandomState(1).rand(5, 2, 3, 4, 3).astype(np.float32)
    rng = np.random.RandomState(1)
    parts = [rng.rand(n, 2, 3, 4, 3).astype(np.float32) for n in (2, 2, 1)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.slow
def test_fvd_uniform_noise_128(golden: dict[str, dict]) -> None:
    """Case 5, the only golden case with non-zero covariances (N = 128 < 400): uniform noise fed
    straight to I3D (no resize, no rescale), seed 1 vs seed 2. TF 10.13808536529541."""
    case = golden["stylegan_v_random_uniform_seed1_vs_seed2"]
    model = get_i3d("cpu")

    def embed(seed: int) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for videos in _uniform_videos(seed, 128, 8):
                x = torch.from_numpy(videos).permute(0, 4, 1, 2, 3).contiguous()  # [B, 3, T, H, W]
                out.append(model(x).double().numpy())
        return np.concatenate(out)

    value = frechet_distance(embed(1), embed(2))
    print(f"FVD uniform noise 128x16: {value:.8f}")
    assert value == pytest.approx(case["expected"]["tensorflow_original"], rel=1e-4)
