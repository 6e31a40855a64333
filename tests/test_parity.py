"""``vbench.parity``: our I3D against the original TF-Hub module; the loader's offline behaviour.

The real comparison runs only where the TF-Hub I3D is already on disk (``$TFHUB_CACHE_DIR``); tests
never download. Everything else runs against a tiny TF1-format module built here, in a temporary
TF-Hub cache, so no test touches the network.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vbench.errors import VBenchError
from vbench.metrics.fvd import preprocess
from vbench.parity import (
    DEFAULT_HANDLE,
    INSTALL_HINT,
    MEAN_TENSOR,
    compare_fvd,
    format_parity,
    load_tfhub_i3d,
    parity_clips,
    tfhub_features,
    tfhub_module_dir,
)

# --------------------------------------------------------------------------------------------
# The real TF-Hub I3D, where it is on disk
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_tfhub_i3d():
    """Probe once: the TF-Hub module loads offline, or the test is skipped saying why."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        pytest.skip(f"tensorflow not installed ({INSTALL_HINT})")
    path = tfhub_module_dir(DEFAULT_HANDLE)
    if not (path / "saved_model.pb").is_file():
        env = os.environ.get("TFHUB_CACHE_DIR") or f"(unset, default {path.parent})"
        pytest.skip(
            f"TF-Hub module not in TFHUB_CACHE_DIR={env} (looked for {path}); tests never "
            "download: run `vbench parity fvd` once with network, or copy the module there"
        )
    return load_tfhub_i3d(DEFAULT_HANDLE, download=False)


@pytest.mark.slow
def test_ours_matches_tfhub_i3d(real_tfhub_i3d) -> None:
    result = compare_fvd(num_videos=16, num_frames=16, seed=0, resolution=64, model=real_tfhub_i3d)
    print("\n" + format_parity(result))
    assert result["output"] == MEAN_TENSOR
    assert result["max_abs_logit_diff"] < 1e-3
    assert result["fvd_rel_diff"] < 1e-3


# --------------------------------------------------------------------------------------------
# Loader errors: clear, offline, fast
# --------------------------------------------------------------------------------------------


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "tfhub"
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    return cache


def test_missing_tensorflow_hub_is_a_clear_error(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("tensorflow")
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # import tensorflow_hub -> ImportError
    with pytest.raises(VBenchError) as err:
        load_tfhub_i3d(DEFAULT_HANDLE)
    msg = str(err.value)
    assert INSTALL_HINT in msg
    assert "tensorflow_hub" in msg
    assert f"TFHUB_CACHE_DIR={empty_cache}" in msg


def test_missing_tensorflow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    with pytest.raises(VBenchError, match="needs TensorFlow") as err:
        load_tfhub_i3d(DEFAULT_HANDLE)
    assert INSTALL_HINT in str(err.value)


def test_not_cached_and_no_download_names_the_path(empty_cache: Path) -> None:
    pytest.importorskip("tensorflow")
    expected = empty_cache / hashlib.sha1(DEFAULT_HANDLE.encode()).hexdigest()
    assert tfhub_module_dir(DEFAULT_HANDLE) == expected
    with pytest.raises(VBenchError, match="downloading is disabled") as err:
        load_tfhub_i3d(DEFAULT_HANDLE, download=False)
    assert f"TFHUB_CACHE_DIR={empty_cache}" in str(err.value)
    assert str(expected) in str(err.value)


def test_failed_download_is_a_clear_error(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub whose resolve fails as it does offline (URLError): wrapped, with the cache path."""
    pytest.importorskip("tensorflow")
    import types
    import urllib.error

    def resolve(handle: str) -> str:
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setitem(sys.modules, "tensorflow_hub", types.SimpleNamespace(resolve=resolve))
    with pytest.raises(VBenchError, match="downloading it failed .*URLError") as err:
        load_tfhub_i3d(DEFAULT_HANDLE)
    assert f"TFHUB_CACHE_DIR={empty_cache}" in str(err.value)


def test_local_directory_without_module(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    with pytest.raises(VBenchError, match="not a TF-Hub module directory"):
        load_tfhub_i3d(str(tmp_path))


# --------------------------------------------------------------------------------------------
# A tiny TF1-format hub module with the I3D's interface, in a temporary TF-Hub cache
# --------------------------------------------------------------------------------------------

WEIGHT = np.random.RandomState(0).randn(3, 400).astype(np.float32)


def _fake_logits(x: np.ndarray) -> np.ndarray:
    """What the fake module computes on ``[B, T, 224, 224, 3]``: per-frame colour means x W,
    averaged over time."""
    return (x.astype(np.float64).mean(axis=(2, 3)) @ WEIGHT.astype(np.float64)).mean(axis=1)


def _build_fake_module(path: Path) -> None:
    import tensorflow as tf

    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, None, 224, 224, 3], name="rgb_input")
        with tf.compat.v1.variable_scope("RGB/inception_i3d"):
            w = tf.compat.v1.get_variable("w", initializer=tf.constant(WEIGHT))
            pooled = tf.reduce_mean(x, axis=[2, 3], name="pool")  # [B, T, 3]
            per_frame = tf.einsum("btc,cd->btd", pooled, w)  # [B, T, 400]
            mean = tf.reduce_mean(per_frame, axis=1, name="Mean")
        assert mean.name == MEAN_TENSOR
        out = tf.identity(mean, name="logits")
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            builder = tf.compat.v1.saved_model.Builder(str(path))
            sig = tf.compat.v1.saved_model.predict_signature_def({"default": x}, {"default": out})
            builder.add_meta_graph_and_variables(sess, tags=[], signature_def_map={"default": sig})
            builder.save()
    (path / "tfhub_module.pb").write_bytes(b"")  # marks the TF1 hub format, as hub.load checks


@pytest.fixture(scope="module")
def fake_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    cache = tmp_path_factory.mktemp("tfhub_cache")
    _build_fake_module(cache / hashlib.sha1(DEFAULT_HANDLE.encode()).hexdigest())
    return cache


@pytest.fixture
def fake_model(fake_cache: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(fake_cache))
    monkeypatch.setitem(sys.modules, "tensorflow_hub", None)  # a cached module needs no hub
    return load_tfhub_i3d(DEFAULT_HANDLE, download=False)


def test_cached_module_loads_offline_and_reads_the_mean_tensor(
    fake_model, fake_cache: Path
) -> None:
    assert fake_model.path == tfhub_module_dir(DEFAULT_HANDLE)
    assert fake_model.path.parent == fake_cache
    assert fake_model.output == MEAN_TENSOR
    x = np.random.RandomState(1).uniform(-1, 1, (2, 10, 224, 224, 3)).astype(np.float32)
    y = fake_model(x)
    assert y.shape == (2, 400) and y.dtype == np.float64
    np.testing.assert_allclose(y, _fake_logits(x), atol=1e-5)


def test_tfhub_features_use_our_preprocessing(fake_model) -> None:
    videos = parity_clips(3, 10, 20, seed=3)[:, :, :1]  # grey: tiled to RGB by our preprocess
    feats = tfhub_features(videos, model=fake_model, batch_size=2)
    ours = preprocess(videos).permute(0, 2, 3, 4, 1).numpy()  # [B, T, 224, 224, 3] in [-1, 1]
    np.testing.assert_allclose(feats, _fake_logits(ours), atol=1e-4)  # TF float32 sums


def test_compare_fvd_plumbing(fake_model, monkeypatch: pytest.MonkeyPatch) -> None:
    """With "our" features replaced by the fake network's, the two sides must agree."""
    import vbench.parity as parity

    def ours(videos: torch.Tensor, profile: str) -> np.ndarray:
        return _fake_logits(preprocess(videos, profile).permute(0, 2, 3, 4, 1).numpy())

    monkeypatch.setattr(parity, "i3d_features", ours)
    r = compare_fvd(num_videos=6, num_frames=10, seed=1, resolution=16, model=fake_model)
    assert r["num_videos"] == 6 and r["num_frames"] == 10 and r["output"] == MEAN_TENSOR
    assert r["max_abs_logit_diff"] < 1e-4 and r["logit_rel_l2"] < 1e-5  # TF float32 sums
    assert r["fvd_tfhub"] > 0
    assert r["fvd_rel_diff"] < 1e-4
    assert r["fvd_abs_diff"] == pytest.approx(abs(r["fvd_ours"] - r["fvd_tfhub"]))
    assert "FVD (TF-Hub)" in format_parity(r)


# --------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------


def test_parity_clips_are_seeded_smooth_and_in_range() -> None:
    a = parity_clips(4, 12, 32, seed=0)
    assert a.shape == (4, 12, 3, 32, 32) and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, parity_clips(4, 12, 32, seed=0))
    assert not torch.equal(a, parity_clips(4, 12, 32, seed=1))
    assert (a[..., 1:] - a[..., :-1]).abs().max() < 0.2  # smooth in space


def test_compare_fvd_rejects_odd_sets() -> None:
    with pytest.raises(ValueError, match="even"):
        compare_fvd(num_videos=5, model=object())  # checked before anything runs


def test_format_parity_table() -> None:
    result = {
        "handle": DEFAULT_HANDLE,
        "module_path": "/cache/abc",
        "output": MEAN_TENSOR,
        "profile": "tf",
        "num_videos": 16,
        "num_frames": 16,
        "resolution": 64,
        "seed": 0,
        "max_abs_logit_diff": 2.5e-5,
        "logit_rel_l2": 3.0e-7,
        "fvd_ours": 123.456789,
        "fvd_tfhub": 123.456701,
        "fvd_abs_diff": 8.8e-5,
        "fvd_rel_diff": 7.1e-7,
        "seconds_ours": 12.34,
        "seconds_tfhub": 20.0,
    }
    text = format_parity(result)
    lines = text.splitlines()
    assert len(lines) == 9
    assert lines[0].split() == ["TF-Hub", "module", DEFAULT_HANDLE]
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in lines)
    assert rows["max |logit diff|"] == "2.500e-05"
    assert rows["logit relative L2"] == "3.000e-07"
    assert rows["FVD (ours)"] == "123.456789"
    assert rows["FVD (TF-Hub)"] == "123.456701"
    assert rows["FVD difference"] == "8.800e-05 (relative 7.100e-07)"
    assert rows["loaded from"] == f"/cache/abc ({MEAN_TENSOR})"
    assert "16 x 16 frames, 64x64, seed 0, profile tf" in text
    assert "12.3 s / 20.0 s" in text
    del result["seconds_ours"]
    assert len(format_parity(result).splitlines()) == 8


def test_cli_parity_without_module_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from vbench.cli import main
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty-cache"))
    code = main(["parity", "fvd", "--videos", "4", "--frames", "10", "--handle", str(tmp_path / "no-module")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
