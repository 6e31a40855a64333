"""True futures of a test context, drawn from the SM-MNIST simulator (the truth stream)."""

from __future__ import annotations

import numpy as np

from vbench.data.smmnist import Trajectory, continue_trajectory, generate_trajectories, render_batch
from vbench.truth.config import TRUTH_STREAM


def truth_rng(seed: int, video_index: int, truth_seed: int, index: int) -> np.random.Generator:
    """The generator of true future ``index`` of test video ``video_index``."""
    key = [int(seed), int(video_index), TRUTH_STREAM, int(truth_seed), int(index)]
    if min(key) < 0:
        raise ValueError(f"seed, video_index, truth_seed and future index must be >= 0; got {key}")
    return np.random.default_rng(key)


def context_trajectory(digits: np.ndarray, seed: int, video_index: int, context_frames: int,
                       *, deterministic: bool = False) -> Trajectory:
    """Trajectory of the context frames of test clip ``video_index`` (the suite's clip, prefix-consistent)."""
    if context_frames < 1:
        raise ValueError(f"context_frames must be >= 1; got {context_frames}")
    return generate_trajectories(digits, seed, [video_index], context_frames, deterministic=deterministic)[0]


def true_futures(
    digits: np.ndarray,
    seed: int,
    video_index: int,
    context_frames: int,
    predicted_frames: int,
    k: int,
    truth_seed: int = 0,
    *,
    start: int = 0,
    deterministic: bool = False,
) -> tuple[np.ndarray, list[Trajectory]]:
    """True futures ``start .. start+k-1`` of test clip ``video_index``: ``uint8 [k, T_pred, 1, H, W]``
    and their trajectories (predicted frames only).

    Each continues the clip after its last context frame (``continue_trajectory`` from frame
    ``context_frames``) with its own generator ``truth_rng(seed, video_index, truth_seed, j)``, so
    future j is the same whatever ``k`` and ``start``. ``digits`` is the suite's digit source
    (uint8 ``[N, 32, 32]``). ``deterministic`` regenerates the clip with deterministic bounces
    (then every future equals the clip's own continuation; a check, not the suite's setting).
    """
    if k < 0 or start < 0 or predicted_frames < 1:
        raise ValueError(f"need k >= 0, start >= 0, predicted_frames >= 1; got {k}, {start}, {predicted_frames}")
    context = context_trajectory(digits, seed, video_index, context_frames, deterministic=deterministic)
    trajectories = [continue_trajectory(context, context_frames, predicted_frames,
                                        truth_rng(seed, video_index, truth_seed, j))
                    for j in range(start, start + k)]
    if not trajectories:
        size = context.image_size
        return np.zeros((0, predicted_frames, 1, size, size), np.uint8), []
    return render_batch(digits, trajectories)[:, :, None], trajectories  # [k, T, 1, H, W]
