"""Decoding and resizing frames, shared by the dataset readers.

Videos are decoded with PyAV (FFmpeg's libraries, shipped in its wheels): frame-exact, no external
`ffmpeg` binary, and grey output taken straight from FFmpeg's own pixel-format conversion (the luma
plane for YUV sources, as `ffmpeg -pix_fmt gray` gives). Resizing uses Pillow's antialiased filters,
one frame at a time, on uint8 data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vbench.errors import VBenchError

RESIZE_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
                  "area": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS}


def read_video(path: str | Path, channels: int) -> np.ndarray:
    """Every frame of a video file, uint8 [T, C, H, W] with C = 1 (grey) or 3 (RGB).

    Raises VBenchError naming the file when it cannot be opened or decoded (corrupt or truncated).
    """
    import av
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    pixel_format = "gray" if channels == 1 else "rgb24"
    frames = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VBenchError(f"{path}: no video stream")
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format=pixel_format))   # [H, W] or [H, W, 3]
    except av.FFmpegError as exc:
        raise VBenchError(f"{path}: cannot decode video ({exc})") from None
    if not frames:
        raise VBenchError(f"{path}: no frames could be decoded (corrupt or empty file)")
    video = np.stack(frames)                                              # [T, H, W(, 3)]
    return video[:, None] if channels == 1 else video.transpose(0, 3, 1, 2)   # [T, C, H, W]


def resize_frames(frames: np.ndarray, size: int | tuple[int, int], method: str = "bicubic") -> np.ndarray:
    """uint8 [T, C, H, W] -> uint8 [T, C, h, w] (size = h = w, or (h, w)); aspect ratio is not kept."""
    height, width = (size, size) if isinstance(size, int) else size
    if frames.shape[2:] == (height, width):
        return frames
    resample = RESIZE_FILTERS[method]
    out = np.empty((*frames.shape[:2], height, width), np.uint8)
    for t, frame in enumerate(frames):
        for c, plane in enumerate(frame):
            out[t, c] = np.asarray(Image.fromarray(plane).resize((width, height), resample))
    return out
