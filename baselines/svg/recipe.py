"""What `vbench train` needs to train an SVG variant: config, model and optimiser.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.svg.config import SvgConfig, make_config
from baselines.svg.model import SVG


class SvgRecipe:
    def __init__(self, variant: str):
        self.variant = variant
        self.name = f"svg_{variant}"

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> SvgConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite)."""
        return make_config(self.variant, spec, suite.dataset, suite.channels, suite.resolution,
                           suite.train_context_frames, suite.train_predicted_frames, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> SvgConfig:
        config = SvgConfig.from_dict(data, source)
        if config.variant != self.variant:
            raise ValueError(f"{source}: holds an svg_{config.variant} config, not {self.name}")
        return config

    def build(self, config: SvgConfig) -> SVG:
        return SVG(config)

    def optimizer(self, model: SVG) -> torch.optim.Optimizer:
        """Adam(lr, beta1, 0.999) on all parameters. The released code keeps one Adam per network with the
        same settings, stepped together after one backward pass; Adam is per-parameter, so this is the same."""
        c = model.config
        return torch.optim.Adam(model.parameters(), lr=c.lr, betas=(c.beta1, 0.999))

    def learning_rate(self, config: SvgConfig, step: int) -> float:
        """The released code keeps lr constant; a config's `lr_drops` lowers it from given steps."""
        return config.lr_at(step)


SVG_DET = SvgRecipe("det")
SVG_FP = SvgRecipe("fp")
SVG_LP = SvgRecipe("lp")
