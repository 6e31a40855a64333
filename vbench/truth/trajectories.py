"""Trajectory statistics: per-frame Wasserstein distances of positions and velocities, and
the velocities that leave a wall."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import wasserstein_distance


def velocities(positions: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """``[N, T, D, 2]`` positions and the last context positions ``[D, 2]`` -> ``p[t] - p[t-1]`` ``[N, T, D, 2]``."""
    p = np.asarray(positions, dtype=np.int64)
    prev = np.broadcast_to(np.asarray(previous, dtype=np.int64), (p.shape[0], 1, *p.shape[2:]))
    return np.diff(np.concatenate([prev, p], axis=1), axis=1)


def w1_per_frame(model: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Per predicted frame ``[T]``: 1-D Wasserstein-1 distance between the model's and the true values
    of each digit and axis, averaged over digits and axes.

    Inputs ``[S, T, D, 2]`` and ``[K, T, D, 2]``: positions (top-left corners, y then x; pixels) or
    ``velocities`` (px / frame).
    """
    a, b = np.asarray(model, np.float64), np.asarray(true, np.float64)
    if a.ndim != 4 or a.shape[1:] != b.shape[1:] or min(a.shape[0], b.shape[0]) < 1:
        raise ValueError(f"need [S, T, D, 2] and [K, T, D, 2] with one T and D; got {a.shape}, {b.shape}")
    _, t, d, c = a.shape
    out = np.array([[wasserstein_distance(a[:, f, j, i], b[:, f, j, i]) for j in range(d) for i in range(c)]
                    for f in range(t)])  # [T, D*2]
    return out.mean(axis=1)


def wall_velocities(positions: np.ndarray, limit: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Velocities right after a digit touches a wall, from positions ``[N, T, D, 2]``.

    A touch is a coordinate at 0 or at ``limit - 1`` (where the simulator clamps) at frame
    t < T - 1; its velocity is ``p[t+1] - p[t]``. Returns (normal, tangential) float arrays, one
    entry per touch (corner touches count once per axis): the component away from the wall
    (positive = leaving it) and the other component.
    """
    p = np.asarray(positions, dtype=np.int64)
    if p.ndim != 4 or p.shape[-1] != 2:
        raise ValueError(f"positions must be [N, T, D, 2]; got {p.shape}")
    v = p[:, 1:] - p[:, :-1]  # [N, T-1, D, 2] velocity leaving frame t
    at = p[:, :-1]  # [N, T-1, D, 2]
    normal, tangential = [], []
    for axis in (0, 1):
        for side, sign in ((at[..., axis] <= 0, 1), (at[..., axis] >= limit - 1, -1)):
            normal.append(sign * v[..., axis][side])
            tangential.append(v[..., 1 - axis][side])
    return np.concatenate(normal).astype(np.float64), np.concatenate(tangential).astype(np.float64)


def bounce_velocity_w1(model_positions: np.ndarray, true_positions: np.ndarray,
                       limit: int = 32) -> dict[str, float]:
    """Wall-touch velocity statistics of model vs truth (``wall_velocities`` of each set).

    ``w1``: mean of the Wasserstein-1 distances (px / frame) of the normal and of the tangential
    components; NaN when the true futures never touch a wall (nothing to score, whatever the model),
    and, when the model never does, the distance of a zero velocity (module docstring: a missing
    bounce leaves the wall at velocity 0). ``model_rate`` / ``true_rate``: touches per sample.
    """
    mn, mt = wall_velocities(model_positions, limit)
    tn, tt = wall_velocities(true_positions, limit)
    rates = {"model_rate": mn.size / len(model_positions), "true_rate": tn.size / len(true_positions)}
    if not tn.size:
        return {"w1": math.nan, **rates}
    if not mn.size:   # a missing bounce: nothing leaves the wall
        mn = mt = np.zeros(1)
    return {"w1": float(0.5 * (wasserstein_distance(mn, tn) + wasserstein_distance(mt, tt))), **rates}
