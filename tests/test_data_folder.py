"""The `folder` dataset: clips cut from a user's mix of videos, frame folders and arrays, in natural
name order, with stride, channel conversion and resize; each kind of bad input names its file."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import write_suite
from vbench.data import folder, load_test_clips
from vbench.data.frames import resize_frames
from vbench.errors import DatasetNotPrepared, VBenchError
from vbench.suite import load_suite

RES = 16
T = 4   # frames per clip in these suites (2 context + 2 predicted)


def write_avi(path: Path, video: np.ndarray) -> None:
    """uint8 [T, H, W, 3] -> lossless FFV1 in AVI (decodes back bit-exact)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.height, stream.width, stream.pix_fmt = video.shape[1], video.shape[2], "bgr0"
        for frame in video:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_gif(path: Path, video: np.ndarray) -> None:
    """uint8 [T, H, W, 3] with few colours -> GIF (exact: no quantisation needed)."""
    frames = [Image.fromarray(frame) for frame in video]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)


def random_video(rng: np.random.Generator, frames: int, height: int = RES, width: int = RES) -> np.ndarray:
    return rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)   # [T, H, W, 3]


def chw(video: np.ndarray) -> np.ndarray:
    return video.transpose(0, 3, 1, 2) if video.ndim == 4 else video[:, None]   # [T, C, H, W]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    """v1.avi (9 frames), v2.gif (6), v3/ PNG frames (12), v10.npy grey float (5), v11.npz x2 (8) and
    x10 (4, channels first); returns the folder and each video as uint8 [T, C, 16, 16] in natural order."""
    rng = np.random.default_rng(0)
    top = tmp_path_factory.mktemp("folder")
    avi = random_video(rng, 9)
    write_avi(top / "v1.avi", avi)
    palette = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    gif = palette[rng.integers(0, 5, (6, RES, RES))]                       # [6, 16, 16, 3]
    write_gif(top / "v2.gif", gif)
    pngs = random_video(rng, 12)
    (top / "v3").mkdir()
    for t, frame in enumerate(pngs):
        Image.fromarray(frame).save(top / "v3" / f"frame{t + 1}.png")      # frame1 .. frame12
    grey = rng.integers(0, 256, (5, RES, RES), dtype=np.uint8)
    np.save(top / "v10.npy", grey.astype(np.float32) / 255)               # [T, H, W] float in [0, 1]
    x2, x10 = random_video(rng, 8), random_video(rng, 4)
    np.savez(top / "v11.npz", x10=x10.transpose(0, 3, 1, 2), x2=x2)        # [T, C, H, W] and [T, H, W, C]
    (top / "notes.txt").write_text("not a video")
    return top, [chw(v) for v in (avi, gif, pngs, grey, x2, x10)]


def suite_for(tmp_path: Path, data_path: Path, count: int, **overrides):
    values = dict(dataset="folder", data_path=str(data_path), channels=3, resolution=RES, context_frames=2,
                  predicted_frames=2, num_videos=count, fvd_videos=count)
    return load_suite(write_suite(tmp_path, **{**values, **overrides}))


def expected_clips(videos: list[np.ndarray], stride: int, channels: int = 3) -> list[np.ndarray]:
    clips = []
    for video in videos:
        if channels == 3 and video.shape[1] == 1:
            video = np.repeat(video, 3, axis=1)
        if channels == 1 and video.shape[1] == 3:
            video = np.stack([np.asarray(Image.fromarray(f.transpose(1, 2, 0)).convert("L")) for f in video])[:, None]
        clips.extend(video[s:s + T] for s in range(0, len(video) - T + 1, stride))
    return clips


def test_natural_order():
    names = ["v10.npy", "v", "V2", "v1.avi", "frame9.png", "frame10.png", "1"]
    assert sorted(names, key=folder.natural_key) == ["1", "frame9.png", "frame10.png", "v", "v1.avi", "V2", "v10.npy"]


@pytest.mark.parametrize("stride", [0, 2])
def test_clips_in_natural_order_with_stride_and_exact_pixels(mixed, tmp_path, stride):
    top, videos = mixed
    want = expected_clips(videos, stride or T)
    assert len(want) == (2 + 1 + 3 + 1 + 2 + 1 if stride == 0 else 3 + 2 + 5 + 1 + 3 + 1)
    suite = suite_for(tmp_path, top, len(want), clip_stride=stride)
    clips = folder.load_folder_clips(suite, len(want))                     # [V, T, 3, 16, 16]
    assert clips.shape == (len(want), T, 3, RES, RES) and clips.dtype == np.uint8
    np.testing.assert_array_equal(clips, np.stack(want))


def test_grey_suite_uses_bt601_luma_like_pillow(mixed, tmp_path):
    top, videos = mixed
    want = expected_clips(videos, T, channels=1)
    clips = folder.load_folder_clips(suite_for(tmp_path, top, len(want), channels=1), len(want))
    np.testing.assert_array_equal(clips, np.stack(want))                   # [V, T, 1, 16, 16]


def test_frames_are_resized_with_bicubic(tmp_path):
    video = random_video(np.random.default_rng(1), 4, height=20, width=30)
    np.save(tmp_path / "wide.npy", video)
    clips = folder.load_folder_clips(suite_for(tmp_path, tmp_path, 1), 1)
    np.testing.assert_array_equal(clips[0], resize_frames(chw(video), RES, "bicubic"))


def test_only_the_videos_needed_are_decoded(tmp_path):
    np.save(tmp_path / "a.npy", random_video(np.random.default_rng(2), 8))   # 2 clips
    (tmp_path / "b.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage")
    assert folder.load_folder_clips(suite_for(tmp_path, tmp_path, 3), 2).shape[0] == 2
    with pytest.raises(VBenchError, match=r"b\.mp4"):
        folder.load_folder_clips(suite_for(tmp_path, tmp_path, 3), 3)


def test_suite_and_runner_end_to_end(mixed, tmp_path):
    from vbench.runner import RunRequest, run
    from vbench.store import Store
    top, videos = mixed
    path = write_suite(tmp_path, dataset="folder", data_path=str(top), channels=3, resolution=32,
                       context_frames=2, predicted_frames=2, num_videos=3, fvd_videos=3)
    clips = load_test_clips(load_suite(path), tmp_path / "unused-root")
    np.testing.assert_array_equal(clips[2], resize_frames(videos[1][:T], 32, "bicubic"))   # the GIF
    run_id = run(RunRequest(suite=str(path), model="copy_last", store=tmp_path / "r.sqlite", device="cpu",
                            progress=False))
    with Store(tmp_path / "r.sqlite") as store:
        assert store.run(run_id).status == "finished"
        assert store.scores(run_id)[1]["psnr"].shape == (3, 1, 2)


# --- bad input -----------------------------------------------------------------------------------

def test_too_few_clips_says_how_many_were_found_where(mixed, tmp_path):
    top, _ = mixed
    with pytest.raises(DatasetNotPrepared, match=rf"found 10 clips of 4 frames \(stride 4\) in 6 videos in "
                                                 rf"{top}, needs 11; skipped 1 entries .*notes.txt"):
        folder.load_folder_clips(suite_for(tmp_path, top, 11), 11)


def test_data_path_must_be_a_directory(tmp_path):
    (tmp_path / "file.npy").write_bytes(b"")
    for path in (tmp_path / "missing", tmp_path / "file.npy"):
        with pytest.raises(DatasetNotPrepared, match=rf"data_path {path} is not a directory"):
            folder.load_folder_clips(suite_for(tmp_path, path, 1), 1)


def test_empty_data_path_finds_no_clips(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DatasetNotPrepared, match=r"found 0 clips .* in 0 videos"):
        folder.load_folder_clips(suite_for(tmp_path, tmp_path / "data", 1), 1)


def _fails(tmp_path: Path, match: str) -> None:
    with pytest.raises(VBenchError, match=match):
        folder.load_folder_clips(suite_for(tmp_path, tmp_path / "data", 1), 1)


@pytest.mark.parametrize("array, match", [
    (np.zeros((4, 3, 8, 3), np.uint8), r"bad\.npy: shape \(4, 3, 8, 3\) is ambiguous"),
    (np.zeros((4, 8, 8, 2), np.uint8), r"bad\.npy: shape \(4, 8, 8, 2\): a 4-d array must be"),
    (np.zeros((2, 4, 8, 8, 3), np.uint8), r"bad\.npy: shape \(2, 4, 8, 8, 3\): expected .* one \.npz"),
    (np.zeros((4, 8, 8), np.int64), r"bad\.npy: dtype int64: arrays must be uint8, or float"),
    (np.full((4, 8, 8), 1.5), r"bad\.npy: float values span \[1.5, 1.5\], expected \[0, 1\]"),
    (np.full((4, 8, 8), np.nan, np.float32), r"bad\.npy: holds 256 NaN/Inf values"),
])
def test_bad_arrays_name_the_file(tmp_path, array, match):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "bad.npy", array)
    _fails(tmp_path, match)


def test_bad_npz_array_names_the_key(tmp_path):
    (tmp_path / "data").mkdir()
    np.savez(tmp_path / "data" / "set.npz", good=np.zeros((4, 8, 8), np.uint8), bad=np.zeros((4, 8), np.uint8))
    _fails(tmp_path, r"set\.npz\[bad\]: shape \(4, 8\)")


@pytest.mark.parametrize("name, content, match", [
    ("broken.mp4", b"\x00" * 64, r"broken\.mp4"),
    ("broken.npy", b"\x93NUMPY garbage", r"broken\.npy: cannot read array"),
    ("broken.npz", b"PK\x03\x04 garbage", r"broken\.npz: cannot read \.npz archive"),
])
def test_unreadable_files_are_named(tmp_path, name, content, match):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_bytes(content)
    _fails(tmp_path, match)


def test_frame_folder_errors_name_the_folder_or_frame(tmp_path):
    frames = tmp_path / "data" / "clip"
    frames.mkdir(parents=True)
    _fails(tmp_path, rf"{frames}: a folder of frames must hold \.png or \.jpg images; found none")
    for t in range(4):
        Image.new("RGB", (8, 8)).save(frames / f"{t}.png")
    Image.new("RGB", (8, 6)).save(frames / "2.png")
    _fails(tmp_path, r"2\.png: frame size 8x6 differs from 0\.png's 8x8")
    (frames / "3.png").write_bytes(b"\x89PNG broken")
    _fails(tmp_path, r"3\.png: cannot decode image")


def test_relative_data_path_is_read_beside_the_suite_file(tmp_path, monkeypatch):
    from vbench.suite import load_suite
    (tmp_path / "suites" / "clips").mkdir(parents=True)
    path = write_suite(tmp_path / "suites", dataset="folder", data_path="clips")
    monkeypatch.chdir(tmp_path)
    assert load_suite(path).data_path == str((tmp_path / "suites" / "clips").resolve())
