"""The prepared form of a real dataset: written once by `vbench data prepare`, read fast by runs.

Layout under the data root::

    <root>/<dataset>/manifest.json        what was prepared, from where, how; per split the videos
    <root>/<dataset>/<split>.u8           every frame of the split, uint8, back to back [F, C, H, W]

The manifest lists each video as `{"id", "offset", "frames", "sha256"}` (offset and frames count
frames in `<split>.u8`; sha256 is of the video's bytes), so a clip is a slice of a memory map.
`PreparedWriter` builds everything in a hidden temporary folder beside the target and renames it
into place only when the whole conversion succeeded: an interrupted or failed prepare leaves the
data root as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vbench.errors import DatasetNotPrepared, VBenchError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class VideoEntry:
    id: str
    offset: int   # first frame in <split>.u8
    frames: int
    sha256: str


class PreparedWriter:
    """Collect videos split by split, then `commit()` to publish them atomically.

    Use as a context manager: leaving the block with an exception removes the temporary folder
    and keeps whatever was prepared before.
    """

    def __init__(self, root: str | Path, dataset: str, source: str | Path, facts: dict):
        self.target = Path(root).expanduser() / dataset
        self.dataset = dataset
        self.header = {"dataset": dataset, "format_version": FORMAT_VERSION, "source": str(source), **facts}
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=f".{dataset}.preparing."))
        self.splits: dict[str, dict] = {}
        self._files: dict[str, object] = {}

    def __enter__(self) -> "PreparedWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def add_video(self, split: str, video_id: str, frames: np.ndarray) -> None:
        """Append one whole video, uint8 [T, C, H, W] (all videos of a split share C, H, W)."""
        if frames.dtype != np.uint8 or frames.ndim != 4:
            raise ValueError(f"{self.dataset}/{video_id}: expected uint8 [T, C, H, W], got {frames.dtype} {frames.shape}")
        entry = self.splits.setdefault(split, {"frame_shape": list(frames.shape[1:]), "videos": [], "ids": set(),
                                               "total": 0})
        if list(frames.shape[1:]) != entry["frame_shape"]:
            raise ValueError(f"{self.dataset}/{video_id}: frame shape {frames.shape[1:]} differs from the split's "
                             f"{tuple(entry['frame_shape'])}")
        if video_id in entry["ids"]:
            raise ValueError(f"{self.dataset}: video id '{video_id}' appears twice in split '{split}'")
        if split not in self._files:
            self._files[split] = open(self.tmp / f"{split}.u8", "wb")
        data = np.ascontiguousarray(frames).tobytes()
        self._files[split].write(data)
        entry["videos"].append({"id": video_id, "offset": entry["total"], "frames": int(frames.shape[0]),
                                "sha256": hashlib.sha256(data).hexdigest()})
        entry["ids"].add(video_id)
        entry["total"] += int(frames.shape[0])

    def commit(self) -> Path:
        for handle in self._files.values():
            handle.close()
        if not self.splits:
            self.abort()
            raise VBenchError(f"{self.dataset}: the source held no videos; nothing was prepared")
        manifest = dict(self.header, splits={
            split: {"frame_shape": entry["frame_shape"], "videos": entry["videos"]}
            for split, entry in self.splits.items()})
        (self.tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)     # mkdtemp's 0700 would hide a shared data root from other users
        old = self.target.with_name(f".{self.dataset}.replaced")
        if self.target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        shutil.rmtree(old, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        for handle in self._files.values():
            handle.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PreparedDataset:
    """Read side: the manifest plus one read-only memory map per split."""

    def __init__(self, root: str | Path, dataset: str, source_hint: str):
        self.folder = Path(root).expanduser() / dataset
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            raise DatasetNotPrepared(
                f"dataset '{dataset}' is not prepared under {self.folder.parent}: run "
                f"`vbench data prepare {dataset} --source PATH` with PATH {source_hint} "
                f"(or point --data-root / VBENCH_DATA at a data root where it is prepared)")
        try:
            self.manifest = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DatasetNotPrepared(f"{manifest}: unreadable manifest ({exc}); prepare '{dataset}' again") from None
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise DatasetNotPrepared(f"{manifest}: prepared with format version {self.manifest.get('format_version')}, "
                                     f"this vbench reads {FORMAT_VERSION}; prepare '{dataset}' again")
        self.dataset = dataset
        self._maps: dict[str, np.ndarray] = {}
        self._index = {split: {v["id"]: VideoEntry(**v) for v in entry["videos"]}
                       for split, entry in self.manifest["splits"].items()}

    def splits(self) -> list[str]:
        return list(self._index)

    def video_ids(self, split: str) -> list[str]:
        return list(self._split_index(split))

    def video(self, split: str, video_id: str) -> VideoEntry:
        index = self._split_index(split)
        if video_id not in index:
            raise DatasetNotPrepared(f"{self.folder}: split '{split}' has no video '{video_id}'")
        return index[video_id]

    def frames(self, split: str, video_id: str, start: int = 0, length: int | None = None) -> np.ndarray:
        """uint8 [length, C, H, W] from frame `start` of the video (a view of the memory map)."""
        entry = self.video(split, video_id)
        length = entry.frames - start if length is None else length
        if start < 0 or length < 1 or start + length > entry.frames:
            raise ValueError(f"{self.dataset}/{split}/{video_id}: frames {start}..{start + length - 1} asked, "
                             f"the video has {entry.frames}")
        data = self._map(split)
        return data[entry.offset + start: entry.offset + start + length]

    def verify(self, split: str, video_id: str) -> bool:
        data = np.ascontiguousarray(self.frames(split, video_id)).tobytes()
        return hashlib.sha256(data).hexdigest() == self.video(split, video_id).sha256

    def _split_index(self, split: str) -> dict[str, VideoEntry]:
        if split not in self._index:
            raise DatasetNotPrepared(f"{self.folder}: no split '{split}' prepared (have: {', '.join(self._index)})")
        return self._index[split]

    def _map(self, split: str) -> np.ndarray:
        if split not in self._maps:
            shape = self.manifest["splits"][split]["frame_shape"]
            path = self.folder / f"{split}.u8"
            total = sum(v.frames for v in self._index[split].values())
            expected = total * int(np.prod(shape))
            if not path.is_file() or path.stat().st_size != expected:
                raise DatasetNotPrepared(f"{path}: missing or truncated ({path.stat().st_size if path.is_file() else 0} "
                                         f"bytes, expected {expected}); prepare '{self.dataset}' again")
            self._maps[split] = np.memmap(path, dtype=np.uint8, mode="r", shape=(total, *shape))
        return self._maps[split]
