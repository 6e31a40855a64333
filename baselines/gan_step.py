"""The alternating update of the bundled GAN recipes (`vgan`, `vrnn_gan`, `mvae_gan`), in one place.

One discriminator step on this iteration's fakes (detached by the caller's `d_loss`), then one generator
step through the updated discriminator, whose weights take no gradient in that pass (they are not stepped
again, and their `.grad` keeps what D's step used). `amp` is `vbench.train.Amp`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

Loss = Callable[[], tuple[torch.Tensor, dict[str, float]]]    # () -> (loss, logs), run under autocast


def discriminator_then_generator(discriminator: nn.Module, d_optimizer: torch.optim.Optimizer,
                                 g_optimizer: torch.optim.Optimizer, amp, d_loss: Loss, g_loss: Loss) -> dict[str, float]:
    """Step d_optimizer on d_loss(), then g_optimizer on g_loss(); -> both logs."""
    with amp.autocast():
        loss, d_logs = d_loss()
    amp.step(loss, d_optimizer, "d_loss")
    discriminator.requires_grad_(False)          # G's step needs no gradients of D's weights
    try:
        with amp.autocast():
            loss, g_logs = g_loss()
        amp.step(loss, g_optimizer, "g_loss")
    finally:
        discriminator.requires_grad_(True)
    return {**d_logs, **g_logs}
