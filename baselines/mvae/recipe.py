"""What `vbench train` needs to train `mvae` and `mvae_gan`: config, model, optimisers and the update.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`; this recipe
owns the update (`train_step`). `mvae`: one Adam on the negative ELBO. `mvae_gan`, as `vgan` does: one
discriminator step on the detached fakes of this iteration, then one encoder + decoder step through the
updated (frozen) discriminator. Both count the step in the model's `steps_done` buffer (the KL warm-up).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from baselines.gan_step import discriminator_then_generator
from baselines.loading import bundled_checkpoint
from vbench.errors import VBenchError

from baselines.mvae.config import MODEL_NAMES, MvaeConfig, make_config
from baselines.mvae.model import MVAE


def start_from_mvae(model: MVAE, path: Path) -> None:
    """Copy every weight but the discriminator's (and the step count) from the `mvae` checkpoint `path`."""
    from vbench.train import load_checkpoint
    payload = load_checkpoint(path)
    if payload.get("model") != "mvae":
        raise VBenchError(f"init_from: {path} was trained as {payload.get('model')}, not mvae")
    weights = {k: v for k, v in payload["state_dict"].items() if k != "steps_done"}
    try:
        missing, unexpected = model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:       # tensors of other sizes
        raise VBenchError(f"init_from: {path} does not fit this config: {exc}") from None
    wanted = [k for k in missing if not k.startswith("discriminator.") and k != "steps_done"]
    if wanted or unexpected:
        raise VBenchError(f"init_from: {path} does not fit this config (missing {wanted}, unexpected {unexpected})")


class MvaeRecipe:
    def __init__(self, variant: str):
        self.variant = variant
        self.name = MODEL_NAMES[variant]

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> MvaeConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite)."""
        return make_config(self.variant, spec, suite.dataset, suite.channels, suite.resolution,
                           suite.train_context_frames, suite.train_predicted_frames, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> MvaeConfig:
        config = MvaeConfig.from_dict(data, source)
        if config.variant != self.variant:
            raise ValueError(f"{source}: holds a {config.name} config, not {self.name}")
        return config

    def build(self, config: MvaeConfig) -> MVAE:
        """A fresh model; with `init_from`, its encoder, LSTMs and decoder copied from a trained `mvae`."""
        model = MVAE(config)
        if config.init_from:
            start_from_mvae(model, bundled_checkpoint("mvae") if config.init_from == "bundled" else Path(config.init_from))
        return model

    def optimizers(self, model: MVAE) -> dict[str, torch.optim.Optimizer]:
        """Adam(lr, (beta1, 0.999)) on the encoder, LSTMs and decoder; `mvae_gan` adds Adam(d_lr) for D.
        (Adam is per parameter: Larsen et al.'s separate encoder and decoder optimisers with the same
        settings are this one, since each network only receives the gradient of its own loss.)"""
        c = model.config
        optimizers = {"model": torch.optim.Adam(model.generator_parameters(), lr=c.lr, betas=(c.beta1, 0.999))}
        if model.discriminator is not None:
            optimizers["discriminator"] = torch.optim.Adam(model.discriminator.parameters(), lr=c.d_lr,
                                                           betas=(c.beta1, 0.999))
        return optimizers

    def train_step(self, model: MVAE, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
                   amp) -> dict[str, float]:
        """One iteration on `video` [B, T, C, S, S] in [0, 1]."""
        if model.discriminator is None:
            with amp.autocast():
                loss, logs = model.vae_loss(video)
            amp.step(loss, optimizers["model"], "loss")
        else:
            with amp.autocast():
                passes = model.gan_passes(video)
            logs = discriminator_then_generator(
                model.discriminator, optimizers["discriminator"], optimizers["model"], amp,
                lambda: model.discriminator_loss(video, passes["fakes"].detach()),
                lambda: model.generator_loss(video, passes))
        model.steps_done += 1
        return logs


MVAE_VAE = MvaeRecipe("vae")
MVAE_GAN = MvaeRecipe("gan")
