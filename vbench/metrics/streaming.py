"""Streaming metrics on torchmetrics: update batch by batch, compute at the end, equal to the functions.

    FVD(profile="tf"), KVD(profile="tf", ...)   update(real, fake): float [B, T, C, H, W] in [0, 1], T >= 10
    SSIM(profile="gaussian"), PSNR(), LPIPS(profile="alex-v0.1")
                                               update(pred, target): float [N, C, H, W] or [B, T, C, H, W] in [0, 1]

FVD and KVD keep the I3D features of what they are given (400 float64 per video), never the videos,
so memory grows by 3.2 kB per video whatever the clip size. SSIM, PSNR and LPIPS keep a sum and a
count: `compute()` is the mean per-frame score over every frame pair seen. Under torch.distributed,
torchmetrics gathers the states of every process at `compute()` (features concatenated, sums
added), so each process updates with its own share and all of them get the score of the whole set.
The numbers are those of `vbench.metrics.functional` on all the data at once (tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from vbench.errors import MetricInputError
from vbench.metrics import functional
from vbench.metrics.fvd import DEFAULT_PROFILE as FVD_PROFILE
from vbench.metrics.fvd import PROFILES as FVD_PROFILES
from vbench.metrics.frechet import frechet_distance, kernel_distance
from vbench.metrics.lpips import DEFAULT_PROFILE as LPIPS_PROFILE
from vbench.metrics.ssim import DEFAULT_PROFILE as SSIM_PROFILE

__all__ = ["FVD", "KVD", "LPIPS", "PSNR", "SSIM"]


class _SetDistance(Metric):
    """A distance between the I3D features of all real and all generated videos seen."""

    is_differentiable = False
    higher_is_better = False
    full_state_update = False

    def __init__(self, profile: str = FVD_PROFILE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if profile not in FVD_PROFILES:
            raise MetricInputError(f"unknown FVD profile {profile!r}; profiles: {', '.join(FVD_PROFILES)}")
        self.profile = profile
        self.add_state("real_features", default=[], dist_reduce_fx="cat")   # [b, 400] float64 each
        self.add_state("fake_features", default=[], dist_reduce_fx="cat")

    def _features(self, videos: Tensor) -> Tensor:
        return torch.from_numpy(functional.i3d_features(videos, self.profile, device=self.device)).to(self.device)

    def update(self, real: Tensor, fake: Tensor) -> None:
        """Add a batch of real and one of generated videos, float [B, T, C, H, W] in [0, 1] (any B each)."""
        self.real_features.append(self._features(real))
        self.fake_features.append(self._features(fake))

    def compute(self) -> Tensor:
        real, fake = (dim_zero_cat(s).cpu().numpy() for s in (self.real_features, self.fake_features))
        return torch.tensor(self._distance(real, fake), dtype=torch.float64)

    def _distance(self, real: np.ndarray, fake: np.ndarray) -> float:
        raise NotImplementedError


class FVD(_SetDistance):
    """Fréchet Video Distance of everything seen: `vbench.metrics.fvd` on all real and all fake videos."""

    def _distance(self, real: np.ndarray, fake: np.ndarray) -> float:
        return frechet_distance(real, fake)


class KVD(_SetDistance):
    """Kernel Video Distance of everything seen; kernel and subset arguments as `vbench.metrics.kvd`."""

    def __init__(self, profile: str = FVD_PROFILE, *, degree: int = 3, gamma: float | None = None,
                 coef0: float = 1.0, num_subsets: int | None = None, subset_size: int | None = None,
                 seed: int = 0, **kwargs: Any) -> None:
        super().__init__(profile, **kwargs)
        self.kernel = dict(degree=degree, gamma=gamma, coef0=coef0, num_subsets=num_subsets,
                           subset_size=subset_size, seed=seed)

    def _distance(self, real: np.ndarray, fake: np.ndarray) -> float:
        return kernel_distance(real, fake, **self.kernel)


class _FrameMean(Metric):
    """The mean of a per-frame score over every frame pair seen."""

    is_differentiable = False
    full_state_update = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("total", default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("frames", default=torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def _scores(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add frame pairs: float [N, C, H, W] or videos [B, T, C, H, W] (their frames), in [0, 1]."""
        if isinstance(pred, Tensor) and isinstance(target, Tensor) and pred.ndim == target.ndim == 5:
            pred, target = pred.flatten(0, 1), target.flatten(0, 1)       # [B*T, C, H, W]
        scores = self._scores(pred, target)                               # [N]
        self.total += scores.to(self.total.device, torch.float64).sum()
        self.frames += scores.numel()

    def compute(self) -> Tensor:
        return self.total / self.frames


class SSIM(_FrameMean):
    """Mean per-frame SSIM (`vbench.metrics.ssim`) under `profile`: "gaussian" or "skimage-legacy"."""

    higher_is_better = True

    def __init__(self, profile: str = SSIM_PROFILE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile

    def _scores(self, pred: Tensor, target: Tensor) -> Tensor:
        return functional.ssim(pred, target, profile=self.profile)


class PSNR(_FrameMean):
    """Mean per-frame PSNR in dB (`vbench.metrics.psnr`: the "frame" profile)."""

    higher_is_better = True

    def _scores(self, pred: Tensor, target: Tensor) -> Tensor:
        return functional.psnr(pred, target)


class LPIPS(_FrameMean):
    """Mean per-frame LPIPS (`vbench.metrics.lpips`) under `profile`: "alex-v0.1" or "vgg-v0.1"; the
    network runs on the metric's device. (`vbench.metrics.LPIPS` is the network itself.)"""

    higher_is_better = False

    def __init__(self, profile: str = LPIPS_PROFILE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.profile = profile

    def _scores(self, pred: Tensor, target: Tensor) -> Tensor:
        return functional.lpips(pred, target, profile=self.profile, device=self.device)
