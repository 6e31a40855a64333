"""The adapters of VGAN: `vgan_cond` (prediction, the VideoModel contract) and `vgan` (unconditional generation).

    vbench run --suite smmnist-mini --model vgan_cond                       # bundled tiny checkpoint
    vbench run --suite kth --model vgan_cond --checkpoint DIR/model.pt      # one from `vbench train`

`vgan_cond` (§6.2 of the spec) maps one frame to a video whose frame 0 reproduces it. For a prediction
suite it reads the *last* context frame only and returns the generated frames 1..T-1 (T = image_size / 2
frames: 31 at paper size, 15 for the tiny model). A longer horizon is generated in chunks: the next
chunk starts from the last generated frame (not in the paper; its model produces one T-frame video).
The released model takes no noise, so it is deterministic (`stochastic = False`, one sample per video);
a config with `z_dim > 0` (an extension) draws a sample's noise `[chunks, z_dim]` from its own
generator of the SampleRNG in one call, so sample k of video v does not depend on the batch.

`vgan` (§6.1) generates videos from noise and has no `predict`: it is scored on generation suites
(`vbench run --suite smmnist-mini-gen --model vgan`; FVD/KVD against real clips). Its hook is

    generate(num_videos, rng, num_frames=None) -> [num_videos, T, C, S, S] in [0, 1]

where `rng` is a SampleRNG with one row per video (`SampleRNG(seed, video_ids, [0])`): video n is drawn
from z ~ N(0, I) of stream (n, 0), so it does not depend on how many videos are generated at once.
`num_frames` (at most T) keeps the first frames. S is the model's `resolution`.

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled checkpoint
               `baselines/checkpoints/<model>-smmnist-mini.pt` (tiny config, trained on the smmnist-mini
               training digits) is used, only for 1-channel suites.
  batchnorm    eval (default: running statistics, so a video's output does not depend on its batch) or
               batch (statistics of the batch, as GAN samplers often do; outputs then depend on the batch).
"""

from __future__ import annotations

import math

import torch

from vbench.adapters import SampleRNG, repeat_per_sample
from vbench.errors import ModelError

from baselines.loading import BATCHNORM_MODES, TrainedAdapter, batchnorm_mode, bundled_checkpoint
from baselines.vgan.config import VganConfig
from baselines.vgan.model import VGAN

class _VganAdapter(TrainedAdapter):
    variant = ""
    value_range = (0.0, 1.0)
    has_bundled = False

    def __init__(self, checkpoint: str | None = None, batchnorm: str = "eval"):
        super().__init__()
        if batchnorm not in BATCHNORM_MODES:
            raise ModelError(f"{self.name}: batchnorm must be one of {', '.join(BATCHNORM_MODES)}, got {batchnorm!r}")
        self.vgan = self._load(self.variant, checkpoint, VganConfig.from_dict, VGAN, has_bundled=self.has_bundled)
        self.num_frames = self.config.frames
        self.batchnorm = batchnorm
        self.eval()

    def _batchnorm_mode(self):
        return batchnorm_mode(self.vgan.generator, self.batchnorm)



class VganCond(_VganAdapter):
    """VGAN's conditional variant (Vondrick et al. 2016, §6.2 of the spec): the future from one frame."""
    name = "vgan_cond"
    variant = "cond"
    has_bundled = True
    min_context = 1

    @property
    def stochastic(self) -> bool:
        return self.config.z_dim > 0

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        b, _, c, h, w = context.shape
        self._check_channels(c)
        per_chunk = self.config.frames - 1
        chunks = math.ceil(num_future / per_chunk)
        frame = repeat_per_sample(context[:, -1], num_samples)                           # [B*S, C, H, W]
        noise = None
        if self.stochastic:
            noise = rng.randn(chunks, self.config.z_dim).to(context.dtype).flatten(0, 1)   # [B*S, K, z]
        future = []
        with self._batchnorm_mode():
            for k in range(chunks):
                video = self.vgan.continue_frame(frame, None if noise is None else noise[:, k])   # [B*S, T, C, H, W]
                future.append(video[:, 1:])
                frame = video[:, -1]
        out = torch.cat(future, 1)[:, :num_future]                                       # [B*S, T_future, C, H, W]
        return out.reshape(b, num_samples, num_future, c, h, w)


class Vgan(_VganAdapter):
    """VGAN (Vondrick et al. 2016, §6.1 of the spec): unconditional two-stream video generator.

    Generation only (`generate`): generation suites score it; `predict` says so."""
    name = "vgan"
    variant = "uncond"
    task = "generation"
    has_bundled = True

    def generate(self, num_videos: int, rng: SampleRNG, num_frames: int | None = None) -> torch.Tensor:
        """-> [num_videos, T, C, S, S] in [0, 1]; video n from z ~ N(0, I) of rng's stream (n, 0)."""
        if rng.shape[0] != num_videos:
            raise ModelError(f"{self.name}: generate({num_videos}) needs a SampleRNG with {num_videos} rows "
                             f"(one per video), got {rng.shape[0]}")
        frames = self.num_frames if num_frames is None else num_frames
        if not 1 <= frames <= self.num_frames:
            raise ModelError(f"{self.name}: the model generates {self.num_frames} frames, asked for {frames}")
        z = rng.randn(self.config.z_dim)[:, 0]                                           # [N, z]
        with self._batchnorm_mode():
            videos = self.vgan.sample(z.to(next(self.vgan.parameters()).device))          # [N, T, C, S, S]
        return videos[:, :frames]

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        raise ModelError(f"{self.name} is an unconditional generator (generate(num_videos, rng)); it cannot "
                         "continue a context. Use vgan_cond for prediction suites")
