"""Confidence intervals over test videos: pure functions, seeded, vectorised.

Per-video scores `[V]` (e.g. best-of-N SSIM of each test video) are resampled with replacement;
the percentile interval of the resampled means is the confidence interval. A paired comparison
resamples the same videos for both models, so it measures the difference on identical content.
Per-frame curves resample the same videos for every frame (`bootstrap_ci_columns`). A set-level
score (FVD) is recomputed on each resampled set of videos (`bootstrap_set_statistic`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

DEFAULT_RESAMPLES = 10_000
RESAMPLE_CHUNK = 1_000   # resamples drawn at once: bounds memory at RESAMPLE_CHUNK x V indices


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


def bootstrap_set_statistic(statistic: Callable[[np.ndarray], float], num_videos: int, estimate: float,
                            confidence: float = 0.95, resamples: int = DEFAULT_RESAMPLES,
                            seed: int = 0) -> Interval:
    """Basic (reverse-percentile) bootstrap interval of a score computed on a whole set of videos.

    `statistic(index)` recomputes the score on the videos `index` ([V] positions, with repeats);
    `estimate` is its value on the real set. A set distance such as FVD grows when a resample
    repeats videos, so the resampled values sit above the estimate; the basic interval
    `[2 estimate - q_high, 2 estimate - q_low]` reflects that shift instead of reporting it.
    """
    if num_videos < 2:
        raise ValueError(f"a set statistic needs at least 2 videos, got {num_videos}")
    values = np.empty(resamples)
    for start, index in resample_indices(num_videos, resamples, seed):
        values[start:start + len(index)] = [statistic(row) for row in index]
    if not np.isfinite(values).all():
        raise ValueError("statistic returned NaN or Inf on a resample")
    percentile = _interval(estimate, values, confidence)
    return Interval(float(estimate), 2 * estimate - percentile.high, 2 * estimate - percentile.low,
                    confidence, resamples)
