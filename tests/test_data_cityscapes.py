"""Cityscapes: a tiny `leftImg8bit_sequence` tree in the download's exact naming (64x32 PNGs, 30
frames per snippet), prepared and served as suite clips; damaged trees fail naming what is wrong."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import write_suite
from vbench.data import cityscapes, load_test_clips
from vbench.data.frames import resize_frames
from vbench.data.prepared import PreparedDataset
from vbench.errors import VBenchError
from vbench.suite import load_suite

RES = 16
# split -> (city, seq, first frame) of each snippet, deliberately not in sorted order; frankfurt seq 0
# holds two back-to-back snippets and one far away, as real sequences do
LAYOUT = {
    "train": [("bochum", 1, 19), ("aachen", 0, 0)],
    "val": [("lindau", 0, 0), ("frankfurt", 0, 276), ("frankfurt", 1, 10), ("frankfurt", 0, 0), ("frankfurt", 0, 30)],
}
VAL_ORDER = ["frankfurt_000000_000000", "frankfurt_000000_000030", "frankfurt_000000_000276",
             "frankfurt_000001_000010", "lindau_000000_000000"]


def frame_path(top: Path, split: str, city: str, seq: int, frame: int) -> Path:
    return top / split / city / f"{city}_{seq:06d}_{frame:06d}_leftImg8bit.png"


def write_tree(top: Path, layout: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """PNG frames under `top` (= leftImg8bit_sequence); returns snippet id -> uint8 [30, 32, 64, 3]."""
    rng = np.random.default_rng(seed)
    originals = {}
    for split, snippets in layout.items():
        for city, seq, first in snippets:
            video = rng.integers(0, 256, (30, 32, 64, 3), dtype=np.uint8)
            for t, frame in enumerate(video):
                path = frame_path(top, split, city, seq, first + t)
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(frame).save(path)
            originals[f"{city}_{seq:06d}_{first:06d}"] = video
    return originals


def expected(video: np.ndarray) -> np.ndarray:
    """The protocol by hand: the middle 32x32 of each 64x32 frame, Lanczos to RES."""
    square = video[:, :, 16:48].transpose(0, 3, 1, 2)                     # [30, 3, 32, 32]
    return resize_frames(np.ascontiguousarray(square), RES, "lanczos")     # [30, 3, RES, RES]


@pytest.fixture(scope="module")
def download(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    top = tmp_path_factory.mktemp("cityscapes") / "leftImg8bit_sequence"
    return top, write_tree(top, LAYOUT)


def _check_prepared(root: Path, originals: dict[str, np.ndarray]) -> None:
    data = PreparedDataset(root, "cityscapes", "")
    assert data.video_ids("train") == ["aachen_000000_000000", "bochum_000001_000019"]
    assert data.video_ids("val") == VAL_ORDER
    for split in ("train", "val"):
        for video_id in data.video_ids(split):
            np.testing.assert_array_equal(data.frames(split, video_id), expected(originals[video_id]))
            assert data.verify(split, video_id)
    assert data.manifest["resolution"] == RES and data.manifest["resize_method"] == "lanczos"
    assert data.manifest["crop"] == "center-square"
    assert data.manifest["snippets"] == {"train": 2, "val": 5}


def test_prepare_folder_round_trips_pixels_in_sorted_order(download, tmp_path):
    top, originals = download
    message = cityscapes.prepare(top.parent, tmp_path / "root", RES, workers=1, progress=False)   # the parent
    assert "train: 2 snippets" in message and "val: 5 snippets" in message
    _check_prepared(tmp_path / "root", originals)


def test_prepare_zip_with_worker_pool_gives_the_same(download, tmp_path):
    top, originals = download
    archive = tmp_path / "leftImg8bit_sequence_trainvaltest.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(top.rglob("*.png")):
            handle.write(path, path.relative_to(top.parent).as_posix())
    cityscapes.prepare(archive, tmp_path / "root", RES, workers=2, progress=False)
    _check_prepared(tmp_path / "root", originals)


def test_suite_reads_the_first_val_snippets_from_frame_zero(download, tmp_path):
    top, originals = download
    cityscapes.prepare(top / "val", tmp_path / "root", RES, workers=1, progress=False)   # one split folder
    suite = load_suite(write_suite(tmp_path, dataset="cityscapes", split="val", channels=3, resolution=RES,
                                   context_frames=2, predicted_frames=8, num_videos=3, fvd_videos=3))
    clips = load_test_clips(suite, tmp_path / "root")                      # [3, 10, 3, RES, RES]
    assert clips.shape == (3, 10, 3, RES, RES)
    for clip, video_id in zip(clips, VAL_ORDER):
        np.testing.assert_array_equal(clip, expected(originals[video_id])[:10])


def test_grouping_splits_back_to_back_snippets():
    frames = [("val", "x", 0, n, f"f{n}") for n in range(60)]
    assert [(s.id, s.files[0], s.files[-1]) for s in cityscapes.group_snippets(frames)] == [
        ("x_000000_000000", "f0", "f29"), ("x_000000_000030", "f30", "f59")]


# --- bad input -----------------------------------------------------------------------------------

def _small_tree(tmp_path: Path) -> Path:
    top = tmp_path / "src" / "leftImg8bit_sequence"
    write_tree(top, {"val": [("lindau", 0, 0), ("munster", 3, 40)]}, seed=1)
    return top


def test_corrupt_png_names_the_file_and_leaves_the_root_unchanged(download, tmp_path):
    top, _ = download
    root = tmp_path / "root"
    cityscapes.prepare(top / "val", root, RES, workers=1, progress=False)
    before = {p.name: p.read_bytes() for p in (root / "cityscapes").iterdir()}
    small = _small_tree(tmp_path)
    bad = frame_path(small, "val", "munster", 3, 52)
    bad.write_bytes(bad.read_bytes()[:100])                                # truncated PNG
    with pytest.raises(VBenchError, match=rf"{bad.name}: cannot decode PNG"):
        cityscapes.prepare(small, root, RES, workers=1, progress=False)
    assert {p.name: p.read_bytes() for p in (root / "cityscapes").iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == ["cityscapes"]       # no temporary folder left


def test_missing_frame_names_the_snippet_and_the_frame(tmp_path):
    small = _small_tree(tmp_path)
    frame_path(small, "val", "munster", 3, 47).unlink()
    with pytest.raises(VBenchError, match=r"val/munster/munster_000003_000040: 29 of 30 .*missing frame numbers "
                                          r"000047"):
        cityscapes.prepare(small, tmp_path / "root", RES, workers=1, progress=False)
    assert not (tmp_path / "root" / "cityscapes").exists()


def test_extra_frame_is_named(tmp_path):
    small = _small_tree(tmp_path)
    shutil.copy(frame_path(small, "val", "lindau", 0, 29), frame_path(small, "val", "lindau", 0, 30))
    with pytest.raises(VBenchError, match=r"lindau_000000_000030: 1 of 30 .*extra frames of the snippet before"):
        cityscapes.prepare(small, tmp_path / "root", RES, workers=1, progress=False)


@pytest.mark.parametrize("kind", ["empty folder", "not a zip", "wrong names"])
def test_wrong_source_says_what_layout_was_expected(tmp_path, kind):
    source = tmp_path / "download"
    source.mkdir()
    if kind == "not a zip":
        source = source / "leftImg8bit_sequence_trainvaltest.zip"
        source.write_bytes(b"not a zip")
    elif kind == "wrong names":
        (source / "val" / "lindau").mkdir(parents=True)
        Image.new("RGB", (8, 4)).save(source / "val" / "lindau" / "frankfurt_000000_000000_leftImg8bit.png")
        with pytest.raises(VBenchError, match=r"frankfurt_000000_000000_leftImg8bit.png: not named"):
            cityscapes.prepare(source, tmp_path / "root", RES, progress=False)
        return
    with pytest.raises(VBenchError, match=r"expected .*leftImg8bit_sequence/\{train,val,test\}/<city>/"):
        cityscapes.prepare(source, tmp_path / "root", RES, progress=False)
