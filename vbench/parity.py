"""Parity of our FVD with the original TF-Hub I3D (``vbench parity fvd``).

Optional: needs TensorFlow, and the TF-Hub module ``deepmind/i3d-kinetics-400/1`` on disk (a local
module directory, or the TF-Hub cache ``$TFHUB_CACHE_DIR/<sha1(handle)>``). Only when the module is
not on disk and ``download=True`` is ``tensorflow_hub`` imported to fetch it into that cache. The
default metric path (``vbench.metrics.fvd``) never touches any of this, nor the network.

Both networks get the same input: our preprocessing (``vbench.metrics.fvd.preprocess``, profile
``tf`` by default), laid out ``[B, T, 224, 224, 3]`` in [-1, 1] for TF, so only the network differs.
The TF embedding is the tensor ``RGB/inception_i3d/Mean:0`` (400 logits averaged over time), as
Google's ``frechet_video_distance`` reads it; if a module lacks that tensor, the ``default``
signature's output is used (``TFHubI3D.output`` says which).

Why not ``hub.load``: it is ``tf.saved_model.load(resolve(handle), tags=[])`` for TF1-format
modules, which we call directly; ``tensorflow_hub`` 0.16.1 (the last release) cannot even be
imported with setuptools >= 81 (it imports ``pkg_resources``) and requires ``tf-keras``, so it is
used for downloading only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vbench.errors import VBenchError
from vbench.metrics.frechet import frechet_distance
from vbench.metrics.fvd import (
    DEFAULT_PROFILE,
    FRAMES_PER_BATCH,
    _as_videos,
    _check_profile,
    i3d_features,
    preprocess,
)

__all__ = [
    "DEFAULT_HANDLE",
    "INSTALL_HINT",
    "TFHubI3D",
    "compare_fvd",
    "format_parity",
    "load_tfhub_i3d",
    "parity_clips",
    "tfhub_cache_dir",
    "tfhub_module_dir",
    "tfhub_features",
]

DEFAULT_HANDLE = "https://tfhub.dev/deepmind/i3d-kinetics-400/1"
INSTALL_HINT = "pip install 'vbench-vp[parity]'"
MEAN_TENSOR = "RGB/inception_i3d/Mean:0"  # the FVD embedding in Google's reference
DOWNLOAD_TIMEOUT_S = 30.0  # per socket operation while downloading (not for the whole download)


# --------------------------------------------------------------------------------------------
# Locating and loading the module
# --------------------------------------------------------------------------------------------


def tfhub_cache_dir() -> Path:
    """The TF-Hub cache: ``$TFHUB_CACHE_DIR``, else ``<tmp>/tfhub_modules`` (as tensorflow_hub)."""
    env = os.environ.get("TFHUB_CACHE_DIR", "")
    return Path(env) if env else Path(tempfile.gettempdir()) / "tfhub_modules"


def _cache_description() -> str:
    env = os.environ.get("TFHUB_CACHE_DIR", "")
    if env:
        return f"TFHUB_CACHE_DIR={env}"
    return f"TFHUB_CACHE_DIR (unset, default {tfhub_cache_dir()})"


def tfhub_module_dir(handle: str = DEFAULT_HANDLE) -> Path:
    """Where the module of ``handle`` lives on disk: the handle itself if it is a local directory,
    else its TF-Hub cache entry ``<cache>/<sha1(handle)>`` (which may not exist)."""
    if not _is_url(handle):
        return Path(handle).expanduser()
    return tfhub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def _is_url(handle: str) -> bool:
    return handle.startswith(("http://", "https://", "gs://"))


def _is_saved_model(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file()


def _import_tensorflow() -> Any:
    try:
        import tensorflow as tf
    except ImportError as e:
        raise VBenchError(
            f"the TF-Hub parity check needs TensorFlow, which cannot be imported ({e}); "
            f"{INSTALL_HINT}"
        ) from e
    return tf


def _import_tensorflow_hub() -> Any:
    try:
        import tensorflow_hub as hub
    except ImportError as e:  # also ModuleNotFoundError for pkg_resources / tf_keras
        raise VBenchError(
            f"downloading the TF-Hub module needs tensorflow_hub, which cannot be imported ({e}); "
            f"{INSTALL_HINT}, or put the module directory in {_cache_description()}"
        ) from e
    return hub


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _resolve(handle: str, download: bool) -> Path:
    path = tfhub_module_dir(handle)
    if not _is_url(handle):
        if not _is_saved_model(path):
            raise VBenchError(f"{path} is not a TF-Hub module directory (no saved_model.pb)")
        return path
    if _is_saved_model(path):
        return path
    where = f"not in {_cache_description()} (looked for {path})"
    if not download:
        raise VBenchError(f"TF-Hub module {handle} {where}, and downloading is disabled")
    hub = _import_tensorflow_hub()
    os.environ.setdefault("TFHUB_CACHE_DIR", str(tfhub_cache_dir()))  # where hub.resolve writes
    try:
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            resolved = Path(hub.resolve(handle))
    except Exception as e:  # URLError, HTTPError, tf.errors.*: all mean "cannot get it"
        raise VBenchError(
            f"TF-Hub module {handle} {where}, and downloading it failed "
            f"({type(e).__name__}: {e}); without network, copy the extracted module there"
        ) from e
    if not _is_saved_model(resolved):
        raise VBenchError(f"TF-Hub module {handle} resolved to {resolved}: no saved_model.pb")
    return resolved


def _default_signature_input(tf: Any, path: Path) -> tuple[str, str]:
    """(input key, input tensor name) of the module's ``default`` signature."""
    from tensorflow.core.protobuf import saved_model_pb2

    sm = saved_model_pb2.SavedModel()
    pb = path / "saved_model.pb"
    if pb.is_file():
        sm.ParseFromString(pb.read_bytes())
    else:
        from google.protobuf import text_format

        text_format.Parse((path / "saved_model.pbtxt").read_text(), sm)
    for mg in sm.meta_graphs:
        if not mg.meta_info_def.tags and "default" in mg.signature_def:
            inputs = mg.signature_def["default"].inputs
            if len(inputs) == 1:
                key, info = next(iter(inputs.items()))
                return key, info.name
    raise VBenchError(f"{path}: no 'default' signature with one input in the untagged graph")


@dataclass
class TFHubI3D:
    """The loaded TF-Hub I3D: ``model(x)`` maps float ``[B, T, 224, 224, 3]`` in [-1, 1] (numpy)
    to ``[B, 400]`` float64 time-averaged logits."""

    handle: str
    path: Path
    output: str  # the tensor or signature output that is read
    _fn: Any
    _keep: Any  # the loaded object: keeps the variables alive

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 5 or x.shape[2:] != (224, 224, 3):
            raise ValueError(f"TF-Hub I3D input must be [B, T, 224, 224, 3]; got {x.shape}")
        out = self._fn(tf.constant(x))
        return np.asarray(out, dtype=np.float64)


def load_tfhub_i3d(handle: str = DEFAULT_HANDLE, download: bool = True) -> TFHubI3D:
    """Load the TF1-format TF-Hub I3D in TF2 eager mode.

    ``handle``: a tfhub.dev URL (looked up in the TF-Hub cache, downloaded there with
    ``tensorflow_hub`` only if absent and ``download``) or a local module directory.
    Raises ``VBenchError`` when TensorFlow / tensorflow_hub are missing or the module cannot be had.
    """
    tf = _import_tensorflow()
    path = _resolve(handle, download)
    try:
        root = tf.compat.v1.saved_model.load_v2(str(path), tags=[])  # what hub.load does for TF1
    except Exception as e:
        raise VBenchError(
            f"cannot load the TF-Hub module at {path} ({type(e).__name__}: {e})"
        ) from e
    key, input_name = _default_signature_input(tf, path)
    try:
        root.graph.get_tensor_by_name(MEAN_TENSOR)
        has_mean = True
    except (KeyError, ValueError):
        has_mean = False
    if has_mean:
        fn = root.prune(input_name, MEAN_TENSOR)
        output = MEAN_TENSOR
    else:
        sig = root.signatures["default"]
        (out_key,) = tuple(sig.structured_outputs)

        def fn(x: Any) -> Any:
            return sig(**{key: x})[out_key]

        output = f"signature default/{out_key}"
    return TFHubI3D(handle=handle, path=path, output=output, _fn=fn, _keep=root)


# --------------------------------------------------------------------------------------------
# Features and comparison
# --------------------------------------------------------------------------------------------


def tfhub_features(
    videos: torch.Tensor | np.ndarray,
    profile: str = DEFAULT_PROFILE,
    model: TFHubI3D | None = None,
    batch_size: int | None = None,
    handle: str = DEFAULT_HANDLE,
) -> np.ndarray:
    """TF-Hub I3D embedding of ``[B, T, C, H, W]`` videos in [0, 1]: ``[B, 400]`` float64.

    Same input contract, preprocessing and batching as ``vbench.metrics.fvd.i3d_features``.
    """
    _check_profile(profile)
    x = _as_videos(videos, "videos")
    net = model if model is not None else load_tfhub_i3d(handle)
    step = batch_size if batch_size is not None else max(1, FRAMES_PER_BATCH // x.shape[1])
    if step < 1:
        raise ValueError(f"batch_size must be >= 1; got {batch_size}")
    out = []
    for start in range(0, x.shape[0], step):
        batch = x[start : start + step].to("cpu", torch.float32)
        clip = preprocess(batch, profile).permute(0, 2, 3, 4, 1)  # [b, T, 224, 224, 3]
        out.append(net(clip.contiguous().numpy()))
    return np.concatenate(out, axis=0)


def parity_clips(num_videos: int, num_frames: int, resolution: int, seed: int) -> torch.Tensor:
    """Seeded smooth random RGB clips ``[N, T, 3, R, R]`` in [0, 1]: coarse noise (about 8 px and
    4 frames per cell) upsampled trilinearly, so features vary like those of natural videos."""
    g = torch.Generator().manual_seed(seed)
    cells = max(2, resolution // 8)
    coarse = torch.rand(num_videos, 3, max(2, num_frames // 4 + 1), cells, cells, generator=g)
    fine = torch.nn.functional.interpolate(
        coarse, size=(num_frames, resolution, resolution), mode="trilinear", align_corners=True
    )
    return fine.transpose(1, 2).clamp(0.0, 1.0).contiguous()


def compare_fvd(
    num_videos: int = 16,
    num_frames: int = 16,
    seed: int = 0,
    resolution: int = 64,
    handle: str = DEFAULT_HANDLE,
    profile: str = DEFAULT_PROFILE,
    download: bool = True,
    model: TFHubI3D | None = None,
) -> dict[str, Any]:
    """Run the TF-Hub I3D and ours on the same clips (``parity_clips``), split into two halves.

    Returns a dict: the settings, ``max_abs_logit_diff``, ``logit_rel_l2`` (|ours - tf| / |tf|),
    ``fvd_ours``, ``fvd_tfhub`` (first half vs second half), ``fvd_abs_diff``, ``fvd_rel_diff``,
    and the seconds each network took.
    """
    _check_profile(profile)
    if num_videos < 4 or num_videos % 2:
        raise ValueError(f"num_videos must be even and >= 4 (two sets of >= 2); got {num_videos}")
    net = model if model is not None else load_tfhub_i3d(handle, download=download)
    clips = parity_clips(num_videos, num_frames, resolution, seed)
    t0 = time.perf_counter()
    ours = i3d_features(clips, profile)
    t1 = time.perf_counter()
    theirs = tfhub_features(clips, profile, model=net)
    t2 = time.perf_counter()
    half = num_videos // 2
    fvd_ours = frechet_distance(ours[:half], ours[half:])
    fvd_tf = frechet_distance(theirs[:half], theirs[half:])
    diff = ours - theirs
    return {
        "handle": net.handle,
        "module_path": str(net.path),
        "output": net.output,
        "profile": profile,
        "num_videos": num_videos,
        "num_frames": num_frames,
        "resolution": resolution,
        "seed": seed,
        "max_abs_logit_diff": float(np.abs(diff).max()),
        "logit_rel_l2": float(np.linalg.norm(diff) / np.linalg.norm(theirs)),
        "fvd_ours": fvd_ours,
        "fvd_tfhub": fvd_tf,
        "fvd_abs_diff": abs(fvd_ours - fvd_tf),
        "fvd_rel_diff": abs(fvd_ours - fvd_tf) / max(abs(fvd_tf), 1e-12),
        "seconds_ours": t1 - t0,
        "seconds_tfhub": t2 - t1,
    }


def format_parity(result: dict[str, Any]) -> str:
    """A plain-text table of ``compare_fvd``'s result."""
    r = result
    rows = [
        ("TF-Hub module", str(r["handle"])),
        ("loaded from", f"{r['module_path']} ({r['output']})"),
        ("clips", f"{r['num_videos']} x {r['num_frames']} frames, {r['resolution']}x"
                  f"{r['resolution']}, seed {r['seed']}, profile {r['profile']}"),
        ("max |logit diff|", f"{r['max_abs_logit_diff']:.3e}"),
        ("logit relative L2", f"{r['logit_rel_l2']:.3e}"),
        ("FVD (ours)", f"{r['fvd_ours']:.6f}"),
        ("FVD (TF-Hub)", f"{r['fvd_tfhub']:.6f}"),
        ("FVD difference", f"{r['fvd_abs_diff']:.3e} (relative {r['fvd_rel_diff']:.3e})"),
    ]
    if "seconds_ours" in r and "seconds_tfhub" in r:
        times = f"{r['seconds_ours']:.1f} s / {r['seconds_tfhub']:.1f} s"
        rows.append(("time ours / TF-Hub", times))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
