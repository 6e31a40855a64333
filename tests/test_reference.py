"""Reference features (vbench.reference): the real clips' I3D features come from the store, the package's
files (embedded suites) or a file beside the prepared data, and are computed only when none holds them;
and the I3D path (per-clip on CPU, batched on CUDA) of a run."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import torch

import vbench.runner as runner
from conftest import write_suite
from vbench import reference
from vbench.cli import main
from vbench.data import load_test_clips
from vbench.data.prepared import PreparedWriter
from vbench.metrics.frechet import frechet_distance
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.suite import load_suite

FVD = importlib.import_module("vbench.metrics.fvd")     # the module (vbench.metrics.fvd is also a function)


def fake_features(clips: torch.Tensor, *_, **__) -> np.ndarray:
    """I3D stand-in: clips [N, T, C, H, W] -> their per-frame means [N, T] (float32 values, as I3D's)."""
    return clips.mean(dim=(2, 3, 4)).double().numpy()


def _fvd_clips(name: str, count: int | None = None) -> tuple:
    suite = load_suite(name)
    return suite, load_test_clips(suite, None, count or min(suite.fvd_videos, suite.num_videos))


def _refuse(*_, **__):
    raise AssertionError("I3D ran although the features are shipped")


# --- the package's files --------------------------------------------------------------------------

@pytest.mark.parametrize("name", reference.EMBEDDED_SUITES)
def test_shipped_features_match_a_recomputation(name):
    """The file's key is the one a run derives now (clips, frames, profile, I3D weights' sha256), and its
    features are what the runner computes: first and last clip recomputed on CPU with one torch thread.
    CPU I3D is not bit-reproducible across thread counts (measured: up to 1.1e-5 of a feature between 1 and 2
    threads), so the comparison allows the feature tolerance of tests/test_fvd.py."""
    suite, clips = _fvd_clips(name)
    shipped = reference.read(reference.SHIPPED, reference.features_key(suite, clips), len(clips))
    assert shipped is not None, f"no package file for {name} under the current key: python -m vbench.reference"
    assert shipped.shape == (suite.fvd_videos, 400)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        again = runner.real_clip_features(suite, clips, [0, len(clips) - 1], torch.device("cpu"))   # [2, 400]
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_allclose(shipped[[0, -1]], again, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", reference.EMBEDDED_SUITES)
def test_runner_uses_shipped_features_when_the_key_matches(tmp_path, monkeypatch, name):
    suite, clips = _fvd_clips(name)
    monkeypatch.setattr(runner, "_i3d_features", _refuse)
    with Store(tmp_path / "r.sqlite") as store:
        features = runner._real_features(store, suite, clips, torch.device("cpu"), False)
        key = reference.features_key(suite, clips)
        assert store.feature_cache_keys() == [key]              # cached in the store too: the report reads it there
        np.testing.assert_array_equal(np.stack(list(store.cached_features(key, list(range(len(clips)))).values())),
                                      features)
    np.testing.assert_array_equal(features, reference.read(reference.SHIPPED, key, len(clips)))


def test_shipped_features_are_ignored_under_other_weights(tmp_path, monkeypatch):
    suite, clips = _fvd_clips("smmnist-mini-gen")
    monkeypatch.setattr(runner, "_i3d_features", fake_features)
    monkeypatch.setattr(FVD, "features_fingerprint", lambda profile: {
        "embedding": "i3d-kinetics-400/logits-mean", "profile": profile, "weights_sha256": "0" * 64})
    with Store(tmp_path / "r.sqlite") as store:
        features = runner._real_features(store, suite, clips, torch.device("cpu"), False)
    np.testing.assert_array_equal(features, fake_features(torch.from_numpy(clips).float() / 255.0))


def test_build_shipped_writes_what_the_runner_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_i3d_features", fake_features)
    (tmp_path / "0123456789abcdef.npz").write_bytes(b"stale")
    (written,) = reference.build_shipped(["smmnist-mini-gen"], out=tmp_path)
    assert sorted(tmp_path.iterdir()) == [written]               # files of other keys are removed
    suite, clips = _fvd_clips("smmnist-mini-gen")
    np.testing.assert_array_equal(reference.read(tmp_path, reference.features_key(suite, clips), len(clips)),
                                  fake_features(torch.from_numpy(clips).float() / 255.0))


# --- files beside the prepared data ---------------------------------------------------------------

def _prepared_kth(tmp_path) -> tuple:
    """A prepared 'kth' of four 10-frame 16x16 videos and a suite over it (per-frame SSIM and FVD)."""
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    with PreparedWriter(root, "kth", "synthetic", {"resolution": 16}) as writer:
        for index in range(4):
            writer.add_video("test", f"person{index}", rng.integers(0, 256, (10, 1, 16, 16), dtype=np.uint8))
        writer.commit()
    suite = write_suite(tmp_path, name="kth-tiny", dataset="kth", test_list="", resolution=16, context_frames=2,
                        predicted_frames=8, num_videos=4, num_samples=1, fvd_videos=4, metrics=["ssim", "fvd"],
                        profiles={"ssim": "gaussian", "fvd": "tf"})
    return root, suite


@pytest.fixture
def counted(monkeypatch):
    """Fake I3D, and a count of the real-clip feature computations."""
    calls = []
    monkeypatch.setattr(runner, "_i3d_features", fake_features)
    monkeypatch.setattr(runner, "real_clip_features",
                        lambda suite, clips, videos, *a, **k: calls.append(list(videos)) or fake_features(
                            torch.from_numpy(clips[videos]).float() / 255.0))
    return calls


def test_prepared_data_features_are_computed_once_per_data_root(tmp_path, counted, capsys):
    root, suite = _prepared_kth(tmp_path)
    summaries = []
    for store in ("first.sqlite", "second.sqlite"):             # two stores, one data root
        run_id = run(RunRequest(suite=str(suite), model="copy_last", store=tmp_path / store, data_root=str(root),
                                device="cpu", progress=False))
        with Store(tmp_path / store) as s:
            record = s.run(run_id)
            assert len(s.feature_cache_keys()) == 1
        summaries.append(record.summary.metrics["fvd"])
        assert record.manifest["environment"]["i3d"] == "per-clip"
    assert counted == [[0, 1, 2, 3]]                             # the second store found them beside the data
    assert summaries[0] == summaries[1]
    (kept,) = (root / "kth" / reference.FOLDER).iterdir()
    assert main(["data", "info", "kth", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"{kept.name}: 4 test clips (frames 0-9), 16 px, FVD profile tf" in out


def test_unwritable_data_root_keeps_the_features_in_the_store(tmp_path, capsys):
    blocked = tmp_path / "data" / "kth"
    blocked.mkdir(parents=True)
    (blocked / reference.FOLDER).write_text("a file where the folder would go")   # as good as read-only, even as root
    features = np.arange(8, dtype=np.float32).reshape(2, 4)
    with Store(tmp_path / "r.sqlite") as store:
        got, source = reference.real_features(store, "k", 2, lambda videos: features[videos],
                                              blocked / reference.FOLDER)
        assert source == "computed" and list(store.cached_features("k", [0, 1])) == [0, 1]
        np.testing.assert_array_equal(got, features)
    assert "cannot keep the real clips' I3D features" in capsys.readouterr().err


def test_foreign_corrupt_and_interrupted_files(tmp_path, monkeypatch):
    folder = tmp_path / "reference"
    features = np.ones((3, 4), np.float32)
    umask = os.umask(0o027)
    try:
        path = reference.write(folder, "other key", features)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o640               # the umask's, as for any file (not mkstemp's 0600)
    path.rename(folder / reference.file_name("k"))                # the right name, another key inside
    assert reference.read(folder, "k", 3) is None
    (folder / reference.file_name("k")).write_bytes(b"PK\x03\x04 truncated")
    assert reference.read(folder, "k", 3) is None
    assert reference.describe(folder) == [f"{reference.file_name('k')}: unreadable (it is ignored, and replaced "
                                          "at the next run that needs it)"]
    with Store(tmp_path / "r.sqlite") as store:                  # a run computes and replaces the broken file
        assert reference.real_features(store, "k", 3, lambda videos: features[videos], folder)[1] == "computed"
        assert reference.real_features(store, "k", 3, _refuse, folder)[1] == "store"
    np.testing.assert_array_equal(reference.read(folder, "k", 3), features)
    assert reference.read(folder, "k", 2) is None                # another number of clips: not these features

    prepare = importlib.import_module("vbench.data.prepare")

    def interrupted(*_):
        raise KeyboardInterrupt
    monkeypatch.setattr(prepare.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        reference.write(folder, "new key", features)
    assert sorted(p.name for p in folder.iterdir()) == [reference.file_name("k")]   # no partial or temporary file


# --- the I3D path -----------------------------------------------------------------------------------

def test_cuda_runs_i3d_in_batches_and_cpu_per_clip(monkeypatch):
    passes = []
    monkeypatch.setattr(runner, "i3d_features", lambda clips, **kw: passes.append((len(clips), kw["batch_size"]))
                        or np.zeros((len(clips), 400)))
    suite = load_suite("smmnist-mini-gen")
    clips = torch.zeros(40, 16, 1, 8, 8)                          # [N, T, C, H, W]
    assert runner._i3d_features(clips, suite, torch.device("cpu")).shape == (40, 400)
    assert passes == [(1, 1)] * 40
    passes.clear()
    runner._i3d_features(clips, suite, torch.device("cuda"))    # not run on a GPU: the fake records the batches
    assert passes == [(16, 16), (16, 16), (8, 16)]
    assert (FVD.i3d_path("cpu"), FVD.i3d_path(torch.device("cuda", 0))) == ("per-clip", "batched")


def test_batched_and_per_clip_features_agree_within_fvd_tolerance(monkeypatch):
    """On CPU (the batched path forced), three real clips of 10 frames: features to the tolerance of
    tests/test_fvd.py, FVD between two sets of them to 1e-4."""
    suite, clips = _fvd_clips("smmnist-mini", 3)
    real = torch.from_numpy(clips[:, :10]).float() / 255.0                # [3, 10, 1, 64, 64]
    per_clip = runner._i3d_features(real, suite, torch.device("cpu"))
    monkeypatch.setattr(runner, "i3d_path", lambda device: "batched")
    batched = runner._i3d_features(real, suite, torch.device("cpu"))      # one pass of 3 clips
    np.testing.assert_allclose(batched, per_clip, rtol=1e-5, atol=1e-4)
    assert frechet_distance(batched[:2], batched[1:]) == pytest.approx(
        frechet_distance(per_clip[:2], per_clip[1:]), rel=1e-4)
