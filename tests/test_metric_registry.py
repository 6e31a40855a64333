"""One table of metrics (vbench.metric_registry): it agrees with the implementations, and the
module docstring's example adds a metric that runs, selects and summarises end to end."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest
import torch

import vbench.metric_registry as registry
from conftest import write_suite
from vbench.data import load_test_clips
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.suite import load_suite


def test_the_registry_names_the_profiles_the_implementations_have():
    from vbench.metrics.fvd import PROFILES as FVD_PROFILES
    from vbench.metrics.lpips import PROFILE_NETS
    from vbench.metrics.ssim import PROFILES as SSIM_PROFILES
    assert set(registry.METRICS["ssim"].profiles) == set(SSIM_PROFILES)
    assert set(registry.METRICS["lpips"].profiles) == set(PROFILE_NETS)
    assert set(registry.METRICS["fvd"].profiles) == set(FVD_PROFILES)
    frames = torch.rand(2, 1, 32, 32)
    for name in registry.frame_metric_names():
        for profile in registry.METRICS[name].profiles:
            if name == "lpips" and profile != "alex-v0.1":
                continue                                         # VGG weights: tested in test_lpips
            assert registry.METRICS[name].build(profile, "cpu")(frames, frames).shape == (2,)
    assert registry.set_metric_names() == ("fvd", "kvd")
    assert registry.profile_key("kvd") == registry.FEATURES_PROFILE == registry.profile_key("fvd")


def test_the_documented_example_adds_a_metric_in_one_entry(tmp_path, monkeypatch):
    example = re.search(r"for example:\n\n(.*?)\n\nafter which", registry.__doc__, flags=re.S).group(1)
    namespace = {"MetricSpec": registry.MetricSpec, "METRICS": {}}
    exec(textwrap.dedent(example), namespace)                       # the docstring's code, as written
    monkeypatch.setitem(registry.METRICS, "mae", namespace["METRICS"]["mae"])
    suite = write_suite(tmp_path, metrics=["ssim", "mae"], profiles={}, selection="by:mae")
    store = tmp_path / "s.db"
    copy = run(RunRequest(suite=str(suite), model="copy_last", store=store, progress=False, device="cpu"))
    noisy = run(RunRequest(suite=str(suite), model="noisy_copy_last", store=store, progress=False, device="cpu"))
    loaded = load_suite(suite)
    clips = load_test_clips(loaded).astype(np.float64) / 255.0       # [V, T, C, H, W]
    last, future = clips[:, loaded.context_frames - 1:loaded.context_frames], clips[:, loaded.context_frames:]
    want = np.abs(future - last).mean(axis=(2, 3, 4))                # [V, T]: copy_last's MAE, computed apart
    with Store(store) as s:
        np.testing.assert_allclose(s.scores(copy)[1]["mae"][:, 0], want, atol=1e-6)
        summary, per_frame = s.run(noisy).summary.metrics, s.scores(noisy)[1]["mae"]    # [V, S, T]
    assert summary["mae"].higher_is_better is False and summary["mae"].profile == "frame"
    chosen = per_frame.mean(axis=2).argmin(axis=1)                   # by:mae: the sample of lowest MAE
    assert summary["mae"].best.chosen_sample == chosen.tolist() == summary["ssim"].best.chosen_sample


def test_an_unknown_metric_names_the_registry_ones(tmp_path):
    from vbench.errors import SuiteError
    with pytest.raises(SuiteError, match="unknown metric mae; known: ssim, psnr, lpips, fvd, kvd"):
        load_suite(write_suite(tmp_path, metrics=["ssim", "mae"]))
