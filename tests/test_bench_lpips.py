"""LPIPS throughput (pytest-benchmark). Disabled by default; run with

    pytest tests/test_bench_lpips.py --benchmark-enable

When benchmarks are disabled the same code runs once on a few frames, as a smoke test.
"""

from __future__ import annotations

import pytest
import torch

from vbench.metrics.lpips import LPIPS, diversity

PAIRS = 2000  # 64x64 grey frame pairs per round, e.g. 100 videos x 20 frames


@pytest.fixture(scope="module")
def alex() -> LPIPS:
    return LPIPS("alex")


def _frames(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 1, 64, 64, generator=torch.Generator().manual_seed(seed))


def test_bench_lpips_alex_64_grey(benchmark, alex):
    n = 16 if benchmark.disabled else PAIRS
    pred, target = _frames(n, 0), _frames(n, 1)
    out = benchmark.pedantic(alex, args=(pred, target), rounds=3, warmup_rounds=1)
    assert out.shape == (n,)
    if not benchmark.disabled:
        benchmark.extra_info["frame_pairs"] = n
        benchmark.extra_info["pairs_per_s"] = n / benchmark.stats.stats.median
        benchmark.extra_info["threads"] = torch.get_num_threads()


def test_bench_diversity_alex_64_grey(benchmark, alex):
    """Diversity of 100 samples x 20 frames (4,950 pairs per frame; features once per sample)."""
    s, t = (3, 2) if benchmark.disabled else (100, 20)
    samples = torch.rand(s, t, 1, 64, 64, generator=torch.Generator().manual_seed(2))
    out = benchmark.pedantic(diversity, args=(samples, alex), rounds=1, warmup_rounds=0)
    assert out.shape == (t,)
    if not benchmark.disabled:
        benchmark.extra_info["sample_frames_per_s"] = s * t / benchmark.stats.stats.median
