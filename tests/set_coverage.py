"""Coverage of the FVD / KVD intervals on Gaussian feature sets whose distances are known.

Real features ~ N(0, S_p), S_p = diag(j^-0.8 * 4) (a decaying spectrum, like I3D logits); predicted
~ N(mu, M S_p M'), M = I + pert * G / sqrt(d). With `rho` > 0, sample k of video i shares the part
rho * z_i with its real video (a prediction conditioned on that video), over `trials` samples.
Targets: the population Fréchet distance (closed form), the population KVD (closed form for the
cubic polynomial kernel; the KVD estimator is unbiased, so this is also its expectation at any N)
and E[FD_N], the expected FVD at N videos (Monte Carlo).

`python tests/set_coverage.py` prints the table in vbench/stats.py (about 15 min on one core).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbench.metrics.frechet import frechet_distance, frechet_distance_from_stats, kernel_distance
from vbench.stats import Interval, set_distance_interval


@dataclass(frozen=True)
class Scenario:
    d: int
    n: int
    shift: float = 0.15     # sd of each coordinate of mu
    pert: float = 0.3       # size of the covariance perturbation M - I
    rho: float = 0.0        # share of a prediction that comes from its real video
    trials: int = 1
    seed: int = 0

    def model(self):
        rng = np.random.default_rng(self.seed)
        scale = np.sqrt(np.arange(1, self.d + 1) ** -0.8 * 4)
        lift_p = np.diag(scale)                                                      # [d, d]
        lift_q = (np.eye(self.d) + self.pert * rng.normal(size=(self.d, self.d)) / np.sqrt(self.d)) @ lift_p
        return rng.normal(size=self.d) * self.shift, lift_p, lift_q

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        mu, lift_p, lift_q = self.model()
        z = rng.normal(size=(self.n, self.d))                                         # [N, d]
        w = rng.normal(size=(self.n, self.trials, self.d))                            # [N, K, d]
        own = self.rho * z[:, None] + np.sqrt(1 - self.rho ** 2) * w                  # [N, K, d]
        return z @ lift_p.T, mu + own @ lift_q.T


def mean_over_trials(distance, real: np.ndarray, fake: np.ndarray) -> float:
    return float(np.mean([distance(real, fake[:, k]) for k in range(fake.shape[1])]))


def population_fd(s: Scenario) -> float:
    mu, lift_p, lift_q = s.model()
    return frechet_distance_from_stats(np.zeros(s.d), lift_p @ lift_p.T, mu, lift_q @ lift_q.T)


def _cubic_kernel_mean(mu1, cov1, mu2, cov2, gamma: float) -> float:
    """E (gamma <x, y> + 1)^3 for independent x ~ N(mu1, cov1), y ~ N(mu2, cov2), from the
    moments of s = <x, y>: given y, s ~ N(<mu1, y>, y' cov1 y)."""
    a, cross = mu1 @ mu2, np.trace(cov1 @ cov2)
    b1, b2 = mu1 @ cov2 @ mu1, mu2 @ cov1 @ mu2
    s1 = a
    s2 = cross + b1 + b2 + a ** 2
    s3 = a ** 3 + 3 * a * (b1 + b2 + cross) + 6 * mu1 @ cov2 @ cov1 @ mu2
    return float(1 + 3 * gamma * s1 + 3 * gamma ** 2 * s2 + gamma ** 3 * s3)


def population_kvd(s: Scenario) -> float:
    """MMD² between the real and predicted marginals (what the KVD estimator estimates for rho = 0)."""
    mu, lift_p, lift_q = s.model()
    zero, cov_p, cov_q, g = np.zeros(s.d), lift_p @ lift_p.T, lift_q @ lift_q.T, 1.0 / s.d
    return (_cubic_kernel_mean(zero, cov_p, zero, cov_p, g) + _cubic_kernel_mean(mu, cov_q, mu, cov_q, g)
            - 2 * _cubic_kernel_mean(zero, cov_p, mu, cov_q, g))


def expected_at_n(s: Scenario, distance, draws: int, seed: int = 10**6) -> tuple[float, float]:
    """(E[distance at N videos], its sd over test sets), by Monte Carlo."""
    rng = np.random.default_rng(seed)
    values = [mean_over_trials(distance, *s.draw(rng)) for _ in range(draws)]
    return float(np.mean(values)), float(np.std(values, ddof=1))


def basic_bootstrap(distance, real, fake, estimate: float, resamples: int, seed: int) -> Interval:
    """The interval vbench reported before: reverse percentiles of the statistic on resamples with
    replacement (kept here only to measure it)."""
    index = np.random.default_rng(seed).integers(0, real.shape[0], size=(resamples, real.shape[0]))
    values = np.array([mean_over_trials(distance, real[i], fake[i]) for i in index])
    low, high = np.quantile(values, [0.025, 0.975])
    return Interval(estimate, 2 * estimate - high, 2 * estimate - low, 0.95, resamples)


def coverage(s: Scenario, distance, targets: dict[str, float], datasets: int, method: str = "jackknife",
             resamples: int = 200) -> dict[str, float]:
    """Share of `datasets` simulated test sets whose interval contains each target, mean width, and
    the share whose interval contains its own estimate."""
    rng = np.random.default_rng(s.seed + 1)
    hits = {name: 0 for name in targets}
    widths, own = [], 0
    for t in range(datasets):
        real, fake = s.draw(rng)
        estimate = mean_over_trials(distance, real, fake)
        if method == "jackknife":
            ci = set_distance_interval(real, fake, distance, estimate)
        else:
            ci = basic_bootstrap(distance, real, fake, estimate, resamples, t)
        for name, value in targets.items():
            hits[name] += ci.low <= value <= ci.high
        widths.append(ci.high - ci.low)
        own += ci.low <= estimate <= ci.high
    return {**{name: h / datasets for name, h in hits.items()}, "width": float(np.mean(widths)),
            "contains_estimate": own / datasets}


def table_row(label: str, s: Scenario, metric: str, datasets: int, draws: int, method: str = "jackknife") -> str:
    distance = frechet_distance if metric == "fvd" else kernel_distance
    expected, sd = expected_at_n(s, distance, draws)
    population = population_fd(s) if metric == "fvd" else population_kvd(s)
    got = coverage(s, distance, {"expected": expected, "population": population}, datasets, method)
    ideal = 2 * 1.96 * sd
    return (f"{label:<26} {metric.upper():<4} {s.n:>4} {s.d:>4} {expected:>10.4g} {population:>10.4g} "
            f"{got['expected']:>6.3f} {got['population']:>6.3f} {got['width']:>8.3g} {got['width'] / ideal:>5.2f}"
            f"  ({datasets} sets)")


if __name__ == "__main__":
    print(f"{'method / scenario':<26} {'':<4} {'N':>4} {'d':>4} {'E[D_N]':>10} {'D_pop':>10} "
          f"{'cov E':>6} {'cov pop':>6} {'width':>8} {'/ideal':>5}")
    for n in (64, 256):
        sets = 200 if n == 64 else 100
        print(table_row("jackknife, P != Q", Scenario(400, n), "fvd", sets, 1000), flush=True)
        print(table_row("jackknife, P = Q", Scenario(400, n, shift=0, pert=0), "fvd", sets, 1000), flush=True)
        print(table_row("jackknife, P != Q", Scenario(400, n), "kvd", sets, 1000), flush=True)
    print(table_row("jackknife, paired, K=4", Scenario(400, 64, rho=0.7, trials=4), "fvd", 150, 600), flush=True)
    print(table_row("basic bootstrap (old)", Scenario(400, 64), "fvd", 100, 1000, method="basic"), flush=True)
