"""Scores where the truth is known: SM-MNIST futures drawn from the simulator itself (issue 10).

A package by job: `config` (TruthConfig), `futures` (true futures), `coverage` (distances,
coverage and precision), `tracking` (locating digits), `trajectories` (W1 statistics), `scores`
(one video's scores, conditional FVD) and `summary` (over videos, labels).

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

from vbench.truth.config import DISTANCES, TRUTH_STREAM, TruthConfig
from vbench.truth.coverage import ZERO_TOL, coverage_precision, neighbour_radii, pairwise_distances, perfect_coverage
from vbench.truth.futures import context_trajectory, true_futures, truth_rng
from vbench.truth.scores import conditional_fvd, truth_video_scores
from vbench.truth.summary import HIGHER_IS_BETTER, LABELS, UNITS, summarize_truth
from vbench.truth.tracking import locate_digits, ncc_maps
from vbench.truth.trajectories import bounce_velocity_w1, velocities, w1_per_frame, wall_velocities

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
