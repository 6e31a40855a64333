"""Distances between futures, and coverage and precision of a model's samples against true futures."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vbench.truth.config import DISTANCES


ZERO_TOL = 1e-9  # distances below this are rounding noise of identical futures (Gram form); set to 0


def _as_float_videos(videos: Tensor | np.ndarray, name: str) -> Tensor:
    x = torch.from_numpy(np.asarray(videos)) if isinstance(videos, np.ndarray) else videos
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} must be a float tensor or array in [0, 1]; got "
                        f"{getattr(x, 'dtype', type(x).__name__)} (convert uint8 with /255)")
    if x.ndim != 5 or x.shape[2] not in (1, 3):
        raise ValueError(f"{name} must be [N, T, C, H, W] with C = 1 or 3; got {tuple(x.shape)}")
    if x.numel():
        lo, hi = (float(v) for v in torch.aminmax(x))
        if not (0.0 <= lo and hi <= 1.0):  # also catches NaN and inf
            raise ValueError(f"{name} must be finite and in [0, 1]; got values in [{lo:.4g}, {hi:.4g}]")
    return x


def pairwise_distances(videos: Tensor | np.ndarray, distance: str = "lpips",
                       device: torch.device | str | None = None) -> np.ndarray:
    """All-pairs distances ``[N, N]`` (float64, symmetric, zero diagonal) between N futures.

    ``videos`` float ``[N, T, C, H, W]`` in [0, 1]. ``"pixel"``: mean over the T frames of the
    per-frame MSE (= MSE over the whole future). ``"lpips"``: mean over the T frames of scalar LPIPS
    alex-v0.1 of the two frames, from each frame's features computed once (Gram form, float64; the
    same sums as ``LPIPS.forward``). Values below ``ZERO_TOL`` are rounding noise and set to 0.
    """
    x = _as_float_videos(videos, "videos")
    n, t = x.shape[:2]
    if distance == "pixel":
        flat = x.reshape(n, -1).to(torch.float64)  # [N, T*C*H*W]
        gram = flat @ flat.T  # [N, N]
        sq = gram.diagonal()
        d = ((sq[:, None] + sq[None, :] - 2 * gram) / flat.shape[1]).numpy()
    elif distance == "lpips":
        from vbench.metrics.lpips import shared_lpips
        metric = shared_lpips("alex", torch.device("cpu" if device is None else device))
        total = torch.zeros(n, n, dtype=torch.float64)
        for frame in range(t):
            total += metric.pairwise_distances(metric.features(x[:, frame])).cpu()  # [N, N]
        d = (total / t).numpy()
    else:
        raise ValueError(f"unknown truth distance {distance!r}; distances: {', '.join(DISTANCES)}")
    d = (d + d.T) / 2
    d[d < ZERO_TOL] = 0.0
    np.fill_diagonal(d, 0.0)
    return d


def neighbour_radii(d_true: np.ndarray, neighbours: int) -> np.ndarray:
    """``[K]``: each true future's distance to its ``neighbours``-th nearest other true future."""
    d = np.asarray(d_true, dtype=np.float64)
    k = d.shape[0]
    if d.shape != (k, k):
        raise ValueError(f"d_true must be a square [K, K] matrix; got {d.shape}")
    if not 1 <= neighbours < k:
        raise ValueError(f"need 1 <= neighbours < K = {k}; got {neighbours}")
    others = d + np.diag(np.full(k, np.inf))  # [K, K], self excluded
    return np.sort(others, axis=1)[:, neighbours - 1]


def perfect_coverage(k: int, s: int, neighbours: int) -> float:
    """Expected coverage of a perfect model (S samples from the true distribution, no ties) against K futures.

    ``1 - prod_{j<neighbours} (K-1-j) / (K+S-1-j)`` (as derived by Naeem et al. 2020): a true future is
    missed when its ``neighbours`` nearest points among the other K-1 futures and the S samples are
    all futures. Ties among SM-MNIST's discrete futures (``<=``) push measured values above this.
    """
    if not 1 <= neighbours < k or s < 1:
        raise ValueError(f"need 1 <= neighbours < k and s >= 1; got k={k}, s={s}, neighbours={neighbours}")
    return 1.0 - math.prod((k - 1 - j) / (k + s - 1 - j) for j in range(neighbours))


def coverage_precision(d_true: np.ndarray, d_cross: np.ndarray, neighbours: int = 5) -> dict[str, Any]:
    """Coverage and precision of S samples against K true futures of one context.

    d_true: ``[K, K]`` distances among the true futures; d_cross: ``[S, K]`` sample-to-truth
    distances. Sample s matches truth i when ``d_cross[s, i] <= r_i`` (``neighbour_radii``).
    Returns coverage (share of truths matched), precision (share of samples matching), the radii
    ``[K]`` and the match matrix ``[S, K]``.
    """
    radii = neighbour_radii(d_true, neighbours)  # [K]
    cross = np.asarray(d_cross, dtype=np.float64)
    if cross.ndim != 2 or cross.shape[1] != radii.shape[0] or cross.shape[0] < 1:
        raise ValueError(f"d_cross must be [S, K] with S >= 1 and K = {radii.shape[0]}; got {cross.shape}")
    matched = cross <= radii[None, :]  # [S, K]
    return {"coverage": float(matched.any(axis=0).mean()), "precision": float(matched.any(axis=1).mean()),
            "radii": radii, "matched": matched}
