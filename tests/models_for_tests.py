"""Models that break the adapter contract on purpose (used by test_adapters / test_runner)."""

import time
from pathlib import Path

import torch

from vbench.adapters import VideoModel


class Faulty(VideoModel):
    """Returns copy-last with one fault injected: nan, inf, shape, dtype, range, samples, raise, list, device."""

    name = "faulty"

    def __init__(self, fault: str = "none"):
        self.fault = fault

    def predict(self, context, num_future, num_samples, rng):
        out = context[:, -1][:, None, None].expand(-1, num_samples, num_future, -1, -1, -1).clone()
        if self.fault == "nan":
            out[0, 0, 0, 0, 0, 0] = float("nan")
        elif self.fault == "inf":
            out[-1, -1, -1, 0, 0, 0] = float("inf")
        elif self.fault == "shape":
            out = out[..., :-1]
        elif self.fault == "dtype":
            out = (out * 255).to(torch.uint8)
        elif self.fault == "range":
            out = out * 2.0 + 0.5
        elif self.fault == "samples":
            out = out[:, :1] if num_samples > 1 else out
        elif self.fault == "raise":
            raise RuntimeError("CUDA out of memory (simulated)")
        elif self.fault == "list":
            return out.tolist()
        elif self.fault == "device":
            out = out.to("meta")          # any device other than the context's
        return out


class SignedRange(VideoModel):
    """Works in [-1, 1] at 32x32: the harness must convert both ways."""

    name = "signed"
    value_range = (-1.0, 1.0)
    resolution = 32
    stochastic = True

    def predict(self, context, num_future, num_samples, rng):
        assert context.min() >= -1 and context.max() <= 1 and context.shape[-1] == 32
        last = context[:, -1][:, None, None]                                  # [B, 1, 1, C, 32, 32]
        return (last + 0.1 * rng.randn(num_future, *context.shape[2:])).clamp(-1, 1)


class CrashAfter(VideoModel):
    """Noisy copy-last that raises KeyboardInterrupt on test videos >= `after` while `flag` exists."""

    name = "crash_after"

    def __init__(self, flag: str, after: int = 3):
        self.flag, self.after = Path(flag), after

    def predict(self, context, num_future, num_samples, rng):
        if self.flag.exists() and max(rng.video_ids) >= self.after:
            raise KeyboardInterrupt
        last = context[:, -1][:, None, None]
        return (last + 0.2 * rng.randn(num_future, *context.shape[2:])).clamp(0, 1)


class Slow(VideoModel):
    """Noisy copy-last that sleeps `delay` seconds per call while `flag` exists (to be killed mid-run)."""

    name = "slow"

    def __init__(self, flag: str, delay: float = 0.5):
        self.flag, self.delay = Path(flag), delay

    def predict(self, context, num_future, num_samples, rng):
        if self.flag.exists():
            time.sleep(self.delay)
        last = context[:, -1][:, None, None]
        return (last + 0.2 * rng.randn(num_future, *context.shape[2:])).clamp(0, 1)


class EchoContext(VideoModel):
    """Replays the context frames (cycled) as its prediction: legal output, almost surely a bug."""

    name = "echo_context"
    stochastic = False

    def predict(self, context, num_future, num_samples, rng):
        index = torch.arange(num_future) % context.shape[1]
        return context[:, index][:, None].expand(-1, num_samples, -1, -1, -1, -1)


class NoiseGenerator:
    """Unconditional test model (generation suites): uniform noise videos at 32x32, from the rng only."""

    name = "noise_generator"
    task = "generation"
    resolution = 32

    def __init__(self, channels: int = 1):
        self.channels = channels

    def generate(self, num_videos, rng, num_frames):
        return rng.rand(num_frames, self.channels, 32, 32)[:, 0]               # [N, T, C, 32, 32]

