"""The names the issues promise under `vbench.metrics` are the functions/classes, not submodules."""

import importlib

import torch


def test_metric_names_are_callables_even_after_submodule_imports():
    for sub in ("ssim", "psnr", "fvd", "lpips", "i3d", "frechet"):
        importlib.import_module(f"vbench.metrics.{sub}")
    import vbench.metrics as metrics
    x = torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert metrics.ssim(x, x).shape == (2,) and torch.allclose(metrics.ssim(x, x).double(), torch.ones(2, dtype=torch.float64))
    assert metrics.psnr(x, x.flip(-1)).shape == (2,)
    assert callable(metrics.fvd) and callable(metrics.kvd) and callable(metrics.i3d_features)
    assert isinstance(metrics.LPIPS, type) and isinstance(metrics.I3D, type)
    assert callable(metrics.frechet_distance) and callable(metrics.kernel_distance)


def test_the_python_api_is_there_and_import_vbench_stays_light():
    import subprocess
    import sys
    code = ("import sys, vbench; heavy = [m for m in ('torch', 'numpy', 'pandas', 'vbench.api') if m in sys.modules]; "
            "print(heavy); vbench.evaluate; vbench.load_runs; vbench.Result; "
            "print('torchmetrics' in sys.modules); import vbench.metrics; print('torchmetrics' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["[]", "False", "False"]       # the API loads on first use; torchmetrics with a streaming metric
    import vbench
    import vbench.api as api
    assert (vbench.evaluate, vbench.load_runs, vbench.Result) == (api.evaluate, api.load_runs, api.Result)


def test_the_streaming_metrics_are_torchmetrics_metrics_and_lpips_stays_the_network():
    import torchmetrics

    import vbench.metrics as metrics
    import vbench.metrics.streaming as streaming
    for name in ("FVD", "KVD", "SSIM", "PSNR"):
        assert getattr(metrics, name) is getattr(streaming, name) and issubclass(getattr(metrics, name), torchmetrics.Metric)
    assert issubclass(streaming.LPIPS, torchmetrics.Metric)
    assert metrics.LPIPS is importlib.import_module("vbench.metrics.lpips").LPIPS
    assert callable(metrics.lpips) and metrics.lpips is importlib.import_module("vbench.metrics.functional").lpips
