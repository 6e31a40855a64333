"""Stochastic Moving MNIST (SM-MNIST), generated exactly as SVG's ``data/moving_mnist.py``.

Reference: Denton & Fergus, "Stochastic Video Generation with a Learned Prior" (ICML 2018),
``data/moving_mnist.py``.  Per clip: ``num_digits`` (2) digits of 32x32, drawn from a digit
source, move on a 64x64 canvas.  Per digit:

* a digit index uniform in ``{0..N-1}``, a start position ``sx, sy`` uniform in
  ``{0..L-1}`` with ``L = image_size - digit_size`` (= 32), a velocity ``dx, dy``
  uniform in ``{-4..4}`` (zero is possible);
* at every time step t, in this order:

  1. y wall check: if ``sy < 0``: ``sy = 0`` and bounce off the top wall; elif
     ``sy >= L``: ``sy = L - 1`` and bounce off the bottom wall;
  2. x wall check, the same with left / right;
  3. draw the digit with its top-left corner at ``(sy, sx)``;
  4. ``sy += dy; sx += dx``.

  A bounce in the stochastic mode (the default, what SVG used for both train and test)
  redraws the velocity: top ``dy∈{1..4}, dx∈{-4..4}``; bottom ``dy∈{-4..-1},
  dx∈{-4..4}``; left ``dx∈{1..4}, dy∈{-4..4}``; right ``dx∈{-4..-1}, dy∈{-4..4}``.
  With ``deterministic=True`` a bounce only negates the component that hit the wall.
* the frame is the sum of the digits, clipped at the maximum.

Readings of SVG's code that this module reproduces on purpose (see the tests):

* The check happens *before* drawing, so the clamped position is the one drawn, and the
  new velocity is first applied after drawing that frame.  A bounce at step t shows as
  ``Trajectory.walls[t] != 0``; ``velocities[t]`` is then the redrawn velocity (a redraw
  can repeat the old value, so use ``walls``/``bounces``, not a velocity difference).
* The y check runs first, then the x check.  In the stochastic mode each redraw sets
  *both* components (y wall: ``dy`` then ``dx``; x wall: ``dx`` then ``dy``), so in a
  corner step (y and x walls in the same step) the x redraw overwrites the ``dy`` chosen
  by the y redraw: only the x sign rule holds, and ``dy`` may point into the y wall again,
  which makes that digit bounce off it again at the next step.
* The clamp is ``>= L -> L - 1`` (not ``> L - 1 -> L - 1`` with ``L`` allowed): drawn
  positions lie in ``{0..L-1}`` = ``{0..31}``, so a 32x32 digit never covers the last
  row or column of the 64x64 canvas (row/column 63 is always 0).  ``sy == 0`` reached by
  moving is not a bounce; only ``sy < 0`` is.
* SVG clipped float frames at 1 after adding ``digit/255``; here the uint8 digits are
  summed in uint16 and clipped at 255, which equals SVG's frame times 255.

Deliberate difference: randomness.  SVG seeded numpy's global RNG once per worker and drew
digit by digit (all of digit 0's steps, then digit 1).  Here every clip has its own
``np.random.Generator`` (``generate_clips`` uses ``default_rng([seed, index])``), all initial
draws (per digit: index, sx, sy, dx, dy) come first and then bounce redraws in time order
(step t: digit 0 then digit 1).  The distribution is the same (digits move independently),
and the time order makes clips prefix-consistent: the first T frames of a clip do not
depend on how many frames were generated.

Later stages use float ``[0, 1]`` video; this module stays in uint8 (``frames / 255``
gives SVG's values).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "MAX_SPEED",
    "Trajectory",
    "simulate_trajectory",
    "continue_trajectory",
    "render",
    "render_batch",
    "generate_clip",
    "generate_clips",
    "generate_trajectories",
    "continue_clip",
]

MAX_SPEED = 4  # velocities are drawn from {-4..4}; redraws at a wall from {1..4} / {-4..-1}


@dataclass(frozen=True, eq=False)  # arrays: compare fields with np.array_equal
class Trajectory:
    """Everything needed to redraw one SM-MNIST clip from its digit source.

    Arrays (T frames, D digits; the last axis is (y, x)):

    * ``digit_ids``  int64 ``[D]``: index of each digit in the digit source.
    * ``positions``  int64 ``[T, D, 2]``: top-left corner drawn at frame t (after the wall clamp).
    * ``velocities`` int64 ``[T, D, 2]``: (dy, dx) applied after drawing frame t, so
      ``positions[t+1]`` is ``positions[t] + velocities[t]`` clamped.
    * ``walls``      int8 ``[T, D, 2]``: wall hit at step t, per axis: -1 top / left,
      +1 bottom / right, 0 none.  See :attr:`bounces`.
    """

    digit_ids: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray
    walls: np.ndarray
    image_size: int = 64
    digit_size: int = 32
    deterministic: bool = False

    @property
    def bounces(self) -> np.ndarray:
        """bool ``[T, D]``: a wall collision redrew (or negated) the velocity at step t."""
        return (self.walls != 0).any(axis=-1)

    @property
    def num_frames(self) -> int:
        return self.positions.shape[0]

    @property
    def num_digits(self) -> int:
        return self.positions.shape[1]


def _check_rng(rng: np.random.Generator) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def _check_digits(digits: np.ndarray, image_size: int) -> int:
    """Validate a digit source ``uint8 [N, s, s]`` and return ``s``."""
    if not isinstance(digits, np.ndarray) or digits.dtype != np.uint8 or digits.ndim != 3:
        got = f"{digits.dtype} {digits.shape}" if isinstance(digits, np.ndarray) else type(digits).__name__
        raise ValueError(f"digits must be a uint8 array [N, S, S], got {got}")
    n, h, w = digits.shape
    if n == 0 or h != w:
        raise ValueError(f"digits must be a non-empty stack of square images, got shape {digits.shape}")
    if h >= image_size:
        raise ValueError(f"digit size {h} must be smaller than image_size {image_size}")
    return h


def _wall_check(p: int, dp: int, dq: int, limit: int, deterministic: bool, integers) -> tuple[int, int, int, int]:
    """One axis of SVG's wall check: ``(p, wall, dp, dq)`` after it, for a digit at `p` moving `dp`
    along this axis and `dq` along the other.

    A digit past a wall (p < 0 or p >= limit) is put back on the wall's last valid position and
    `wall` is -1 or +1 (else 0 and nothing changes). Deterministic: `dp` reverses. Stochastic: `dp`
    is redrawn pointing away from the wall, then `dq` is redrawn too, in that order (the released
    code's order, which fixes the random stream).
    """
    if p < 0:
        p, wall, away = 0, -1, (1, MAX_SPEED + 1)
    elif p >= limit:
        p, wall, away = limit - 1, 1, (-MAX_SPEED, 0)
    else:
        return p, 0, dp, dq
    if deterministic:
        return p, wall, -dp, dq
    dp = int(integers(*away))
    return p, wall, dp, int(integers(-MAX_SPEED, MAX_SPEED + 1))


def _step(
    rng: np.random.Generator,
    ys: list[int],
    xs: list[int],
    dys: list[int],
    dxs: list[int],
    num_frames: int,
    limit: int,
    deterministic: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``num_frames`` steps from the pre-check state (ys, xs, dys, dxs), one per digit.

    Returns positions, velocities, walls as in :class:`Trajectory`.  The lists are not modified.
    """
    ys, xs, dys, dxs = list(ys), list(xs), list(dys), list(dxs)
    num_digits = len(ys)
    pos: list[tuple[int, int]] = []
    vel: list[tuple[int, int]] = []
    wal: list[tuple[int, int]] = []
    integers = rng.integers
    for _ in range(num_frames):
        for d in range(num_digits):
            y, x, dy, dx = ys[d], xs[d], dys[d], dxs[d]
            # 1. y wall, then 2. x wall (SVG: `if sy < 0 ... elif sy >= image_size-32`, then the same for x)
            y, wy, dy, dx = _wall_check(y, dy, dx, limit, deterministic, integers)
            x, wx, dx, dy = _wall_check(x, dx, dy, limit, deterministic, integers)
            # 3. drawn at (y, x); 4. move
            pos.append((y, x))
            vel.append((dy, dx))
            wal.append((wy, wx))
            ys[d], xs[d], dys[d], dxs[d] = y + dy, x + dx, dy, dx
    shape = (num_frames, num_digits, 2)
    return (
        np.array(pos, dtype=np.int64).reshape(shape),
        np.array(vel, dtype=np.int64).reshape(shape),
        np.array(wal, dtype=np.int8).reshape(shape),
    )


def simulate_trajectory(
    rng: np.random.Generator,
    num_source: int,
    num_frames: int,
    *,
    num_digits: int = 2,
    image_size: int = 64,
    digit_size: int = 32,
    deterministic: bool = False,
) -> Trajectory:
    """Draw the motion of one clip whose digits come from a source of ``num_source`` digits."""
    _check_rng(rng)
    if num_source < 1:
        raise ValueError(f"num_source must be >= 1, got {num_source}")
    if num_frames < 0 or num_digits < 1:
        raise ValueError(f"need num_frames >= 0 and num_digits >= 1, got {num_frames}, {num_digits}")
    if not 0 < digit_size < image_size:
        raise ValueError(f"need 0 < digit_size < image_size, got {digit_size}, {image_size}")
    limit = image_size - digit_size
    ids, ys, xs, dys, dxs = [], [], [], [], []
    for _ in range(num_digits):  # SVG's order per digit: idx, sx, sy, dx, dy
        ids.append(int(rng.integers(num_source)))
        xs.append(int(rng.integers(limit)))
        ys.append(int(rng.integers(limit)))
        dxs.append(int(rng.integers(-MAX_SPEED, MAX_SPEED + 1)))
        dys.append(int(rng.integers(-MAX_SPEED, MAX_SPEED + 1)))
    positions, velocities, walls = _step(rng, ys, xs, dys, dxs, num_frames, limit, deterministic)
    return Trajectory(
        digit_ids=np.array(ids, dtype=np.int64),
        positions=positions,
        velocities=velocities,
        walls=walls,
        image_size=image_size,
        digit_size=digit_size,
        deterministic=deterministic,
    )


def continue_trajectory(
    trajectory: Trajectory, from_frame: int, num_frames: int, rng: np.random.Generator
) -> Trajectory:
    """A fresh continuation of ``trajectory`` for frames ``from_frame .. from_frame+num_frames-1``.

    Frames ``0 .. from_frame-1`` and the velocity applied after frame ``from_frame-1`` are
    kept (that velocity was fixed at or before that frame); every later bounce draws from
    ``rng``.  ``1 <= from_frame <= trajectory.num_frames``; ``from_frame == num_frames``
    extends the clip.  The result holds only the new frames.  In the deterministic mode,
    or while no digit hits a wall, the continuation equals the original clip.
    """
    _check_rng(rng)
    if not 1 <= from_frame <= trajectory.num_frames:
        raise ValueError(f"from_frame must be in [1, {trajectory.num_frames}], got {from_frame}")
    if num_frames < 0:
        raise ValueError(f"num_frames must be >= 0, got {num_frames}")
    prev_pos = trajectory.positions[from_frame - 1]  # [D, 2]
    prev_vel = trajectory.velocities[from_frame - 1]  # [D, 2]
    nxt = prev_pos + prev_vel  # [D, 2] position before the wall check at from_frame
    positions, velocities, walls = _step(
        rng,
        nxt[:, 0].tolist(),
        nxt[:, 1].tolist(),
        prev_vel[:, 0].tolist(),
        prev_vel[:, 1].tolist(),
        num_frames,
        trajectory.image_size - trajectory.digit_size,
        trajectory.deterministic,
    )
    return Trajectory(
        digit_ids=trajectory.digit_ids.copy(),
        positions=positions,
        velocities=velocities,
        walls=walls,
        image_size=trajectory.image_size,
        digit_size=trajectory.digit_size,
        deterministic=trajectory.deterministic,
    )


def render_batch(digits: np.ndarray, trajectories: Sequence[Trajectory]) -> np.ndarray:
    """Draw trajectories with ``digits`` (uint8 [N, s, s]) into ``uint8 [V, T, H, W]``.

    All trajectories must share frame count, digit count, image and digit size.
    """
    if len(trajectories) == 0:
        raise ValueError("render_batch needs at least one trajectory")
    first = trajectories[0]
    size, s = first.image_size, first.digit_size
    if _check_digits(digits, size) != s:
        raise ValueError(f"digits are {digits.shape[1]}x{digits.shape[2]}, trajectories expect {s}x{s}")
    for tr in trajectories:
        if (tr.positions.shape, tr.image_size, tr.digit_size) != (first.positions.shape, size, s):
            raise ValueError("render_batch needs trajectories of one shape, image size and digit size")
        if tr.digit_ids.max() >= len(digits):
            raise ValueError(f"digit id {tr.digit_ids.max()} out of range for {len(digits)} digits")
        if tr.positions.size and (tr.positions.min() < 0 or tr.positions.max() > size - s):
            raise ValueError(f"positions must lie in [0, {size - s}] so the digit stays on the canvas")
    v, t, d = len(trajectories), first.num_frames, first.num_digits
    pos = np.stack([tr.positions for tr in trajectories])  # [V, T, D, 2]
    ids = np.stack([tr.digit_ids for tr in trajectories])  # [V, D]
    canvas = np.zeros((v, t, size, size), dtype=np.uint16)  # sums of up to 257 digits fit; clipped below
    # windows[v, t, y, x] is the s x s patch of canvas[v, t] whose top-left corner is (y, x)
    windows = np.lib.stride_tricks.sliding_window_view(
        canvas, (s, s), axis=(2, 3), writeable=True
    )  # [V, T, L+1, L+1, s, s]
    vi = np.arange(v)[:, None]  # [V, 1]
    ti = np.arange(t)[None, :]  # [1, T]
    for k in range(d):
        # one window per (v, t) for digit k, so this read-add-write touches each pixel once
        windows[vi, ti, pos[:, :, k, 0], pos[:, :, k, 1]] += digits[ids[:, k]][:, None]  # [V, T, s, s]
    np.minimum(canvas, 255, out=canvas)
    return canvas.astype(np.uint8)


def render(digits: np.ndarray, trajectory: Trajectory) -> np.ndarray:
    """Draw one trajectory: ``uint8 [T, H, W]``, the digit sum clipped at 255."""
    return render_batch(digits, [trajectory])[0]


def generate_clip(
    digits: np.ndarray,
    rng: np.random.Generator,
    num_frames: int,
    *,
    num_digits: int = 2,
    image_size: int = 64,
    deterministic: bool = False,
) -> tuple[np.ndarray, Trajectory]:
    """One SM-MNIST clip from ``digits`` (uint8 [N, 32, 32]): ``(uint8 [T, H, W], trajectory)``."""
    digit_size = _check_digits(digits, image_size)
    tr = simulate_trajectory(
        rng,
        len(digits),
        num_frames,
        num_digits=num_digits,
        image_size=image_size,
        digit_size=digit_size,
        deterministic=deterministic,
    )
    return render(digits, tr), tr


def _clip_rng(seed: int, index: int) -> np.random.Generator:
    if int(seed) < 0 or int(index) < 0:
        raise ValueError(f"seed and clip index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng([int(seed), int(index)])


def generate_trajectories(
    digits: np.ndarray,
    seed: int,
    indices: Sequence[int],
    num_frames: int,
    *,
    num_digits: int = 2,
    image_size: int = 64,
    deterministic: bool = False,
) -> list[Trajectory]:
    """Trajectories of clips ``indices``; clip i uses ``np.random.default_rng([seed, i])``.

    Only ``len(digits)`` and the digit size are used.  Each trajectory is a pure function
    of (seed, index, number of digits in the source), whatever the batch or its order.
    """
    digit_size = _check_digits(digits, image_size)
    return [
        simulate_trajectory(
            _clip_rng(seed, i),
            len(digits),
            num_frames,
            num_digits=num_digits,
            image_size=image_size,
            digit_size=digit_size,
            deterministic=deterministic,
        )
        for i in indices
    ]


def generate_clips(
    digits: np.ndarray,
    seed: int,
    indices: Sequence[int],
    num_frames: int,
    *,
    num_digits: int = 2,
    image_size: int = 64,
    deterministic: bool = False,
) -> np.ndarray:
    """Clips ``indices`` as ``uint8 [V, T, 1, H, W]``; see :func:`generate_trajectories`."""
    trs = generate_trajectories(
        digits,
        seed,
        indices,
        num_frames,
        num_digits=num_digits,
        image_size=image_size,
        deterministic=deterministic,
    )
    if not trs:
        return np.zeros((0, num_frames, 1, image_size, image_size), dtype=np.uint8)
    return render_batch(digits, trs)[:, :, None]  # [V, T, 1, H, W]


def continue_clip(
    digits: np.ndarray,
    trajectory: Trajectory,
    from_frame: int,
    num_frames: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, Trajectory]:
    """Frames ``from_frame ..`` of a fresh future of a clip: ``(uint8 [num_frames, H, W], trajectory)``.

    Same digits, and the state (positions, velocities) reached after frame
    ``from_frame - 1``; see :func:`continue_trajectory`.  Calling it with several
    generators draws several true futures for one context.
    """
    tr = continue_trajectory(trajectory, from_frame, num_frames, rng)
    return render(digits, tr), tr
