"""SSIM + PSNR throughput on a best-of-N batch (pytest-benchmark). Disabled by default; run with

    pytest tests/test_bench_metrics.py --benchmark-enable

The batch is 8 videos x 100 samples x 20 frames of 64x64 grey = 16,000 frame pairs. It is scored
by vbench's ``ssim`` and ``psnr`` (on CPU: the compiled kernels of ``vbench.metrics.cpu_kernels``),
by the same functions' torch code (the path of CUDA, here on CPU) and by a per-frame scikit-image
loop of the kind SVG used (one ``structural_similarity`` and one ``peak_signal_noise_ratio`` call
per frame). The loop is timed on every 20th frame (800 pairs) and its rate extrapolated;
``extra_info["frame_pairs_per_s"]`` holds every rate. Each test asserts agreement with skimage to
1e-5 on the shared frames.

When benchmarks are disabled the same code runs once on a small batch, as a smoke test.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from vbench.metrics.psnr import psnr
from vbench.metrics.ssim import PROFILES, ssim

VIDEOS, SAMPLES, FRAMES, SIZE = 8, 100, 20, 64   # 16,000 frame pairs
LOOP_STRIDE = 20                                 # the skimage loop scores every 20th pair
ATOL = 1e-5
SK_SSIM_ARGS = {   # per profile, the skimage call that profile reproduces
    "gaussian": dict(data_range=1.0, gaussian_weights=True, sigma=1.5, use_sample_covariance=False),
    "skimage-legacy": dict(data_range=2.0),
}


@functools.lru_cache(maxsize=2)
def best_of_n_batch(small: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 (pred, target) ``[V*S*T, 1, 64, 64]`` in [0, 1]: smooth ground-truth frames, and per
    sample a slightly shifted, noisy copy (so no pair is identical)."""
    videos, samples = (2, 3) if small else (VIDEOS, SAMPLES)
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(videos * FRAMES, 1, 8, 8, generator=g)
    truth = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    truth = truth.view(videos, 1, FRAMES, 1, SIZE, SIZE)                     # [V, 1, T, 1, H, W]
    shift = torch.randint(-2, 3, (samples,), generator=g).tolist()
    pred = torch.stack([truth[:, 0].roll(s, dims=-1) for s in shift], dim=1)  # [V, S, T, 1, H, W]
    pred = (pred + 0.05 * torch.randn(pred.shape, generator=g)).clamp(0, 1)
    target = truth.expand_as(pred)
    return pred.reshape(-1, 1, SIZE, SIZE), target.reshape(-1, 1, SIZE, SIZE).contiguous()


def vectorised(pred: torch.Tensor, target: torch.Tensor, profile: str) -> tuple[torch.Tensor, torch.Tensor]:
    return ssim(pred, target, data_range=1.0, profile=profile), psnr(pred, target, data_range=1.0)


def skimage_loop(pred: np.ndarray, target: np.ndarray, profile: str) -> tuple[np.ndarray, np.ndarray]:
    """One skimage call per frame and metric; ``pred``, ``target``: float64 ``[n, H, W]``."""
    n = pred.shape[0]
    ssim_out, psnr_out = np.empty(n), np.empty(n)
    for i in range(n):
        ssim_out[i] = structural_similarity(target[i], pred[i], **SK_SSIM_ARGS[profile])
        psnr_out[i] = peak_signal_noise_ratio(target[i], pred[i], data_range=1.0)
    return ssim_out, psnr_out


def loop_subset(pred: torch.Tensor, target: torch.Tensor) -> tuple[np.ndarray, np.ndarray, slice]:
    """Every LOOP_STRIDE-th pair as float64 [n, H, W] arrays (converted outside the timed loop)."""
    rows = slice(None, None, LOOP_STRIDE)
    return pred[rows, 0].double().numpy(), target[rows, 0].double().numpy(), rows


def record(benchmark, pairs: int) -> None:
    if not benchmark.disabled:
        benchmark.extra_info["frame_pairs"] = pairs
        benchmark.extra_info["frame_pairs_per_s"] = pairs / benchmark.stats.stats.median
        benchmark.extra_info["threads"] = torch.get_num_threads()


@pytest.mark.parametrize("profile", list(PROFILES))
def test_bench_ssim_psnr_vectorised(benchmark, profile, metric_path):
    pred, target = best_of_n_batch(benchmark.disabled)
    benchmark.group = f"ssim+psnr {profile}"
    ssim_vals, psnr_vals = benchmark.pedantic(vectorised, args=(pred, target, profile), rounds=3,
                                              warmup_rounds=1)
    assert ssim_vals.shape == psnr_vals.shape == (pred.shape[0],)
    record(benchmark, pred.shape[0])
    p, t, rows = loop_subset(pred, target)
    ref_ssim, ref_psnr = skimage_loop(p, t, profile)
    np.testing.assert_allclose(ssim_vals[rows].numpy(), ref_ssim, rtol=0, atol=ATOL)
    np.testing.assert_allclose(psnr_vals[rows].numpy(), ref_psnr, rtol=0, atol=ATOL)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_bench_ssim_psnr_skimage_loop(benchmark, profile):
    pred, target = best_of_n_batch(benchmark.disabled)
    benchmark.group = f"ssim+psnr {profile}"
    p, t, rows = loop_subset(pred, target)
    ref_ssim, ref_psnr = benchmark.pedantic(skimage_loop, args=(p, t, profile), rounds=2, warmup_rounds=0)
    record(benchmark, p.shape[0])
    ssim_vals, psnr_vals = vectorised(pred[rows], target[rows], profile)
    np.testing.assert_allclose(ssim_vals.numpy(), ref_ssim, rtol=0, atol=ATOL)
    np.testing.assert_allclose(psnr_vals.numpy(), ref_psnr, rtol=0, atol=ATOL)
