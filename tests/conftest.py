from __future__ import annotations

from pathlib import Path

import pytest
import torchvision.models  # noqa: F401  (see below)
import yaml

# TensorFlow (an independent reference in several tests) and torch's triton loader crash the process
# (SIGSEGV) when TensorFlow is imported first and torchvision.models (LPIPS) after it. Importing
# torchvision.models here, before any test module imports TensorFlow, fixes the order for the session.

pytest_plugins = ["pytester"]   # tests of the vbench_check fixture run pytest on generated files

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for torchrun's rendezvous)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_suite(tmp_path: Path, **overrides) -> Path:
    """A small variant of smmnist-mini (per-frame metrics only unless overridden), as a user file."""
    data = yaml.safe_load((REPO / "vbench" / "suites" / "smmnist-mini.yaml").read_text())
    data.pop("truth", None)     # truth scores only where a test asks for them (truth={...})
    data.update(name="tiny", version=1, num_videos=6, num_samples=3, metrics=["ssim", "psnr"],
                profiles={"ssim": "gaussian", "psnr": "frame"}, fvd_videos=6)
    data.update(overrides)
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(params=["compiled", "torch"])
def metric_path(request, monkeypatch):
    """Run a test with the compiled CPU kernels of SSIM and MSE, then with their torch code (the
    path of CUDA) on CPU."""
    if request.param == "torch":
        import sys

        import vbench.metrics   # noqa: F401  (`vbench.metrics.ssim` is the function; the modules are in sys.modules)
        ssim_module, psnr_module = sys.modules["vbench.metrics.ssim"], sys.modules["vbench.metrics.psnr"]
        monkeypatch.setattr(ssim_module, "_ssim_means_compiled", ssim_module._ssim_means_torch)
        monkeypatch.setattr(psnr_module, "_mse_compiled", psnr_module._mse_torch)
    return request.param


@pytest.fixture
def tiny_suite(tmp_path: Path) -> Path:
    return write_suite(tmp_path)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module (`pytestmark = pytest.mark.usefixtures("one_torch_thread")`): small
    models run several times faster on one thread than on two cores shared with other work."""
    import torch
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
