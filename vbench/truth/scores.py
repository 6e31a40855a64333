"""One test video's truth scores: its samples against true futures (and the conditional FVD / KVD)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vbench.data.smmnist import render
from vbench.truth.config import TruthConfig
from vbench.truth.coverage import _as_float_videos, coverage_precision, pairwise_distances
from vbench.truth.futures import context_trajectory, true_futures
from vbench.truth.tracking import locate_digits
from vbench.truth.trajectories import bounce_velocity_w1, velocities, w1_per_frame


def conditional_fvd(true_clips: Tensor | np.ndarray, model_clips: Tensor | np.ndarray, profile: str = "tf",
                    device: torch.device | str | None = None) -> dict[str, float]:
    """FVD and KVD between the true futures and the samples of *one* context.

    Clips float ``[K, T', C, H, W]`` and ``[S, T', C, H, W]`` in [0, 1] (T' >= 10; prepend the
    context frames for the suite's ``context+predicted``). I3D features one clip per pass (as the
    runner, so a clip's features never depend on its batch); ``frechet_distance`` (exact for
    singular covariances, but biased by K, S << 400) and the unbiased ``kernel_distance``.
    """
    from vbench.metrics.frechet import frechet_distance, kernel_distance
    from vbench.metrics.fvd import i3d_features

    def features(clips: Tensor | np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.asarray(clips)) if isinstance(clips, np.ndarray) else clips
        return np.concatenate([i3d_features(clip[None], profile=profile, device=device) for clip in x])  # [N, 400]

    f_true, f_model = features(true_clips), features(model_clips)
    return {"fvd": frechet_distance(f_true, f_model), "kvd": kernel_distance(f_true, f_model)}


def truth_video_scores(samples: Tensor | np.ndarray, video_index: int, digits: np.ndarray, seed: int,
                       context_frames: int, predicted_frames: int, config: TruthConfig = TruthConfig(),
                       *, device: torch.device | str | None = None) -> dict[str, Any]:
    """All truth scores of one test video from its S samples (float ``[S, T, 1, 64, 64]`` in [0, 1]).

    ``digits``, ``seed``: the suite's digit source and seed (the test clip is regenerated from them).
    Returns floats (coverage, precision, bounce_velocity_w1 and its reference, touch rates, optional
    fvd / kvd) and float64 ``[T]`` arrays (position_w1, velocity_w1 and their references).
    """
    x = _as_float_videos(samples, "samples").cpu()
    s, t, c, h, w = x.shape
    if t != predicted_frames or c != 1:
        raise ValueError(f"samples must be [S, {predicted_frames}, 1, H, W] (grey SM-MNIST); got {tuple(x.shape)}")
    k = config.k
    truth_u8, truth_tr = true_futures(digits, seed, video_index, context_frames, predicted_frames,
                                      2 * k, config.truth_seed)  # [2K, T, 1, H, W]: K scored, K reference
    if truth_u8.shape[-2:] != (h, w):
        raise ValueError(f"samples are {h}x{w}, the simulator draws {truth_u8.shape[-2]}x{truth_u8.shape[-1]}")
    truth = torch.from_numpy(truth_u8[:k]).float() / 255.0  # [K, T, 1, H, W]

    d = pairwise_distances(torch.cat([truth, x.float()]), config.distance, device)  # [K+S, K+S]
    cp = coverage_precision(d[:k, :k], d[k:, :k], config.neighbours)
    spread = bool(d[:k, :k].max() > 0)  # False: all K futures identical, nothing to cover

    context = context_trajectory(digits, seed, video_index, context_frames)
    templates = digits[context.digit_ids].astype(np.float64) / 255.0  # [D, 32, 32]
    frames = x.flatten(0, 1) if device is None else x.flatten(0, 1).to(device)  # [S*T, 1, H, W]
    model_pos = locate_digits(frames, templates).reshape(s, t, -1, 2)  # [S, T, D, 2]
    true_pos = np.stack([tr.positions for tr in truth_tr])  # [2K, T, D, 2]
    last = context.positions[-1]  # [D, 2]
    limit = context.image_size - context.digit_size
    bounce = bounce_velocity_w1(model_pos, true_pos[:k], limit)
    bounce_ref = bounce_velocity_w1(true_pos[k:], true_pos[:k], limit)
    out: dict[str, Any] = {
        "video": int(video_index),
        "num_samples": s,
        "coverage": cp["coverage"] if spread else math.nan,
        "precision": cp["precision"] if spread else math.nan,
        "truth_radius": float(np.median(cp["radii"])),
        "position_w1": w1_per_frame(model_pos, true_pos[:k]),  # [T]
        "position_w1_reference": w1_per_frame(true_pos[k:], true_pos[:k]),  # [T]
        "velocity_w1": w1_per_frame(velocities(model_pos, last), velocities(true_pos[:k], last)),  # [T]
        "velocity_w1_reference": w1_per_frame(velocities(true_pos[k:], last), velocities(true_pos[:k], last)),
        "bounce_velocity_w1": bounce["w1"],
        "bounce_velocity_w1_reference": bounce_ref["w1"],
        "wall_touches_model": bounce["model_rate"],
        "wall_touches_true": bounce["true_rate"],
    }
    if config.with_fvd:
        true_clips, model_clips = truth, x.float()
        if config.fvd_frames == "context+predicted":
            ctx = torch.from_numpy(render(digits, context)).float()[None, :, None] / 255.0  # [1, Tc, 1, H, W]
            true_clips = torch.cat([ctx.expand(k, -1, -1, -1, -1), truth], dim=1)  # [K, Tc+T, 1, H, W]
            model_clips = torch.cat([ctx.expand(s, -1, -1, -1, -1), model_clips], dim=1)  # [S, Tc+T, 1, H, W]
        out.update(conditional_fvd(true_clips, model_clips, config.fvd_profile, device))
    return out
