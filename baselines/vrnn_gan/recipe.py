"""What `vbench train` needs to train `vrnn_gan`: config, model, the two optimisers and the GAN step.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`; this
recipe owns the update (`train_step`), as VGAN's does: one D step on this iteration's detached fakes, then
one G step through the updated D on the same fakes. The noise comes from torch's global RNG, whose state
`last.pt` saves, so `--resume` continues exactly.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.gan_step import discriminator_then_generator
from baselines.vrnn_gan.config import NAME, VrnnGanConfig, make_config
from baselines.vrnn_gan.model import VrnnGan


class VrnnGanRecipe:
    name = NAME

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> VrnnGanConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite)."""
        return make_config(spec, suite.channels, suite.resolution, suite.train_context_frames,
                           suite.train_predicted_frames, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> VrnnGanConfig:
        return VrnnGanConfig.from_dict(data, source)

    def build(self, config: VrnnGanConfig) -> VrnnGan:
        return VrnnGan(config)

    def optimizers(self, model: VrnnGan) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr / d_lr, betas (beta1, 0.999)) for each network (the encoder belongs to G)."""
        c = model.config
        return {"discriminator": torch.optim.Adam(model.discriminator.parameters(), lr=c.d_lr, betas=(c.beta1, 0.999)),
                "generator": torch.optim.Adam(model.generator.parameters(), lr=c.lr, betas=(c.beta1, 0.999))}

    def train_step(self, model: VrnnGan, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
                   amp) -> dict[str, float]:
        """One iteration on `video` [B, n_ctx + T, C, S, S] in [0, 1]."""
        n_ctx = model.config.n_ctx
        context, future = video[:, :n_ctx], video[:, n_ctx:]
        z = model.draw_noise(video.shape[0], future.shape[1], video)            # [B, T, n_z]
        with amp.autocast():
            fake = model.generator(context, z)                                  # [B, T, C, S, S]
        return discriminator_then_generator(
            model.discriminator, optimizers["discriminator"], optimizers["generator"], amp,
            lambda: model.discriminator_loss(video, torch.cat([context, fake.detach()], 1)),
            lambda: model.generator_loss(context, future, fake))


VRNN_GAN = VrnnGanRecipe()
