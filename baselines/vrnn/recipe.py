"""What `vbench train` needs to train `hier_vrnn` or `vrnn_1l`: config, model and optimiser.

The training loop itself (data, device, AMP, checkpoints, progress) lives in `vbench/train.py`.
"""

from __future__ import annotations

from typing import Any

import torch

from baselines.vrnn.config import MODEL_NAMES, VrnnConfig, make_config
from baselines.vrnn.model import VRNN


class VrnnRecipe:
    def __init__(self, variant: str):
        self.variant = variant
        self.name = MODEL_NAMES[variant]

    def make_config(self, spec: str, suite, overrides: dict[str, Any] | None = None) -> VrnnConfig:
        """`spec` = full | tiny | file.yaml, for training on `suite` (a vbench Suite)."""
        return make_config(self.variant, spec, suite.dataset, suite.channels, suite.resolution,
                           suite.train_context_frames, suite.train_predicted_frames, overrides)

    def config_from_dict(self, data: dict[str, Any], source: str) -> VrnnConfig:
        config = VrnnConfig.from_dict(data, source)
        if config.variant != self.variant:
            raise ValueError(f"{source}: holds a {config.name} config, not {self.name}")
        return config

    def build(self, config: VrnnConfig) -> VRNN:
        return VRNN(config)

    def optimizer(self, model: VRNN) -> torch.optim.Optimizer:
        """Adam(lr, weight decay) on all parameters, as the released training (lr 1e-4, weight decay 1e-4).
        The released multi-GPU linear lr scaling and its warm-up are not reproduced: set `lr` instead."""
        c = model.config
        return torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)


HIER_VRNN = VrnnRecipe("hier")
VRNN_1L = VrnnRecipe("1l")
