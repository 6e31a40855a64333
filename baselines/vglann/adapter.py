"""The adapter of VGLANN (`vglann`, spec §7.2): unconditional video generation.

    vbench run --suite smmnist-mini-gen --model vglann                       # bundled tiny checkpoint
    vbench run --suite SUITE --model vglann --checkpoint DIR/model.pt        # one from `vbench train`

Like `vgan`, it has no `predict` (it continues no context); its hook is

    generate(num_videos, rng, num_frames=None) -> [num_videos, T, C, S, S] in [0, 1]

where `rng` is a SampleRNG with one row per video (`SampleRNG(seed, video_ids, [0])`): all the noise of
video n (IMLE: e ~ N(0, I); VAE: eps ~ N(0, I); GMM: a uniform draw picking the component, then a
normal draw) comes from stream (n, 0), so a video does not depend on how many are generated at once.
Sampling is noise -> mapper -> G (z unit-normalised inside G). `num_frames` (at most T) keeps the
first frames. S is the model's `resolution`.

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train --model vglann` after its last step
               (the mapper is fitted then). Without one: the bundled checkpoint
               `baselines/checkpoints/vglann-smmnist-mini.pt` (tiny config, 1 channel, 16 frames of 32x32,
               trained on the smmnist-mini training digits).
  batchnorm    eval (default: running statistics, so a video does not depend on its batch) or batch.
"""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG
from vbench.errors import ModelError

from baselines.loading import BATCHNORM_MODES, TrainedAdapter, batchnorm_mode
from baselines.vglann.config import VglannConfig
from baselines.vglann.model import VGLANN


class Vglann(TrainedAdapter):
    """VGLANN (GLO + VGAN's two-stream generator + an IMLE / VAE / GMM mapper): unconditional generation."""
    name = "vglann"
    task = "generation"
    value_range = (0.0, 1.0)

    def __init__(self, checkpoint: str | None = None, batchnorm: str = "eval"):
        super().__init__()
        if batchnorm not in BATCHNORM_MODES:
            raise ModelError(f"{self.name}: batchnorm must be one of {', '.join(BATCHNORM_MODES)}, got {batchnorm!r}")
        self.vglann = self._load("vglann", checkpoint, VglannConfig.from_dict, VGLANN)
        if not bool(self.vglann.mapper_fitted):
            raise ModelError(f"{self._where()}: the checkpoint holds GLO weights but no fitted {self.config.mapper} "
                             f"mapper (training stopped before its last step, {self.config.steps}); finish it with "
                             "the same `vbench train` command plus --resume")
        self.num_frames = self.config.frames
        self.batchnorm = batchnorm
        self.eval()

    def generate(self, num_videos: int, rng: SampleRNG, num_frames: int | None = None) -> torch.Tensor:
        """-> [num_videos, T, C, S, S] in [0, 1]; video n from the noise of rng's stream (n, 0)."""
        if rng.shape != (num_videos, 1):
            raise ModelError(f"{self.name}: generate({num_videos}) needs a SampleRNG with {num_videos} rows "
                             f"(one per video) and one sample column, got {rng.shape}")
        frames = self.num_frames if num_frames is None else num_frames
        if not 1 <= frames <= self.num_frames:
            raise ModelError(f"{self.name}: the model generates {self.num_frames} frames, asked for {frames}")
        with batchnorm_mode(self.vglann.generator, self.batchnorm):
            z = self.vglann.draw_latents(rng)                                            # [N, z]
            videos = self.vglann.sample(z)                                               # [N, T, C, S, S]
        return videos[:, :frames]

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        raise ModelError(f"{self.name} is an unconditional generator (generate(num_videos, rng)); it cannot "
                         "continue a context")
