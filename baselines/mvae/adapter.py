"""The adapters `vbench run` calls: `mvae` and `mvae_gan` (the VideoModel contract).

    vbench run --suite smmnist-mini --model mvae                          # bundled tiny checkpoint
    vbench run --suite kth --model mvae_gan --checkpoint DIR/model.pt     # one from `vbench train`

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled checkpoint
               `baselines/checkpoints/<model>-smmnist-mini.pt` (tiny config, trained on the smmnist-mini
               training digits) is used, and only for SM-MNIST-shaped suites (1 channel, the 5 context frames
               it was trained with); anything else is an error saying how to train one.

Noise: the standard normal draws of sample k of video v (one z_dim vector per future step) come from its own
generator in the SampleRNG, `[B, S, T, z_dim]` in one call, so a sample does not depend on the batch size or
on the other samples asked for. `mvae` is a likelihood model: `negative_elbo` (nats per predicted frame,
Bernoulli pixels at the model's resolution) is stored per video by the runner; `mvae_gan`'s likelihood is
in a discriminator's feature space, so it reports none.
"""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG, repeat_per_sample
from vbench.errors import ModelError

from baselines.loading import TrainedAdapter
from baselines.mvae.config import MODEL_NAMES, MvaeConfig
from baselines.mvae.model import MVAE


class _Mvae(TrainedAdapter):
    variant = ""
    value_range = (0.0, 1.0)
    stochastic = True
    min_context = 1

    def __init__(self, checkpoint: str | None = None):
        super().__init__()
        self.name = MODEL_NAMES[self.variant]
        self.mvae = self._load(self.variant, checkpoint, MvaeConfig.from_dict, MVAE)
        self.eval()

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        self._check_channels(context.shape[2])
        self._check_bundled_context(context.shape[1])
        b, _, c, h, w = context.shape
        noise = rng.randn(num_future, self.config.z_dim).to(context).flatten(0, 1)   # [B*S, T, z]
        future = self.mvae.generate(repeat_per_sample(context, num_samples), num_future, noise)
        return future.reshape(b, num_samples, num_future, c, h, w)


class Mvae(_Mvae):
    """MVAE frame prediction with a product of Gaussian experts (Wu & Goodman 2018), pixel likelihood."""
    variant = "vae"

    @torch.no_grad()
    def negative_elbo(self, context: torch.Tensor, future: torch.Tensor, rng: SampleRNG) -> torch.Tensor:
        """Per-video negative ELBO of `future` given `context` (both [B, T, C, S, S] in [0, 1] at the model's
        resolution), in nats per predicted frame, averaged over the rng's samples (one posterior draw per
        step each). -> [B] (see MVAE.negative_elbo)."""
        self._check_channels(context.shape[2])
        b, s = rng.shape
        if b != context.shape[0]:
            raise ModelError(f"{self.name}: negative_elbo got {context.shape[0]} videos and an rng for {b}")
        video = repeat_per_sample(torch.cat([context, future], 1), s)                 # [B*S, Tc + T, C, H, W]
        eps = rng.randn(future.shape[1], self.config.z_dim).to(context).flatten(0, 1)   # [B*S, T, z]
        return self.mvae.negative_elbo(video, eps, context.shape[1]).reshape(b, s).mean(1)


class MvaeGan(_Mvae):
    """MVAE with VAE-GAN's learned similarity metric (Larsen et al. 2016)."""
    variant = "gan"
