"""Compiled CPU kernels for the per-frame metrics: SSIM means and mean squared errors.

On CPU, :func:`vbench.metrics.ssim.ssim` and :func:`vbench.metrics.psnr.mse` run these instead of
their torch code (which stays the path for CUDA and other devices). A torch expression makes one
pass over memory per operation: the 11-tap SSIM window alone costs 22 passes over four frame-sized
planes. Here each frame pair is one task whose working set stays in cache: one row of the centred
planes and a ring of the last k filtered rows.

Speed and how it is measured: tests/BENCHMARKS.md (SSIM + PSNR).

The kernels are compiled by numba (LLVM) on first use, once per input dtype (a few seconds), and
cached on disk. They take numpy views of contiguous CPU tensors (others are copied), loop over
frames in parallel and use as many threads as ``torch.get_num_threads()`` (see :func:`run`).

The arithmetic is the torch path's, in the same dtype: float32 input is filtered in float32 and
float64 in float64, moments about each pair's centre (see ``ssim.py``), the per-frame means
accumulated in float64. Summation order differs, and the SSIM formula is taken in float64, so the
two paths agree to float rounding; the tests compare both with scikit-image.
"""

from __future__ import annotations

import os
import threading

import numba
import numpy as np
import torch
from numba import njit, prange

# numba's OpenMP pool would share libgomp with torch and reset torch's thread count; its own
# pthread pool ("workqueue") leaves torch alone. A layer the user picks (NUMBA_THREADING_LAYER) wins.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

__all__ = ["as_array", "compiled", "compute_dtype", "run", "squared_error_means", "ssim_means"]

# Reassociation lets LLVM vectorise a sum; no flag that changes NaN or infinity handling.
_FASTMATH = {"contract", "reassoc", "nsz"}

# The workqueue pool serves one caller at a time (numba aborts the process on concurrent use), so
# kernels called from several Python threads take turns.
_POOL_LOCK = threading.Lock()


def compiled(**options):
    """``numba.njit(cache=True, **options)``; where no cache folder is writable (neither beside this
    file nor ``NUMBA_CACHE_DIR`` / the user cache), numba refuses ``cache=True`` at decoration, and
    the kernel is then compiled afresh in each process instead."""
    def decorate(function):
        try:
            return njit(cache=True, **options)(function)
        except RuntimeError:   # "cannot cache function ...: no locator available"
            return njit(cache=False, **options)(function)
    return decorate


@compiled(parallel=True)
def ssim_means(pred, target, taps, c1, c2, cov_scale, centres, out):  # pragma: no cover (compiled)
    """Mean SSIM over the valid window positions and the channels, per frame pair.

    pred, target: ``[N, C, H, W]`` (one float dtype); taps: ``[k]`` the 1-D window, symmetric
    (``taps[t] == taps[k - 1 - t]``), same dtype; c1, c2, cov_scale: float64 scalars; centres:
    ``[N]`` of the input dtype, written: each pair's centre (the mean of both frames, summed in
    float64); out: float64 ``[N]``, written.

    Per channel, rows are processed top to bottom. Each input row gives the centred x, y,
    x^2 + y^2 and xy, side by side in ``planes`` (4 x W values); one horizontal pass filters all
    four into the ring of the last k rows, as if they were one long row (the columns that straddle
    two planes are beyond the valid ones and never read). Once k rows are in, one vertical pass over
    the ring gives the four windowed moments of an output row, and the SSIM formula (in float64) is
    added up per column. Symmetric taps are applied to pairs of samples: 6 multiplies, not 11.

    Strict IEEE arithmetic (no fast-math flags, which numba would also apply to anything this
    calls): SSIM stays exactly symmetric in x and y and exactly 1 for x == y. Every inner loop
    runs along a row and vectorises as it is; sums are kept per column for that reason.
    """
    n_frames, channels, h, w = pred.shape
    k = taps.shape[0]
    half = k // 2
    out_h, out_w = h - k + 1, w - k + 1
    for n in prange(n_frames):
        planes = np.zeros(4 * w + k - 1, pred.dtype)   # x, y, x^2+y^2, xy of one row, then zeros
        ring = np.empty((k, 4 * w), pred.dtype)        # the last k rows, filtered horizontally
        moments = np.empty(4 * w, pred.dtype)          # windowed x, y, x^2+y^2, xy of one output row
        column_sums = np.zeros(w)                      # float64, per column
        for c in range(channels):
            for i in range(h):
                for j in range(w):
                    column_sums[j] += np.float64(pred[n, c, i, j]) + np.float64(target[n, c, i, j])
        centres[n] = column_sums.sum() / (2 * channels * h * w)
        a = centres[n]                                 # in the input dtype
        column_sums[:] = 0.0
        x, y, squares, cross = planes[:w], planes[w:2 * w], planes[2 * w:3 * w], planes[3 * w:4 * w]
        windowed_x, windowed_y = moments[:w], moments[w:2 * w]
        windowed_squares, windowed_cross = moments[2 * w:3 * w], moments[3 * w:]
        for c in range(channels):
            for i in range(h):
                for j in range(w):
                    x[j] = pred[n, c, i, j] - a
                    y[j] = target[n, c, i, j] - a
                    squares[j] = x[j] * x[j] + y[j] * y[j]
                    cross[j] = x[j] * y[j]
                filtered, middle = ring[i % k], planes[half:]
                for j in range(4 * w):
                    filtered[j] = taps[half] * middle[j]
                for t in range(half):
                    left, right = planes[t:], planes[k - 1 - t:]
                    for j in range(4 * w):
                        filtered[j] += taps[t] * (left[j] + right[j])
                top = i - k + 1                        # output row: input rows top..i
                if top < 0:
                    continue
                middle = ring[(top + half) % k]
                for j in range(4 * w):
                    moments[j] = taps[half] * middle[j]
                for t in range(half):
                    upper, lower = ring[(top + t) % k], ring[(top + k - 1 - t) % k]
                    for j in range(4 * w):
                        moments[j] += taps[t] * (upper[j] + lower[j])
                for j in range(out_w):
                    m_x, m_y = np.float64(windowed_x[j]), np.float64(windowed_y[j])
                    variances = (windowed_squares[j] - (m_x * m_x + m_y * m_y)) * cov_scale   # var_x + var_y
                    covariance = (windowed_cross[j] - m_x * m_y) * cov_scale
                    mu_x, mu_y = m_x + a, m_y + a
                    column_sums[j] += ((2 * mu_x * mu_y + c1) * (2 * covariance + c2)
                                       / ((mu_x * mu_x + mu_y * mu_y + c1) * (variances + c2)))
        out[n] = column_sums[:out_w].sum() / (channels * out_h * out_w)


@compiled(parallel=True, fastmath=_FASTMATH)
def squared_error_means(pred, target, out):  # pragma: no cover (compiled)
    """Mean of ``(pred - target)^2`` per row, the difference taken in float64.

    pred, target: ``[N, M]`` (one float dtype); out: float64 ``[N]``, written.
    """
    n_rows, m = pred.shape
    for n in prange(n_rows):
        total = 0.0
        for j in range(m):
            d = np.float64(pred[n, j]) - np.float64(target[n, j])
            total += d * d
        out[n] = total / m


def compute_dtype(*frames: torch.Tensor) -> torch.dtype:
    """float64 if any input is float64, else float32 (float16 and bfloat16 are promoted)."""
    return torch.float64 if any(f.dtype == torch.float64 for f in frames) else torch.float32


def as_array(values: torch.Tensor, dtype: torch.dtype) -> np.ndarray:
    """A contiguous numpy view (or copy) of CPU `values` in `dtype`."""
    return values.detach().to(dtype).contiguous().numpy()


def run(kernel, pred: np.ndarray, target: np.ndarray, *args) -> torch.Tensor:
    """``kernel(pred, target, *args, out)`` -> `out`, its float64 ``[N]`` result, as a tensor.

    numba's thread count is set to torch's (``torch.set_num_threads`` and ``OMP_NUM_THREADS``
    govern both), capped at the threads numba started with; one caller at a time.
    """
    out = np.empty(pred.shape[0], dtype=np.float64)                                # [N]
    with _POOL_LOCK:
        numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
        kernel(pred, target, *args, out)
    return torch.from_numpy(out)                                                   # [N]
