"""The metrics as functions of tensors: frames and videos float in [0, 1], anything else refused.

    ssim(pred, target, profile="gaussian")   [N, C, H, W] x 2 -> [N] float64, higher is better
    psnr(pred, target)                       [N, C, H, W] x 2 -> [N] float64 dB (capped at 100)
    lpips(pred, target, profile="alex-v0.1") [N, C, H, W] x 2, C = 1 or 3 -> [N] float32, lower is better
    i3d_features(videos, profile="tf")       [B, T, C, H, W], T >= 10 -> [B, 400] float64 numpy
    fvd(real, fake, profile="tf")            [B, T, C, H, W] x 2 -> float, lower is better
    kvd(real, fake, profile="tf")            [B, T, C, H, W] x 2 -> float, lower is better

One score per frame pair (never pooled over the batch), the numbers `vbench run` stores. The
profiles are those of suites (README, "Suites"). SSIM and PSNR keep their `data_range` argument
(frames in [0, data_range]); the defaults are for [0, 1]. The streaming versions, which accumulate
over batches and processes, are in `vbench.metrics.streaming`.
"""

from __future__ import annotations

import importlib

import torch
from torch import Tensor

from vbench.errors import MetricInputError
from vbench.metrics.fvd import fvd, i3d_features, kvd

# The modules themselves (`vbench.metrics.ssim` and the others are the functions). Loading the LPIPS
# module here, before `lpips` below takes its name in vbench.metrics, keeps that name the function.
_lpips = importlib.import_module("vbench.metrics.lpips")
_psnr = importlib.import_module("vbench.metrics.psnr")
_ssim = importlib.import_module("vbench.metrics.ssim")

__all__ = ["fvd", "i3d_features", "kvd", "lpips", "psnr", "ssim"]


def check_unit_range(x: Tensor, name: str, high: float = 1.0) -> None:
    """MetricInputError unless every value of `x` is in [0, high] (NaN and inf fail too)."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise MetricInputError(f"{name} must be a float torch.Tensor in [0, {high:g}], got {kind}")
    if x.numel():
        lo, hi = (v.item() for v in torch.aminmax(x))
        if not (0.0 <= lo and hi <= high):          # NaN fails the comparisons too
            raise MetricInputError(f"{name} must be in [0, {high:g}]; its values are in [{lo:.4g}, {hi:.4g}]")


def _checked_frames(pred: Tensor, target: Tensor, high: float) -> None:
    try:
        _psnr.check_frame_pair(pred, target)
    except (TypeError, ValueError) as exc:
        raise MetricInputError(str(exc)) from None
    check_unit_range(pred, "pred", high)
    check_unit_range(target, "target", high)


def ssim(pred: Tensor, target: Tensor, data_range: float = 1.0, profile: str = _ssim.DEFAULT_PROFILE) -> Tensor:
    """SSIM of each frame pair: float ``[N, C, H, W]`` in [0, data_range] -> float64 ``[N]``.

    Profiles: ``gaussian`` (11x11 Gaussian window, the TF/SAVP convention; the default) or
    ``skimage-legacy`` (uniform 7x7, data range 2: SVG and OpenSTL numbers). Frames must be at
    least as large as the window. See `vbench.metrics.ssim` (the module) for the definitions.
    """
    _checked_frames(pred, target, data_range)
    return _ssim.ssim(pred, target, data_range=data_range, profile=profile)


def psnr(pred: Tensor, target: Tensor, data_range: float = 1.0, per_channel: bool = False) -> Tensor:
    """PSNR in dB of each frame pair: float ``[N, C, H, W]`` in [0, data_range] -> float64 ``[N]``.

    ``10 log10(data_range² / MSE)`` per frame, capped at 100 dB for identical frames; the MSE is over
    C, H, W (profile ``frame``), or with `per_channel` the PSNR of each channel is averaged (profile
    ``channel-mean``, SVG's and SRVP's RGB convention).
    """
    _checked_frames(pred, target, data_range)
    return _psnr.psnr(pred, target, data_range=data_range, per_channel=per_channel)


def lpips(pred: Tensor, target: Tensor, profile: str = _lpips.DEFAULT_PROFILE,
          device: torch.device | str | None = None) -> Tensor:
    """LPIPS v0.1 distance of each frame pair: float ``[N, C, H, W]`` in [0, 1], C = 1 (tiled to RGB)
    or 3 -> float32 ``[N]`` on the input's device.

    Profiles: ``alex-v0.1`` (default) or ``vgg-v0.1``. `device`: where the network runs (None:
    the input's device); one network per profile and device is loaded once and kept.
    """
    _checked_frames(pred, target, 1.0)
    net = _lpips.shared_lpips(_lpips.lpips_profile_net(profile), torch.device(pred.device if device is None else device))
    return net(pred, target)
