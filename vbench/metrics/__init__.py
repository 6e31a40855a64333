"""Metrics: pure per-frame functions (SSIM, PSNR, LPIPS), set-level distances (FVD, KVD) and the I3D
features they compare, networks held in small classes (LPIPS, I3D) that load their weights on first
use, and streaming versions (FVD, KVD, SSIM, PSNR: `vbench.metrics.streaming`, on torchmetrics).

The functions (`vbench.metrics.functional`) take float tensors in [0, 1] and refuse anything else.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

import torch

# The functions shadow their submodules of the same name: `vbench.metrics.ssim` is the function.
from vbench.metrics.functional import fvd, i3d_features, kvd, lpips, psnr, ssim  # noqa: E402
from vbench.metrics.psnr import mse  # noqa: E402

FrameMetric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # ([N,C,H,W], [N,C,H,W]) -> [N]


def frame_metric(name: str, profile: str, device: torch.device | str = "cpu") -> FrameMetric:
    """The per-frame scoring function of `name` under `profile` (inputs float in [0, 1], not checked
    again: the runner has checked every model output), as vbench.metric_registry builds it."""
    from vbench.metric_registry import METRICS, frame_metric_names
    if name not in frame_metric_names():
        raise ValueError(f"'{name}' is not a per-frame metric; per-frame metrics: {', '.join(frame_metric_names())}")
    return METRICS[name].build(profile, device)


def __getattr__(name: str) -> Any:
    """The rest of the public API, imported on first use: LPIPS (the network), diversity, I3D,
    frechet_distance, kernel_distance, and the streaming metrics FVD, KVD, SSIM, PSNR (torchmetrics)."""
    modules = {"LPIPS": "lpips", "diversity": "lpips", "I3D": "i3d",
               "frechet_distance": "frechet", "kernel_distance": "frechet",
               "FVD": "streaming", "KVD": "streaming", "SSIM": "streaming", "PSNR": "streaming"}
    if name not in modules:
        raise AttributeError(f"module 'vbench.metrics' has no attribute '{name}'")
    return getattr(importlib.import_module(f"vbench.metrics.{modules[name]}"), name)
