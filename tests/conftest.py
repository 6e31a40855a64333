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


def score_rows(store_path: Path, run_id: str) -> int:
    """video_scores rows of a run, counted straight from the SQLite file."""
    import sqlite3
    with sqlite3.connect(store_path) as conn:
        return conn.execute("SELECT COUNT(*) FROM video_scores WHERE run_id = ?", (run_id,)).fetchone()[0]


def wait_for(condition, timeout: float = 180.0) -> None:
    """Poll `condition()` every 0.1 s until it holds (TimeoutError after `timeout` seconds)."""
    import time
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.1)


def videos_done(store_path: Path) -> int:
    """Test videos stored for the first run of a store another process is writing (0 before it exists)."""
    import sqlite3

    from vbench.store import Store
    if not store_path.exists():
        return 0
    try:
        with Store(store_path) as store:
            runs = store.runs()
            return len(store.done_videos(runs[0].id)) if runs else 0
    except sqlite3.OperationalError:
        return 0


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
