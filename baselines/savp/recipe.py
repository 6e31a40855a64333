"""What `vbench train` needs to train SAVP (`savp_det`, `savp_vae`, `savp_gan`, `savp`): config, model,
optimisers and the step.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`; this recipe
owns the update (`train_step`): one discriminator update (when the variant has discriminators), then one
generator update through the updated discriminators, on the same generated frames (spec §4.1). The
schedules read the model's `steps_done` buffer (saved in checkpoints), which the step increments.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.savp.config import MODEL_NAMES, SavpConfig, make_config
from baselines.savp.model import SAVP as SavpModel   # the name SAVP is the `savp` recipe below


class SavpRecipe:
    def __init__(self, variant: str):
        self.variant = variant
        self.name = MODEL_NAMES[variant]

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> SavpConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite)."""
        return make_config(self.variant, spec, suite.dataset, suite.channels, suite.resolution,
                           suite.train_context_frames, suite.train_predicted_frames, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> SavpConfig:
        config = SavpConfig.from_dict(data, source)
        if config.variant != self.variant:
            raise ValueError(f"{source}: holds a {config.name} config, not {self.name}")
        return config

    def build(self, config: SavpConfig) -> SavpModel:
        return SavpModel(config)

    def clip_frames(self, config: SavpConfig) -> int:
        return config.sequence_length

    def optimizers(self, model: SavpModel) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr, (beta1, 0.999)) for the generator with the posterior encoder, and Adam(d_lr, (beta1, 0.999))
        for both discriminators when the variant has any (Adam is per parameter: one optimiser per network is
        the same)."""
        c = model.config
        optimizers = {"generator": torch.optim.Adam(model.generator_parameters(), lr=c.lr, betas=(c.beta1, 0.999))}
        if c.has_discriminators:            # the same test as learning_rate's
            params = [p for d in model.discriminators().values() for p in d.parameters()]
            optimizers["discriminator"] = torch.optim.Adam(params, lr=c.d_lr, betas=(c.beta1, 0.999))
        return optimizers

    def learning_rate(self, config: SavpConfig, step: int) -> dict[str, float]:
        """`lr` for the generator, `d_lr` for the discriminators (where the variant has them), both decayed
        by `config.lr_scale(step)`."""
        scale = config.lr_scale(step)
        rates = {"generator": config.lr * scale}
        if config.has_discriminators:
            rates["discriminator"] = config.d_lr * scale
        return rates

    def train_step(self, model: SavpModel, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
                   amp) -> dict[str, float]:
        """One iteration on `video` [B, T, C, S, S] in [0, 1] (`vbench train` has set this step's lr): run the
        passes, step D (on detached fakes), step G (through the updated D, whose weights get no gradient),
        count the step."""
        step = int(model.steps_done)
        with amp.autocast():
            passes = model.forward_passes(video, step)
        logs: dict[str, float] = {}
        discriminators = list(model.discriminators().values())
        if discriminators:
            with amp.autocast():
                d_loss, d_logs = model.discriminator_loss(video, passes)
            amp.step(d_loss, optimizers["discriminator"], "d_loss")
            logs.update(d_logs)
        for d in discriminators:
            d.requires_grad_(False)
        try:
            with amp.autocast():
                g_loss, g_logs = model.generator_loss(video, passes, step)
            amp.step(g_loss, optimizers["generator"], "g_loss")
        finally:
            for d in discriminators:
                d.requires_grad_(True)
        model.steps_done += 1
        return {**logs, **g_logs, "p_gt": passes["p_gt"], "lr": optimizers["generator"].param_groups[0]["lr"]}


SAVP_DET = SavpRecipe("det")
SAVP_VAE = SavpRecipe("vae")
SAVP_GAN = SavpRecipe("gan")
SAVP = SavpRecipe("savp")
