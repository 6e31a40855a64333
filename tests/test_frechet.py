"""Fréchet and kernel distances against scipy's sqrtm, TF-GAN's formula and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from vbench.metrics.frechet import (
    feature_stats,
    frechet_distance,
    frechet_distance_from_stats,
    kernel_distance,
)


def _sqrtm_reference(a: np.ndarray, b: np.ndarray) -> float:
    """The StyleGAN-V / clean-fid formula: scipy sqrtm of S_a S_b, real part."""
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2.0 * covmean.real))


def _tfgan_reference(a: np.ndarray, b: np.ndarray) -> float:
    """TF-GAN's ``frechet_classifier_distance_from_activations`` (the TF FVD reference), in numpy:
    symmetric square roots by SVD, singular values below 1e-10 left unsquared."""

    def sym_sqrt(m: np.ndarray) -> np.ndarray:
        u, s, vt = np.linalg.svd(m)
        return (u * np.where(s < 1e-10, s, np.sqrt(s))) @ vt

    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sym_sqrt(s_a)
    trace_sqrt = np.trace(sym_sqrt(root @ s_b @ root))
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2.0 * trace_sqrt)


def _correlated(rng: np.random.Generator, n: int, d: int, scale: float, shift: float) -> np.ndarray:
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * scale / np.sqrt(d) + shift


# --------------------------------------------------------------------------------------------
# Fréchet distance
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m", "d"), [(500, 600, 8), (2000, 1500, 64), (900, 900, 400)])
def test_matches_sqrtm_when_well_conditioned(n: int, m: int, d: int) -> None:
    rng = np.random.default_rng(d)
    a = _correlated(rng, n, d, 3.0, 0.5)
    b = _correlated(rng, m, d, 2.0, -0.2)
    expected = _sqrtm_reference(a, b)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    stats = (*feature_stats(a), *feature_stats(b))
    assert frechet_distance_from_stats(*stats) == pytest.approx(expected, rel=1e-9)


def test_feature_stats_is_np_cov() -> None:
    f = np.random.default_rng(0).normal(size=(37, 5))
    mu, sigma = feature_stats(f)
    np.testing.assert_allclose(mu, f.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False), rtol=1e-12)


def test_identical_sets_give_zero() -> None:
    a = _correlated(np.random.default_rng(1), 300, 40, 5.0, 3.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-10)
    assert frechet_distance_from_stats(*feature_stats(a), *feature_stats(a)) == pytest.approx(
        0.0, abs=1e-9
    )
    few = a[:20]  # rank-deficient: 20 samples in 40 dimensions
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-10)


def test_mean_shift_only() -> None:
    a = _correlated(np.random.default_rng(2), 200, 30, 2.0, 0.0)
    shift = np.linspace(-1.0, 2.0, 30)
    expected = float(np.sum(shift**2))
    assert frechet_distance(a, a + shift) == pytest.approx(expected, rel=1e-10)
    few = a[:10]  # N < D
    assert frechet_distance(few, few + shift) == pytest.approx(expected, rel=1e-10)


def test_diagonal_covariances_closed_form() -> None:
    # N(mu1, diag(v1)) vs N(mu2, diag(v2)): |mu1 - mu2|² + sum (sqrt(v1) - sqrt(v2))².
    rng = np.random.default_rng(3)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    v1, v2 = rng.uniform(0.1, 4.0, 12), rng.uniform(0.0, 4.0, 12)
    v2[:3] = 0.0  # singular second covariance
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = frechet_distance_from_stats(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-12)
    # The same Gaussians, rotated: the distance is invariant.
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    rotated = frechet_distance_from_stats(
        q @ mu1, q @ np.diag(v1) @ q.T, q @ mu2, q @ np.diag(v2) @ q.T
    )
    assert rotated == pytest.approx(expected, rel=1e-10)


def test_one_dimensional_closed_form() -> None:
    a = np.array([[0.0], [1.0], [2.0], [5.0]])
    b = np.array([[1.0], [3.0], [4.0]])
    var_a, var_b = np.var(a, ddof=1), np.var(b, ddof=1)
    expected = (a.mean() - b.mean()) ** 2 + (np.sqrt(var_a) - np.sqrt(var_b)) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(("n", "m"), [(128, 128), (16, 40), (256, 300), (2, 2)])
def test_rank_deficient_is_stable(n: int, m: int) -> None:
    """N < D = 400 (the usual FVD case): singular covariances, no complex junk, both routes agree,
    symmetric, non-negative, and equal to TF-GAN's formula (the TF FVD reference)."""
    rng = np.random.default_rng(n + m)
    d = 400
    a = _correlated(rng, n, d, 4.0, 0.1)
    b = _correlated(rng, m, d, 3.0, 0.0)
    ab, ba = frechet_distance(a, b), frechet_distance(b, a)
    assert np.isfinite(ab) and ab >= 0.0
    assert ab == pytest.approx(ba, rel=1e-12)
    from_stats = frechet_distance_from_stats(*feature_stats(a), *feature_stats(b))
    assert from_stats == pytest.approx(ab, rel=1e-10)
    assert _tfgan_reference(a, b) == pytest.approx(ab, rel=1e-7)


def test_scale_equivariance() -> None:
    # d(c a, c b) = c² d(a, b): no absolute thresholds that bite at small or large scales.
    rng = np.random.default_rng(5)
    a, b = _correlated(rng, 50, 400, 1.0, 0.0), _correlated(rng, 60, 400, 1.5, 0.2)
    base = frechet_distance(a, b)
    for c in (1e-6, 1e3):
        assert frechet_distance(c * a, c * b) == pytest.approx(c * c * base, rel=1e-10)
        stats = (*feature_stats(c * a), *feature_stats(c * b))
        assert frechet_distance_from_stats(*stats) == pytest.approx(c * c * base, rel=1e-8)


def test_constant_sets_are_squared_mean_distance() -> None:
    # Every video in a set identical (the FVD golden cases): zero covariance.
    a = np.tile(np.arange(400.0) / 100, (8, 1))
    b = np.tile(np.ones(400), (8, 1))
    assert frechet_distance(a, b) == pytest.approx(np.sum((a[0] - b[0]) ** 2), rel=1e-14)


def test_rejects_bad_input() -> None:
    ok = np.zeros((4, 3))
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(ok, np.zeros((4, 5)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        frechet_distance(ok, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(ok, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match=r"\[N, D\]"):
        frechet_distance(np.zeros(3), ok)
    with pytest.raises(ValueError, match="one D"):
        frechet_distance_from_stats(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


# --------------------------------------------------------------------------------------------
# Kernel distance (KVD)
# --------------------------------------------------------------------------------------------


def test_kernel_distance_closed_form_tiny() -> None:
    # Linear kernel (degree 1, gamma 1, coef0 0), 1-D: k(x, y) = x y.
    a = np.array([[1.0], [2.0], [4.0]])
    b = np.array([[0.0], [3.0]])
    k_aa = (1 * 2 + 1 * 4 + 2 * 4) * 2 / (3 * 2)  # i != j pairs, both orders
    k_bb = (0 * 3) * 2 / (2 * 1)
    k_ab = (1 + 2 + 4) * (0 + 3) / (3 * 2)
    expected = k_aa + k_bb - 2 * k_ab
    assert kernel_distance(a, b, degree=1, gamma=1.0, coef0=0.0) == pytest.approx(expected)
    # Cubic, default gamma = 1 / D with D = 2.
    a2 = np.array([[1.0, 0.0], [0.0, 1.0]])
    b2 = np.array([[1.0, 1.0], [2.0, 0.0]])

    def k(x: np.ndarray, y: np.ndarray) -> float:
        return (x @ y / 2 + 1) ** 3

    expected2 = (
        (k(a2[0], a2[1]) * 2) / 2
        + (k(b2[0], b2[1]) * 2) / 2
        - 2 * np.mean([k(x, y) for x in a2 for y in b2])
    )
    assert kernel_distance(a2, b2) == pytest.approx(expected2, rel=1e-14)


def test_kernel_distance_matches_explicit_loops() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(9, 5)) + 0.3

    def k(x: np.ndarray, y: np.ndarray) -> float:
        return (0.2 * (x @ y) + 1.0) ** 3

    aa = np.mean([k(a[i], a[j]) for i in range(7) for j in range(7) if i != j])
    bb = np.mean([k(b[i], b[j]) for i in range(9) for j in range(9) if i != j])
    ab = np.mean([k(x, y) for x in a for y in b])
    assert kernel_distance(a, b) == pytest.approx(aa + bb - 2 * ab, rel=1e-12)


def test_kernel_distance_identical_distributions_near_zero() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(500, 16)), rng.normal(size=(500, 16))
    far = rng.normal(size=(500, 16)) + 1.0
    same = kernel_distance(a, b)
    assert abs(same) < 0.02 * kernel_distance(a, far)


def test_kernel_distance_is_unbiased() -> None:
    """Same distribution: the estimator averages to 0 and is sometimes negative (the biased V-
    statistic, which keeps the diagonal, would be positive every time)."""
    rng = np.random.default_rng(8)
    values = np.array(
        [kernel_distance(rng.normal(size=(20, 4)), rng.normal(size=(20, 4))) for _ in range(300)]
    )
    assert (values < 0).any() and (values > 0).any()
    assert abs(values.mean()) < 3 * values.std(ddof=1) / np.sqrt(len(values))


def test_kernel_distance_subsets() -> None:
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(60, 6)), rng.normal(size=(50, 6)) + 0.5
    full = kernel_distance(a, b)
    sub = kernel_distance(a, b, num_subsets=200, subset_size=30, seed=1)
    assert sub == kernel_distance(a, b, num_subsets=200, subset_size=30, seed=1)  # seeded
    assert sub == pytest.approx(full, rel=0.1)  # both unbiased estimates of the same MMD²
    with pytest.raises(ValueError, match="both"):
        kernel_distance(a, b, num_subsets=3)
    with pytest.raises(ValueError, match="subset_size"):
        kernel_distance(a, b, num_subsets=3, subset_size=51)
