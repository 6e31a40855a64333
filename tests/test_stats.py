import numpy as np
import pytest

from vbench.stats import (bootstrap_ci, bootstrap_ci_columns, bootstrap_means, bootstrap_set_statistic,
                          paired_bootstrap)


def test_matches_a_plain_loop_reference_on_a_hand_made_table():
    scores = np.array([0.81, 0.77, 0.92, 0.65, 0.88, 0.79, 0.70, 0.95])
    got = bootstrap_ci(scores, resamples=3000, seed=7)
    # reference: the same resampling written as a loop over resamples, same generator stream
    rng = np.random.default_rng(7)
    means = []
    for _ in range(3):   # chunks of 1000, as the library draws them
        index = rng.integers(0, scores.size, size=(1000, scores.size))
        means += [scores[row].mean() for row in index]
    low, high = np.quantile(means, [0.025, 0.975])
    assert (got.mean, got.low, got.high) == pytest.approx((scores.mean(), low, high), abs=1e-15)


def test_close_to_the_normal_closed_form_on_normal_data():
    values = np.random.default_rng(0).normal(3.0, 2.0, size=400)
    ci = bootstrap_ci(values, seed=1)
    half = 1.959964 * values.std(ddof=1) / np.sqrt(values.size)
    assert ci.mean == pytest.approx(values.mean())
    assert ci.half_width == pytest.approx(half, rel=0.06)
    assert ci.low < ci.mean < ci.high


def test_coverage_is_close_to_95_percent():
    rng = np.random.default_rng(3)
    trials, hits = 300, 0
    for t in range(trials):
        ci = bootstrap_ci(rng.normal(0.0, 1.0, size=60), resamples=1000, seed=t)
        hits += ci.low <= 0.0 <= ci.high
    # the percentile bootstrap undercovers slightly at n=60; binomial sd at 300 trials is ~1.3%
    assert 0.90 <= hits / trials <= 0.98


def test_paired_comparison_sees_a_small_consistent_difference():
    rng = np.random.default_rng(5)
    content = rng.uniform(0.3, 0.9, size=128)                 # videos differ a lot in difficulty
    a = content + 0.01 + rng.normal(0, 0.005, size=128)       # model A is slightly better everywhere
    b = content
    paired = paired_bootstrap(a, b)
    assert paired.low > 0                                     # A beats B
    unpaired_a, unpaired_b = bootstrap_ci(a), bootstrap_ci(b)
    assert unpaired_a.low < unpaired_b.high                   # the separate intervals overlap
    same = paired_bootstrap(b, b)
    assert (same.mean, same.low, same.high) == (0.0, 0.0, 0.0)


def test_seeded_and_validated():
    values = np.arange(10.0)
    assert np.array_equal(bootstrap_means(values, 500, seed=2), bootstrap_means(values, 500, seed=2))
    assert not np.array_equal(bootstrap_means(values, 500, seed=2), bootstrap_means(values, 500, seed=3))
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="1-D"):
        bootstrap_ci(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="same videos"):
        paired_bootstrap(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(values, confidence=95)


def test_columns_resample_the_same_videos_as_one_column_at_a_time():
    values = np.random.default_rng(1).normal(size=(23, 5))                  # [V, T]
    columns = bootstrap_ci_columns(values, resamples=2500, seed=4)
    for k, got in enumerate(columns):
        want = bootstrap_ci(values[:, k], resamples=2500, seed=4)
        assert (got.mean, got.low, got.high, got.resamples) == pytest.approx(
            (want.mean, want.low, want.high, want.resamples), abs=1e-14)
    with pytest.raises(ValueError, match="videos, columns"):
        bootstrap_ci_columns(np.zeros(4))


def test_set_statistic_is_the_basic_interval_of_the_recomputed_statistic():
    values = np.random.default_rng(2).uniform(size=30)
    got = bootstrap_set_statistic(lambda index: values[index].mean(), 30, values.mean(), resamples=1500, seed=9)
    percentile = bootstrap_ci(values, resamples=1500, seed=9)               # same videos drawn
    m = values.mean()
    assert (got.low, got.high) == pytest.approx((2 * m - percentile.high, 2 * m - percentile.low), abs=1e-12)
    with pytest.raises(ValueError, match="at least 2 videos"):
        bootstrap_set_statistic(lambda index: 0.0, 1, 0.0)


def test_resamples_are_checked():
    with pytest.raises(ValueError, match="positive integer"):
        bootstrap_ci(np.arange(3.0), resamples=0)
