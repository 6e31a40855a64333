"""Structural similarity (SSIM, Wang et al. 2004) per frame, vectorised over a batch of frames.

``ssim(pred, target)`` takes float ``[N, C, H, W]`` frames and returns float64 ``[N]``: for each
frame pair, the SSIM map over the *valid* window positions (windows lying wholly inside the frame,
no padding), averaged over those positions and over channels.

Profiles (every choice that changes the number):

``gaussian`` (default)
    11x11 Gaussian window (sigma 1.5, the 11 taps normalised to sum 1), K1 = 0.01, K2 = 0.03, the
    caller's ``data_range`` (1.0 for frames in [0, 1]), population (biased) variances and
    covariance. The ``tf.image.ssim`` convention used by SAVP and SRVP. Equal to
    ``skimage.metrics.structural_similarity(target, pred, data_range=data_range,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`` (with ``channel_axis`` for
    C > 1).

``skimage-legacy``
    Uniform 7x7 window, sample variances and covariance (scaled by 49/48 as skimage does),
    K1 = 0.01, K2 = 0.03 and a data range of **2, whatever ``data_range`` says**. Old skimage
    inferred a range of 2 for float input (the span of its float dtype range [-1, 1]; changed in
    scikit-image PR 6595, and newer versions refuse float input without ``data_range``). SVG and
    OpenSTL numbers were computed that way, on frames in [0, 1], so this profile reproduces them.
    Equal to ``structural_similarity(target, pred, data_range=2.0)`` with skimage's other defaults.

Why the "valid" region equals skimage: skimage filters with ``mode='reflect'`` (an output as large
as the frame) and then crops ``(win_size - 1) // 2`` pixels from every border before averaging. For
an odd window that crop leaves exactly the positions whose window lies inside the frame, which are
the ones where the reflected border never enters. So the means agree to float64 rounding, not just
approximately.

Numerics: the local moments are taken about each frame pair's mean ``a`` (the mean of both
frames): the windowed means of ``x - a``, ``y - a``, ``(x - a)^2 + (y - a)^2`` and ``(x - a)(y -
a)``. (Co)variances do not depend on ``a``, and centring keeps the ``E[x^2] - E[x]^2``
cancellation small. float64 input is filtered in float64 and agrees with skimage to float64
rounding. float32 input (and float16 / bfloat16, promoted) is filtered in float32, for speed, and
the per-frame means are taken in float64; it stays a few 1e-6 per frame from the float64 result
(a measurement, not a bound: the figures are in tests/BENCHMARKS.md; the tests allow 5e-6). Without
centring a flat bright frame was 1e-5 off. Pass float64 frames where more digits matter. Scores are
float64 whatever the path.

Two implementations compute this. On CPU, the compiled kernel of :mod:`vbench.metrics.cpu_kernels`
(one cache-resident pass per frame pair instead of one pass over memory per torch operation), which
takes the SSIM formula itself in float64. On any other device, torch operations in chunks of
frames to bound memory. The tests check both against skimage. These are evaluation functions: they run under ``torch.no_grad()`` and their results
carry no gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vbench.metrics import cpu_kernels
from vbench.metrics.psnr import check_data_range, check_frame_pair

__all__ = ["DEFAULT_PROFILE", "PROFILES", "SSIMProfile", "gaussian_window", "get_profile", "ssim",
           "ssim_map"]


def gaussian_window(size: int = 11, sigma: float = 1.5) -> tuple[float, ...]:
    """1-D Gaussian window of `size` taps (odd), ``exp(-d^2 / (2 sigma^2))`` normalised to sum 1."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"window size must be odd and >= 1, got {size}")
    radius = size // 2
    taps = [math.exp(-0.5 * (i - radius) ** 2 / sigma**2) for i in range(size)]
    total = math.fsum(taps)
    return tuple(t / total for t in taps)


@dataclass(frozen=True)
class SSIMProfile:
    """Every choice that changes an SSIM number.

    The 2-D window is ``outer(window, window)`` (separable; taps sum to 1).
    """

    name: str
    window: tuple[float, ...]
    sample_covariance: bool          # scale variances and covariance by n / (n - 1), n = window area
    fixed_data_range: float | None   # if set, overrides the data_range argument
    k1: float = 0.01
    k2: float = 0.03

    def __post_init__(self) -> None:
        if self.window != self.window[::-1] or self.window_size % 2 == 0:
            raise ValueError(f"SSIM profile {self.name!r}: the window must be symmetric with an odd "
                             f"number of taps (the CPU kernel pairs mirrored taps), got {self.window}")

    @property
    def window_size(self) -> int:
        return len(self.window)

    def covariance_scale(self) -> float:
        n = self.window_size**2
        return n / (n - 1) if self.sample_covariance else 1.0

    def constants(self, data_range: float) -> tuple[float, float]:
        """(C1, C2) = ((K1 R)^2, (K2 R)^2), R the profile's fixed range or else `data_range`."""
        r = self.fixed_data_range if self.fixed_data_range is not None else data_range
        return (self.k1 * r) ** 2, (self.k2 * r) ** 2


PROFILES: dict[str, SSIMProfile] = {
    "gaussian": SSIMProfile("gaussian", gaussian_window(11, 1.5), sample_covariance=False,
                            fixed_data_range=None),
    "skimage-legacy": SSIMProfile("skimage-legacy", (1.0 / 7,) * 7, sample_covariance=True,
                                  fixed_data_range=2.0),
}
DEFAULT_PROFILE = "gaussian"

# Frames' worth of pixels filtered at once: small enough to stay in cache on CPU, large enough to
# keep a GPU busy. Changes speed and memory only, never the result.
_CHUNK_PIXELS = {"cpu": 2**17, "other": 2**22}


def get_profile(name: str) -> SSIMProfile:
    """The SSIM profile called `name`, or ValueError listing the valid ones."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown SSIM profile {name!r}; valid profiles: {', '.join(PROFILES)}") from None


def _check_frame_size(shape: torch.Size, profile: SSIMProfile) -> None:
    h, w = shape[-2:]
    k = profile.window_size
    if h < k or w < k:
        raise ValueError(f"SSIM profile {profile.name!r} needs frames of at least {k}x{k} (its window), "
                         f"got {h}x{w} (shape [N, C, H, W] = {list(shape)})")


def _correlate_flat(src: Tensor, taps: tuple[float, ...], step: int, out: Tensor) -> Tensor:
    """``out[j] = sum_i taps[i] * src[j + i * step]`` over 1-D contiguous tensors.

    ``out`` has ``src.numel() - (len(taps) - 1) * step`` elements. Every operand is a contiguous
    slice, so each tap is one fast vectorised pass.
    """
    length = out.numel()
    torch.mul(src[:length], taps[0], out=out)
    for i in range(1, len(taps)):
        out.add_(src[i * step : i * step + length], alpha=taps[i])
    return out


def _box_sum_flat(src: Tensor, size: int, step: int, out: Tensor) -> Tensor:
    """``out[j] = sum_{i < size} src[j + i * step]`` (unweighted), like :func:`_correlate_flat`.

    Sums of 1, 2, 4, ... consecutive taps are built by doubling and the ones in the binary expansion
    of `size` are added: 5 passes instead of 7 for a 7-tap window.
    """
    length = out.numel()
    block, block_len, offset, started = src, 1, 0, False   # block[j] = sum of block_len taps from j
    while True:
        if size & block_len:
            term = block[offset * step : offset * step + length]
            if started:
                out.add_(term)
            else:
                out.copy_(term)
            started, offset = True, offset + block_len
        if 2 * block_len > size:
            return out
        shift = block_len * step
        block = block[:-shift] + block[shift:]
        block_len *= 2


def _filter_valid(planes: Tensor, taps: tuple[float, ...]) -> Tensor:
    """Correlate every plane of ``planes [B, H, W]`` (contiguous) with ``outer(taps, taps)``.

    Returns ``[B, H - k + 1, W - k + 1]``: the valid positions only (a strided view). Both passes
    run over the flattened planes; a window that would wrap into the next row or plane only
    produces values at positions outside the valid region, which are dropped. A uniform window is
    summed unweighted and scaled once at the end.
    """
    b, h, w = planes.shape
    k = len(taps)
    if b == 0:
        return planes.new_zeros(0, h - k + 1, w - k + 1)
    flat = planes.reshape(-1)                                                     # [B*H*W]
    rows = flat.new_empty(flat.numel() - (k - 1))                                 # horizontal sums
    out = flat.new_empty(b * h * w)                                               # [B*H*W]
    cols = out[: rows.numel() - (k - 1) * w]                                      # vertical sums
    if len(set(taps)) == 1:
        _box_sum_flat(flat, k, 1, rows)
        _box_sum_flat(rows, k, w, cols).mul_(taps[0] ** 2)
    else:
        _correlate_flat(flat, taps, 1, rows)
        _correlate_flat(rows, taps, w, cols)
    return out.view(b, h, w)[:, : h - k + 1, : w - k + 1]                         # [B, H', W']


def _local_moments(pred: Tensor, target: Tensor, taps: tuple[float, ...]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Windowed moments of a frame pair: ``[n, C, H, W]`` x 2 -> ``[n, C, H', W']`` x 4 (float64 for
    float64 input, else float32): mu_x, mu_y, var_x + var_y and cov_xy (population (co)variances;
    see the module docstring)."""
    n, c, h, w = pred.shape
    k = len(taps)
    dtype = cpu_kernels.compute_dtype(pred, target)
    centre = (pred.mean(dim=(1, 2, 3), dtype=torch.float64)
              + target.mean(dim=(1, 2, 3), dtype=torch.float64)) / 2                  # [n]
    stats = torch.empty(4, n, c, h, w, dtype=dtype, device=pred.device)               # [4, n, C, H, W]
    x, y, squares, cross = stats.unbind(0)
    offset = centre.to(dtype).view(n, 1, 1, 1)                                        # [n, 1, 1, 1]
    torch.sub(pred, offset, out=x)
    torch.sub(target, offset, out=y)
    torch.mul(x, x, out=squares).addcmul_(y, y)                                       # x^2 + y^2
    torch.mul(x, y, out=cross)                                                        # xy
    local = _filter_valid(stats.view(4 * n * c, h, w), taps)                          # [4nC, H', W']
    m_x, m_y, m_squares, m_cross = local.view(4, n, c, h - k + 1, w - k + 1).unbind(0)
    variances = m_squares - (m_x * m_x + m_y * m_y)                                   # var_x + var_y
    covariance = m_cross - m_x * m_y                                                  # cov_xy
    return m_x + offset, m_y + offset, variances, covariance


def _ssim_from_moments(mu_x: Tensor, mu_y: Tensor, variances: Tensor, covariance: Tensor,
                       c1: float, c2: float, cov_scale: float) -> Tensor:
    """SSIM map from mu_x, mu_y, var_x + var_y and cov_xy (all ``[...]``) -> ``[...]``.

    ``(2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2))`` with the
    (co)variances scaled by `cov_scale`. Exactly symmetric in x and y, and exactly 1 for x == y.
    """
    numerator = (2.0 * mu_x * mu_y).add_(c1).mul_(covariance.mul(2.0 * cov_scale).add_(c2))
    denominator = (mu_x * mu_x).add_(mu_y * mu_y).add_(c1).mul_(variances.mul(cov_scale).add_(c2))
    return numerator.div_(denominator)


def _ssim_map_unchecked(pred: Tensor, target: Tensor, data_range: float, profile: SSIMProfile) -> Tensor:
    c1, c2 = profile.constants(data_range)
    moments = _local_moments(pred, target, profile.window)                       # 4 x [n, C, H', W']
    return _ssim_from_moments(*moments, c1, c2, profile.covariance_scale())      # [n, C, H', W']


def _resolve(pred: Tensor, target: Tensor, data_range: float, profile: str) -> tuple[float, SSIMProfile]:
    spec = get_profile(profile)
    check_frame_pair(pred, target)
    _check_frame_size(pred.shape, spec)
    return check_data_range(data_range), spec


@torch.no_grad()
def ssim_map(pred: Tensor, target: Tensor, data_range: float = 1.0, profile: str = DEFAULT_PROFILE) -> Tensor:
    """SSIM at every valid window position: float ``[N, C, H, W]`` x 2 -> float64 ``[N, C, H', W']``.

    ``H' = H - k + 1`` and ``W' = W - k + 1`` for the profile's window size k; position (i, j) is
    the window whose top-left pixel is (i, j), i.e. skimage's full SSIM map cropped by
    ``(k - 1) // 2`` on every side. Whole batch at once: use :func:`ssim` for large batches.
    """
    data_range, spec = _resolve(pred, target, data_range, profile)
    return _ssim_map_unchecked(pred, target, data_range, spec).to(torch.float64)


@torch.no_grad()
def ssim(pred: Tensor, target: Tensor, data_range: float = 1.0, profile: str = DEFAULT_PROFILE) -> Tensor:
    """Mean SSIM of each frame pair: float ``[N, C, H, W]`` x 2 -> float64 ``[N]``.

    The mean is over the valid window positions and the channels (see the module docstring for the
    profiles). `data_range` is the span of the pixel values (1.0 for [0, 1]); the
    ``skimage-legacy`` profile ignores it and uses 2. Symmetric in its two arguments; identical
    frames score exactly 1. Frames must be at least as large as the profile's window (11x11 for
    ``gaussian``, 7x7 for ``skimage-legacy``).
    """
    data_range, spec = _resolve(pred, target, data_range, profile)
    if pred.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64, device=pred.device)
    if pred.device.type == "cpu":
        return _ssim_means_compiled(pred, target, data_range, spec)
    return _ssim_means_torch(pred, target, data_range, spec)


def _ssim_means_torch(pred: Tensor, target: Tensor, data_range: float, spec: SSIMProfile) -> Tensor:
    """:func:`ssim` in torch operations, in chunks of frames (any device): float64 ``[N]``."""
    n, c, h, w = pred.shape
    budget = _CHUNK_PIXELS["cpu" if pred.device.type == "cpu" else "other"]
    per_chunk = max(1, budget // (c * h * w))
    scores = [
        _ssim_map_unchecked(p, t, data_range, spec).mean(dim=(1, 2, 3), dtype=torch.float64)   # [n]
        for p, t in zip(pred.split(per_chunk), target.split(per_chunk))
    ]
    return torch.cat(scores)                                                      # [N]


def _ssim_means_compiled(pred: Tensor, target: Tensor, data_range: float, spec: SSIMProfile) -> Tensor:
    """:func:`ssim` by the compiled CPU kernel (CPU tensors): float64 ``[N]``."""
    dtype = cpu_kernels.compute_dtype(pred, target)
    scalar = np.float64 if dtype == torch.float64 else np.float32
    c1, c2 = spec.constants(data_range)
    return cpu_kernels.run(cpu_kernels.ssim_means,
                           cpu_kernels.as_array(pred, dtype), cpu_kernels.as_array(target, dtype),
                           np.asarray(spec.window, dtype=scalar), c1, c2, spec.covariance_scale(),
                           np.empty(pred.shape[0], dtype=scalar))                 # [N]
