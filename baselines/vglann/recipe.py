"""What `vbench train` needs to train VGLANN: config, model, the GLO optimiser and step, and the hooks
of a fixed-pool recipe (`vbench/train.py`): `pool_size`, `end_epoch`, `finish`.

    GLO       `num_videos` training clips, one latent each (the clip's pool index); each step
              minimises the reconstruction loss of a batch over its latents and G
    epochs    after each: latents re-projected onto the sphere, the lr halved every
              `lr_halve_epochs` epochs, Adam's moments reset (the released code builds new
              optimisers every epoch; `reset_adam_every_epoch: false` keeps them)
    finish    after the last step: the mapper is fitted on the latents (its weights and a
              `mapper_fitted` flag are in the state dict, so in model.pt)
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.vglann.config import VglannConfig, make_config
from baselines.vglann.model import VGLANN as VglannModel


class VglannRecipe:
    name = "vglann"

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> VglannConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite; only its channels matter)."""
        return make_config(spec, suite.channels, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> VglannConfig:
        return VglannConfig.from_dict(data, source)

    def build(self, config: VglannConfig) -> VglannModel:
        return VglannModel(config)

    def clip_frames(self, config: VglannConfig) -> int:
        return config.frames

    def pool_size(self, config: VglannConfig) -> int:
        return config.num_videos

    def optimizers(self, model: VglannModel) -> dict[str, torch.optim.Optimizer]:
        """One Adam, betas (beta1, 0.999), two groups: the latents at lr_z, G at lr_z * lr_g_factor (Adam is
        per parameter, so this equals the released code's two optimisers stepped together)."""
        c = model.config
        return {"glo": torch.optim.Adam([{"params": model.latents.parameters(), "lr": c.lr_z},
                                         {"params": model.generator.parameters(), "lr": c.lr_z * c.lr_g_factor}],
                                        betas=(c.beta1, 0.999))}

    def train_step(self, model: VglannModel, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
                   amp, indices: torch.Tensor) -> dict[str, float]:
        """video [B, T, C, S, S] in [0, 1]; indices [B], the clips' pool indices (their latents)."""
        with amp.autocast():
            loss, logs = model.training_loss(video, indices)
        amp.step(loss, optimizers["glo"], "glo_loss")
        return logs

    def end_epoch(self, model: VglannModel, optimizers: dict[str, torch.optim.Optimizer], epoch: int) -> None:
        """After `epoch` epochs: latents onto the sphere, the next epoch's lr, Adam's moments reset."""
        c = model.config
        model.project_latents()
        optimizer = optimizers["glo"]
        scale = 0.5 ** (epoch // c.lr_halve_epochs)
        latents, generator = optimizer.param_groups
        latents["lr"], generator["lr"] = c.lr_z * scale, c.lr_z * c.lr_g_factor * scale
        if c.reset_adam_every_epoch:
            optimizer.state.clear()

    def finish(self, model: VglannModel) -> list[dict[str, float]]:
        """Fit the mapper (noise from a generator seeded with the config's seed)."""
        logs = model.fit_mapper(torch.Generator().manual_seed(model.config.seed))
        return [{"mapper": model.config.mapper, **entry} for entry in logs]


VGLANN = VglannRecipe()
