"""FVD and KVD: I3D features of video sets under a named preprocessing profile, and their distances.

Profiles (every choice that changes a number, recorded with results):

- ``tf`` (default): each frame resized to 224x224 with TF1 ``tf.image.resize_bilinear``
  (``align_corners=False``, ``half_pixel_centers=False``: source coordinate ``dst * in / out`` with
  no half-pixel offset, neighbours clamped at the edge), as Google's ``frechet_video_distance``
  reference; aspect ratio is not kept. This is the profile of the published TF numbers.
- ``videogpt``: shorter side resized to 224 (longer side ``ceil(side * 224 / shorter)``) with
  PyTorch bilinear (``align_corners=False``, no antialias), then a centre crop to 224x224, as
  VideoGPT / content-debiased FVD; for square frames this equals the StyleGAN-V PyTorch pipeline.

Both then map [0, 1] to [-1, 1] (``2x - 1``) and tile grey to RGB. The embedding is the
Kinetics-400 I3D's 400 logits averaged over time (``vbench.metrics.i3d.I3D``). The distance is
the Fréchet distance of ``vbench.metrics.frechet`` (unbiased covariance, exact for N < 400).

Input contract: float ``[B, T, C, H, W]`` in [0, 1], C = 1 or 3, T >= 10 (``MIN_FRAMES``, the
minimum of the reference PyTorch tools; clips are never padded). FVD depends strongly on T, so a
suite fixes it. Features are computed in batches of at most ``FRAMES_PER_BATCH`` frames (16 clips
of 16 frames: about 1.3 GB above the loaded model on CPU), independent of the number of videos, so
a 256-video FVD needs well under 8 GB besides the input videos themselves; only the current batch
is resized to 224 and moved to the device.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vbench.metrics.frechet import frechet_distance, kernel_distance
from vbench.metrics.i3d import I3D, INPUT_SIZE, weights_sha256

__all__ = [
    "DEFAULT_PROFILE",
    "FRAMES_PER_BATCH",
    "I3D_PATHS",
    "MIN_FRAMES",
    "PROFILES",
    "clips_per_pass",
    "features_fingerprint",
    "fvd",
    "get_i3d",
    "i3d_features",
    "i3d_path",
    "kvd",
    "preprocess",
    "resize_bilinear_tf1",
    "resize_shorter_center_crop",
]

PROFILES = ("tf", "videogpt")
DEFAULT_PROFILE = "tf"
MIN_FRAMES = 10
FRAMES_PER_BATCH = 256  # clips per I3D pass = max(1, FRAMES_PER_BATCH // T) unless given
# How a vbench run feeds I3D (recorded in the run's manifest): one clip per pass, so a clip's features
# never depend on which clips share its batch, or FRAMES_PER_BATCH frames per pass, where a GPU would
# otherwise idle; the two agree to float rounding (on CPU up to about 1e-5 of a feature), inside FVD's tolerance.
I3D_PATHS = ("per-clip", "batched")


# --------------------------------------------------------------------------------------------
# Resizing
# --------------------------------------------------------------------------------------------


def _tf1_source(in_size: int, out_size: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """TF1 legacy bilinear sampling of one axis: lower index, upper index, weight of upper."""
    scale = np.float32(in_size) / np.float32(out_size)  # float32, as TF's scale and coordinates
    src = np.arange(out_size, dtype=np.float32) * scale
    lower = np.floor(src)
    frac = (src - lower).astype(np.float32)
    lo = np.minimum(lower.astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    return (
        torch.from_numpy(lo).to(device),
        torch.from_numpy(hi).to(device),
        torch.from_numpy(frac).to(device),
    )


def resize_bilinear_tf1(frames: Tensor, size: tuple[int, int]) -> Tensor:
    """``tf.compat.v1.image.resize_bilinear(align_corners=False)`` on ``[..., H, W]`` frames.

    Interpolates along W first, then H, with TF's float32 arithmetic
    (``top + (bottom - top) * lerp``), so results match TF to float rounding.
    """
    out_h, out_w = size
    lo, hi, frac = _tf1_source(frames.shape[-1], out_w, frames.device)
    left, right = frames.index_select(-1, lo), frames.index_select(-1, hi)
    x = left + (right - left) * frac.to(frames.dtype)  # [..., H, out_w]
    lo, hi, frac = _tf1_source(frames.shape[-2], out_h, frames.device)
    top, bottom = x.index_select(-2, lo), x.index_select(-2, hi)
    return top + (bottom - top) * frac.to(frames.dtype)[:, None]  # [..., out_h, out_w]


def resize_shorter_center_crop(frames: Tensor, size: int) -> Tensor:
    """VideoGPT's preprocessing of ``[N, C, H, W]``: shorter side to ``size``, centre crop."""
    h, w = frames.shape[-2:]
    scale = size / min(h, w)
    target = (size, math.ceil(w * scale)) if h < w else (math.ceil(h * scale), size)
    x = F.interpolate(frames, size=target, mode="bilinear", align_corners=False, antialias=False)
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[..., top : top + size, left : left + size]


def preprocess(videos: Tensor, profile: str = DEFAULT_PROFILE) -> Tensor:
    """``[B, T, C, H, W]`` in [0, 1] -> I3D input ``[B, 3, T, 224, 224]`` in [-1, 1]."""
    _check_profile(profile)
    b, t, c, h, w = videos.shape
    frames = videos.reshape(b * t, c, h, w).float()
    if profile == "tf":
        frames = resize_bilinear_tf1(frames, (INPUT_SIZE, INPUT_SIZE))
    else:
        frames = resize_shorter_center_crop(frames, INPUT_SIZE)
    frames = frames * 2.0 - 1.0  # [B*T, C, 224, 224] in [-1, 1]
    if c == 1:
        frames = frames.expand(-1, 3, -1, -1)
    return frames.reshape(b, t, 3, INPUT_SIZE, INPUT_SIZE).transpose(1, 2).contiguous()


# --------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown FVD profile {profile!r}; profiles: {', '.join(PROFILES)}")


def _as_videos(videos: object, name: str) -> Tensor:
    x = torch.from_numpy(videos) if isinstance(videos, np.ndarray) else videos
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array; got {type(videos)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1]; got {x.dtype} (convert uint8 with /255)")
    if x.ndim != 5 or x.shape[2] not in (1, 3):
        raise ValueError(f"{name} must be [B, T, C, H, W] with C = 1 or 3; got {tuple(x.shape)}")
    b, t = x.shape[:2]
    if b < 1:
        raise ValueError(f"{name} is empty")
    if t < MIN_FRAMES:
        raise ValueError(
            f"{name} has {t} frames; I3D features need at least {MIN_FRAMES} (clips are never "
            "padded: choose a longer horizon or include the context frames)"
        )
    for start in range(0, b, 16):  # chunked: no full-size temporary for a large set
        lo, hi = (v.item() for v in torch.aminmax(x[start : start + 16]))
        if math.isnan(lo) or math.isnan(hi):
            raise ValueError(f"{name} contains NaN")
        if lo < 0.0 or hi > 1.0:  # also catches inf
            raise ValueError(
                f"{name} must be in [0, 1]; videos {start}..{min(start + 16, b) - 1} have values "
                f"in [{lo:.4g}, {hi:.4g}]"
            )
    return x


def device_key(device: torch.device | str | None) -> torch.device:
    """`device` as a tensor on it reports it, so that one device gives one key: `cuda` gets the
    current index (a `cuda:0` tensor's device never equals `torch.device("cuda")`), `cpu:N` none."""
    d = torch.device("cpu" if device is None else device)
    if d.type == "cpu":
        return torch.device("cpu")
    if d.type == "cuda" and d.index is None:
        d = torch.device("cuda", torch.cuda.current_device())
    return d


@functools.lru_cache(maxsize=None)
def _i3d_on(device: torch.device) -> I3D:
    return I3D().to(device)


def get_i3d(device: torch.device | str | None = None) -> I3D:
    """The pretrained I3D on ``device`` (None: CPU), built once per device and then reused."""
    return _i3d_on(device_key(device))


def i3d_features(
    videos: Tensor | np.ndarray,
    profile: str = DEFAULT_PROFILE,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    model: I3D | None = None,
) -> np.ndarray:
    """I3D embedding (400 time-averaged logits) of each video: ``[B, 400]`` float64.

    Args:
        videos: float ``[B, T, C, H, W]`` in [0, 1], C = 1 or 3, T >= 10; on any device.
        profile: preprocessing profile, ``"tf"`` (default) or ``"videogpt"``.
        batch_size: clips per I3D pass; None means ``max(1, 256 // T)`` (a fixed frame budget).
        device: where I3D runs (None: CPU). Ignored when ``model`` is given.
        model: an ``I3D`` to use instead of the cached one (it runs where its weights are).
    """
    _check_profile(profile)
    x = _as_videos(videos, "videos")
    net = model if model is not None else get_i3d(device)
    run_on = next(net.parameters()).device
    step = batch_size if batch_size is not None else max(1, FRAMES_PER_BATCH // x.shape[1])
    if step < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    out = []
    with torch.inference_mode():
        for start in range(0, x.shape[0], step):
            batch = x[start : start + step].to(run_on, torch.float32)  # [b, T, C, H, W]
            logits = net(preprocess(batch, profile))  # [b, 400]
            out.append(logits.double().cpu().numpy())
    return np.concatenate(out, axis=0)


def i3d_path(device: torch.device | str | None) -> str:
    """The I3D path of a run on ``device``: ``"batched"`` on CUDA, ``"per-clip"`` elsewhere (CPU keeps
    batch-independent features; it is busy with one clip already)."""
    return "batched" if torch.device("cpu" if device is None else device).type == "cuda" else "per-clip"


def clips_per_pass(path: str, frames: int) -> int:
    """Clips per I3D forward pass on ``path`` (``I3D_PATHS``) for clips of ``frames`` frames."""
    if path not in I3D_PATHS:
        raise ValueError(f"unknown I3D path {path!r}; paths: {', '.join(I3D_PATHS)}")
    return 1 if path == "per-clip" else max(1, FRAMES_PER_BATCH // frames)


def features_fingerprint(profile: str = DEFAULT_PROFILE) -> dict[str, str]:
    """Everything besides the videos that determines ``i3d_features``: use it in cache keys."""
    _check_profile(profile)
    return {
        "embedding": "i3d-kinetics-400/logits-mean",
        "profile": profile,
        "weights_sha256": weights_sha256(),
    }


# --------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------


def fvd(
    real: Tensor | np.ndarray,
    fake: Tensor | np.ndarray,
    profile: str = DEFAULT_PROFILE,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
) -> float:
    """Fréchet Video Distance between two sets of videos ``[B, T, C, H, W]`` in [0, 1].

    For many comparisons against one real set, compute ``i3d_features`` once and call
    ``vbench.metrics.frechet.frechet_distance`` on the features.
    """
    f_real = i3d_features(real, profile, batch_size, device)
    f_fake = i3d_features(fake, profile, batch_size, device)
    return frechet_distance(f_real, f_fake)


def kvd(
    real: Tensor | np.ndarray,
    fake: Tensor | np.ndarray,
    profile: str = DEFAULT_PROFILE,
    batch_size: int | None = None,
    device: torch.device | str | None = None,
    *,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    num_subsets: int | None = None,
    subset_size: int | None = None,
    seed: int = 0,
) -> float:
    """Kernel Video Distance: unbiased polynomial-kernel MMD² between the I3D features.

    Kernel and subset arguments as ``vbench.metrics.frechet.kernel_distance``.
    """
    f_real = i3d_features(real, profile, batch_size, device)
    f_fake = i3d_features(fake, profile, batch_size, device)
    return kernel_distance(
        f_real,
        f_fake,
        degree,
        gamma,
        coef0,
        num_subsets=num_subsets,
        subset_size=subset_size,
        seed=seed,
    )
