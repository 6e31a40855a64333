"""The `folder` dataset: test clips cut from the user's own videos, frame folders or arrays.

`suite.data_path` is a directory whose entries are, in natural order of their names
(`clip2` before `clip10`):

* video files (.mp4 .avi .gif .mov .mkv .webm), decoded to RGB by PyAV (`read_video`);
* sub-folders of frame images (.png .jpg .jpeg), frames in natural order of their file names;
* `.npy` arrays (one video) and `.npz` archives (one video per array, natural order of the keys).

Arrays are uint8, or floating point in [0, 1] (scaled by 255 and rounded). Shape rule: 3-d is
`[T, H, W]` (grey); 4-d is `[T, H, W, C]` when the last axis is 1 or 3, `[T, C, H, W]` when the
second axis is 1 or 3, and an error when both are (e.g. `[T, 3, 64, 3]`) or neither is.

Each video gives clips of `suite.total_frames` frames starting at 0, stride, 2*stride, ...
(stride = `suite.clip_stride`, or the clip length when 0) while they fit. Frames are converted to
the suite's channels first (RGB -> grey by ITU-R BT.601 luma, Pillow's `convert("L")` rule;
grey -> RGB by repeating the plane), then resized to `resolution` x `resolution` with Pillow's
antialiased bicubic filter (the aspect ratio is not kept: crop beforehand if that matters). Videos
are opened in order until `count` clips are found, so only those videos are decoded. Entries
with other extensions and hidden files are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vbench.data import LazyClips
from vbench.data.frames import read_video, resize_frames
from vbench.errors import DatasetNotPrepared, VBenchError
from vbench.protocol import clip_digest
from vbench.suite import Suite

VIDEO_EXTENSIONS = (".mp4", ".avi", ".gif", ".mov", ".mkv", ".webm")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
RESIZE = "bicubic"


@dataclass(frozen=True)
class Source:
    """One video of the folder: a video file, a frame folder, an .npy file or one array of an .npz."""
    kind: str          # "video", "frames", "npy", "npz"
    path: Path
    key: str = ""      # the array's name inside an .npz

    @property
    def name(self) -> str:
        return f"{self.path}[{self.key}]" if self.key else str(self.path)


def natural_key(name: str) -> tuple[list, str]:
    """Sort key putting digit runs in numeric order: 'f2' < 'f10' (ties broken by the exact name)."""
    parts = re.split(r"(\d+)", name)   # text at even positions, digit runs at odd ones
    return [int(part) if i % 2 else part.lower() for i, part in enumerate(parts)], name


# --- listing -----------------------------------------------------------------------------------

def list_sources(folder: Path) -> tuple[list[Source], list[str]]:
    """(videos of the folder in order, names of skipped entries)."""
    sources, skipped = [], []
    for path in sorted(folder.iterdir(), key=lambda p: natural_key(p.name)):
        suffix = path.suffix.lower()
        if path.name.startswith("."):
            continue
        if path.is_dir():
            sources.append(Source("frames", path))
        elif suffix in VIDEO_EXTENSIONS:
            sources.append(Source("video", path))
        elif suffix == ".npy":
            sources.append(Source("npy", path))
        elif suffix == ".npz":
            try:
                with np.load(path) as archive:
                    keys = sorted(archive.files, key=natural_key)
            except Exception as exc:   # zipfile / numpy raise several kinds on a damaged archive
                raise VBenchError(f"{path}: cannot read .npz archive ({type(exc).__name__}: {exc})") from None
            if not keys:
                raise VBenchError(f"{path}: the .npz archive holds no arrays")
            sources.extend(Source("npz", path, key) for key in keys)
        else:
            skipped.append(path.name)
    return sources, skipped


def frame_files(folder: Path) -> list[Path]:
    files = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                    and not p.name.startswith(".")), key=lambda p: natural_key(p.name))
    if not files:
        raise VBenchError(f"{folder}: a folder of frames must hold .png or .jpg images; found none")
    return files


# --- reading one video ------------------------------------------------------------------------

def count_frames(path: Path) -> int:
    """Frames of a video file, decoded but not converted (so listing a large folder stays cheap in memory)."""
    import av
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VBenchError(f"{path}: no video stream")
            return sum(1 for _ in container.decode(video=0))
    except av.FFmpegError as exc:
        raise VBenchError(f"{path}: cannot decode video ({exc})") from None

def array_layout(shape: tuple[int, ...], name: str) -> str:
    """'THW', 'THWC' or 'TCHW' for an array of this shape, by the module's rule; else an error naming it."""
    if len(shape) == 3:
        layout = "THW"
    elif len(shape) == 4:
        last, second = shape[3] in (1, 3), shape[1] in (1, 3)
        if last and second:
            raise VBenchError(f"{name}: shape {shape} is ambiguous: [T, H, W, C] or [T, C, H, W]? "
                              "Save it as [T, H, W, C] with H and W other than 1 and 3")
        if not (last or second):
            raise VBenchError(f"{name}: shape {shape}: a 4-d array must be [T, H, W, C] or [T, C, H, W] "
                              "with C = 1 or 3")
        layout = "THWC" if last else "TCHW"
    else:
        raise VBenchError(f"{name}: shape {shape}: expected [T, H, W], [T, H, W, C] or [T, C, H, W] "
                          "(several videos: one .npz with one array per video)")
    if 0 in shape:
        raise VBenchError(f"{name}: shape {shape} holds no pixels")
    return layout


def array_to_frames(array: np.ndarray, name: str) -> np.ndarray:
    """A user array -> uint8 [T, C, H, W] (C = 1 or 3), by the module's shape and dtype rules."""
    layout = array_layout(array.shape, name)
    if layout == "THW":
        video = array[:, None]                                            # [T, 1, H, W]
    elif layout == "THWC":
        video = array.transpose(0, 3, 1, 2)                               # [T, C, H, W]
    else:
        video = array                                                     # [T, C, H, W]
    if video.dtype == np.uint8:
        return np.ascontiguousarray(video)
    if not np.issubdtype(video.dtype, np.floating):
        raise VBenchError(f"{name}: dtype {video.dtype}: arrays must be uint8, or float in [0, 1]")
    video = np.asarray(video, np.float64)
    if not np.isfinite(video).all():
        raise VBenchError(f"{name}: holds {int((~np.isfinite(video)).sum())} NaN/Inf values")
    low, high = float(video.min()), float(video.max())
    if low < 0 or high > 1:
        raise VBenchError(f"{name}: float values span [{low:g}, {high:g}], expected [0, 1] "
                          "(or store uint8 0..255)")
    return np.rint(video * 255).astype(np.uint8)


def load_array(source: Source) -> np.ndarray:
    """The raw array of an .npy (memory-mapped) or of one key of an .npz."""
    try:
        if source.kind == "npy":
            return np.load(source.path, mmap_mode="r", allow_pickle=False)
        with np.load(source.path, allow_pickle=False) as archive:
            return archive[source.key]
    except Exception as exc:   # numpy raises ValueError, OSError, EOFError... on damaged files
        raise VBenchError(f"{source.name}: cannot read array ({type(exc).__name__}: {exc})") from None


def read_image(path: Path, channels: int) -> np.ndarray:
    """One frame image -> uint8 [C, H, W] in the suite's channels (Pillow's L / RGB conversion)."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L" if channels == 1 else "RGB"))   # [H, W] or [H, W, 3]
    except Exception as exc:   # Pillow raises many kinds on bad data
        raise VBenchError(f"{path}: cannot decode image ({type(exc).__name__}: {exc})") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


class Video:
    """A source opened lazily: its length first, then only the frames asked for, in the suite's channels."""

    def __init__(self, source: Source, channels: int):
        self.source, self.channels = source, channels
        if source.kind == "frames":
            self._files = frame_files(source.path)
            self.length = len(self._files)
        elif source.kind == "video":
            self._video = None                                            # decoded when frames are asked for
            self.length = count_frames(source.path)
        else:
            self._array = load_array(source)                              # raw user array, any layout
            array_layout(self._array.shape, source.name)
            self.length = int(self._array.shape[0])

    def first_frames(self, count: int) -> np.ndarray:
        """Frames 0..count-1, uint8 [count, channels, H, W]."""
        if self.source.kind == "frames":
            frames = [read_image(path, self.channels) for path in self._files[:count]]   # each [C, H, W]
            for path, frame in zip(self._files, frames):
                if frame.shape != frames[0].shape:
                    raise VBenchError(f"{path}: frame size {frame.shape[2]}x{frame.shape[1]} differs from "
                                      f"{self._files[0].name}'s {frames[0].shape[2]}x{frames[0].shape[1]}")
            return np.stack(frames)                                       # [count, C, H, W]
        if self.source.kind == "video":
            if self._video is None:
                self._video = read_video(self.source.path, 3)             # [T, 3, H, W]
            return to_channels(self._video[:count], self.channels)
        frames = array_to_frames(np.asarray(self._array[:count]), self.source.name)   # [count, C, H, W]
        return to_channels(frames, self.channels)


# --- pixels ------------------------------------------------------------------------------------

def to_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    """uint8 [T, C, H, W] -> [T, channels, H, W]: BT.601 luma (Pillow's integer rule) or grey tiled."""
    if frames.shape[1] == channels:
        return frames
    if channels == 3:
        return np.repeat(frames, 3, axis=1)                               # [T, 3, H, W]
    rgb = frames.astype(np.uint32)
    luma = (rgb[:, 0] * 19595 + rgb[:, 1] * 38470 + rgb[:, 2] * 7471 + 0x8000) >> 16   # [T, H, W]
    return luma.astype(np.uint8)[:, None]                                 # [T, 1, H, W]


def clip_starts(length: int, clip_frames: int, stride: int) -> list[int]:
    return list(range(0, length - clip_frames + 1, stride))


# --- the dataset ---------------------------------------------------------------------------------

def load_folder_clips(suite: Suite, count: int) -> LazyClips:
    """The first `count` clips of `suite.data_path`, uint8 [count, T, C, res, res], read when indexed.

    Listing finds each video's length (and so its clips) without keeping frames; every clip is then
    read once, so that a damaged file is an error before the run starts, and again when the runner
    asks for it, with the last video kept open: memory stays flat however many videos the folder holds.
    """
    folder = Path(suite.data_path).expanduser()
    if not folder.is_dir():
        raise DatasetNotPrepared(f"suite '{suite.name}': data_path {folder} is not a directory")
    length = suite.total_frames
    stride = suite.clip_stride or length
    sources, skipped = list_sources(folder)
    index: list[tuple[Source, int]] = []                                  # (video, first frame) per clip
    for source in sources:
        starts = clip_starts(Video(source, suite.channels).length, length, stride)[:count - len(index)]
        index.extend((source, start) for start in starts)
        if len(index) == count:
            reader = _ClipReader(index, suite.channels, length, suite.resolution)
            # every clip read once now: a bad file fails before the run, not in it (and its digest is taken)
            digests = [clip_digest(reader(i)) for i in range(count)]
            return LazyClips(reader, count, (length, suite.channels, suite.resolution, suite.resolution), digests)
    note = ""
    if skipped:
        note = f"; skipped {len(skipped)} entries of other kinds: {', '.join(skipped[:5])}"
        note += ", ..." if len(skipped) > 5 else ""
    raise DatasetNotPrepared(
        f"suite '{suite.name}': found {len(index)} clips of {length} frames (stride {stride}) in {len(sources)} "
        f"videos in {folder}, needs {count}{note}")


class _ClipReader:
    """Clip i of the index -> uint8 [T, C, res, res]; the most recent video stays open."""

    def __init__(self, index: list[tuple[Source, int]], channels: int, length: int, resolution: int):
        self.index, self.channels, self.length, self.resolution = index, channels, length, resolution
        self._open: tuple[Source, Video] | None = None

    def __call__(self, i: int) -> np.ndarray:
        source, start = self.index[i]
        if self._open is None or self._open[0] != source:
            self._open = (source, Video(source, self.channels))
        frames = self._open[1].first_frames(start + self.length)[start:]  # [T, C, H, W]
        return resize_frames(frames, self.resolution, RESIZE)            # [T, C, res, res]
