"""Cityscapes `leftImg8bit_sequence`: 30-frame PNG snippets -> the prepared form (square RGB frames).

The download (`leftImg8bit_sequence_trainvaltest.zip`) holds
`leftImg8bit_sequence/{train,val,test}/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png`,
2048x1024 RGB at 17 Hz. Frames of one (city, seq) come in snippets of 30 consecutive frame
numbers (the 20th is the annotated one); a city+seq may hold several snippets, far apart or
back to back. A snippet is named after its first frame: `frankfurt_000000_000275`.

Each frame is centre-cropped to a square (the middle 1024x1024 of a 2048x1024 frame), then
resized to `resolution` with Pillow's Lanczos filter, as MCVD's converter does (see the dataset
card, `datasets/cityscapes/README.md`). Snippets are written per split in sorted
(city, seq, first frame) order; a snippet that does not hold exactly 30 consecutive frames, or a
PNG that cannot be decoded, stops the whole preparation (nothing is written).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vbench.data.frames import resize_frames
from vbench.data.prepared import PreparedWriter
from vbench.errors import VBenchError

FRAMES = 30                 # frames per snippet
SPLITS = ("train", "val", "test")
CROP = "center-square"      # the middle HxH of each WxH frame
RESIZE = "lanczos"          # key of vbench.data.frames.RESIZE_FILTERS
LAYOUT = ("leftImg8bit_sequence/{train,val,test}/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png "
          "(pass the leftImg8bit_sequence folder, its parent, one split folder, or "
          "leftImg8bit_sequence_trainvaltest.zip)")
# <split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png at the end of a path or zip member name
FRAME_PATTERN = re.compile(r"(?:^|/)(train|val|test)/([^/]+)/\2_(\d{6})_(\d{6})_leftImg8bit\.png$")


@dataclass(frozen=True)
class Snippet:
    split: str
    city: str
    seq: int
    first: int                  # frame number of the first frame
    files: tuple[str, ...]      # the 30 frames: paths, or member names of the zip

    @property
    def id(self) -> str:
        return f"{self.city}_{self.seq:06d}_{self.first:06d}"


# --- finding the frames ----------------------------------------------------------------------

def list_frames(source: Path) -> tuple[Path | None, list[tuple[str, str, int, int, str]]]:
    """(zip archive or None, [(split, city, seq, frame, file)]) for every sequence frame under `source`."""
    if source.is_file():
        if not zipfile.is_zipfile(source):
            raise VBenchError(f"{source}: not a zip archive; expected a folder laid out as {LAYOUT}")
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
        return source, _parse_names(names, source)
    if (source / "leftImg8bit_sequence").is_dir():
        source = source / "leftImg8bit_sequence"
    if source.name in SPLITS and not any((source / split).is_dir() for split in SPLITS):
        split_dirs = [source]
    else:
        split_dirs = [source / split for split in SPLITS if (source / split).is_dir()]
    names = []
    for split_dir in split_dirs:
        for city_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            names.extend(str(p) for p in city_dir.iterdir() if p.suffix == ".png")
    return None, _parse_names(names, source)


def _parse_names(names: list[str], source: Path) -> list[tuple[str, str, int, int, str]]:
    frames = []
    for name in names:
        match = FRAME_PATTERN.search(name.replace(os.sep, "/"))
        if match:
            split, city, seq, frame = match.groups()
            frames.append((split, city, int(seq), int(frame), name))
        elif name.endswith("_leftImg8bit.png"):
            raise VBenchError(f"{source}: {name}: not named "
                              "<split>/<city>/<city>_<seq:06d>_<frame:06d>_leftImg8bit.png")
    if not frames:
        raise VBenchError(f"{source}: no Cityscapes sequence frames found; expected {LAYOUT}")
    return frames


def group_snippets(frames: list[tuple[str, str, int, int, str]]) -> list[Snippet]:
    """30-frame snippets in split order, then sorted (city, seq, first frame).

    A snippet starts at the lowest frame number not yet taken and spans the next 30 numbers of the
    same city+seq; every one of them must be present.
    """
    by_sequence: dict[tuple[str, str, int], dict[int, str]] = defaultdict(dict)
    for split, city, seq, frame, name in frames:
        by_sequence[split, city, seq][frame] = name
    snippets = []
    for split, city, seq in sorted(by_sequence, key=lambda k: (SPLITS.index(k[0]), k[1], k[2])):
        files = by_sequence[split, city, seq]
        numbers = sorted(files)
        previous_last = None
        i = 0
        while i < len(numbers):
            first = numbers[i]
            span = [n for n in numbers[i:i + FRAMES] if n < first + FRAMES]
            snippet = Snippet(split, city, seq, first, tuple(files[n] for n in span))
            if len(span) != FRAMES:
                missing = sorted(set(range(first, first + FRAMES)) - set(span))
                hint = ""
                if previous_last is not None and first == previous_last + 1:
                    hint = (f"; or frames {first:06d}..{span[-1]:06d} are extra frames of the snippet before, "
                            f"which ends at {previous_last:06d}")
                if len(span) == 1:
                    hint += " (is this the leftImg8bit folder of single annotated frames, not leftImg8bit_sequence?)"
                raise VBenchError(
                    f"Cityscapes {split}/{city}/{snippet.id}: {len(span)} of {FRAMES} consecutive frames; missing "
                    f"frame numbers {', '.join(f'{n:06d}' for n in missing)}{hint}")
            snippets.append(snippet)
            previous_last = span[-1]
            i += FRAMES
    return snippets


# --- decoding ----------------------------------------------------------------------------------

_ARCHIVES: dict[str, zipfile.ZipFile] = {}   # per process: zip archives kept open between snippets


def _read_bytes(archive: Path | None, name: str) -> bytes:
    if archive is None:
        return Path(name).read_bytes()
    key = str(archive)
    if key not in _ARCHIVES:
        _ARCHIVES[key] = zipfile.ZipFile(archive)
    return _ARCHIVES[key].read(name)


def center_square(frame: np.ndarray) -> np.ndarray:
    """[H, W, C] -> [S, S, C], S = min(H, W): the middle of the longer side."""
    height, width = frame.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return frame[top:top + side, left:left + side]


def _close_archives() -> None:
    for archive in _ARCHIVES.values():
        archive.close()
    _ARCHIVES.clear()


def decode_frame(archive: Path | None, name: str, resolution: int) -> np.ndarray:
    """One PNG -> uint8 [3, resolution, resolution]: RGB, centre square, Lanczos resize."""
    where = f"{archive}:{name}" if archive is not None else name
    try:
        with Image.open(io.BytesIO(_read_bytes(archive, name))) as image:
            rgb = np.asarray(image.convert("RGB"))                        # [H, W, 3]
    except Exception as exc:   # Pillow raises many kinds (OSError, SyntaxError, ValueError...) on bad data
        raise VBenchError(f"{where}: cannot decode PNG ({type(exc).__name__}: {exc})") from None
    square = np.ascontiguousarray(center_square(rgb).transpose(2, 0, 1))  # [3, S, S]
    return resize_frames(square[None], resolution, RESIZE)[0]             # [3, res, res]


def decode_snippet(job: tuple[Path | None, tuple[str, ...], int]) -> np.ndarray:
    """(archive, 30 files, resolution) -> uint8 [30, 3, resolution, resolution]."""
    archive, files, resolution = job
    return np.stack([decode_frame(archive, name, resolution) for name in files])


# --- prepare -----------------------------------------------------------------------------------

def prepare(source: Path, root: Path, resolution: int = 128, workers: int | None = None,
            progress: bool = True) -> str:
    """Convert the sequence download under `source` into `<root>/cityscapes`; returns a summary line."""
    source = Path(source).expanduser().resolve()
    if resolution < 1:
        raise VBenchError(f"--resolution must be at least 1, got {resolution}")
    archive, frames = list_frames(source)
    snippets = group_snippets(frames)
    counts = {split: sum(s.split == split for s in snippets) for split in SPLITS}
    counts = {split: n for split, n in counts.items() if n}
    facts = {"resolution": resolution, "crop": CROP, "resize_method": RESIZE, "frames_per_snippet": FRAMES,
             "snippets": counts}
    workers = max(1, min(workers or os.cpu_count() or 1, len(snippets)))
    jobs = [(archive, s.files, resolution) for s in snippets]
    try:
        with PreparedWriter(root, "cityscapes", source, facts) as writer, \
                tqdm(total=len(snippets), desc="cityscapes", unit="snippet", disable=not progress) as bar:
            if workers == 1:
                _write_all(writer, snippets, map(decode_snippet, jobs), bar)
            else:
                with Pool(workers) as pool:
                    _write_all(writer, snippets, pool.imap(decode_snippet, jobs), bar)
            target = writer.commit()
    finally:
        _close_archives()
    return (f"prepared cityscapes ({', '.join(f'{split}: {n} snippets' for split, n in counts.items())}, "
            f"{resolution}x{resolution}) in {target}")


def _write_all(writer: PreparedWriter, snippets: list[Snippet], videos, bar) -> None:
    for snippet, video in zip(snippets, videos):
        writer.add_video(snippet.split, snippet.id, video)                # [30, 3, res, res]
        bar.update()
