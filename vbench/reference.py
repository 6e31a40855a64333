"""Reference features: the I3D features of a suite's real clips, found before they are computed.

They are most of a first run's time on CPU and depend only on their key (vbench.protocol.real_features_key:
the suite's clip settings, the fingerprint of the clips entering FVD, the I3D weights' sha256 and profile),
so `real_features` looks for them, in order, in

1. the store's feature cache (per test video);
2. the package's own files, `vbench/reference_features/*.npz`, for the embedded suites (smmnist-mini, smmnist-mini-gen);
3. a file beside the prepared dataset, `<data root>/<dataset folder>/reference/*.npz`, which every store and
   every user of that data root shares (`vbench data info DATASET` lists them);

and computes them only when none holds them. What is found or computed goes into the store's cache (the
report reads it there); computed features of a prepared dataset are also kept beside it. A file is named by
its key's hash and holds `key` (the JSON key, compared exactly: other weights or other clips never match)
and `features` float32 [V, 400], exactly what the store caches, so every source gives the same numbers.
Files are written to a temporary name and renamed, so an interrupted write leaves no file; a data root that
cannot be written to leaves the features in the store only.

Regenerate the package's files (after a change of I3D weights, preprocessing or an embedded suite's clips)::

    python -m vbench.reference          # computes on CPU with one torch thread, about 1 s per clip
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

SHIPPED = Path(__file__).parent / "reference_features"  # package data (pyproject: package-data)
EMBEDDED_SUITES = ("smmnist-mini", "smmnist-mini-gen")
FOLDER = "reference"                                    # beside a prepared dataset


def features_key(suite: Any, clips: Any) -> str:
    """The feature-cache key of a Suite's real clips entering FVD, uint8 [V, T, C, H, W]."""
    from vbench.metrics.fvd import features_fingerprint
    from vbench.protocol import clip_digests, fingerprint, real_features_key
    return real_features_key(suite.to_dict(), fingerprint(clip_digests(clips)),
                             features_fingerprint(suite.profiles["fvd"]))


def file_name(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16] + ".npz"


def read(folder: Path, key: str, count: int) -> np.ndarray | None:
    """float32 [count, D] from `folder`'s file for `key`; None when there is none, it holds another key or
    another shape, or it cannot be read."""
    try:
        with np.load(folder / file_name(key), allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            features = data["features"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    if features.dtype != np.float32 or features.ndim != 2 or len(features) != count:
        return None
    return features


def write(folder: Path, key: str, features: np.ndarray) -> Path:
    """Write `folder`'s file for `key` atomically (temporary file, then rename); OSError when it cannot."""
    from vbench.data.prepare import write_atomically
    buffer = io.BytesIO()
    np.savez(buffer, key=np.array(key), features=np.asarray(features, np.float32))
    path = folder / file_name(key)
    write_atomically(path, buffer.getvalue())
    return path


def real_features(store: Any, key: str, count: int, compute: Callable[[list[int]], np.ndarray],
                  beside_data: Path | None) -> tuple[np.ndarray, str]:
    """(float32 [count, D] features of test videos 0..count-1 under `key`, where they came from: "store",
    "package", "data root" or "computed"). `compute(videos)` -> [M, D] for the videos missing from the store;
    `beside_data`: the reference folder of a prepared dataset (None: there is none)."""
    videos = list(range(count))
    cached = store.cached_features(key, videos)
    if len(cached) == count:
        return np.stack([cached[v] for v in videos]), "store"
    for source, folder in (("package", SHIPPED), ("data root", beside_data)):
        found = read(folder, key, count) if folder is not None else None
        if found is not None:
            store.cache_features(key, videos, found)
            return found, source
    missing = [v for v in videos if v not in cached]
    computed = np.asarray(compute(missing), np.float32)                  # [M, D], as the store keeps them
    store.cache_features(key, missing, computed)
    cached.update(zip(missing, computed))
    features = np.stack([cached[v] for v in videos])                     # [count, D]
    if beside_data is not None:
        try:
            write(beside_data, key, features)
        except OSError as exc:
            print(f"vbench: cannot keep the real clips' I3D features in {beside_data} ({exc}); "
                  "they are cached in the store only", file=sys.stderr)
    return features, "computed"


def describe(folder: Path) -> list[str]:
    """One line per reference-features file in `folder`: what its key says it holds."""
    lines = []
    for path in sorted(folder.glob("*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                key, shape = json.loads(str(data["key"])), data["features"].shape
            first, last = key["frames"]
            lines.append(f"{path.name}: {shape[0]} {key['split']} clips (frames {first}-{last - 1}"
                         f"{', test list ' + key['test_list'] if key['test_list'] else ''}), {key['resolution']} px, "
                         f"FVD profile {key['profile']}, I3D weights {key['weights_sha256'][:12]}")
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            lines.append(f"{path.name}: unreadable (it is ignored, and replaced at the next run that needs it)")
    return lines


def build_shipped(names: Sequence[str] = EMBEDDED_SUITES, out: Path = SHIPPED) -> list[Path]:
    """Compute the suites' reference features as a run on CPU does and write them to `out`, which then holds
    these files only (files of other keys are removed); returns the files written."""
    import torch

    from vbench.data import load_test_clips
    from vbench.runner import real_clip_features
    from vbench.suite import load_suite
    torch.set_num_threads(1)            # CPU I3D's rounding depends on the thread count: pin it
    written = []
    for name in names:
        suite = load_suite(name)
        clips = load_test_clips(suite, None, min(suite.fvd_videos, suite.num_videos))    # [V, T, C, H, W]
        features = real_clip_features(suite, clips, list(range(len(clips))), torch.device("cpu"), progress=True)
        written.append(write(out, features_key(suite, clips), features))
    for stale in set(out.glob("*.npz")) - set(written):
        stale.unlink()
    return written


if __name__ == "__main__":
    for path in build_shipped():
        print(path)
