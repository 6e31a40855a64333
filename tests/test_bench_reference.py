"""First run against second run of the README's default command (pytest-benchmark). Disabled by
default (the two runs take minutes); run with

    pytest tests/test_bench_reference.py --benchmark-enable -s

`vbench run --suite smmnist-mini --model copy_last` runs twice, each in a fresh process, in one fresh
directory (a new store): the first run finds the real clips' I3D features in the package
(vbench.reference), so it should cost little more than the second, which finds them in the store.
`extra_info` holds both wall times, their ratio and the load average before and after (the machine
may be shared). Target: ratio <= 1.3.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

COMMAND = ["-m", "vbench", "run", "--suite", "smmnist-mini", "--model", "copy_last", "--no-progress"]


def _timed_run(cwd) -> float:  # noqa: ANN001
    started = time.perf_counter()
    subprocess.run([sys.executable, *COMMAND], cwd=cwd, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - started


def test_bench_first_run_against_second(benchmark, tmp_path) -> None:  # noqa: ANN001
    if benchmark.disabled:
        pytest.skip("benchmarks are disabled; run with --benchmark-enable")
    load_before = os.getloadavg()
    cold = benchmark.pedantic(_timed_run, args=(tmp_path,), rounds=1, iterations=1)
    warm = _timed_run(tmp_path)
    benchmark.extra_info.update(cold_s=cold, warm_s=warm, ratio=cold / warm, load_before=load_before,
                                load_after=os.getloadavg())
    print(f"\nfirst run {cold:.1f} s, second {warm:.1f} s, ratio {cold / warm:.2f}; "
          f"load average {load_before[0]:.2f} -> {os.getloadavg()[0]:.2f}")
    assert cold / warm <= 1.3
