"""KTH: the 00sequences.txt parser on the real file and on hand-written quirks, `prepare` on tiny
AVIs written in the download's naming (lossless codecs, so pixels can be compared exactly), the
error paths, and the shipped fixed test list."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import av
import numpy as np
import pytest

import vbench.data
from tests.conftest import REPO, SHARED, write_suite
from vbench.data import kth, load_test_clips, read_test_list
from vbench.data.frames import read_video, resize_frames
from vbench.data.prepared import PreparedDataset
from vbench.errors import VBenchError
from vbench.suite import load_suite

REAL_SEQUENCES = SHARED / "golden" / "clips" / "kth" / "00sequences.txt"
TEST_LIST = REPO / "datasets" / "kth" / "test_list_v1.txt"

# The quirks of the real file: CRLF, free-text header (with "person" words), blank lines, one or two
# TABs before `frames`, spaces before the TABs, a 3-range line, unordered and touching ranges, and
# the *missing* marker.
SEQUENCES = "\r\n".join([
    "",
    "This database contains sequences of six classes of actions performed by",
    "Training:   person11, 12, 13",
    "Test:       person22, 02, 03 ",
    "",
    "",
    "person01_boxing_d1\t\tframes\t1-4, 5-8, 8-10, 11-12",
    "person16_running_d4    \tframes\t1-3, 7-9, 4-6, 10-12",
    "",
    "person13_handclapping_d3\t*missing*",
    "person17_walking_d2\t\tframes\t1-6, 7-12, 13-14",
    "person25_handclapping_d1    \t\tframes\t1-5, 6-10, 11-16, 17-20",
    "",
])
EXPECTED = {"person01_boxing_d1": [(1, 4), (5, 8), (8, 10), (11, 12)],
            "person16_running_d4": [(1, 3), (7, 9), (4, 6), (10, 12)],
            "person17_walking_d2": [(1, 6), (7, 12), (13, 14)],
            "person25_handclapping_d1": [(1, 5), (6, 10), (11, 16), (17, 20)]}
# video -> (subfolder, frames, codec, pixel format written)
VIDEOS = {"person01_boxing_d1": ("boxing", 12, "rawvideo", "gray"),
          "person16_running_d4": ("running", 12, "ffv1", "gray"),
          "person17_walking_d2": ("walking", 15, "rawvideo", "bgr24"),
          "person25_handclapping_d1": ("handclapping", 20, "rawvideo", "gray")}
RESOLUTION = 32


def write_avi(path: Path, video: np.ndarray, codec: str, pix_fmt: str) -> None:
    """video: uint8 [T, H, W] grey, written losslessly into an AVI (bgr24: the grey in all channels)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = video.shape[2], video.shape[1], pix_fmt
        for plane in video:                                                        # [H, W]
            image = plane if pix_fmt == "gray" else np.repeat(plane[:, :, None], 3, axis=2)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format=pix_fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


@pytest.fixture(scope="module")
def download(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """A KTH-like download: AVIs in per-action subfolders, 00sequences.txt at the top."""
    top = tmp_path_factory.mktemp("kth") / "KTH"
    originals = {}
    for index, (video, (folder, frames, codec, pix_fmt)) in enumerate(VIDEOS.items()):
        pixels = np.random.default_rng(index).integers(0, 256, (frames, 120, 160), dtype=np.uint8)  # [T, H, W]
        write_avi(top / folder / f"{video}_uncomp.avi", pixels, codec, pix_fmt)
        originals[video] = pixels[:, None]                                         # [T, 1, 120, 160]
    (top / "00sequences.txt").write_bytes(SEQUENCES.encode())
    return top, originals


@pytest.fixture(scope="module")
def prepared(download, tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("data")
    summary = kth.prepare(download[0], root, RESOLUTION)
    return root, summary


def copy_download(download, tmp_path: Path) -> Path:
    return Path(shutil.copytree(download[0], tmp_path / "KTH"))


# --- 00sequences.txt ---------------------------------------------------------------------------

@pytest.mark.skipif(not REAL_SEQUENCES.is_file(), reason="shared golden KTH files not present")
def test_parser_on_the_real_file():
    sequences = kth.read_sequences(REAL_SEQUENCES)
    assert len(sequences) == 599
    assert "person13_handclapping_d3" not in sequences
    assert sorted(v for v, r in sequences.items() if len(r) == 3) == [
        "person11_boxing_d4", "person13_handwaving_d3", "person14_handwaving_d3", "person15_boxing_d4",
        "person22_boxing_d1"]
    assert all(len(r) == 4 for v, r in sequences.items() if v not in {
        "person11_boxing_d4", "person13_handwaving_d3", "person14_handwaving_d3", "person15_boxing_d4",
        "person22_boxing_d1"})
    assert sequences["person17_boxing_d1"][:2] == [(1, 110), (110, 192)]        # touching ranges
    assert sequences["person07_jogging_d4"] == [(1, 64), (270, 332), (194, 264), (490, 570)]   # file order kept
    assert sequences["person07_handclapping_d2"] == [(1, 102), (103, 248), (249, 368), (369, 518)]  # spaces+TAB
    assert sequences["person01_boxing_d1"] == [(1, 95), (96, 185), (186, 245), (246, 360)]
    assert sum(kth.split_of(v) == "test" for v in sequences) == 216
    assert {kth.action_of(v) for v in sequences} == set(kth.ACTIONS)


def test_parser_on_hand_written_quirks():
    assert kth.parse_sequences(SEQUENCES) == EXPECTED
    assert kth.parse_sequences(SEQUENCES.replace("\r\n", "\n")) == EXPECTED
    no_header = "person01_boxing_d1\tframes\t1-4,5-8 , 8 - 10, 11-12\n\n"     # the header-less copies
    assert kth.parse_sequences(no_header) == {"person01_boxing_d1": EXPECTED["person01_boxing_d1"]}


@pytest.mark.parametrize("bad_line, why", [
    ("person02_boxing_d1\t\tframes\t1-4, x-8", "range 'x-8'"),
    ("person02_boxing_d1\t\tframes\t10-5", "range 10-5"),
    ("person02_boxing_d1\t\tframes\t0-5", "range 0-5"),
    ("person02_boxing_d1\t\tframes\t1-4,", "range ''"),
    ("person02_boxing_d1\t\t1-4, 5-8", "expected '<video> frames"),
    ("person02_boxing_d1", "expected '<video> frames"),
    ("person01_boxing_d1\t\tframes\t1-4", "listed again (first on line 2)"),
    ("some trailing note", "expected a video name"),
    ("person02_swimming_d1\t\tframes\t1-4", "expected a video name"),
])
def test_parser_names_file_and_line_of_a_bad_line(bad_line, why):
    text = "header\r\nperson01_boxing_d1\t\tframes\t1-4\r\n\r\n" + bad_line + "\r\n"
    with pytest.raises(VBenchError, match=r"^seq\.txt:4: ") as info:
        kth.parse_sequences(text, "seq.txt")
    assert why in str(info.value)


def test_parser_rejects_a_file_without_video_lines(tmp_path):
    path = tmp_path / "00sequences.txt"
    path.write_text("just a header\nnothing else\n")
    with pytest.raises(VBenchError, match=f"{path}: no video lines"):
        kth.read_sequences(path)


def test_split_by_person():
    assert kth.split_of("person16_walking_d4") == "train" and kth.split_of("person17_boxing_d1") == "test"
    assert kth.split_of("person01_boxing_d1") == "train" and kth.split_of("person25_running_d2") == "test"


# --- prepare -----------------------------------------------------------------------------------

def test_avis_round_trip_exactly_at_native_size(download):
    top, originals = download
    for video, (folder, *_) in VIDEOS.items():
        np.testing.assert_array_equal(read_video(top / folder / f"{video}_uncomp.avi", 1), originals[video])


def test_prepare_splits_resizes_and_records_facts(download, prepared):
    _, originals = download
    root, summary = prepared
    assert "train: 2 videos, test: 2 videos" in summary and "WARNING" not in summary
    data = PreparedDataset(root, "kth", "hint")
    assert data.video_ids("train") == ["person01_boxing_d1", "person16_running_d4"]
    assert data.video_ids("test") == ["person17_walking_d2", "person25_handclapping_d1"]
    for video, original in originals.items():
        split = kth.split_of(video)
        frames = data.frames(split, video)                                         # [T, 1, 32, 32]
        assert frames.shape == (original.shape[0], 1, RESOLUTION, RESOLUTION)
        np.testing.assert_array_equal(frames, resize_frames(original, RESOLUTION, "bicubic"))
        assert data.verify(split, video)
    manifest = data.manifest
    assert manifest["resolution"] == RESOLUTION and "bicubic" in manifest["resize"]
    assert "PyAV" in manifest["decoder"] and "gray" in manifest["decoder"]
    assert {v: [tuple(r) for r in ranges] for v, ranges in manifest["sequences"].items()} == EXPECTED


def test_prepared_clips_through_a_suite_test_list(prepared, tmp_path, monkeypatch):
    root, _ = prepared
    cards = tmp_path / "cards"
    (cards / "kth").mkdir(parents=True)
    (cards / "kth" / "list.txt").write_text("# tiny list\nperson25_handclapping_d1 3\nperson17_walking_d2 0\n"
                                            "person25_handclapping_d1 15  # last frames\n")
    monkeypatch.setattr(vbench.data, "cards_dir", lambda: cards)
    suite = load_suite(write_suite(tmp_path, dataset="kth", split="test", test_list="kth/list.txt",
                                   resolution=RESOLUTION, context_frames=2, predicted_frames=3, num_videos=3,
                                   fvd_videos=3))
    clips = np.asarray(load_test_clips(suite, data_root=root))                    # [3, 5, 1, 32, 32]
    assert clips.shape == (3, 5, 1, RESOLUTION, RESOLUTION) and clips.dtype == np.uint8
    data = PreparedDataset(root, "kth", "hint")
    for clip, (video, start) in zip(clips, read_test_list("kth/list.txt")):
        np.testing.assert_array_equal(clip, data.frames("test", video, start, 5))


def test_prepare_from_the_action_zips_matches_the_folder(download, prepared, tmp_path):
    top, _ = download
    source = tmp_path / "zips"
    source.mkdir()
    shutil.copy(top / "00sequences.txt", source)
    for video, (folder, *_) in VIDEOS.items():
        with zipfile.ZipFile(source / f"{folder}.zip", "a") as archive:
            archive.write(top / folder / f"{video}_uncomp.avi", f"{video}_uncomp.avi")
    kth.prepare(source, tmp_path / "data", RESOLUTION)
    ours = json.loads((tmp_path / "data" / "kth" / "manifest.json").read_text())["splits"]
    theirs = json.loads((prepared[0] / "kth" / "manifest.json").read_text())["splits"]
    assert ours == theirs


def test_a_short_video_is_reported(download, tmp_path):
    source = copy_download(download, tmp_path)
    text = SEQUENCES.replace("13-14", "13-18")
    (source / "00sequences.txt").write_bytes(text.encode())
    summary = kth.prepare(source, tmp_path / "data", RESOLUTION)
    assert "WARNING: 1 videos have fewer frames" in summary and "person17_walking_d2 (15 frames" in summary


# --- errors ------------------------------------------------------------------------------------

def test_a_truncated_avi_names_the_file_and_leaves_the_root_alone(download, prepared, tmp_path):
    root, _ = prepared
    before = {p.name: p.read_bytes() for p in (root / "kth").iterdir()}
    entries = sorted(p.name for p in root.iterdir())
    source = copy_download(download, tmp_path)
    broken = source / "walking" / "person17_walking_d2_uncomp.avi"
    broken.write_bytes(broken.read_bytes()[:len(broken.read_bytes()) // 2])
    with pytest.raises(VBenchError, match=str(broken)):
        kth.prepare(source, root, RESOLUTION)
    assert {p.name: p.read_bytes() for p in (root / "kth").iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == entries                     # no .kth.preparing.* left


def test_a_truncated_avi_inside_a_zip_names_zip_and_member(download, tmp_path):
    top, _ = download
    source = tmp_path / "zips"
    source.mkdir()
    shutil.copy(top / "00sequences.txt", source)
    for video, (folder, *_) in VIDEOS.items():
        data = (top / folder / f"{video}_uncomp.avi").read_bytes()
        with zipfile.ZipFile(source / f"{folder}.zip", "a") as archive:
            archive.writestr(f"{video}_uncomp.avi", data[:3000] if folder == "running" else data)
    with pytest.raises(VBenchError, match=r"running\.zip:person16_running_d4_uncomp\.avi: cannot decode"):
        kth.prepare(source, tmp_path / "data", RESOLUTION)
    assert not (tmp_path / "data" / "kth").exists()
    assert list((tmp_path / "data").iterdir()) == []


def test_a_video_listed_but_missing_is_named(download, tmp_path):
    source = copy_download(download, tmp_path)
    (source / "running" / "person16_running_d4_uncomp.avi").unlink()
    with pytest.raises(VBenchError, match=r"1 videos listed in 00sequences.txt have no .*person16_running_d4"):
        kth.prepare(source, tmp_path / "data", RESOLUTION)
    assert not (tmp_path / "data" / "kth").exists()


def test_a_folder_without_00sequences(download, tmp_path):
    source = copy_download(download, tmp_path)
    (source / "00sequences.txt").unlink()
    with pytest.raises(VBenchError, match=r"no 00sequences\.txt; expected the KTH folder"):
        kth.prepare(source, tmp_path / "data", RESOLUTION)


def test_a_folder_without_videos(tmp_path):
    (tmp_path / "00sequences.txt").write_bytes(SEQUENCES.encode())
    with pytest.raises(VBenchError, match=r"no person\.\.\._\{action\}_d\.\._uncomp\.avi files"):
        kth.prepare(tmp_path, tmp_path / "data", RESOLUTION)
    with pytest.raises(VBenchError, match="expected a folder"):
        kth.prepare(tmp_path / "00sequences.txt", tmp_path / "data", RESOLUTION)


# --- the shipped test list ---------------------------------------------------------------------

def test_suite_uses_the_list():
    suite = load_suite("kth")
    assert suite.test_list == "kth/test_list_v1.txt" and suite.total_frames == 40 and suite.num_videos == 256


@pytest.mark.skipif(not REAL_SEQUENCES.is_file(), reason="shared golden KTH files not present")
def test_fixed_test_list_lies_inside_the_annotations():
    sequences = kth.read_sequences(REAL_SEQUENCES)
    entries = read_test_list("kth/test_list_v1.txt")
    assert len(entries) == 256 and len(set(entries)) == 256
    counts = {action: 0 for action in kth.ACTIONS}
    for video, start in entries:
        assert kth.split_of(video) == "test" and 17 <= int(video[6:8]) <= 25
        assert start + 40 <= max(last for _, last in sequences[video])
        assert start + 1 in {first for first, _ in sequences[video]}
        counts[kth.action_of(video)] += 1
    assert counts == {"boxing": 43, "handclapping": 43, "handwaving": 43, "jogging": 43, "running": 42,
                      "walking": 42}
    assert {video for video, _ in entries} == {v for v in sequences if kth.split_of(v) == "test"}
    first_twelve = [kth.action_of(video) for video, _ in entries[:12]]
    assert first_twelve == list(kth.ACTIONS) * 2                                  # any prefix is balanced


@pytest.mark.skipif(not REAL_SEQUENCES.is_file(), reason="shared golden KTH files not present")
def test_make_script_reproduces_the_list(tmp_path):
    copy = tmp_path / "00sequences.txt"
    shutil.copy(REAL_SEQUENCES, copy)
    out = tmp_path / "list.txt"
    subprocess.run([sys.executable, str(REPO / "datasets" / "kth" / "make_test_list.py"), str(copy),
                    "--out", str(out)], check=True, capture_output=True)
    assert out.read_bytes() == TEST_LIST.read_bytes()
