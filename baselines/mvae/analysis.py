"""How sharp a model's samples are: the measure behind the README's `mvae` / `mvae_gan` comparison.

`gradient_energy` is the mean squared spatial gradient of a frame (forward differences, x and y). It is
chosen over the mean gradient *magnitude* because that one barely sees blur: across a monotone edge the
absolute differences sum to the edge's height however wide the edge is, while their squares fall as the
edge widens (a step of height 1 gives 1, the same edge spread over k pixels k * (1/k)^2 = 1/k).
`sample_sharpness` applies it to a model's samples of a suite's first test videos and to their true futures,
at the model's resolution (the truth converted as `vbench run` converts the context).
"""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG, to_model_frames
from vbench.data import load_test_clips


def gradient_energy(frames: torch.Tensor) -> torch.Tensor:
    """frames [..., C, H, W] -> [...]: mean over channels and the (H - 1) x (W - 1) positions with both
    forward differences of dx^2 + dy^2, where dx = x[i, j + 1] - x[i, j] and dy = x[i + 1, j] - x[i, j]."""
    frames = frames.double()
    dx = frames[..., :-1, 1:] - frames[..., :-1, :-1]                      # [..., C, H - 1, W - 1]
    dy = frames[..., 1:, :-1] - frames[..., :-1, :-1]
    return (dx ** 2 + dy ** 2).mean((-3, -2, -1))


@torch.no_grad()
def sample_sharpness(model, suite, num_videos: int = 16, num_samples: int = 10) -> dict[str, float]:
    """Mean gradient energy of `model`'s samples of the first `num_videos` test videos of `suite` (a vbench
    Suite; SampleRNG seeded as `vbench run` seeds it) and of those videos' true futures."""
    clips = torch.from_numpy(load_test_clips(suite, count=num_videos)).float() / 255.0   # [V, T, C, H, W]
    context = to_model_frames(model, clips[:, :suite.context_frames])                   # [V, Tc, C, r, r]
    truth = to_model_frames(model, clips[:, suite.context_frames:])                     # [V, T, C, r, r]
    rng = SampleRNG(suite.seed, range(num_videos), range(num_samples))
    samples = model.predict(context, truth.shape[1], num_samples, rng)                  # [V, S, T, C, r, r]
    return {"samples": gradient_energy(samples).mean().item(), "truth": gradient_energy(truth).mean().item()}
