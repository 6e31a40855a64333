"""The adapter `vbench run` calls for `vrnn_gan` (the VideoModel contract).

    vbench run --suite smmnist-mini --model vrnn_gan                        # bundled tiny checkpoint
    vbench run --suite bair --model vrnn_gan --checkpoint DIR/model.pt      # one from `vbench train`

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled checkpoint
               `baselines/checkpoints/vrnn_gan-smmnist-mini.pt` (tiny config, trained on the smmnist-mini
               training digits) is used, only for SM-MNIST-shaped suites (1 channel, 5 context frames).

Context: the encoder's code and the init nets read exactly the `n_ctx` context frames the model was
trained with: a suite with more gives the model its last `n_ctx` frames, one with fewer is refused.

Noise: sample k of video v draws its z_1..z_T ([T, n_z], in one call) from its own generator in the
SampleRNG, so it is the same whatever the batch size or the other samples asked for in the same call.
The discriminator is not used at test time.
"""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG, repeat_per_sample

from baselines.loading import TrainedAdapter
from baselines.vrnn_gan.config import NAME, VARIANT, VrnnGanConfig
from baselines.vrnn_gan.model import VrnnGan


class VrnnGanAdapter(TrainedAdapter):
    """The VRNN-GAN (thesis, `seed-systems.md` §2): the VRNN's decoder driven by an LSTM over z_t ~ N(0, I)."""
    name = NAME
    value_range = (0.0, 1.0)
    stochastic = True

    def __init__(self, checkpoint: str | None = None):
        super().__init__()
        self.model = self._load(VARIANT, checkpoint, VrnnGanConfig.from_dict, VrnnGan)
        self.min_context = self.config.n_ctx
        self.eval()

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        context = self._last_context(context)
        b, _, c, h, w = context.shape
        z = rng.randn(num_future, self.config.n_z).flatten(0, 1)                # [B*S, T, n_z]
        video = repeat_per_sample(context, num_samples)                         # [B*S, n_ctx, C, H, W]
        future = self.model.sample(video, z.to(device=context.device, dtype=context.dtype))
        return future.reshape(b, num_samples, num_future, c, h, w)
