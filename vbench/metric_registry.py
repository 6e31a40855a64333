"""Every metric vbench scores, in one table: what it is, its profiles, its direction, how it is built.

Suite validation (vbench.suite), the per-frame scorers (vbench.metrics.frame_metric), best-of-N
selection (vbench.selection), the runner's set metrics and the leaderboard all read `METRICS`.
The table is plain data and imports nothing heavy; the builders import their metric when called.

Two kinds:
  frame  one score per (prediction, target) frame pair: `build(profile, device)` returns
         `fn(pred [N, C, H, W], target [N, C, H, W]) -> [N]` on float frames in [0, 1];
         best-of-N and per-frame curves are computed from these.
  set    a distance between the I3D features of the real and the predicted clips:
         `distance(real [N, D], fake [M, D]) -> float`; the I3D feature profile is shared by all
         set metrics, under the suite's profile key FEATURES_PROFILE ("fvd").

Adding a metric is one entry here (plus its implementation and tests), for example:

    def _build_mae(profile, device):
        def mae(pred, target):                                   # [N, C, H, W] -> [N]
            return (pred - target).abs().flatten(1).mean(dim=1)
        return mae

    METRICS["mae"] = MetricSpec("mae", "frame", profiles=("frame",), higher_is_better=False,
                                build=_build_mae)

after which a suite may list `mae` under `metrics:`, `selection: by:mae` works, and runs store,
summarise and rank it like SSIM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

FEATURES_PROFILE = "fvd"     # the profile key that every set metric's I3D features follow


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str                                    # "frame" | "set"
    profiles: tuple[str, ...]                    # the first is the default; () for set metrics after the first
    higher_is_better: bool
    build: Callable[[str, Any], Callable] | None = None           # frame metrics: (profile, device) -> fn
    distance: Callable[[Any, Any], float] | None = None           # set metrics: (real, fake) -> float


def _ssim(profile: str, device: Any) -> Callable:
    from vbench.metrics.ssim import ssim
    return lambda pred, target: ssim(pred, target, data_range=1.0, profile=profile)


def _psnr(profile: str, device: Any) -> Callable:
    # `mean-mse` stores the `frame` PSNR per frame and differs only in aggregation (vbench.selection)
    from vbench.metrics.psnr import psnr
    per_channel = profile == "channel-mean"
    return lambda pred, target: psnr(pred, target, data_range=1.0, per_channel=per_channel)


def _lpips(profile: str, device: Any) -> Callable:
    import torch

    from vbench.metrics.lpips import PROFILE_NETS, shared_lpips
    return shared_lpips(PROFILE_NETS[profile], torch.device(device))


def _frechet(real: Any, fake: Any) -> float:
    from vbench.metrics.frechet import frechet_distance
    return frechet_distance(real, fake)


def _kernel(real: Any, fake: Any) -> float:
    from vbench.metrics.frechet import kernel_distance
    return kernel_distance(real, fake)


METRICS: dict[str, MetricSpec] = {
    "ssim": MetricSpec("ssim", "frame", ("gaussian", "skimage-legacy"), True, build=_ssim),
    "psnr": MetricSpec("psnr", "frame", ("frame", "mean-mse", "channel-mean"), True, build=_psnr),
    "lpips": MetricSpec("lpips", "frame", ("alex-v0.1", "vgg-v0.1"), False, build=_lpips),
    "fvd": MetricSpec("fvd", "set", ("tf", "videogpt"), False, distance=_frechet),
    "kvd": MetricSpec("kvd", "set", (), False, distance=_kernel),
}


def is_set_metric(name: str) -> bool:
    return METRICS[name].kind == "set"


def frame_metric_names() -> tuple[str, ...]:
    return tuple(name for name, spec in METRICS.items() if spec.kind == "frame")


def set_metric_names() -> tuple[str, ...]:
    return tuple(name for name, spec in METRICS.items() if spec.kind == "set")


def profile_key(name: str) -> str:
    """The key of the suite's `profiles` that decides `name`'s numbers (set metrics: the features')."""
    return FEATURES_PROFILE if METRICS[name].kind == "set" else name
