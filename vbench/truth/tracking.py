"""Where the digits are: template matching (normalised cross-correlation) and a joint render check."""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


CANDIDATES = 4  # NCC peaks kept per digit before the joint render check
_NEIGHBOURS = torch.tensor(list(itertools.product((-1, 0, 1), repeat=2)))  # [9, 2] one-pixel moves


def _as_frames(frames: Tensor | np.ndarray) -> Tensor:
    x = torch.from_numpy(np.asarray(frames)) if isinstance(frames, np.ndarray) else frames
    if x.ndim == 4 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 3 or not x.is_floating_point():
        raise ValueError(f"frames must be float [N, H, W] or [N, 1, H, W] in [0, 1]; got {x.dtype} {tuple(x.shape)}")
    return x.to(torch.float64)


def _as_templates(templates: Tensor | np.ndarray, frames: Tensor) -> Tensor:
    t = torch.as_tensor(np.asarray(templates) if isinstance(templates, np.ndarray) else templates,
                        dtype=torch.float64, device=frames.device)
    if t.ndim != 3 or t.shape[1] != t.shape[2] or t.shape[1] > min(frames.shape[-2:]):
        raise ValueError(f"templates must be [D, s, s] no larger than the frames; got {tuple(t.shape)}")
    return t


def _correlate_valid(x: Tensor, kernels: Tensor) -> Tensor:
    """``[N, H, W]`` frames, ``[D, s, s]`` kernels -> ``[N, D, H-s+1, W-s+1]``: sum_ij x[y+i, x+j] k[i, j].

    By FFT of the frame's size (float64): the valid offsets never wrap around, so this is the plain
    cross-correlation to rounding (about 30x faster than a float64 conv2d on CPU).
    """
    h, w = x.shape[-2:]
    s = kernels.shape[-1]
    spectrum = torch.fft.rfft2(x)[:, None] * torch.fft.rfft2(kernels, s=(h, w)).conj()[None]  # [N, D, H, W//2+1]
    return torch.fft.irfft2(spectrum, s=(h, w))[..., : h - s + 1, : w - s + 1]


def ncc_maps(frames: Tensor | np.ndarray, templates: Tensor | np.ndarray) -> Tensor:
    """Normalised cross-correlation of each template at each top-left position.

    frames float ``[N, H, W]`` (or ``[N, 1, H, W]``), templates float ``[D, s, s]`` ->
    ``[N, D, H-s+1, W-s+1]`` float64 in [-1, 1]; 0 where the window or the template is flat.
    """
    x = _as_frames(frames)  # [N, H, W]
    t = _as_templates(templates, x)  # [D, s, s]
    s = t.shape[-1]
    centred = t - t.mean(dim=(1, 2), keepdim=True)  # [D, s, s]
    t_norm = centred.flatten(1).norm(dim=1)  # [D]
    numerator = _correlate_valid(x, centred)  # [N, D, P, Q]: sum_w x_w (t_w - mean t)
    box = torch.ones(1, s, s, dtype=torch.float64, device=x.device)
    window_sum = _correlate_valid(x, box)  # [N, 1, P, Q]
    window_var = (_correlate_valid(x * x, box) - window_sum**2 / (s * s)).clamp_min(0.0)  # sum (x - mean x)^2
    denominator = window_var.sqrt() * t_norm[None, :, None, None]  # [N, D, P, Q]
    flat = denominator <= 1e-6
    return torch.where(flat, torch.zeros_like(numerator), numerator / denominator.clamp_min(1e-6))


def _place(templates: Tensor, yx: Tensor, width: int, height: int) -> Tensor:
    """Each template ``[D, s, s]`` drawn alone (float32) at top-left corners ``yx`` ``[n, D, m, 2]``.

    Returns ``[n, D, m, H*W]`` flattened frames.
    """
    s = templates.shape[-1]
    grid = (torch.arange(s, device=yx.device)[:, None] * width
            + torch.arange(s, device=yx.device)[None, :]).flatten()  # [s*s] offsets of a digit's pixels
    corner = yx[..., 0] * width + yx[..., 1]  # [n, D, m]
    canvas = torch.zeros(*corner.shape, height * width, dtype=torch.float32, device=yx.device)
    values = templates.to(torch.float32).flatten(1)[None, :, None, :].expand(*corner.shape, s * s)
    return canvas.scatter_(3, corner[..., None] + grid, values)


def _best_placement(choices: Tensor, canvas: Tensor, flat: Tensor) -> tuple[Tensor, Tensor]:
    """Of every combination of one choice per digit, the best render.

    choices ``[n, D, m, 2]`` corners, canvas ``[n, D, m, H*W]`` their single-digit renders, frames
    ``[n, H*W]`` -> (corners ``[n, D, 2]``, squared error ``[n]``) of the combination whose render
    (digit sum clipped at 1, as the simulator draws) is closest to the frame; first on ties.
    """
    n, d, m = choices.shape[:3]
    combos = torch.tensor(list(itertools.product(range(m), repeat=d)), device=flat.device)  # [m**D, D]
    digit = torch.arange(d, device=flat.device)
    errors = torch.stack([((canvas[:, digit, combo].sum(dim=1).clamp_(max=1.0) - flat) ** 2).sum(dim=1)
                          for combo in combos], dim=1)  # [n, m**D]
    error, best = errors.min(dim=1)  # [n]
    pick = combos[best]  # [n, D] choice per digit
    return choices.gather(2, pick[:, :, None, None].expand(-1, -1, 1, 2))[:, :, 0], error


def locate_digits(frames: Tensor | np.ndarray, templates: Tensor | np.ndarray,
                  candidates: int = CANDIDATES, rounds: int = 2, chunk: int = 256) -> np.ndarray:
    """Top-left position (y, x) of each template digit in each frame: int64 ``[N, D, 2]``.

    frames float ``[N, H, W]`` or ``[N, 1, H, W]`` in [0, 1], on any device (the work runs there);
    templates float ``[D, s, s]`` in [0, 1] (the clip's digits / 255, in trajectory order). Error
    of a placement: squared difference between the frame and its render (digit sum clipped at 1,
    as the simulator draws).

    1. Per digit the ``candidates`` highest local maxima (3x3) of ``ncc_maps``; of the
       ``candidates ** D`` joint placements the one with the smallest error wins (first on ties).
    2. ``rounds`` of refinement, digit by digit: with the other digits fixed, the position that
       best explains what they leave (the least-squares fit ``argmax_p <frame - others, digit at p>``
       over all positions); kept only if the error shrinks. (A digit whose window also holds part
       of the other digit can lose its NCC peak; this finds it.)
    3. A joint polish: every move of each digit by at most one pixel per axis (``9 ** D``
       placements), kept only if the error shrinks. (Heavily overlapping ink.)

    On simulator frames the result is exact (tests: 600 frames of 40 clips, over half with overlapping
    ink; also under Gaussian pixel noise of sigma 0.2).
    Two identical templates are interchangeable, so their order is then arbitrary.
    """
    x = _as_frames(frames)  # [N, H, W]
    t = _as_templates(templates, x)  # [D, s, s]
    n, h, w = x.shape
    d, s = t.shape[0], t.shape[-1]
    q = w - s + 1  # positions per row
    limit = torch.tensor([h - s, w - s], device=x.device)  # largest corner (y, x)
    moves = _NEIGHBOURS.to(x.device)  # [9, 2]
    out = torch.zeros(n, d, 2, dtype=torch.int64)
    for a in range(0, n, chunk):
        xc = x[a:a + chunk]  # [n', H, W]
        flat = xc.flatten(1).to(torch.float32)  # [n', H*W]
        ncc = ncc_maps(xc, t)  # [n', D, P, Q]
        peaks = torch.where(F.max_pool2d(ncc, 3, stride=1, padding=1) == ncc, ncc, torch.full_like(ncc, -2.0))
        index = peaks.flatten(2).topk(min(candidates, peaks.shape[-2] * q), dim=2).indices  # [n', D, m]
        choices = torch.stack([index // q, index % q], dim=-1)  # [n', D, m, 2]
        yx, error = _best_placement(choices, _place(t, choices, w, h), flat)  # [n', D, 2], [n']
        for _ in range(rounds):
            for j in range(d):
                drawn = _place(t, yx[:, :, None], w, h)[:, :, 0]  # [n', D, H*W]
                leftover = flat - (drawn.sum(dim=1) - drawn[:, j])  # [n', H*W]
                fit = _correlate_valid(leftover.double().reshape(-1, h, w), t[j:j + 1])[:, 0]  # [n', P, Q]
                best = fit.flatten(1).argmax(dim=1)  # [n']
                trial = yx.clone()
                trial[:, j] = torch.stack([best // q, best % q], dim=-1)
                drawn[:, j] = _place(t[j:j + 1], trial[:, j:j + 1, None], w, h)[:, 0, 0]
                trial_error = ((drawn.sum(dim=1).clamp_(max=1.0) - flat) ** 2).sum(dim=1)  # [n']
                better = trial_error < error
                yx = torch.where(better[:, None, None], trial, yx)
                error = torch.where(better, trial_error, error)
        near = torch.minimum((yx[:, :, None] + moves).clamp_min(0), limit)  # [n', D, 9, 2]; clamped moves repeat
        moved, moved_error = _best_placement(near, _place(t, near, w, h), flat)
        better = moved_error < error
        out[a:a + chunk] = torch.where(better[:, None, None], moved, yx).cpu()
    return out.numpy()
