"""What `vbench train` needs to train VGAN (`vgan`, `vgan_cond`): config, model, optimisers and the GAN step.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`; this
recipe owns the update (`train_step`), as the loop's recipe protocol allows.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.gan_step import discriminator_then_generator
from baselines.vgan.config import VganConfig, make_config
from baselines.vgan.model import VGAN, to_net


class VganRecipe:
    def __init__(self, variant: str, name: str):
        self.variant = variant
        self.name = name

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> VganConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite; only its channels matter)."""
        return make_config(self.variant, spec, suite.channels, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> VganConfig:
        config = VganConfig.from_dict(data, source)
        if config.variant != self.variant:
            raise ValueError(f"{source}: holds a VGAN '{config.variant}' config, not {self.name}")
        return config

    def build(self, config: VganConfig) -> VGAN:
        return VGAN(config)

    def clip_frames(self, config: VganConfig) -> int:
        """A training clip is one whole video of the model (cond: its first frame is the input)."""
        return config.frames

    def optimizers(self, model: VGAN) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr 2e-4, betas (0.5, 0.999)) for each network (the conditional encoder belongs to G)."""
        c = model.config
        return {"discriminator": torch.optim.Adam(model.discriminator.parameters(), lr=c.lr, betas=(c.beta1, 0.999)),
                "generator": torch.optim.Adam(model.generator.parameters(), lr=c.lr, betas=(c.beta1, 0.999))}

    def train_step(self, model: VGAN, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
                   amp) -> dict[str, float]:
        """One iteration, as the released code: D on real then fake, then G (real labels on the same fakes,
        through the updated D). `video` [B, T, C, S, S] in [0, 1]."""
        real = to_net(video)                                            # [B, C, T, S, S] in [-1, 1]
        inputs = model.draw_inputs(real)
        with amp.autocast():
            parts = model.generate_parts(inputs)                        # video [B, C, T, S, S]
        return discriminator_then_generator(
            model.discriminator, optimizers["discriminator"], optimizers["generator"], amp,
            lambda: model.discriminator_loss(real, parts["video"].detach()),
            lambda: model.generator_loss(parts, inputs))


VGAN_UNCOND = VganRecipe("uncond", "vgan")
VGAN_COND = VganRecipe("cond", "vgan_cond")
