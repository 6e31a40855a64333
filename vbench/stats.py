"""Confidence intervals over test videos: pure functions, seeded, vectorised.

Per-video scores `[V]` (e.g. best-of-N SSIM of each test video) are resampled with replacement;
the percentile interval of the resampled means is the confidence interval. A paired comparison
resamples the same videos for both models, so it measures the difference on identical content.
Per-frame curves resample the same videos for every frame (`bootstrap_ci_columns`).

Set-level scores (FVD, KVD: `set_distance_interval`) are not means over videos, and the interval
says what it targets. FD from N videos is biased upward, by far when N is below the I3D dimension
(400): no interval from 64 videos can cover the population distance (table: coverage 0). What N
videos can pin down is E[FD_N], the expected FVD at this set size over draws of the test videos
(and samples): the number FVDs at equal N are compared by. The estimate is unbiased for it, so the
interval is `estimate ± t · se`, with `se` from a delete-a-group jackknife over videos (a video
leaves with its samples: 32 groups, Student t with 31 degrees of freedom). KVD is unbiased at any
N, so its E[KVD_N] is also the population KVD. Resampling with replacement (the basic bootstrap
vbench used before) repeats videos, which inflates FD by more than its spread; its interval sat
below the estimate and covered neither target.

Coverage of nominal 95% intervals, Gaussian features (`python tests/set_coverage.py`, about 15 min
on one core; scenario and closed forms in that file): d = 400, real ~ N(0, S), predicted ~ N(mu,
M S M'), S = diag(4 j^-0.8); "P = Q": predicted ~ real; "paired": prediction k of video i shares
0.7 of its noise with the video, 4 trials. E[D_N] by Monte Carlo (1,000 test sets; 600 paired),
D_pop in closed form. Width / ideal: mean width over 2 x 1.96 x the estimate's true sd over test
sets. Binomial sd of a coverage at 95%: 1.5% (200 sets), 2.2% (100 sets).

    method, scenario           metric   N     E[D_N]     D_pop   cov E[D_N]  cov D_pop  width/ideal  sets
    jackknife, P != Q          FVD     64      60.37     12.75     0.970       0.000       1.29      200
    jackknife, P = Q           FVD     64      46.99      0        0.990       0.000       1.44      200
    jackknife, P != Q          KVD     64     0.0749    0.0750     0.965       0.970       1.22      200
    jackknife, paired, K = 4   FVD     64      34.95     12.75     0.980       0.000       1.16      150
    jackknife, P != Q          FVD    256      35.19     12.75     0.990       0.000       1.19      100
    jackknife, P = Q           FVD    256      22.31      0        0.980       0.000       1.45      100
    jackknife, P != Q          KVD    256     0.0750    0.0750     0.990       0.990       1.07      100
    basic bootstrap (before)   FVD     64      60.37     12.75     0.000       0.000       1.93      100

The jackknife errs wide (coverage 0.965-0.99, 1.07-1.45 times the ideal width): it counts FD's
second-order part, which dominates its variance when P = Q, about twice. The basic bootstrap's
interval contained its own estimate in none of the 100 sets. Also measured, with a variant of this
script not kept (d = 400, N = 64, P != Q, 200 sets): leave-one-out instead of 32 groups, coverage
0.985 for both and 3% narrower; the centred percentile bootstrap and a normal interval with the
bootstrap sd (200 resamples, 100 sets), coverage 1.00 at 1.9 times the ideal width and 6 times
the cost. Cost of the jackknife: 32 recomputations of the distance per trial, FVD at d = 400
about 1.3 ms each at N = 64 (0.04 s per trial) and 15 ms at N = 256 (0.5 s per trial), KVD a
third of that; once at the end of a run (vbench.runner), and by the report
only for runs stored before vbench kept the interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import scipy.stats

from vbench.results import SetInterval

DEFAULT_RESAMPLES = 10_000
RESAMPLE_CHUNK = 1_000   # resamples drawn at once: bounds memory at RESAMPLE_CHUNK x V indices
SET_GROUPS = 32          # jackknife groups of a set statistic: recomputations per trial (see the table above)


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    confidence: float
    resamples: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def _check_scores(values: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D array of per-video scores, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name}: has NaN or Inf")
    return values


def _check_resamples(resamples: int) -> None:
    if int(resamples) != resamples or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples}")


def resample_indices(num_videos: int, resamples: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first resample, index [count, V]) chunks: the videos of every resample, drawn with replacement.

    Every function here draws through this one stream, so equal (V, resamples, seed) resample the
    same videos whatever is computed from them.
    """
    _check_resamples(resamples)
    rng = np.random.default_rng(seed)
    for start in range(0, resamples, RESAMPLE_CHUNK):
        count = min(RESAMPLE_CHUNK, resamples - start)
        yield start, rng.integers(0, num_videos, size=(count, num_videos))     # [count, V]


def bootstrap_means(values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """[V] -> [resamples] means of resamples (with replacement) of the videos."""
    values = _check_scores(values, "values")
    means = np.empty(resamples)
    for start, index in resample_indices(values.size, resamples, seed):
        means[start:start + len(index)] = values[index].mean(axis=1)
    return means


def _interval(mean: float, means: np.ndarray, confidence: float) -> Interval:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(mean), float(low), float(high), confidence, means.size)


def bootstrap_ci(values: np.ndarray, confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES,
                 seed: int = 0) -> Interval:
    """Mean of per-video scores with its percentile-bootstrap confidence interval."""
    values = _check_scores(values, "values")
    return _interval(values.mean(), bootstrap_means(values, resamples, seed), confidence)


def paired_bootstrap(a: np.ndarray, b: np.ndarray, confidence: float = 0.95,
                     resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> Interval:
    """Mean of `a - b` over the same test videos, with its bootstrap interval.

    The interval excluding 0 says the two models differ on this suite at that confidence.
    """
    a, b = _check_scores(a, "a"), _check_scores(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"paired comparison needs scores of the same videos: {a.shape} vs {b.shape}")
    diff = a - b
    return _interval(diff.mean(), bootstrap_means(diff, resamples, seed), confidence)


def bootstrap_ci_columns(values: np.ndarray, confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES,
                         seed: int = 0) -> list[Interval]:
    """[V, K] per-video scores of K columns (e.g. predicted frames) -> K intervals.

    Each resample draws the same videos for every column; column k gets exactly the interval
    `bootstrap_ci(values[:, k])` would give with the same seed.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"values: expected [videos, columns], got shape {values.shape}")
    columns = [_check_scores(np.ascontiguousarray(values[:, k]), f"column {k}") for k in range(values.shape[1])]
    means = np.empty((resamples, len(columns)))                                 # [R, K]
    for start, index in resample_indices(values.shape[0], resamples, seed):
        for k, column in enumerate(columns):
            means[start:start + len(index), k] = column[index].mean(axis=1)
    return [_interval(column.mean(), means[:, k], confidence) for k, column in enumerate(columns)]


def jackknife_set_statistic(statistic: Callable[[np.ndarray], float], num_videos: int, estimate: float,
                             confidence: float = 0.95, groups: int = SET_GROUPS, seed: int = 0) -> Interval:
    """Delete-a-group jackknife interval of a score computed on a whole set of videos (FVD, KVD).

    The videos are split into `groups` groups of (nearly) equal size by a seeded permutation;
    `statistic(index)` recomputes the score without each group in turn ([V - V/groups] positions, no
    repeats), and the spread of those values gives the standard error of the score. The interval is
    `estimate ± t(groups - 1) · se`: it targets the expected score at this set size over draws of
    the test videos, which the estimate itself estimates without bias (see the module docstring).
    """
    if num_videos < 2:
        raise ValueError(f"a set statistic needs at least 2 videos, got {num_videos}")
    if int(groups) != groups or groups < 2:
        raise ValueError(f"groups must be an integer of at least 2, got {groups}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    groups = min(int(groups), num_videos)
    order = np.random.default_rng(seed).permutation(num_videos)
    values = np.array([statistic(np.setdiff1d(order, group)) for group in np.array_split(order, groups)])
    if not np.isfinite(values).all():
        raise ValueError("statistic returned NaN or Inf on a jackknife subset")
    se = np.sqrt((groups - 1) / groups * np.sum((values - values.mean()) ** 2))
    half = float(scipy.stats.t.ppf((1 + confidence) / 2, groups - 1) * se)
    return Interval(float(estimate), float(estimate) - half, float(estimate) + half, confidence, groups)


def set_distance_interval(real: np.ndarray, fake: np.ndarray, distance: Callable[[np.ndarray, np.ndarray], float],
                          estimate: float, confidence: float = 0.95, groups: int = SET_GROUPS) -> Interval:
    """Interval of a set distance averaged over trials: real `[V, D]`, fake `[V, K, D]` (trial k: sample k
    of every video). A video and its samples leave a jackknife subset together, so the pairing of a
    prediction with its test video, and the trials sharing the real set, are kept."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)   # [V, D], [V, K, D]
    if real.ndim != 2 or fake.ndim != 3 or fake.shape[0] != real.shape[0] or fake.shape[2] != real.shape[1]:
        raise ValueError(f"expected real [V, D] and fake [V, K, D] of the same videos, got {real.shape}, {fake.shape}")

    def statistic(index: np.ndarray) -> float:
        return float(np.mean([distance(real[index], fake[index, k]) for k in range(fake.shape[1])]))

    return jackknife_set_statistic(statistic, real.shape[0], estimate, confidence, groups)


def set_interval_record(interval: Interval, metric: str, videos: int) -> SetInterval:
    """The interval as stored in a run summary (`summary.metrics[metric].interval`)."""
    return SetInterval(low=interval.low, high=interval.high, confidence=interval.confidence,
                       method=f"delete-a-group jackknife, {interval.resamples} groups, Student t",
                       groups=interval.resamples, of=set_interval_meaning(metric, videos))


def set_interval_meaning(metric: str, videos: int) -> str:
    """What `set_distance_interval` is an interval of, in one line."""
    return f"the expected {metric.upper()} of {videos} test videos, over draws of the test videos and samples"
