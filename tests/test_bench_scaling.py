"""How evaluation cost grows with test videos x samples x frames (pytest-benchmark). Run with

    pytest tests/test_bench_scaling.py --benchmark-enable

Three sizes of an smmnist-mini variant are scored end to end by the runner (noisy copy-last, a
model that costs next to nothing, so the time is the harness's: SSIM + PSNR + LPIPS per predicted
frame, storage, selection). `extra_info` holds frames scored and seconds per frame; the scaling
exponent is the slope of log(time) against log(V x S x T) between the two largest sizes, and a
least-squares line gives the fixed cost (model and network loading) and the marginal cost per frame.
When benchmarks are disabled only the smallest size runs once, as a smoke test.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from conftest import write_suite
from vbench.runner import RunRequest, run

# (videos, samples, predicted frames): V x S x T = 40, 320, 2560 frames
SIZES = [(2, 2, 10), (4, 8, 10), (8, 16, 20)]
TIMES: dict[tuple[int, int, int], float] = {}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
def test_bench_scaling(benchmark, tmp_path, size):
    if benchmark.disabled and size != SIZES[0]:
        pytest.skip("benchmarks disabled: only the smallest size runs, as a smoke test")
    videos, samples, frames = size
    suite = write_suite(tmp_path, num_videos=videos, num_samples=samples, predicted_frames=frames,
                        metrics=["ssim", "psnr", "lpips"],
                        profiles={"ssim": "gaussian", "psnr": "frame", "lpips": "alex-v0.1"}, fvd_videos=videos)

    def score() -> None:
        run(RunRequest(suite=str(suite), model="noisy_copy_last", store=tmp_path / f"{time.time_ns()}.db",
                       progress=False, device="cpu"))

    started = time.perf_counter()
    benchmark.pedantic(score, rounds=1, iterations=1)
    elapsed = benchmark.stats.stats.median if benchmark.stats else time.perf_counter() - started
    TIMES[size] = elapsed
    count = videos * samples * frames
    benchmark.extra_info.update(frames=count, seconds_per_frame=elapsed / count)
    if len(TIMES) == len(SIZES):
        # t = fixed + per_frame * n by least squares, and the log-log slope between the two largest sizes
        n = np.array([v * s * t for v, s, t in SIZES], dtype=float)
        t = np.array([TIMES[s] for s in SIZES])
        per_frame, fixed = np.polyfit(n, t, 1)
        benchmark.extra_info.update(
            fixed_seconds=float(fixed), marginal_seconds_per_frame=float(per_frame),
            scaling_exponent=math.log(t[-1] / t[-2]) / math.log(n[-1] / n[-2]))
