"""VRNN-GAN: the GAN objective and sampling (`shared/design/seed-systems.md` §2).

Frames are `[N, T, C, S, S]` in [0, 1]. A training clip is n_ctx context frames and n_train_fut future
frames; the generator continues the context from z_t ~ N(0, I), one z per step; the discriminator judges
context + future (real: the clip; fake: the same context with the generated future).

Losses (the standard GAN value function for D, the non-saturating loss for G, with the thesis's 1/2):

    D:  J(D) = -1/2 E log D(x) - 1/2 E log(1 - D(G(z)))         D = sigmoid(logit)
    G:  J(G) = -1/2 E log D(G(z))  +  rec_weight * mean |x_hat - x|   (future frames; rec_weight 0 in `full`)

The reconstruction term is not in the thesis: an option that makes a briefly trained CPU checkpoint
usable. The update order (D on this iteration's detached fakes, then G through the updated D on the same
fakes, as VGAN) lives in `baselines/vrnn_gan/recipe.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.vrnn_gan.config import VrnnGanConfig
from baselines.vrnn_gan.nets import Discriminator, Generator


def bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """-mean log sigmoid(logits) (real) or -mean log(1 - sigmoid(logits)) (fake)."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(real)))


class VrnnGan(nn.Module):
    def __init__(self, config: VrnnGanConfig):
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)

    def draw_noise(self, n: int, steps: int, like: torch.Tensor) -> torch.Tensor:
        """Training noise z [n, steps, n_z] from torch's global RNG (saved by checkpoints: exact resume)."""
        return torch.randn(n, steps, self.config.n_z, device=like.device)

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """real, fake [B, T, C, S, S] context + future (fake detached from G) -> (J(D), logs)."""
        logits_real = self.discriminator(real)                  # [B]
        logits_fake = self.discriminator(fake)                  # [B]
        loss = 0.5 * (bce(logits_real, True) + bce(logits_fake, False))
        with torch.no_grad():
            acc_real = (logits_real > 0).float().mean().item()
            acc_fake = (logits_fake < 0).float().mean().item()
        return loss, {"d_loss": loss.item(), "d_acc_real": acc_real, "d_acc_fake": acc_fake,
                      "d_acc": (acc_real + acc_fake) / 2}

    def generator_loss(self, context: torch.Tensor, future: torch.Tensor,
                       fake_future: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """context [B, n_ctx, ...], future and fake_future [B, T, ...] (fake not detached) -> (J(G), logs)."""
        adversarial = 0.5 * bce(self.discriminator(torch.cat([context, fake_future], 1)), True)
        rec = (fake_future.float() - future.float()).abs().mean()
        loss = adversarial + self.config.rec_weight * rec if self.config.rec_weight else adversarial
        return loss, {"g_adv": adversarial.item(), "rec_l1": rec.item(), "g_loss": loss.item()}

    @torch.no_grad()
    def sample(self, context: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """context [N, n_ctx, C, S, S], z [N, T, n_z] -> [N, T, C, S, S] in [0, 1]."""
        return self.generator(context, z)
