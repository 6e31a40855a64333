"""BAIR robot pushing (action-free): TFRecords of `bair_robot_pushing_dataset_v0.tar`, read without TensorFlow.

The download holds `softmotion30_44k/{train,test}/traj_<first>_to_<last>.tfrecords`, 256
trajectories per file. Each record is a serialized `tf.train.Example` whose feature
`'{t}/image_aux1/encoded'` (t = 0..29) is one raw uint8 RGB frame, 64x64x3 row-major (not an
encoded image, whatever the key says). Video-prediction work uses camera `image_aux1` (SVG's and
SAVP's converters).

TFRecord framing (TensorFlow's `record_writer`): uint64 length (little endian), uint32 masked
CRC32C of those 8 bytes, the payload, uint32 masked CRC32C of the payload. Both checksums are
verified, so a truncated or damaged file is an error naming the file and the record, never a
silently shorter dataset. The payload is decoded with a minimal reader of the protobuf wire
format, enough for `Example -> Features -> map<string, Feature> -> BytesList`. Tests check both
against files written by TensorFlow itself.
"""

from __future__ import annotations

import re
import struct
import tarfile
from pathlib import Path
from typing import BinaryIO, Iterator

import google_crc32c
import numpy as np
from tqdm import tqdm

from vbench.data.frames import resize_frames
from vbench.data.prepared import PreparedWriter
from vbench.errors import VBenchError

FRAMES = 30
SIZE = 64
CAMERA = "image_aux1"
SPLITS = ("train", "test")
FILE_PATTERN = re.compile(r"traj_(\d+)_to_(\d+)\.tfrecords$")


class RecordError(VBenchError):
    """A TFRecord file that is truncated, damaged or not in the BAIR schema."""


# --- TFRecord framing -------------------------------------------------------------------------

def masked_crc32c(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(handle: BinaryIO, name: str) -> Iterator[bytes]:
    """Payloads of the records of one TFRecord stream, both checksums verified."""
    index = 0
    while True:
        header = handle.read(12)
        if not header:
            return
        if len(header) < 12:
            raise RecordError(f"{name}: record {index}: truncated header ({len(header)} of 12 bytes)")
        length, length_crc = struct.unpack("<QI", header)
        if masked_crc32c(header[:8]) != length_crc:
            raise RecordError(f"{name}: record {index}: length checksum mismatch (damaged file?)")
        payload = handle.read(length)
        footer = handle.read(4)
        if len(payload) < length or len(footer) < 4:
            raise RecordError(f"{name}: record {index}: truncated ({len(payload)} of {length} payload bytes)")
        if masked_crc32c(payload) != struct.unpack("<I", footer)[0]:
            raise RecordError(f"{name}: record {index}: payload checksum mismatch (damaged file?)")
        yield payload
        index += 1


# --- protobuf wire format, just enough for tf.train.Example ----------------------------------

def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, memoryview | int]]:
    """(field number, value) of one message; length-delimited values as memoryviews."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(buf, pos)
        elif wire_type == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            value, pos = buf[pos:pos + length], pos + length
        elif wire_type in (1, 5):
            width = 8 if wire_type == 1 else 4
            value, pos = buf[pos:pos + width], pos + width
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield number, value


def example_bytes_features(payload: bytes) -> dict[str, list[bytes]]:
    """The bytes_list features of a serialized tf.train.Example (other kinds are skipped).

    Also reads a SequenceExample's context, which shares field number 1.
    """
    features: dict[str, list[bytes]] = {}
    for number, message in _fields(memoryview(payload)):                 # Example
        if number != 1:
            continue
        for entry_number, entry in _fields(message):                      # Features: map entries
            if entry_number != 1:
                continue
            key, feature = "", None
            for part_number, part in _fields(entry):
                if part_number == 1:
                    key = bytes(part).decode("utf-8")
                elif part_number == 2:
                    feature = part
            for kind, value in _fields(feature) if feature is not None else ():
                if kind == 1:                                             # BytesList
                    features[key] = [bytes(v) for n, v in _fields(value) if n == 1]
    return features


def decode_trajectory(payload: bytes, name: str, index: int) -> np.ndarray:
    """One record -> uint8 [30, 3, 64, 64], camera image_aux1."""
    try:
        features = example_bytes_features(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError(f"{name}: record {index}: not a tf.train.Example ({exc})") from None
    video = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)                   # [T, H, W, C]
    for t in range(FRAMES):
        key = f"{t}/{CAMERA}/encoded"
        values = features.get(key)
        if values is None:
            raise RecordError(f"{name}: record {index}: no feature '{key}' (not a BAIR softmotion record?)")
        if len(values) != 1 or len(values[0]) != SIZE * SIZE * 3:
            raise RecordError(f"{name}: record {index}: '{key}' holds {[len(v) for v in values]} bytes, "
                              f"expected one raw 64x64x3 frame of {SIZE * SIZE * 3}")
        video[t] = np.frombuffer(values[0], np.uint8).reshape(SIZE, SIZE, 3)
    return video.transpose(0, 3, 1, 2)                                    # [T, C, H, W]


# --- finding the files of a download --------------------------------------------------------

def _order(name: str) -> int:
    return int(FILE_PATTERN.search(name).group(1))


def _folder_files(source: Path) -> dict[str, list[Path]]:
    base = source / "softmotion30_44k" if (source / "softmotion30_44k").is_dir() else source
    found = {split: sorted((p for p in (base / split).glob("*.tfrecords") if FILE_PATTERN.search(p.name)),
                           key=lambda p: _order(p.name))
             for split in SPLITS if (base / split).is_dir()}
    if not found and source.name in SPLITS:          # the split folder itself
        found = {source.name: sorted((p for p in source.glob("*.tfrecords") if FILE_PATTERN.search(p.name)),
                                     key=lambda p: _order(p.name))}
    return {split: files for split, files in found.items() if files}


def _iter_sources(source: Path) -> Iterator[tuple[str, str, BinaryIO]]:
    """(split, file stem, open handle) for every traj_*.tfrecords, splits and files in order."""
    if source.is_file():
        try:
            archive = tarfile.open(source)
        except (tarfile.TarError, OSError) as exc:
            raise VBenchError(f"{source}: not a readable tar archive ({exc})") from None
        with archive:
            members = [m for m in archive.getmembers() if m.isfile() and FILE_PATTERN.search(m.name)
                       and Path(m.name).parent.name in SPLITS]
            if not members:
                raise VBenchError(f"{source}: no softmotion30_44k/{{train,test}}/traj_*.tfrecords inside")
            members.sort(key=lambda m: (SPLITS.index(Path(m.name).parent.name), _order(m.name)))
            for member in members:
                yield Path(member.name).parent.name, Path(member.name).stem, archive.extractfile(member)
        return
    files = _folder_files(source)
    if not files:
        raise VBenchError(f"{source}: expected bair_robot_pushing_dataset_v0.tar, or a folder with "
                          "softmotion30_44k/{train,test}/traj_<first>_to_<last>.tfrecords (or the split folders)")
    for split, paths in files.items():
        for path in paths:
            with open(path, "rb") as handle:
                yield split, path.stem, handle


def prepare(source: Path, root: Path, resolution: int = SIZE) -> str:
    """Convert every trajectory found under `source` (tar or folder) into the prepared form.

    Video ids are `<file stem>/<record index>`, e.g. `traj_0_to_255/0`, in file and record order:
    the test split's 256 trajectories come in the order of traj_0_to_255.tfrecords.
    """
    counts: dict[str, int] = {}
    facts = {"resolution": resolution, "camera": CAMERA, "frames_per_video": FRAMES,
             "resize": "none" if resolution == SIZE else "pillow bicubic",
             "reader": "vbench.data.bair (TFRecord framing with CRC32C checks, protobuf wire format)"}
    with PreparedWriter(root, "bair", source, facts) as writer:
        progress = tqdm(desc="bair trajectories", unit="video", disable=None)
        for split, stem, handle in _iter_sources(source):
            name = f"{source}:{stem}.tfrecords" if source.is_file() else str(Path(handle.name))
            for index, payload in enumerate(read_records(handle, name)):
                video = decode_trajectory(payload, name, index)           # [30, 3, 64, 64]
                writer.add_video(split, f"{stem}/{index}", resize_frames(video, resolution))
                counts[split] = counts.get(split, 0) + 1
                progress.update()
        progress.close()
        target = writer.commit()
    summary = ", ".join(f"{split}: {count} trajectories" for split, count in counts.items())
    return f"prepared bair ({summary}; {resolution}x{resolution} RGB, camera {CAMERA}) in {target}"
