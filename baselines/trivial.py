"""Trivial reference predictors: the floor every real model must beat."""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG, VideoModel


class CopyLast(VideoModel):
    """Repeats the last context frame: deterministic, one sample."""

    name = "copy_last"
    stochastic = False

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int,
                rng: SampleRNG) -> torch.Tensor:
        last = context[:, -1]                                                  # [B, C, H, W]
        return last[:, None, None].expand(-1, num_samples, num_future, -1, -1, -1).clone()


class NoisyCopyLast(VideoModel):
    """Copy-last plus seeded Gaussian pixel noise: a stochastic toy that exercises best-of-N."""

    name = "noisy_copy_last"
    stochastic = True

    def __init__(self, sigma: float = 0.1):
        if not sigma >= 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        self.sigma = float(sigma)

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int,
                rng: SampleRNG) -> torch.Tensor:
        b, _, c, h, w = context.shape
        last = context[:, -1][:, None, None]                                   # [B, 1, 1, C, H, W]
        noise = rng.randn(num_future, c, h, w)                                 # [B, S, T, C, H, W]
        return (last + self.sigma * noise).clamp(0.0, 1.0)
