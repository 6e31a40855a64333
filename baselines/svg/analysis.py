"""SVG-LP's learned prior around wall collisions on SM-MNIST (the paper's Figure 6, as numbers).

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

from vbench.adapters import _resize   # the harness's conversion to the model's frame size
from vbench.data.smmnist import generate_trajectories, render_batch


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
    frames = _resize(frames, svg.config.image_size)                                               # [N, T, 1, S, S]
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
