"""Confidence intervals over test videos: pure functions, seeded, vectorised.

Per-video scores `[V]` (e.g. best-of-N SSIM of each test video) are resampled with replacement;
the percentile interval of the resampled means is the confidence interval. A paired comparison
resamples the same videos for both models, so it measures the difference on identical content.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def bootstrap_means(values: np.ndarray, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """[V] -> [resamples] means of resamples (with replacement) of the videos."""
    values = _check_scores(values, "values")
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, RESAMPLE_CHUNK):
        count = min(RESAMPLE_CHUNK, resamples - start)
        index = rng.integers(0, values.size, size=(count, values.size))      # [count, V]
        means[start:start + count] = values[index].mean(axis=1)
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
