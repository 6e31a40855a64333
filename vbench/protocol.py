"""What makes two runs comparable: the clips they scored, their protocol, the code that scored them.

- `clip_digest` / `data_record`: sha256 of exactly the uint8 clips a run scores (what is read, after
  conversion and resizing), so a changed folder, test list or prepared dataset changes the manifest
  and with it the run's identity.
- `real_features_key`: the feature-cache key of the real clips entering FVD, derived from a suite dict
  as stored in manifests and the fingerprint of those clips; the runner and the report both use it.
- `protocol_of` / `protocol_key` / `overrides_of` / `is_standard`: a run's protocol (suite name and
  version, data, test videos, samples per video, selection, metric profiles, FVD set) and whether it is
  the suite's standard one. The leaderboard ranks only runs of one standard protocol.
- `model_code_sha256`, `model_weights_sha256`: hashes of a model's source code and of a torch model's
  weights, so "the same code and weights produced both" can be checked.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vbench.metric_registry import set_metric_names

# protocol settings a run can change from its suite's (--limit, --samples, and where a run records them
# under manifest["overrides"], selection and profiles) -> how the page names them
SETTINGS = {"videos": "test videos", "samples": "samples per video", "selection": "selection",
            "profiles": "profiles"}


# --- data ----------------------------------------------------------------------------------------

def clip_digest(clip: np.ndarray) -> str:
    """sha256 of one clip's uint8 bytes [T, C, H, W]."""
    return hashlib.sha256(np.ascontiguousarray(clip, np.uint8).tobytes()).hexdigest()


def clip_digests(clips: Any) -> list[str]:
    """Digest of each clip of an array or LazyClips [V, T, C, H, W] (a loader that has read every clip
    already hands its digests over as `clips.digests`)."""
    known = getattr(clips, "digests", None)
    return list(known) if known is not None else [clip_digest(clips[i]) for i in range(len(clips))]


def fingerprint(digests: Sequence[str]) -> str:
    """One sha256 over clip digests, in test-list order."""
    return hashlib.sha256("\n".join(digests).encode()).hexdigest()


def wants_fvd(suite: dict[str, Any]) -> bool:
    """Does the suite (a dict as stored in manifests) score set metrics (FVD, KVD)?"""
    return any(m in set_metric_names() for m in suite["metrics"])


def data_record(suite: dict[str, Any], clips: Any) -> dict[str, Any]:
    """The manifest's "data": fingerprint of the scored clips and, for FVD suites, of the clips entering FVD."""
    digests = clip_digests(clips)
    record: dict[str, Any] = {"videos": len(digests), "fingerprint": fingerprint(digests)}
    if wants_fvd(suite):
        n = min(suite["fvd_videos"], len(digests))
        record.update(fvd_videos=n, fvd_fingerprint=fingerprint(digests[:n]))
    return record


def real_features_fields(suite: dict[str, Any], data_fingerprint: str | None) -> dict[str, Any]:
    """Everything but the I3D network that decides the real clips' FVD features."""
    first = 0 if suite["fvd_frames"] == "context+predicted" else suite["context_frames"]
    return {"dataset": suite["dataset"], "split": suite["split"], "test_list": suite.get("test_list", ""),
            "data_path": suite.get("data_path", ""), "clip_stride": suite.get("clip_stride", 0),
            "seed": suite["seed"], "resolution": suite["resolution"], "channels": suite["channels"],
            "frames": [first, suite["context_frames"] + suite["predicted_frames"]],
            "profile": suite["profiles"].get("fvd"), "data": data_fingerprint}


def real_features_key(suite: dict[str, Any], data_fingerprint: str, i3d: dict[str, str]) -> str:
    """Feature-cache key of the real clips entering FVD; `i3d`: metrics.fvd.features_fingerprint(profile)."""
    return json.dumps({**real_features_fields(suite, data_fingerprint), **i3d}, sort_keys=True)


# --- protocol ------------------------------------------------------------------------------------

def _standard_settings(suite: dict[str, Any]) -> dict[str, Any]:
    return {"videos": suite["num_videos"], "samples": suite["num_samples"], "selection": suite["selection"],
            "profiles": suite["profiles"]}


def _settings(manifest: dict[str, Any]) -> dict[str, Any]:
    suite, overrides = manifest["suite"], manifest.get("overrides") or {}
    # a deterministic model draws one sample under any protocol: its runs follow the suite's
    stochastic = manifest["model"].get("stochastic", True) or suite.get("task") == "generation"
    return {"videos": manifest["num_videos"],
            "samples": manifest["num_samples"] if stochastic else suite["num_samples"],
            "selection": overrides.get("selection") or suite["selection"],
            "profiles": {**suite["profiles"], **(overrides.get("profiles") or {})}}


def protocol_of(manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's protocol; runs from before data fingerprints have `data` None."""
    suite, settings = manifest["suite"], _settings(manifest)
    fvd = {"videos": min(suite["fvd_videos"], settings["videos"]), "frames": suite["fvd_frames"],
           "trials": min(suite["fvd_trials"], settings["samples"])} if wants_fvd(suite) else None
    return {"suite": suite["name"], "version": suite["version"],
            "data": (manifest.get("data") or {}).get("fingerprint"), **settings, "fvd": fvd}


def protocol_key(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(protocol_of(manifest), sort_keys=True).encode()).hexdigest()[:16]


def overrides_of(manifest: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{setting: (the run's value, the suite's)} for each setting the run changed from its suite's."""
    actual, standard = _settings(manifest), _standard_settings(manifest["suite"])
    return {name: (actual[name], standard[name]) for name in SETTINGS if actual[name] != standard[name]}


def is_standard(manifest: dict[str, Any]) -> bool:
    return not overrides_of(manifest)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def describe_overrides(manifest: dict[str, Any]) -> list[str]:
    """"test videos 16 (suite: 64)", one line per override."""
    return [f"{SETTINGS[name]} {_show(mine)} (suite: {_show(suite)})"
            for name, (mine, suite) in overrides_of(manifest).items()]


def why_apart(manifest: dict[str, Any], reference: dict[str, Any] | None) -> list[str]:
    """Why a run is not ranked under the `reference` protocol (nothing when it is): its overrides, or
    each field where its standard protocol differs."""
    if not is_standard(manifest):
        return ["non-standard: " + "; ".join(describe_overrides(manifest))]
    return describe_difference(protocol_of(manifest), reference or {})   # no reference: no standard run


def describe_difference(protocol: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    """One line per field where a standard run's protocol differs from the ranked one."""
    lines = []
    for name in [*reference, *(k for k in protocol if k not in reference)]:
        mine, theirs = protocol.get(name), reference.get(name)
        if mine == theirs:
            continue
        if name == "data" and mine is None:
            lines.append("data fingerprint not recorded (run from an older vbench)")
        elif name == "data":
            ranked = f"{theirs[:12]}…" if theirs else "not recorded"
            lines.append(f"other data: fingerprint {mine[:12]}… (ranked: {ranked})")
        else:
            lines.append(f"{SETTINGS.get(name, name)} {_show(mine)} (ranked: {_show(theirs)})")
    return lines


# --- code ----------------------------------------------------------------------------------------

def _sha256_files(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def model_code_sha256(model: Any) -> str | None:
    """sha256 of the source of the model's class: its package's .py files (the folder of its module,
    recursively), or its file for a module outside any package; None where no source file is known."""
    module = sys.modules.get(type(model).__module__)
    try:
        path = Path(inspect.getfile(type(model))).resolve()
    except (TypeError, OSError):
        return None
    if path.suffix != ".py" or not path.is_file():
        return None
    if not getattr(module, "__package__", None):
        return hashlib.sha256(path.read_bytes()).hexdigest()     # what `sha256sum model.py` prints
    folder = path.parent
    files = sorted(p for p in folder.rglob("*.py")
                   if not any(part.startswith((".", "__pycache__")) for part in p.relative_to(folder).parts))
    return _sha256_files(files, folder)


def model_weights_sha256(model: Any) -> str | None:
    """sha256 of a torch model's state (parameters and buffers, in key order); None for other models.
    With the code hash it tells two objects of one class apart, however their weights were set."""
    import torch
    if not isinstance(model, torch.nn.Module):
        return None
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode() + b"\0" + str(tensor.dtype).encode() + str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
