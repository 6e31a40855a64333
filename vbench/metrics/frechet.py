"""Set-level distances between feature sets: Fréchet distance (FVD, FID) and kernel distance (KVD).

Pure numpy functions in float64. Features are ``[N, D]`` arrays (N samples of D dimensions).

Fréchet distance between the Gaussians fitted to two sets (unbiased covariance, N - 1, as
``np.cov``)::

    d² = |mu_a - mu_b|² + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a^½ S_b S_a^½)

The trace term is the only hard part. With fewer samples than dimensions (the usual FVD case:
N = 256 videos, D = 400) both covariances are singular, and ``scipy.linalg.sqrtm`` of their product
returns complex noise whose real part must be trusted. Here it is computed without any matrix
square root of a singular matrix:

- From features (``frechet_distance``): with centred data ``A`` (N x D) and ``B`` (M x D),
  ``S_a S_b = A'A B'B / ((N-1)(M-1))`` has the same non-zero eigenvalues as ``(A B')(A B')'``, so
  ``tr sqrt(S_a^½ S_b S_a^½) = ||A B'||_* / sqrt((N-1)(M-1))`` (nuclear norm: sum of singular
  values). ``A B'`` is formed through the triangular QR factors of ``A`` and ``B`` (at most D x D),
  so the cost is ``O((N + M) D²)`` for any N. Singular values are perturbed only by rounding
  (``~eps * ||A|| ||B||``), never square-rooted noise: exact to float64 for any rank.
- From statistics (``frechet_distance_from_stats``): each covariance is factored as
  ``S = L L'`` with ``L = V sqrt(w)`` from its eigendecomposition, eigenvalues below
  ``D * eps * max(w)`` (rounding noise of a singular matrix) set to 0, and the trace term is
  ``||L_a' L_b||_*`` by the same identity.

Both agree with ``sqrtm`` on well-conditioned inputs and with each other on singular ones (tests).

Kernel distance (KVD/KID): the unbiased estimator of the squared maximum mean discrepancy with the
polynomial kernel ``k(x, y) = (gamma <x, y> + coef0) ** degree`` (``gamma = 1 / D`` by default:
the KID and KVD convention), optionally averaged over random subsets.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "feature_stats",
    "frechet_distance",
    "frechet_distance_from_stats",
    "kernel_distance",
]


def _check_features(x: object, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be [N, D] features; got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples; got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_pair(a: object, b: object) -> tuple[np.ndarray, np.ndarray]:
    fa, fb = _check_features(a, "feats_a"), _check_features(b, "feats_b")
    if fa.shape[1] != fb.shape[1]:
        raise ValueError(f"feature dimensions differ: {fa.shape[1]} vs {fb.shape[1]}")
    return fa, fb


def feature_stats(feats: object) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D, D]`` (N - 1, as ``np.cov``) of ``[N, D]``."""
    f = _check_features(feats, "feats")
    mu = f.mean(axis=0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def frechet_distance(feats_a: object, feats_b: object) -> float:
    """Fréchet distance between Gaussians fitted to ``[N, D]`` and ``[M, D]`` features.

    Exact for any N, M (including N, M < D, singular covariances); see the module docstring.
    """
    fa, fb = _check_pair(feats_a, feats_b)
    n, m = fa.shape[0], fb.shape[0]
    mu_a, mu_b = fa.mean(axis=0), fb.mean(axis=0)
    a, b = fa - mu_a, fb - mu_b  # [N, D], [M, D] centred
    r_a = np.linalg.qr(a, mode="r")  # [min(N, D), D], a = Q r_a
    r_b = np.linalg.qr(b, mode="r")  # [min(M, D), D]
    cross = np.linalg.svd(r_a @ r_b.T, compute_uv=False).sum()  # ||a b'||_*
    trace_sqrt = cross / np.sqrt((n - 1) * (m - 1))
    trace_a = np.einsum("ij,ij->", a, a) / (n - 1)
    trace_b = np.einsum("ij,ij->", b, b) / (m - 1)
    mean_term = float(np.sum((mu_a - mu_b) ** 2))
    return max(mean_term + float(trace_a + trace_b - 2.0 * trace_sqrt), 0.0)


def _psd_factor(sigma: np.ndarray) -> np.ndarray:
    """``L`` with ``L L' = sigma`` (symmetrised), rounding-noise eigenvalues set to 0."""
    w, v = np.linalg.eigh((sigma + sigma.T) / 2.0)
    tol = max(w.max(initial=0.0), 0.0) * sigma.shape[0] * np.finfo(np.float64).eps
    w = np.where(w > tol, w, 0.0)
    return v * np.sqrt(w)  # [D, D], column j scaled by sqrt(w_j)


def frechet_distance_from_stats(
    mu1: object, sigma1: object, mu2: object, sigma2: object
) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2); covariances may be singular.

    ``sigma`` must be symmetric positive semi-definite (up to rounding), e.g. from
    ``feature_stats``. Use ``frechet_distance`` when the features are at hand: it never forms
    the covariances and is exact to rounding.
    """
    m1, m2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = m1.shape[0] if m1.ndim == 1 else -1
    if m1.shape != (d,) or m2.shape != (d,) or s1.shape != (d, d) or s2.shape != (d, d):
        raise ValueError(
            f"expected mu [D] and sigma [D, D] with one D; got {m1.shape}, {s1.shape}, "
            f"{m2.shape}, {s2.shape}"
        )
    for name, arr in (("mu1", m1), ("sigma1", s1), ("mu2", m2), ("sigma2", s2)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf")
    l1, l2 = _psd_factor(s1), _psd_factor(s2)
    trace_sqrt = np.linalg.svd(l1.T @ l2, compute_uv=False).sum()  # tr sqrt(S1^½ S2 S1^½)
    mean_term = float(np.sum((m1 - m2) ** 2))
    return max(mean_term + float(np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt), 0.0)


def _mmd2_unbiased(a: np.ndarray, b: np.ndarray, degree: int, gamma: float, coef0: float) -> float:
    n, m = a.shape[0], b.shape[0]
    k_aa = (gamma * (a @ a.T) + coef0) ** degree  # [N, N]
    k_bb = (gamma * (b @ b.T) + coef0) ** degree  # [M, M]
    k_ab = (gamma * (a @ b.T) + coef0) ** degree  # [N, M]
    sum_aa = k_aa.sum() - np.trace(k_aa)  # off-diagonal only: i != j
    sum_bb = k_bb.sum() - np.trace(k_bb)
    return float(sum_aa / (n * (n - 1)) + sum_bb / (m * (m - 1)) - 2.0 * k_ab.mean())


def kernel_distance(
    feats_a: object,
    feats_b: object,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    *,
    num_subsets: int | None = None,
    subset_size: int | None = None,
    seed: int = 0,
) -> float:
    """Unbiased MMD² with the polynomial kernel ``(gamma <x, y> + coef0) ** degree`` (KVD, KID).

    Args:
        feats_a, feats_b: ``[N, D]`` and ``[M, D]`` features.
        degree, gamma, coef0: the kernel; ``gamma=None`` means ``1 / D``.
        num_subsets, subset_size: None (default) uses both full sets once. Otherwise the mean
            over ``num_subsets`` draws of ``subset_size`` samples from each set, each draw
            without replacement (the KID protocol); ``seed`` fixes the draws.

    The estimator is unbiased, so it can be slightly negative when the sets match.
    """
    fa, fb = _check_pair(feats_a, feats_b)
    g = 1.0 / fa.shape[1] if gamma is None else float(gamma)
    if num_subsets is None and subset_size is None:
        return _mmd2_unbiased(fa, fb, degree, g, coef0)
    if num_subsets is None or subset_size is None:
        raise ValueError("give both num_subsets and subset_size, or neither")
    if num_subsets < 1 or not 2 <= subset_size <= min(fa.shape[0], fb.shape[0]):
        raise ValueError(
            f"need num_subsets >= 1 and 2 <= subset_size <= min(N, M) = "
            f"{min(fa.shape[0], fb.shape[0])}; got {num_subsets}, {subset_size}"
        )
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            fa[rng.choice(fa.shape[0], subset_size, replace=False)],
            fb[rng.choice(fb.shape[0], subset_size, replace=False)],
            degree,
            g,
            coef0,
        )
        for _ in range(num_subsets)
    ]
    return float(np.mean(values))
