"""Metrics: pure per-frame functions (SSIM, PSNR), networks held in small classes (LPIPS, I3D),
and set-level distances (FVD, KVD). Networks load their weights on first use."""

from __future__ import annotations

from typing import Any, Callable

import torch

# The functions shadow their submodules of the same name: `vbench.metrics.ssim` is the function.
from vbench.metrics.fvd import fvd, i3d_features, kvd  # noqa: E402  (I3D weights load on first use)
from vbench.metrics.psnr import mse, psnr  # noqa: E402
from vbench.metrics.ssim import ssim  # noqa: E402

FrameMetric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # ([N,C,H,W], [N,C,H,W]) -> [N]


def frame_metric(name: str, profile: str, device: torch.device | str = "cpu") -> FrameMetric:
    """The per-frame scoring function of `name` under `profile` (inputs float in [0, 1]), as
    vbench.metric_registry builds it."""
    from vbench.metric_registry import METRICS, frame_metric_names
    if name not in frame_metric_names():
        raise ValueError(f"'{name}' is not a per-frame metric; per-frame metrics: {', '.join(frame_metric_names())}")
    return METRICS[name].build(profile, device)


def __getattr__(name: str) -> Any:
    """The rest of the public API, imported on first use: LPIPS, diversity, I3D, frechet_distance, kernel_distance."""
    modules = {"LPIPS": "lpips", "diversity": "lpips", "I3D": "i3d",
               "frechet_distance": "frechet", "kernel_distance": "frechet"}
    if name not in modules:
        raise AttributeError(f"module 'vbench.metrics' has no attribute '{name}'")
    import importlib
    return getattr(importlib.import_module(f"vbench.metrics.{modules[name]}"), name)
