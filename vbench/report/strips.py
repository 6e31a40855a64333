"""Sample strips as images: a PNG filmstrip and an animated GIF per stored test video.

Input: the frames the runner kept, uint8 `[R, T, C, H, W]` (rows: ground truth, best sample, a few
random samples; T = context + predicted frames, each prediction row starting with the context).

- Filmstrip (PNG, exact pixels): one row per strip row, one column per frame; a coloured bar above
  each column says context (orange) or predicted (blue), and a wider gap separates the two.
- Animation (GIF): at each time step the rows side by side; a bar above them is dark during the
  context frames and light during the predicted ones. Grey videos are written in greyscale, so
  their pixels are exact; colour ones go through Pillow's 256-colour palette.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

GAP = 2                    # pixels between tiles
SPLIT = 6                  # pixels between the last context column and the first predicted column
BAR = 4                    # height of the context / predicted bar
BACKGROUND = 255
CONTEXT_COLOUR = (230, 126, 34)
PREDICTED_COLOUR = (52, 120, 200)
GIF_CONTEXT_GREY, GIF_PREDICTED_GREY = 40, 200
FRAME_MS = 250             # GIF: milliseconds per frame


def _check(frames: np.ndarray, context: int) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 5 or frames.shape[2] not in (1, 3):
        raise ValueError(f"strip frames must be uint8 [R, T, C, H, W] with C = 1 or 3, "
                         f"got {frames.dtype} {frames.shape}")
    if not 0 <= context <= frames.shape[1]:
        raise ValueError(f"context {context} outside 0..{frames.shape[1]} frames")
    return frames


def tile_origin(row: int, frame: int, context: int, height: int, width: int) -> tuple[int, int]:
    """(top, left) pixel of tile (row, frame) in the filmstrip."""
    left = frame * (width + GAP) + (SPLIT if frame >= context else 0)
    return BAR + GAP + row * (height + GAP), left


def filmstrip(frames: np.ndarray, context: int) -> np.ndarray:
    """uint8 [R, T, C, H, W] -> RGB image [H', W', 3]: rows x frames, context columns marked."""
    frames = _check(frames, context)
    r, t, _, h, w = frames.shape
    bottom, right = tile_origin(r - 1, t - 1, context, h, w)
    image = np.full((bottom + h, right + w, 3), BACKGROUND, np.uint8)
    for f in range(t):
        _, left = tile_origin(0, f, context, h, w)
        image[:BAR, left:left + w] = CONTEXT_COLOUR if f < context else PREDICTED_COLOUR
        for row in range(r):
            top, left = tile_origin(row, f, context, h, w)
            tile = frames[row, f].transpose(1, 2, 0)                          # [H, W, C]
            image[top:top + h, left:left + w] = np.broadcast_to(tile, (h, w, 3))
    return image


def animation(frames: np.ndarray, context: int) -> list[np.ndarray]:
    """uint8 [R, T, C, H, W] -> T images [H', W', C]: the R rows side by side, one image per frame."""
    frames = _check(frames, context)
    r, t, c, h, w = frames.shape
    out = []
    for f in range(t):
        image = np.full((BAR + GAP + h, r * (w + GAP) - GAP, c), BACKGROUND, np.uint8)
        image[:BAR] = GIF_CONTEXT_GREY if f < context else GIF_PREDICTED_GREY
        for row in range(r):
            left = row * (w + GAP)
            image[BAR + GAP:, left:left + w] = frames[row, f].transpose(1, 2, 0)   # [H, W, C]
        out.append(image)
    return out


def write_png(frames: np.ndarray, context: int, path: Path) -> None:
    Image.fromarray(filmstrip(frames, context), "RGB").save(path, optimize=True)


def write_gif(frames: np.ndarray, context: int, path: Path) -> None:
    images = [Image.fromarray(a[..., 0], "L") if a.shape[-1] == 1 else Image.fromarray(a, "RGB").quantize(256)
              for a in animation(frames, context)]
    images[0].save(path, save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0)
