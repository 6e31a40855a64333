import numpy as np
import pytest

from set_coverage import Scenario, coverage, expected_at_n, population_fd, population_kvd
from vbench.metrics.frechet import frechet_distance, kernel_distance
from vbench.stats import (bootstrap_ci, bootstrap_ci_columns, bootstrap_means, jackknife_set_statistic,
                          paired_bootstrap, set_distance_interval)


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


def test_set_intervals_cover_the_expected_distance_at_their_set_size():
    """Gaussian features, d = 100 > N = 64 (the FVD regime: fewer videos than I3D dimensions).

    FVD: E[FD_64] by Monte Carlo, far above the population distance (the estimate's bias at N < d);
    KVD: the population MMD² in closed form, which the unbiased estimator targets at any N.
    Nominal 95%; with 200 test sets the binomial sd of a true 95% is 1.5%, so >= 0.90 is 3 sd below.
    The jackknife over-covers (module docstring), so the width is checked too: at most 1.6 times the
    width 2 x 1.96 sd of an interval that knew the estimate's true sd over test sets."""
    s = Scenario(d=100, n=64)
    expected, sd = expected_at_n(s, frechet_distance, draws=500)
    assert expected > 2 * population_fd(s)
    fvd = coverage(s, frechet_distance, {"expected": expected, "population": population_fd(s)}, datasets=200)
    assert fvd["expected"] >= 0.90 and fvd["population"] == 0.0
    assert fvd["width"] <= 1.6 * 2 * 1.96 * sd
    _, sd = expected_at_n(s, kernel_distance, draws=500)
    kvd = coverage(s, kernel_distance, {"population": population_kvd(s)}, datasets=200)
    assert kvd["population"] >= 0.90 and kvd["width"] <= 1.6 * 2 * 1.96 * sd


def test_set_interval_keeps_videos_with_their_samples_and_is_seeded():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(40, 6)), rng.normal(0.3, 1.0, size=(40, 3, 6))   # [V, D], [V, K, D]
    seen = []

    def statistic(index):
        seen.append(index)
        return float(np.mean([frechet_distance(real[index], fake[index, k]) for k in range(3)]))

    estimate = statistic(np.arange(40))
    got = set_distance_interval(real, fake, frechet_distance, estimate, groups=8)
    want = jackknife_set_statistic(statistic, 40, estimate, groups=8)
    assert (got.low, got.high, got.resamples) == pytest.approx((want.low, want.high, 8), rel=1e-12)
    dropped = [np.setdiff1d(np.arange(40), index) for index in seen[1:]]
    assert sorted(np.concatenate(dropped)) == list(range(40)) and {len(d) for d in dropped} == {5}
    other = set_distance_interval(real, fake, frechet_distance, estimate, groups=8, confidence=0.9)
    assert got.low < other.low < estimate < other.high < got.high
    with pytest.raises(ValueError, match="same videos"):
        set_distance_interval(real, fake[:30], frechet_distance, estimate)
    with pytest.raises(ValueError, match="at least 2 videos"):
        jackknife_set_statistic(lambda index: 0.0, 1, 0.0)
    with pytest.raises(ValueError, match="groups"):
        jackknife_set_statistic(lambda index: 0.0, 5, 0.0, groups=1)


def test_resamples_are_checked():
    with pytest.raises(ValueError, match="positive integer"):
        bootstrap_ci(np.arange(3.0), resamples=0)
