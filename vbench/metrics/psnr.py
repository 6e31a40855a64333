"""Mean squared error and PSNR per frame, plus the MCVD `mean-mse` aggregation helper.

Conventions (every one of them changes the number):

- One score per frame: the MSE is the mean over C, H and W of one frame pair, never pooled over
  the batch (torchmetrics pools over the whole set unless told otherwise). That is SAVP's and
  ``tf.image.psnr``'s PSNR. ``per_channel=True`` instead takes each channel's PSNR and averages
  them, as SVG's evaluation (``eval_seq``, a skimage PSNR per channel) and SRVP do; the two agree
  on grey frames and differ on RGB (the mean of logs is at most the log of the mean: the
  per-channel mean is never below the pooled PSNR).
- ``psnr = 10 * log10(data_range**2 / mse)`` with an explicit ``data_range`` (default 1.0, for
  frames in [0, 1]); nothing is inferred from the data.
- Identical frames (MSE 0) would give +inf, which poisons every mean it enters. The MSE is
  therefore floored at ``1e-10 * data_range**2`` (``MSE_FLOOR``), so PSNR is capped at
  ``PSNR_CAP_DB`` = 100 dB. Any real prediction error is far above that floor (one grey level out
  of 255 on a single pixel of a 64x64 frame already gives MSE ~ 3.8e-9, i.e. 84 dB).
- Arithmetic in float64 whatever the input dtype; the scores are float64 ``[N]`` on the input's
  device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from vbench.metrics import cpu_kernels

__all__ = ["MSE_FLOOR", "PSNR_CAP_DB", "check_frame_pair", "mse", "psnr", "psnr_of_mean_mse"]

MSE_FLOOR = 1e-10                              # relative to data_range**2
PSNR_CAP_DB = -10.0 * math.log10(MSE_FLOOR)    # 100 dB: the PSNR of identical frames

# Frames converted to float64 at once (bounds the temporary memory; 2**16 values = 512 KiB, cache-sized).
_CHUNK_VALUES = 2**16


def check_frame_pair(pred: Tensor, target: Tensor) -> None:
    """Raise unless `pred` and `target` are float ``[N, C, H, W]`` tensors of one shape and device."""
    for name, frames in (("pred", pred), ("target", target)):
        if not isinstance(frames, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(frames).__name__}")
        if frames.ndim != 4:
            raise ValueError(f"{name} must be a 4-D [N, C, H, W] tensor, got shape {tuple(frames.shape)}")
        if not frames.is_floating_point():
            raise TypeError(f"{name} must be a floating-point tensor (got {frames.dtype}); convert it "
                            "to float and pass the matching data_range")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}")
    if pred.device != target.device:
        raise ValueError(f"pred and target must be on the same device, got {pred.device} and {target.device}")
    if pred.shape[1] == 0:
        raise ValueError("frames must have at least one channel, got C = 0")


def check_data_range(data_range: float) -> float:
    """`data_range` as a float, or ValueError unless it is finite and > 0."""
    value = float(data_range)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"data_range must be finite and > 0, got {data_range!r}")
    return value


def _frames_per_chunk(frame_values: int) -> int:
    return max(1, _CHUNK_VALUES // max(1, frame_values))


def mse(pred: Tensor, target: Tensor, per_channel: bool = False) -> Tensor:
    """Mean squared error of each frame pair: float ``[N, C, H, W]`` x 2 -> float64 ``[N]``.

    The mean is over C, H and W (with ``per_channel``: over H and W, float64 ``[N, C]``); the
    difference is taken in float64.
    """
    check_frame_pair(pred, target)
    if per_channel:   # every channel a grey frame of its own
        n, c, h, w = pred.shape
        return mse(pred.reshape(n * c, 1, h, w), target.reshape(n * c, 1, h, w)).view(n, c)   # [N, C]
    if pred.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64, device=pred.device)
    if pred.device.type == "cpu":
        return _mse_compiled(pred, target)
    return _mse_torch(pred, target)


def _mse_torch(pred: Tensor, target: Tensor) -> Tensor:
    """:func:`mse` in torch operations, in chunks of frames (any device): float64 ``[N]``."""
    per_chunk = _frames_per_chunk(pred[0].numel())
    # One float64 buffer per chunk (the difference of two float32 values is exact in float64),
    # squared in place: no further temporaries.
    chunks = [
        p.to(torch.float64, copy=True).sub_(t).square_().mean(dim=(1, 2, 3))          # [n]
        for p, t in zip(pred.split(per_chunk), target.split(per_chunk))
    ]
    return torch.cat(chunks)                                                        # [N]


def _mse_compiled(pred: Tensor, target: Tensor) -> Tensor:
    """:func:`mse` by the compiled CPU kernel (CPU tensors): float64 ``[N]``."""
    dtype = cpu_kernels.compute_dtype(pred, target)
    return cpu_kernels.run(cpu_kernels.squared_error_means, cpu_kernels.as_array(pred.flatten(1), dtype),
                           cpu_kernels.as_array(target.flatten(1), dtype))            # [N]


def psnr(pred: Tensor, target: Tensor, data_range: float = 1.0, per_channel: bool = False) -> Tensor:
    """PSNR of each frame pair in dB: float ``[N, C, H, W]`` x 2 -> float64 ``[N]``.

    ``10 * log10(data_range**2 / max(mse, MSE_FLOOR * data_range**2))``: equal to
    ``skimage.metrics.peak_signal_noise_ratio(target, pred, data_range=data_range)`` per frame,
    except that identical frames give ``PSNR_CAP_DB`` (100 dB) instead of +inf. With
    ``per_channel``, the mean over channels of that PSNR taken per channel (each channel capped).
    Symmetric in its two arguments.
    """
    data_range = check_data_range(data_range)
    normalised = mse(pred, target, per_channel) / data_range**2     # [N] or [N, C]: MSE in units of range^2
    db = -10.0 * torch.log10(normalised.clamp_min(MSE_FLOOR))       # [N] or [N, C]
    return db.mean(dim=1) if per_channel else db                    # [N]


def psnr_of_mean_mse(per_frame_psnr: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR of the time-averaged MSE (MCVD's `mean-mse` profile), from stored per-frame PSNR.

    ``per_frame_psnr`` is ``[..., T]`` (last axis: time), as returned by :func:`psnr`; the result is
    float64 ``[...]``. Each frame's MSE is recovered as ``data_range**2 * 10**(-psnr / 10)``, the
    MSEs are averaged over T and converted back to PSNR. Pass the data range the PSNRs were computed
    with; mathematically it cancels out. Frames at the 100 dB cap count with MSE = the floor, so a
    clip of identical frames stays at 100 dB.
    """
    data_range = check_data_range(data_range)
    if per_frame_psnr.ndim == 0 or per_frame_psnr.shape[-1] == 0:
        raise ValueError("per_frame_psnr must have a non-empty last (time) axis, "
                         f"got shape {tuple(per_frame_psnr.shape)}")
    p = per_frame_psnr.to(torch.float64)                             # [..., T]
    frame_mse = data_range**2 * torch.pow(10.0, -p / 10.0)           # [..., T]
    return 10.0 * torch.log10(data_range**2 / frame_mse.mean(dim=-1))  # [...]
