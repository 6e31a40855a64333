"""vbench.metrics.streaming: torchmetrics objects equal to the functions on the whole set, and
across two gloo processes equal to one process; the functions refuse what breaks their contract."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest
import torch

import streaming_worker
from conftest import REPO, free_port
from vbench import metrics
from vbench.errors import MetricInputError
from vbench.metrics.streaming import FVD, KVD, LPIPS, PSNR, SSIM

fvd_module = importlib.import_module("vbench.metrics.fvd")


def _videos(seed: int, count: int = 4) -> torch.Tensor:
    return torch.rand(count, 10, 1, 16, 16, generator=torch.Generator().manual_seed(seed))   # [B, T, C, H, W]


def test_streaming_fvd_over_batches_of_3_equals_fvd_of_the_whole_set_and_keeps_only_features():
    real, fake = _videos(0), _videos(1) ** 2
    metric = FVD()
    for start in range(0, 4, 3):
        metric.update(real[start:start + 3], fake[start:start + 3])
    assert [tuple(f.shape) for f in metric.real_features] == [(3, 400), (1, 400)]       # features, never videos
    assert sum(f.numel() for f in metric.fake_features) == 4 * 400
    assert metric.compute().item() == pytest.approx(metrics.fvd(real, fake), rel=1e-6)


def test_streaming_kvd_equals_kvd_and_reset_forgets(monkeypatch):
    monkeypatch.setattr(fvd_module, "get_i3d", streaming_worker.stand_in_i3d)
    real, fake = streaming_worker.clips()                                  # 7 videos each
    for kernel in ({}, {"num_subsets": 3, "subset_size": 4, "seed": 1, "degree": 2}):
        metric = KVD(**kernel)
        metric.update(real[:2], fake[:2])
        metric.update(real[2:], fake[2:])
        assert metric.compute().item() == pytest.approx(metrics.kvd(real, fake, **kernel), rel=1e-9)
    metric.reset()
    metric.update(real[:4], fake[:4])
    assert [f.shape[0] for f in metric.real_features] == [4]
    assert metric.compute().item() == pytest.approx(metrics.kvd(real[:4], fake[:4], **kernel), rel=1e-9)


@pytest.mark.parametrize("cls, function", [(SSIM, metrics.ssim), (PSNR, metrics.psnr), (LPIPS, metrics.lpips)])
def test_streaming_frame_metrics_are_the_mean_per_frame_score(cls, function):
    real, fake = streaming_worker.clips()                                  # [7, 10, 1, 32, 32]
    metric = cls()
    metric.update(fake[:3], real[:3])                                      # videos
    metric.update(fake[3:].flatten(0, 1), real[3:].flatten(0, 1))          # frames
    expected = function(fake.flatten(0, 1), real.flatten(0, 1)).double().mean().item()
    assert metric.compute().item() == pytest.approx(expected, rel=1e-12)
    assert cls.higher_is_better == (cls is not LPIPS)


def test_two_gloo_processes_give_the_scores_of_one_process(monkeypatch):
    monkeypatch.setattr(fvd_module, "get_i3d", streaming_worker.stand_in_i3d)
    alone = streaming_worker.streaming_scores(0, 1, batch=3)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=f"{REPO}{os.pathsep}{REPO / 'tests'}")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
               "127.0.0.1", "--master_port", str(free_port()), str(REPO / "tests" / "streaming_worker.py")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(two) == set(alone) == {"fvd", "kvd", "ssim", "psnr", "lpips"}
    # The same numbers, summed / concatenated in another order; LPIPS runs a float32 network on other
    # batches of frames (its convolutions round differently), the stand-in I3D is float64 clip by clip.
    for name in alone:
        assert two[name] == pytest.approx(alone[name], rel=1e-6 if name == "lpips" else 1e-9), name


def test_the_functions_refuse_what_breaks_their_contract():
    x = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    for function in (metrics.ssim, metrics.psnr, metrics.lpips):
        with pytest.raises(MetricInputError, match=r"pred must be in \[0, 1\]; its values are in \[-0\.9998, "):
            function(x * 2 - 1, x)
        with pytest.raises(MetricInputError, match="target must be in"):
            function(x, torch.where(x > 0.5, torch.nan, x))
        with pytest.raises(MetricInputError, match="floating-point"):
            function((x * 255).to(torch.uint8), x)
        with pytest.raises(MetricInputError, match=r"\[N, C, H, W\]"):
            function(x[0], x[0])
    assert metrics.ssim(x * 255, x * 255, data_range=255.0).shape == (2,)    # [0, data_range] where it is given
    with pytest.raises(ValueError, match="at least 10"):
        metrics.i3d_features(_videos(0)[:, :9])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.fvd(_videos(0) * 2, _videos(1))
    with pytest.raises(MetricInputError, match="unknown FVD profile"):
        FVD(profile="clean")
    assert issubclass(MetricInputError, ValueError)
