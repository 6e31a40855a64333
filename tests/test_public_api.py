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
