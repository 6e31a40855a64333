"""The prepared form shared by the real datasets: atomic publication, integrity checks, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vbench.cli import main
from vbench.data import read_test_list
from vbench.data.prepared import PreparedDataset, PreparedWriter
from vbench.errors import DatasetNotPrepared, VBenchError


def _videos(seed: int, lengths=(5, 3, 7)) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {f"v{i}": rng.integers(0, 256, (n, 3, 4, 6), dtype=np.uint8) for i, n in enumerate(lengths)}


def _prepare(root, videos, split="test"):
    with PreparedWriter(root, "toy", "somewhere", {"resolution": 4}) as writer:
        for video_id, frames in videos.items():
            writer.add_video(split, video_id, frames)
        return writer.commit()


def test_round_trip_slices_and_hashes(tmp_path):
    videos = _videos(0)
    _prepare(tmp_path, videos)
    data = PreparedDataset(tmp_path, "toy", "")
    assert data.video_ids("test") == ["v0", "v1", "v2"]
    for video_id, frames in videos.items():
        np.testing.assert_array_equal(data.frames("test", video_id), frames)
        assert data.verify("test", video_id)
    np.testing.assert_array_equal(data.frames("test", "v2", 2, 4), videos["v2"][2:6])
    with pytest.raises(ValueError, match=r"toy/test/v1: frames 1\.\.3 asked, the video has 3"):
        data.frames("test", "v1", 1, 3)
    with pytest.raises(DatasetNotPrepared, match="no video 'nope'"):
        data.frames("test", "nope")
    with pytest.raises(DatasetNotPrepared, match="no split 'train'"):
        data.video_ids("train")


def test_failure_inside_the_writer_keeps_the_previous_preparation(tmp_path):
    _prepare(tmp_path, _videos(0))
    before = (tmp_path / "toy" / "manifest.json").read_bytes()
    with pytest.raises(RuntimeError, match="interrupted"):
        with PreparedWriter(tmp_path, "toy", "elsewhere", {}) as writer:
            writer.add_video("test", "w0", _videos(1)["v0"])
            raise RuntimeError("interrupted")
    assert (tmp_path / "toy" / "manifest.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_commit_replaces_a_previous_preparation(tmp_path):
    _prepare(tmp_path, _videos(0))
    new = _videos(5, lengths=(2,))
    _prepare(tmp_path, new)
    data = PreparedDataset(tmp_path, "toy", "")
    assert data.video_ids("test") == ["v0"]
    np.testing.assert_array_equal(data.frames("test", "v0"), new["v0"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_writer_rejects_inconsistent_videos(tmp_path):
    with PreparedWriter(tmp_path, "toy", "x", {}) as writer:
        writer.add_video("test", "a", np.zeros((2, 1, 4, 4), np.uint8))
        with pytest.raises(ValueError, match="frame shape"):
            writer.add_video("test", "b", np.zeros((2, 3, 4, 4), np.uint8))
        with pytest.raises(ValueError, match="appears twice"):
            writer.add_video("test", "a", np.zeros((2, 1, 4, 4), np.uint8))
        with pytest.raises(ValueError, match="uint8"):
            writer.add_video("test", "c", np.zeros((2, 1, 4, 4), np.float32))
        writer.abort()
    with pytest.raises(VBenchError, match="held no videos"):
        with PreparedWriter(tmp_path, "toy", "x", {}) as writer:
            writer.commit()
    assert list(tmp_path.iterdir()) == []


def test_truncated_or_foreign_prepared_files_are_detected(tmp_path):
    _prepare(tmp_path, _videos(0))
    frames = tmp_path / "toy" / "test.u8"
    frames.write_bytes(frames.read_bytes()[:-10])
    with pytest.raises(DatasetNotPrepared, match=r"test\.u8: missing or truncated .*prepare 'toy' again"):
        PreparedDataset(tmp_path, "toy", "").frames("test", "v0")
    manifest = tmp_path / "toy" / "manifest.json"
    manifest.write_text(json.dumps(dict(json.loads(manifest.read_text()), format_version=99)))
    with pytest.raises(DatasetNotPrepared, match="format version 99"):
        PreparedDataset(tmp_path, "toy", "")
    manifest.write_text("{not json")
    with pytest.raises(DatasetNotPrepared, match="unreadable manifest"):
        PreparedDataset(tmp_path, "toy", "")


def test_data_info_and_download_commands(tmp_path, capsys):
    _prepare(tmp_path, _videos(0))
    assert main(["data", "info", "toy", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "test: 3 videos, 15 frames of 3x4x6" in out and "source: somewhere" in out
    assert main(["data", "info", "bair", "--data-root", str(tmp_path)]) == 0
    assert "not prepared" in capsys.readouterr().out
    assert main(["data", "download", "kth"]) == 0
    out = capsys.readouterr().out
    assert "walking.zip" in out and "vbench data prepare kth --source PATH" in out


def test_prepare_unknown_dataset_lists_known_ones(tmp_path, capsys):
    assert main(["data", "prepare", "ucf101", "--source", str(tmp_path)]) != 0
    assert "known: mnist, kth, bair, cityscapes" in capsys.readouterr().err


def test_read_test_list_reports_bad_lines(tmp_path, monkeypatch):
    import vbench.data
    monkeypatch.setattr(vbench.data, "cards_dir", lambda: tmp_path)
    (tmp_path / "good.txt").write_text("# made by hand\nvid_a 0\nvid_b 12  # comment\n\n")
    assert read_test_list("good.txt") == [("vid_a", 0), ("vid_b", 12)]
    (tmp_path / "bad.txt").write_text("vid_a 0\nvid_b twelve\n")
    with pytest.raises(DatasetNotPrepared, match=r"bad\.txt:2: expected 'video_id start_frame'"):
        read_test_list("bad.txt")


def test_lazy_clips_index_like_the_array_they_stand_for():
    from vbench.data import LazyClips
    array = np.random.default_rng(3).integers(0, 256, (5, 4, 1, 3, 3), dtype=np.uint8)
    reads = []
    lazy = LazyClips(lambda i: reads.append(i) or array[i], 5, array.shape[1:])
    assert lazy.shape == array.shape and len(lazy) == 5 and lazy.dtype == np.uint8
    np.testing.assert_array_equal(lazy[[3, 1]], array[[3, 1]])
    assert reads == [3, 1]                                    # only the clips asked for are read
    np.testing.assert_array_equal(lazy[:2, 1:], array[:2, 1:])
    np.testing.assert_array_equal(lazy[-1], array[-1])
    np.testing.assert_array_equal(np.asarray(lazy), array)
    np.testing.assert_array_equal(lazy[np.array([0, 4]), 2:], array[[0, 4], 2:])


def test_a_prepared_folder_is_readable_as_a_plain_mkdir_would_make_it(tmp_path):
    import os
    previous = os.umask(0o022)
    try:
        target = _prepare(tmp_path, _videos(0))
    finally:
        os.umask(previous)
    assert target.stat().st_mode & 0o777 == 0o755            # not mkdtemp's 0700: others may read a shared root
