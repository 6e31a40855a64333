"""LPIPS throughput (pytest-benchmark). Disabled by default; run with

    pytest tests/test_bench_lpips.py --benchmark-enable

When benchmarks are disabled the same code runs once on a few frames, as a smoke test.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
import torch

from conftest import write_suite
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


class _PairPathScorer:
    """``_Scorer.score_video`` as it was before ``video_scores``: LPIPS on (sample, target) pairs,
    the target expanded to S copies, then diversity runs the samples again (3*S*T frames)."""

    def __init__(self, scorer):
        self.metrics = scorer.metrics

    def score_video(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
        s, t = pred.shape[:2]
        flat_pred = pred.reshape(s * t, *pred.shape[2:])  # [S*T, C, H, W]
        flat_target = target[None].expand(s, *target.shape).reshape_as(flat_pred)
        scores = {m: fn(flat_pred, flat_target).reshape(s, t).double().cpu().numpy()
                  for m, fn in self.metrics.items()}
        scores["diversity"] = _diversity_per_frame(pred, self.metrics["lpips"]).numpy()[None]  # [1, T]
        return scores


def _diversity_per_frame(samples: torch.Tensor, metric: LPIPS) -> torch.Tensor:
    """``diversity`` as it was: a backbone pass per time step, of its S samples, then all pairs by
    Gram matrices computed from the (channels_last) features flattened channels-major."""
    s = samples.shape[0]
    i, j = torch.triu_indices(s, s, offset=1)
    out = []
    for k in range(samples.shape[1]):
        total = 0
        for lin, f in zip(metric.model.lins, metric.features(samples[:, k]).layers, strict=True):
            a = f.to(torch.float64)  # [S, c, h, w]
            gram = (a * lin.model[-1].weight.to(torch.float64)).flatten(1) @ a.flatten(1).T  # [S, S]
            sq = gram.diagonal()
            total = total + (sq[:, None] + sq[None, :] - 2 * gram) / (f.shape[2] * f.shape[3])
        out.append(total[i, j].mean().item())
    return torch.tensor(out, dtype=torch.float32)  # [T]


def _backbone_frames(metric: LPIPS, fn, *args) -> tuple[int, object]:
    """(frames through the backbone during fn(*args), its result), counted by a forward hook."""
    seen = [0]
    handle = metric.model.net.register_forward_hook(
        lambda module, inputs, output: seen.__setitem__(0, seen[0] + inputs[0].shape[0]))
    try:
        out = fn(*args)
    finally:
        handle.remove()
    return seen[0], out


@pytest.fixture(scope="module")
def bair_scorer(tmp_path_factory):
    """A ``_Scorer`` with the per-frame metrics of the bair suite (ssim, psnr, lpips alex-v0.1)."""
    from vbench.runner import _Scorer
    from vbench.suite import load_suite

    suite = load_suite(write_suite(
        tmp_path_factory.mktemp("suite"), metrics=["ssim", "psnr", "lpips"],
        profiles={"ssim": "gaussian", "psnr": "frame", "lpips": "alex-v0.1"}))
    return _Scorer(suite, torch.device("cpu"), num_samples=100)


@pytest.mark.parametrize("samples", [10, 100])
def test_bench_score_video_bair(benchmark, bair_scorer, samples):
    """score_video on a BAIR-shaped video (S samples x 28 frames, 3x64x64). The benchmark times the
    current one; before each round the pair path it replaced runs and is timed as well, so the two
    alternate under the same machine load. extra_info: both medians, the speed-up, and the
    backbone frames of each (forward hook), also per sample frame (S*T)."""
    s, t = (3, 2) if benchmark.disabled else (samples, 28)
    gen = torch.Generator().manual_seed(3)
    pred, target = torch.rand(s, t, 3, 64, 64, generator=gen), torch.rand(t, 3, 64, 64, generator=gen)
    old, metric = _PairPathScorer(bair_scorer), bair_scorer.metrics["lpips"]
    frames_new, _ = _backbone_frames(metric, bair_scorer.score_video, pred, target)  # + warm-up
    frames_old, _ = _backbone_frames(metric, old.score_video, pred, target)
    assert (frames_new, frames_old) == (s * t + t, 3 * s * t)
    old_times = []

    def run_old() -> tuple[tuple, dict]:
        start = time.perf_counter()
        old.score_video(pred, target)
        old_times.append(time.perf_counter() - start)
        return (pred, target), {}

    benchmark.pedantic(bair_scorer.score_video, setup=run_old, rounds=3)
    if not benchmark.disabled:
        new_s, old_s = benchmark.stats.stats.median, statistics.median(old_times)
        benchmark.extra_info.update(
            old_median_s=old_s, new_median_s=new_s, speedup=old_s / new_s,
            backbone_frames_new=frames_new, backbone_frames_old=frames_old,
            new_frames_per_sample_frame=frames_new / (s * t),
            old_frames_per_sample_frame=frames_old / (s * t), threads=torch.get_num_threads())
