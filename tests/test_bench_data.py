"""Reading speed of the prepared form (pytest-benchmark). Disabled by default; run with

    pytest tests/test_bench_data.py --benchmark-enable

A prepared BAIR-format dataset of 256 test trajectories (30 frames, 3x64x64, as
`vbench data prepare bair` writes it) is served as the `bair` suite's 256 clips.
`extra_info["clips_per_s"]` holds the rate. When benchmarks are disabled the same code runs once.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from vbench.data import load_test_clips
from vbench.data.prepared import PreparedWriter
from vbench.suite import load_suite

VIDEOS = 256


@pytest.fixture(scope="module")
def bair_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    with PreparedWriter(root, "bair", "synthetic", {"resolution": 64}) as writer:
        for index in range(VIDEOS):
            writer.add_video("test", f"traj_0_to_255/{index}",
                             rng.integers(0, 256, (30, 3, 64, 64), dtype=np.uint8))
        writer.commit()
    return root


def test_bench_prepared_bair_clips(benchmark, bair_root):
    suite = load_suite("bair")
    start = time.perf_counter()
    clips = benchmark(lambda: np.asarray(load_test_clips(suite, bair_root)))   # [256, 30, 3, 64, 64]
    elapsed = time.perf_counter() - start
    assert clips.shape == (VIDEOS, 30, 3, 64, 64)
    mean = benchmark.stats.stats.mean if benchmark.stats else elapsed
    benchmark.extra_info["clips_per_s"] = VIDEOS / mean
