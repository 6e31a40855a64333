"""Scores where the truth is known: SM-MNIST futures drawn from the simulator itself (issue 10).

On SM-MNIST the harness owns the simulator, so for a test context it can draw as many *true
futures* as it likes: same digits, same positions and velocities at the last context frame, fresh
random bounces. Comparing a model's samples with K such futures measures whether the samples are
*distributed* like the real futures, which best-of-N scores cannot say.

Per test video (context), with K true futures and S model samples (float in [0, 1],
``[K or S, T, 1, 64, 64]``, T predicted frames):

Coverage and precision (``coverage_precision``)
    Distance between two futures (``pairwise_distances``): ``"lpips"`` (default; LPIPS alex-v0.1,
    the scalar per-frame distance averaged over the T frames) or ``"pixel"`` (per-frame MSE
    averaged over the T frames). Threshold: each true future ``x_i`` gets the radius ``r_i`` = its
    distance to its ``neighbours``-th nearest *other* true future (default 5 of K - 1 = 19), i.e.
    the simulator's own spread around it; sample ``y`` matches ``x_i`` when ``d(y, x_i) <= r_i``.
    Coverage = share of true futures matched by at least one sample (Naeem et al. 2020, "Reliable
    fidelity and diversity metrics for generative models"); precision = share of samples matching
    at least one true future (Kynkäänniemi et al. 2019, "Improved precision and recall metric for
    assessing generative models"). Scale-free: the radii are measured in the distance's own units
    on the simulator's own futures, so no constant depends on the distance. ``<=`` lets a sample
    equal to a true future match it where several futures coincide (radius 0). Where all K futures
    coincide (no bounce can happen within the horizon) there is no spread to cover: both are
    undefined (NaN) for that context and left out of the means (model-independent, so every model
    is averaged over the same contexts).

    A perfect model does not score exactly 1: for continuous futures its expected coverage is
    ``perfect_coverage(K, S, neighbours)`` (0.98 at K = S = 20, 0.90 at S = 10), and ties among the
    discrete futures push it up. Coverage and precision are comparable only at the same K, S and
    neighbours.

    Why LPIPS by default: under pixel MSE the *mean* of the true futures (a blur) is closer to every
    true future than the futures are to each other (digits at different places give
    ``|x_i - mean|^2`` about half of ``|x_i - x_j|^2``), so pixel matching rewards blur (the tests
    show the blur covering nearly all futures); under LPIPS the mean lies 3-10 times beyond the
    radii. ``"pixel"`` stays available with that caveat.

Trajectory statistics (``locate_digits``, ``w1_per_frame``, ``velocities``, ``bounce_velocity_w1``)
    Each sample frame is explained by the clip's own digit images (known from the simulator):
    normalised cross-correlation peaks as candidates, then the placement whose render (digit sum
    clipped at 1, as the simulator draws) is closest to the frame; exact on simulator frames,
    overlapping digits included (tests). True futures' positions come from their trajectories.
    Per predicted frame: the 1-D Wasserstein distance between the model's and the true positions
    (top-left corners) of each digit and axis, averaged, in pixels: SVG's Figure 5 as a number.
    The same for velocities ``p[t] - p[t-1]`` (px / frame), every frame: the velocity W1. After a
    wall touch (a coordinate at 0 or 31 at frame t), the velocity ``p[t+1] - p[t]`` is split into
    the component away from the wall and the one along it; the mean of their Wasserstein distances
    is the bounce-velocity W1, a separate number. The same detector reads both sets. It is defined
    where the true futures touch a wall (the same contexts for every model) and averaged over those.
    Where they do and the model's samples never do, the missing bounce counts as a bounce that
    leaves the wall at velocity 0, away and along (the score of digits that reach the wall and stay,
    as copy-last's): never bouncing is scored, not left out, so a model that never bounces is not
    averaged over easier contexts.

    ``*_reference`` values are the same statistics with a second, independent set of K true
    futures (futures K..2K-1 of the truth stream) in place of the model: the sampling-noise floor a
    perfect model reaches at this K (trajectories only, nearly free).

Conditional FVD / KVD (optional, ``TruthConfig.with_fvd``)
    I3D features (``vbench.metrics.fvd.i3d_features``, one clip per pass) of the K true futures and
    the S samples of one context, with the context frames prepended under
    ``fvd_frames="context+predicted"``; ``frechet_distance`` and the unbiased ``kernel_distance``.
    With K, S of about 20 against 400 feature dimensions the covariances have rank < 20: the
    Fréchet distance is exact for them but strongly biased upward by the small sets, so
    conditional FVD is comparable only at the same K and S. Slow on CPU (I3D, 1-2 s a clip on two
    busy cores).

Randomness: true future j of video v comes from
``np.random.default_rng([seed, v, TRUTH_STREAM, truth_seed, j])``, so it does not depend on how
many futures are drawn or in what batches. The ``TRUTH_STREAM`` word keeps the key apart from the
test clips' ``default_rng([seed, v])``: numpy's SeedSequence pads short keys with zeros, so
``[seed, v, 0, 0]`` would draw exactly the numbers of test clip v.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance
from torch import Tensor

from vbench.metrics.fvd import PROFILES as FVD_PROFILES
from vbench.data.smmnist import (
    Trajectory,
    continue_trajectory,
    generate_trajectories,
    render,
    render_batch,
)

__all__ = [
    "DISTANCES",
    "LABELS",
    "TRUTH_STREAM",
    "TruthConfig",
    "bounce_velocity_w1",
    "conditional_fvd",
    "context_trajectory",
    "coverage_precision",
    "locate_digits",
    "ncc_maps",
    "neighbour_radii",
    "pairwise_distances",
    "perfect_coverage",
    "summarize_truth",
    "true_futures",
    "truth_rng",
    "truth_video_scores",
    "velocities",
    "w1_per_frame",
    "wall_velocities",
]

TRUTH_STREAM = 0x74727468  # "trth": tags the truth stream's seed key (see the module docstring)
DISTANCES = ("lpips", "pixel")
ZERO_TOL = 1e-9  # distances below this are rounding noise of identical futures (Gram form); set to 0
CANDIDATES = 4  # NCC peaks kept per digit before the joint render check
_NEIGHBOURS = torch.tensor(list(itertools.product((-1, 0, 1), repeat=2)))  # [9, 2] one-pixel moves


@dataclass(frozen=True)
class TruthConfig:
    """The ``truth`` section of a suite: everything besides the model and S that changes these numbers.

    k: true futures drawn per test context (another k more are drawn for the noise-floor
    references). distance: ``"lpips"`` (alex-v0.1) or ``"pixel"`` (MSE; rewards blur, see the
    module docstring). neighbours: the k of the k-NN radius of the match threshold (< k).
    with_fvd: also compute the conditional FVD / KVD (slow on CPU). truth_seed: selects an
    independent truth stream. fvd_profile, fvd_frames: as the suite's FVD settings.
    """

    k: int = 20
    distance: str = "lpips"
    neighbours: int = 5
    with_fvd: bool = False
    truth_seed: int = 0
    fvd_profile: str = "tf"
    fvd_frames: str = "context+predicted"

    def __post_init__(self) -> None:
        if self.distance not in DISTANCES:
            raise ValueError(f"truth distance must be one of {', '.join(DISTANCES)}; got {self.distance!r}")
        if not 1 <= self.neighbours < self.k:
            raise ValueError(f"truth needs 1 <= neighbours < k; got neighbours={self.neighbours}, k={self.k}")
        if self.truth_seed < 0:
            raise ValueError(f"truth_seed must be >= 0; got {self.truth_seed}")
        if self.fvd_profile not in FVD_PROFILES:
            raise ValueError(f"fvd_profile must be one of {', '.join(FVD_PROFILES)}; got {self.fvd_profile!r}")
        if self.fvd_frames not in ("context+predicted", "predicted"):
            raise ValueError(f"fvd_frames must be 'context+predicted' or 'predicted'; got {self.fvd_frames!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# True futures
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Distances, coverage and precision
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Locating digits
# --------------------------------------------------------------------------------------------


def _as_frames(frames: Tensor | np.ndarray) -> Tensor:
    x = torch.from_numpy(np.asarray(frames)) if isinstance(frames, np.ndarray) else frames
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or not x.is_floating_point():
        raise ValueError(f"frames must be float [N, H, W] or [N, 1, H, W] in [0, 1]; got {x.dtype} {tuple(x.shape)}")
    return x.to(torch.float64)


def _as_templates(templates: Tensor | np.ndarray, frames: Tensor) -> Tensor:
    t = torch.as_tensor(np.asarray(templates) if isinstance(templates, np.ndarray) else templates,
                        dtype=torch.float64, device=frames.device)
    if t.ndim != 3 or t.shape[1] != t.shape[2] or t.shape[1] > min(frames.shape[-2:]):
        raise ValueError(f"templates must be [D, s, s] no larger than the frames; got {tuple(t.shape)}")
    return t


def _correlate_valid(x: Tensor, kernels: Tensor) -> Tensor:
    """``[N, H, W]`` frames, ``[D, s, s]`` kernels -> ``[N, D, H-s+1, W-s+1]``: sum_ij x[y+i, x+j] k[i, j].

    By FFT of the frame's size (float64): the valid offsets never wrap around, so this is the plain
    cross-correlation to rounding (about 30x faster than a float64 conv2d on CPU).
    """
    h, w = x.shape[-2:]
    s = kernels.shape[-1]
    spectrum = torch.fft.rfft2(x)[:, None] * torch.fft.rfft2(kernels, s=(h, w)).conj()[None]  # [N, D, H, W//2+1]
    return torch.fft.irfft2(spectrum, s=(h, w))[..., : h - s + 1, : w - s + 1]


def ncc_maps(frames: Tensor | np.ndarray, templates: Tensor | np.ndarray) -> Tensor:
    """Normalised cross-correlation of each template at each top-left position.

    frames float ``[N, H, W]`` (or ``[N, 1, H, W]``), templates float ``[D, s, s]`` ->
    ``[N, D, H-s+1, W-s+1]`` float64 in [-1, 1]; 0 where the window or the template is flat.
    """
    x = _as_frames(frames)  # [N, H, W]
    t = _as_templates(templates, x)  # [D, s, s]
    s = t.shape[-1]
    centred = t - t.mean(dim=(1, 2), keepdim=True)  # [D, s, s]
    t_norm = centred.flatten(1).norm(dim=1)  # [D]
    numerator = _correlate_valid(x, centred)  # [N, D, P, Q]: sum_w x_w (t_w - mean t)
    box = torch.ones(1, s, s, dtype=torch.float64, device=x.device)
    window_sum = _correlate_valid(x, box)  # [N, 1, P, Q]
    window_var = (_correlate_valid(x * x, box) - window_sum**2 / (s * s)).clamp_min(0.0)  # sum (x - mean x)^2
    denominator = window_var.sqrt() * t_norm[None, :, None, None]  # [N, D, P, Q]
    flat = denominator <= 1e-6
    return torch.where(flat, torch.zeros_like(numerator), numerator / denominator.clamp_min(1e-6))


def _place(templates: Tensor, yx: Tensor, width: int, height: int) -> Tensor:
    """Each template ``[D, s, s]`` drawn alone (float32) at top-left corners ``yx`` ``[n, D, m, 2]``.

    Returns ``[n, D, m, H*W]`` flattened frames.
    """
    s = templates.shape[-1]
    grid = (torch.arange(s, device=yx.device)[:, None] * width
            + torch.arange(s, device=yx.device)[None, :]).flatten()  # [s*s] offsets of a digit's pixels
    corner = yx[..., 0] * width + yx[..., 1]  # [n, D, m]
    canvas = torch.zeros(*corner.shape, height * width, dtype=torch.float32, device=yx.device)
    values = templates.to(torch.float32).flatten(1)[None, :, None, :].expand(*corner.shape, s * s)
    return canvas.scatter_(3, corner[..., None] + grid, values)


def _best_placement(choices: Tensor, canvas: Tensor, flat: Tensor) -> tuple[Tensor, Tensor]:
    """Of every combination of one choice per digit, the best render.

    choices ``[n, D, m, 2]`` corners, canvas ``[n, D, m, H*W]`` their single-digit renders, frames
    ``[n, H*W]`` -> (corners ``[n, D, 2]``, squared error ``[n]``) of the combination whose render
    (digit sum clipped at 1, as the simulator draws) is closest to the frame; first on ties.
    """
    n, d, m = choices.shape[:3]
    combos = torch.tensor(list(itertools.product(range(m), repeat=d)), device=flat.device)  # [m**D, D]
    digit = torch.arange(d, device=flat.device)
    errors = torch.stack([((canvas[:, digit, combo].sum(dim=1).clamp_(max=1.0) - flat) ** 2).sum(dim=1)
                          for combo in combos], dim=1)  # [n, m**D]
    error, best = errors.min(dim=1)  # [n]
    pick = combos[best]  # [n, D] choice per digit
    return choices.gather(2, pick[:, :, None, None].expand(-1, -1, 1, 2))[:, :, 0], error


def locate_digits(frames: Tensor | np.ndarray, templates: Tensor | np.ndarray,
                  candidates: int = CANDIDATES, rounds: int = 2, chunk: int = 256) -> np.ndarray:
    """Top-left position (y, x) of each template digit in each frame: int64 ``[N, D, 2]``.

    frames float ``[N, H, W]`` or ``[N, 1, H, W]`` in [0, 1], on any device (the work runs there);
    templates float ``[D, s, s]`` in [0, 1] (the clip's digits / 255, in trajectory order). Error
    of a placement: squared difference between the frame and its render (digit sum clipped at 1,
    as the simulator draws).

    1. Per digit the ``candidates`` highest local maxima (3x3) of ``ncc_maps``; of the
       ``candidates ** D`` joint placements the one with the smallest error wins (first on ties).
    2. ``rounds`` of refinement, digit by digit: with the other digits fixed, the position that
       best explains what they leave (the least-squares fit ``argmax_p <frame - others, digit at p>``
       over all positions); kept only if the error shrinks. (A digit whose window also holds part
       of the other digit can lose its NCC peak; this finds it.)
    3. A joint polish: every move of each digit by at most one pixel per axis (``9 ** D``
       placements), kept only if the error shrinks. (Heavily overlapping ink.)

    On simulator frames the result is exact (tests: 600 frames of 40 clips, over half with overlapping
    ink; also under Gaussian pixel noise of sigma 0.2).
    Two identical templates are interchangeable, so their order is then arbitrary.
    """
    x = _as_frames(frames)  # [N, H, W]
    t = _as_templates(templates, x)  # [D, s, s]
    n, h, w = x.shape
    d, s = t.shape[0], t.shape[-1]
    q = w - s + 1  # positions per row
    limit = torch.tensor([h - s, w - s], device=x.device)  # largest corner (y, x)
    moves = _NEIGHBOURS.to(x.device)  # [9, 2]
    out = torch.zeros(n, d, 2, dtype=torch.int64)
    for a in range(0, n, chunk):
        xc = x[a:a + chunk]  # [n', H, W]
        flat = xc.flatten(1).to(torch.float32)  # [n', H*W]
        ncc = ncc_maps(xc, t)  # [n', D, P, Q]
        peaks = torch.where(F.max_pool2d(ncc, 3, stride=1, padding=1) == ncc, ncc, torch.full_like(ncc, -2.0))
        index = peaks.flatten(2).topk(min(candidates, peaks.shape[-2] * q), dim=2).indices  # [n', D, m]
        choices = torch.stack([index // q, index % q], dim=-1)  # [n', D, m, 2]
        yx, error = _best_placement(choices, _place(t, choices, w, h), flat)  # [n', D, 2], [n']
        for _ in range(rounds):
            for j in range(d):
                drawn = _place(t, yx[:, :, None], w, h)[:, :, 0]  # [n', D, H*W]
                leftover = flat - (drawn.sum(dim=1) - drawn[:, j])  # [n', H*W]
                fit = _correlate_valid(leftover.double().reshape(-1, h, w), t[j:j + 1])[:, 0]  # [n', P, Q]
                best = fit.flatten(1).argmax(dim=1)  # [n']
                trial = yx.clone()
                trial[:, j] = torch.stack([best // q, best % q], dim=-1)
                drawn[:, j] = _place(t[j:j + 1], trial[:, j:j + 1, None], w, h)[:, 0, 0]
                trial_error = ((drawn.sum(dim=1).clamp_(max=1.0) - flat) ** 2).sum(dim=1)  # [n']
                better = trial_error < error
                yx = torch.where(better[:, None, None], trial, yx)
                error = torch.where(better, trial_error, error)
        near = torch.minimum((yx[:, :, None] + moves).clamp_min(0), limit)  # [n', D, 9, 2]; clamped moves repeat
        moved, moved_error = _best_placement(near, _place(t, near, w, h), flat)
        better = moved_error < error
        out[a:a + chunk] = torch.where(better[:, None, None], moved, yx).cpu()
    return out.numpy()


# --------------------------------------------------------------------------------------------
# Trajectory statistics
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Conditional FVD / KVD
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Per video and summary
# --------------------------------------------------------------------------------------------


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


# What every report calls the truth scores. The two velocity W1s are different quantities: every
# predicted frame's velocity, and the velocity leaving a wall after a touch.
LABELS = {"coverage": "coverage", "precision": "precision", "position_w1": "position W1",
          "velocity_w1": "velocity W1 (all frames)", "bounce_velocity_w1": "bounce-velocity W1 (after wall touches)",
          "fvd": "conditional FVD", "kvd": "conditional KVD"}
UNITS = {"position_w1": "px", "velocity_w1": "px/frame", "bounce_velocity_w1": "px/frame"}

HIGHER_IS_BETTER = {"coverage": True, "precision": True, "position_w1": False, "velocity_w1": False,
                    "bounce_velocity_w1": False, "fvd": False, "kvd": False}


def _scalar(values: Sequence[float], higher_is_better: bool) -> dict[str, Any]:
    """Mean over the videos where the value is defined (not NaN), how many, and the values (NaN -> None)."""
    v = np.asarray(values, dtype=np.float64)
    defined = np.isfinite(v)
    return {"mean": float(v[defined].mean()) if defined.any() else None, "videos": int(defined.sum()),
            "per_video": [float(x) if ok else None for x, ok in zip(v, defined)],
            "higher_is_better": higher_is_better}


def summarize_truth(per_video: Sequence[dict[str, Any]], config: TruthConfig | None = None) -> dict[str, Any]:
    """Means over test videos and per-frame curves of ``truth_video_scores`` results, JSON-ready.

    Scalars (coverage, precision, bounce_velocity_w1, fvd, kvd): ``{"mean", "videos", "per_video",
    "higher_is_better"}``; the mean is over the videos where the value is defined ("videos" of
    them): coverage and precision are undefined where all K true futures coincide, the bounce
    velocity W1 where the true futures never touch a wall (the same videos for every model;
    ``"missed"``: on how many of them the model's samples never touch one). Per-frame statistics
    (position_w1, velocity_w1) add ``"per_frame"`` ``[T]`` (mean over videos) and the simulator's
    own noise floor, ``"reference_mean"`` / ``"reference_per_frame"``.
    """
    if not per_video:
        raise ValueError("summarize_truth needs at least one video")
    out: dict[str, Any] = {"videos": [int(v["video"]) for v in per_video]}
    if config is not None:
        out["config"] = config.to_dict()
    for name in ("coverage", "precision", "bounce_velocity_w1", "fvd", "kvd"):
        if name in per_video[0]:
            out[name] = _scalar([v[name] for v in per_video], HIGHER_IS_BETTER[name])
    if config is not None:
        out["coverage"]["perfect_model_expected"] = perfect_coverage(
            config.k, int(per_video[0]["num_samples"]), config.neighbours)
    out["bounce_velocity_w1"]["reference_mean"] = _scalar(
        [v["bounce_velocity_w1_reference"] for v in per_video], False)["mean"]
    out["bounce_velocity_w1"]["missed"] = sum(v["wall_touches_model"] == 0 < v["wall_touches_true"]
                                              for v in per_video)
    for name in ("position_w1", "velocity_w1"):
        curves = np.stack([v[name] for v in per_video])  # [V, T]
        refs = np.stack([v[f"{name}_reference"] for v in per_video])  # [V, T]
        out[name] = {"mean": float(curves.mean()), "per_frame": curves.mean(axis=0).tolist(),
                     "per_video": curves.mean(axis=1).tolist(), "reference_mean": float(refs.mean()),
                     "reference_per_frame": refs.mean(axis=0).tolist(), "higher_is_better": False}
    out["truth_radius"] = float(np.mean([v["truth_radius"] for v in per_video]))
    out["wall_touches"] = {"model": float(np.mean([v["wall_touches_model"] for v in per_video])),
                           "true": float(np.mean([v["wall_touches_true"] for v in per_video]))}
    return out
