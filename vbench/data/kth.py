"""KTH actions: the `*_uncomp.avi` download and its `00sequences.txt`, converted to the prepared form.

The download is one zip per action (`boxing.zip`, ..., `walking.zip`) holding
`person{01..25}_{action}_d{1..4}_uncomp.avi` (599 videos: `person13_handclapping_d3` does not
exist), 160x120 grey at 25 fps, plus `00sequences.txt`, which lists per video the 1-based inclusive
frame ranges in which the subject performs the action. Quirks of that file, all handled here: CRLF
line ends, a free-text header, blank lines between persons, one or two TABs (sometimes after spaces)
before `frames`, 3 instead of 4 ranges for five videos, ranges that touch, overlap or come out of
order, and a `*missing*` line for the absent video.

Every video is decoded whole (grey, FFmpeg's own conversion via PyAV), resized to a square with
Pillow bicubic and stored under split `train` (persons 01-16) or `test` (persons 17-25), id
`personXX_action_dN`. The annotated ranges go into the manifest, so clip lists can be checked
against them later.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vbench.data.frames import read_video, resize_frames
from vbench.data.prepared import PreparedWriter
from vbench.errors import VBenchError

ACTIONS = ("boxing", "handclapping", "handwaving", "jogging", "running", "walking")
TEST_PERSONS = range(17, 26)          # persons 01-16 train, 17-25 test (MCnet, SAVP)
KNOWN_ABSENT = ("person13_handclapping_d3",)
SEQUENCES_FILE = "00sequences.txt"
RESIZE = "bicubic"
VIDEO_NAME = re.compile(r"person(\d\d)_(" + "|".join(ACTIONS) + r")_d([1-4])")
AVI_SUFFIX = "_uncomp.avi"
RANGE = re.compile(r"(\d+)\s*-\s*(\d+)")

Ranges = list[tuple[int, int]]


# --- 00sequences.txt ---------------------------------------------------------------------------

def parse_sequences(text: str, name: str = SEQUENCES_FILE) -> dict[str, Ranges]:
    """`{video: [(first, last), ...]}` from the text of 00sequences.txt (1-based inclusive ranges,
    in file order). The header is everything before the first line that starts with a video name;
    after it every non-blank line must be `<video> frames <a>-<b>, ...` or `<video> *missing*`.
    Raises VBenchError naming `name` and the line number of the first bad line."""
    sequences: dict[str, Ranges] = {}
    seen_at: dict[str, int] = {}
    in_header = True
    for number, line in enumerate(text.splitlines(), 1):      # splitlines: CRLF, LF and CR alike
        parts = line.split(None, 2)                             # any run of spaces and TABs
        if in_header:
            if not parts or not VIDEO_NAME.fullmatch(parts[0]):
                continue
            in_header = False
        if not parts:
            continue

        def bad(why: str) -> VBenchError:
            return VBenchError(f"{name}:{number}: {why}: {line.strip()!r}")

        video = parts[0]
        if not VIDEO_NAME.fullmatch(video):
            raise bad("expected a video name like person01_boxing_d1 at the start of the line")
        if video in seen_at:
            raise bad(f"video {video} is listed again (first on line {seen_at[video]})")
        seen_at[video] = number
        if len(parts) == 2 and parts[1] == "*missing*":
            continue
        if len(parts) < 3 or parts[1] != "frames":
            raise bad("expected '<video> frames <a>-<b>, <c>-<d>, ...'")
        ranges = []
        for item in parts[2].split(","):
            match = RANGE.fullmatch(item.strip())
            if not match:
                raise bad(f"range {item.strip()!r} is not '<first>-<last>'")
            first, last = int(match[1]), int(match[2])
            if not 1 <= first <= last:
                raise bad(f"range {first}-{last} is not 1 <= first <= last")
            ranges.append((first, last))
        sequences[video] = ranges
    if not sequences:
        raise VBenchError(f"{name}: no video lines ('personXX_action_dN frames a-b, ...') found")
    return sequences


def read_sequences(path: str | Path) -> dict[str, Ranges]:
    """parse_sequences on a file (ASCII; any line ends)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as exc:
        raise VBenchError(f"{path}: cannot read ({exc})") from None
    return parse_sequences(text, str(path))


def split_of(video: str) -> str:
    """'train' for persons 01-16, 'test' for persons 17-25."""
    match = VIDEO_NAME.fullmatch(video)
    if not match:
        raise ValueError(f"not a KTH video name: {video!r}")
    return "test" if int(match[1]) in TEST_PERSONS else "train"


def action_of(video: str) -> str:
    match = VIDEO_NAME.fullmatch(video)
    if not match:
        raise ValueError(f"not a KTH video name: {video!r}")
    return match[2]


# --- finding the download ----------------------------------------------------------------------

@dataclass(frozen=True)
class VideoFile:
    """One AVI: a file on disk, or a member of an action zip."""
    path: Path
    member: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)


def _video_name(filename: str) -> str | None:
    stem = filename.rsplit("/", 1)[-1]
    if not stem.endswith(AVI_SUFFIX):
        return None
    name = stem[:-len(AVI_SUFFIX)]
    return name if VIDEO_NAME.fullmatch(name) else None


def find_videos(source: Path) -> dict[str, VideoFile]:
    """`{video: file}` for every `person..._uncomp.avi` under `source` (any depth); when there are
    none, the members of the `*.zip` files under it instead."""
    found: dict[str, VideoFile] = {}

    def add(name: str, where: VideoFile) -> None:
        if name in found:
            raise VBenchError(f"{source}: video {name} found twice: {found[name]} and {where}")
        found[name] = where

    for path in sorted(source.rglob(f"*{AVI_SUFFIX}")):
        if (name := _video_name(path.name)) is not None:
            add(name, VideoFile(path))
    if found:
        return found
    for path in sorted(source.rglob("*.zip")):
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
        except (OSError, zipfile.BadZipFile) as exc:
            raise VBenchError(f"{path}: not a readable zip ({exc})") from None
        for member in members:
            if (name := _video_name(member)) is not None:
                add(name, VideoFile(path, member))
    return found


def find_sequences_file(source: Path) -> Path:
    if (source / SEQUENCES_FILE).is_file():
        return source / SEQUENCES_FILE
    candidates = sorted(source.rglob(SEQUENCES_FILE))
    if len(candidates) > 1:
        raise VBenchError(f"{source}: several {SEQUENCES_FILE} files ({', '.join(map(str, candidates))}); keep one")
    if not candidates:
        raise VBenchError(f"{source}: no {SEQUENCES_FILE}; expected the KTH folder holding it (from "
                          f"https://www.csc.kth.se/cvap/actions/{SEQUENCES_FILE}) with the *{AVI_SUFFIX} files "
                          f"or the six action zips ({', '.join(a + '.zip' for a in ACTIONS)})")
    return candidates[0]


def _missing_message(source: Path, missing: list[str]) -> str:
    per_action = {action: sum(action_of(v) == action for v in missing) for action in ACTIONS}
    counts = ", ".join(f"{action} {count}" for action, count in per_action.items() if count)
    shown = ", ".join(missing[:12]) + (f", ... ({len(missing) - 12} more)" if len(missing) > 12 else "")
    return (f"{source}: {len(missing)} videos listed in {SEQUENCES_FILE} have no *{AVI_SUFFIX} file "
            f"(per action: {counts}): {shown}")


# --- decoding ----------------------------------------------------------------------------------

def read_kth_video(where: VideoFile, scratch: Path) -> np.ndarray:
    """uint8 [T, 1, H, W], every frame; a zip member is extracted to `scratch` for the decoder."""
    if where.member is None:
        return read_video(where.path, 1)
    extracted = scratch / Path(where.member).name
    try:
        with zipfile.ZipFile(where.path) as archive, archive.open(where.member) as src, \
                open(extracted, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return read_video(extracted, 1)
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise VBenchError(f"{where}: cannot extract ({exc})") from None
    except VBenchError as exc:
        raise VBenchError(str(exc).replace(str(extracted), str(where))) from None
    finally:
        extracted.unlink(missing_ok=True)


def decoder_description() -> str:
    import av
    libavcodec = ".".join(map(str, av.library_versions.get("libavcodec", ())))
    return f"PyAV {av.__version__} (libavcodec {libavcodec}), FFmpeg pixel format gray"


# --- prepare -----------------------------------------------------------------------------------

def prepare(source: Path, root: Path, resolution: int = 64) -> str:
    """Convert the KTH download under `source` (extracted AVIs or the action zips, with
    00sequences.txt) into the prepared form under `root/kth`; all or nothing."""
    source = Path(source)
    if not source.is_dir():
        raise VBenchError(f"{source}: expected a folder holding {SEQUENCES_FILE} and the KTH *{AVI_SUFFIX} files "
                          "(or the six action zips)")
    sequences_path = find_sequences_file(source)
    sequences = read_sequences(sequences_path)
    videos = find_videos(source)
    if not videos:
        raise VBenchError(f"{source}: no person..._{{action}}_d..{AVI_SUFFIX} files and no zips holding them; "
                          f"expected the KTH download (the AVIs, or {', '.join(a + '.zip' for a in ACTIONS)})")
    missing = [v for v in sequences if v not in videos and v not in KNOWN_ABSENT]
    if missing:
        raise VBenchError(_missing_message(source, missing))
    ignored = sorted(v for v in videos if v not in sequences)
    wanted = sorted(v for v in sequences if v in videos)

    facts = {"resolution": resolution, "channels": 1,
             "resize": f"pillow {RESIZE}, straight squash of the whole frame to {resolution}x{resolution}",
             "decoder": decoder_description(),
             "split_rule": "persons 01-16 train, 17-25 test",
             "sequences_file": sequences_path.name,
             "sequences": {video: [list(r) for r in ranges] for video, ranges in sorted(sequences.items())}}
    counts = {"train": 0, "test": 0}
    short: list[str] = []          # decoded fewer frames than the last annotated one
    with PreparedWriter(root, "kth", source, facts) as writer, \
            tempfile.TemporaryDirectory(prefix="vbench-kth-avi.") as scratch:
        for video in tqdm(wanted, desc="kth videos", unit="video", disable=None):
            frames = read_kth_video(videos[video], Path(scratch))             # [T, 1, 120, 160]
            annotated_end = max(last for _, last in sequences[video])
            if frames.shape[0] < annotated_end:
                short.append(f"{video} ({frames.shape[0]} frames, annotated up to {annotated_end})")
            writer.add_video(split_of(video), video, resize_frames(frames, resolution, RESIZE))  # [T, 1, r, r]
            counts[split_of(video)] += 1
        target = writer.commit()
    notes = ""
    if short:
        notes += (f"; WARNING: {len(short)} videos have fewer frames than {SEQUENCES_FILE} annotates "
                  f"({', '.join(short)})")
    if ignored:
        notes += f"; ignored {len(ignored)} videos not in {SEQUENCES_FILE} ({', '.join(ignored)})"
    return (f"prepared kth (train: {counts['train']} videos, test: {counts['test']} videos; "
            f"{resolution}x{resolution} grey, pillow {RESIZE}) in {target}{notes}")
