"""Measurements behind the bundled SVG checkpoints' notes, on SM-MNIST, where the harness owns the simulator.

`prior_sigma_at_bounces`: SVG-LP's learned prior around wall collisions (the paper's Figure 6, as numbers).
`conditional_mean_ssim`: what SSIM an MSE-optimal deterministic predictor can reach (below).
`validation_ssim`: best-of-N SSIM on clips of the training digits, for choosing checkpoints without the test set.

Denton & Fergus show the prior's variance rising when a digit hits a wall: the bounce draws a new
random velocity, so the next frame is uncertain, while free flight is predictable. The harness owns
the simulator and knows every collision, so this is measured, not eyeballed.

Alignment: `Trajectory.bounces[t]` says a digit was drawn at a wall in frame t and got a new
velocity for frame t+1. Frame t+1 is predicted with z_{t+1} ~ p(z | x_1..t), which is entry t of
`SVG.prior_sigma(video)` ([N, T-1, z_dim], entry i-1 = sigma of p(z_i | x_1..i-1)). So entry t is
"at a collision" when any digit bounces in frame t.

The prior's sigma also shrinks over the first steps whatever happens (the LSTM warms up), and
collisions are not spread evenly over time; comparing pooled means would mix the two effects. The
comparison is therefore made step by step: at each step t, the mean sigma of clips bouncing at t
against the mean sigma of clips not bouncing at t.
"""

from __future__ import annotations

import numpy as np
import torch

from vbench.adapters import SampleRNG, predict_checked, resize_frames
from vbench.data.smmnist import generate_trajectories, render_batch
from vbench.metrics.ssim import ssim
from vbench.selection import best_sample
from vbench.truth import true_futures


def prior_sigma_at_bounces(svg, digits: np.ndarray, seed: int, num_videos: int, num_frames: int,
                           first_step: int = 2) -> dict:
    """Mean prior sigma at and away from collisions, per step, on `num_videos` simulated clips.

    `svg`: an `SVG` with a learned prior; `digits`: uint8 [N, 32, 32] digit source; clips are
    simulated with `seed` (use digits and a seed the model was not tested on). Steps before
    `first_step` are left out (warm-up). Returns per-step rows and the pooled ratio at / away
    (mean over steps of the per-step ratios); each row: step, clips bouncing, sigma at, sigma away.
    """
    trajectories = generate_trajectories(digits, seed, range(num_videos), num_frames)
    frames = torch.from_numpy(render_batch(digits, trajectories)[:, :, None]).float() / 255.0   # [N, T, 1, 64, 64]
    frames = resize_frames(frames, svg.config.image_size)                                         # [N, T, 1, S, S]
    with torch.no_grad():
        sigma = svg.eval().prior_sigma(frames).mean(-1).numpy()                                  # [N, T-1]
    bouncing = np.stack([tr.bounces.any(axis=-1) for tr in trajectories])[:, :num_frames - 1]    # [N, T-1]
    rows = []
    for step in range(first_step, num_frames - 1):
        at = bouncing[:, step]
        if at.any() and (~at).any():
            rows.append({"step": step, "bouncing": int(at.sum()), "sigma_at": float(sigma[at, step].mean()),
                         "sigma_away": float(sigma[~at, step].mean())})
    ratios = [r["sigma_at"] / r["sigma_away"] for r in rows]
    return {"rows": rows, "ratio": float(np.mean(ratios)) if ratios else float("nan"),
            "steps_higher_at_bounce": sum(r > 1 for r in ratios), "steps": len(ratios)}


def conditional_mean_ssim(digits: np.ndarray, seed: int, num_videos: int, context_frames: int,
                          predicted_frames: int, k: int, truth_seed: int = 1) -> dict:
    """Per-frame SSIM of the MSE-optimal deterministic prediction, against copy-last and all-black.

    A deterministic model trained on MSE (svg_det) converges to the conditional mean of the future.
    Here that mean is taken over `k` true futures of each test clip, drawn by the simulator from the
    clip's exact state (positions, velocities: more than any model can read off the frames), and
    scored with SSIM (gaussian) against the clip's own future, as `vbench run` scores predictions.
    `digits`, `seed`: the suite's digit source and seed (the test clips are clips 0..num_videos-1).
    Returns float lists, one value per predicted frame, for "mean", "copy_last" and "black".
    """
    clips = render_batch(digits, generate_trajectories(digits, seed, range(num_videos),
                                                       context_frames + predicted_frames))
    clips = torch.from_numpy(clips[:, :, None]).double() / 255.0                            # [N, T, 1, H, W]
    future = clips[:, context_frames:]                                                      # [N, Tp, 1, H, W]
    mean = torch.stack([torch.from_numpy(true_futures(digits, seed, v, context_frames, predicted_frames, k,
                                                      truth_seed)[0]).double().mean(0) / 255.0
                        for v in range(num_videos)])                                        # [N, Tp, 1, H, W]
    predictions = {"mean": mean, "copy_last": clips[:, context_frames - 1:context_frames].expand_as(future),
                   "black": torch.zeros_like(future)}

    def per_frame(prediction: torch.Tensor) -> list[float]:
        scores = ssim(prediction.flatten(0, 1), future.flatten(0, 1))                        # [N * Tp]
        return scores.view(num_videos, predicted_frames).mean(0).tolist()

    return {name: per_frame(p) for name, p in predictions.items()}


def validation_ssim(model, digits: np.ndarray, seed: int = 12345, num_videos: int = 64, num_samples: int = 10,
                    context_frames: int = 5, predicted_frames: int = 10) -> list[float]:
    """Per-frame best-of-N SSIM (gaussian) of an SVG adapter (`SvgDet` / `SvgFP` / `SvgLP`) on simulated clips.

    `digits` and `seed` should be ones the test clips do not use (the training digits and a seed of their
    own), so that checkpoints can be compared without looking at the test set. The model is called and
    its output checked as `vbench run` does (`predict_checked`), and each video's best sample is the one
    `vbench run` picks per metric (`selection.best_sample`); a deterministic model gets one sample.
    Returns the mean over videos, one value per predicted frame.
    """
    samples = num_samples if model.stochastic else 1
    clips = render_batch(digits, generate_trajectories(digits, seed, range(num_videos),
                                                       context_frames + predicted_frames))
    clips = torch.from_numpy(clips[:, :, None]).float() / 255.0                             # [N, T, 1, 64, 64]
    future = clips[:, context_frames:]                                                      # [N, Tp, 1, 64, 64]
    pred = predict_checked(model, type(model).__name__, clips[:, :context_frames], predicted_frames,
                           SampleRNG(0, range(num_videos), range(samples)))                 # [N, K, Tp, 1, 64, 64]
    scores = ssim(pred.flatten(0, 2), future[:, None].expand_as(pred).flatten(0, 2))
    scores = scores.view(num_videos, samples, predicted_frames).numpy()                      # [N, K, Tp]
    best = scores[np.arange(num_videos), best_sample(scores, "ssim", "gaussian")]            # [N, Tp]
    return best.mean(0).tolist()
