"""VGAN and its conditional variant in one module: the GAN objective and generation.

Spec: `shared/design/baselines.md` §6.1 (unconditional) and §6.2 (future from one frame). The harness's
videos are `[B, T, C, H, W]` in [0, 1]; the networks work on `[B, C, T, H, W]` in [-1, 1] (tanh
outputs), and `to_net` / `from_net` convert in one place.

Losses (2-way cross-entropy on the discriminator's logits, index 1 = real, mean over the batch; the
same as the non-saturating GAN with a sigmoid):

    D:  CE(D(x), real) + CE(D(G(.)), fake)     two forward passes (real, then fake): separate BatchNorm
                                               batch statistics, as the released code
    G:  CE(D(G(.)), real)
        + mask_l1 * mean|m|                    (uncond; mean over every element of the batch's masks: Torch's
                                                size-averaged L1Penalty; the normalisation is [U] in the spec)
        + first_frame_l1 * mean|G(x_0)_0 - x_0| (cond; the first generated frame against the input, in [-1, 1])

The update order (one D step on the fakes of this iteration, then one G step with the updated D on the
same fakes) lives in `baselines/vgan/recipe.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.vgan.config import VganConfig
from baselines.vgan.nets import ConditionalGenerator, Discriminator, Generator, init_weights

REAL, FAKE = 1, 0


def to_net(video: torch.Tensor) -> torch.Tensor:
    """[B, T, C, H, W] in [0, 1] -> [B, C, T, H, W] in [-1, 1]."""
    return (video * 2 - 1).transpose(1, 2)


def from_net(video: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] in [-1, 1] -> [B, T, C, H, W] in [0, 1]."""
    return ((video.transpose(1, 2) + 1) / 2).clamp(0, 1)


def cross_entropy(logits: torch.Tensor, label: int) -> torch.Tensor:
    target = torch.full((logits.shape[0],), label, dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits.float(), target)


class VGAN(nn.Module):
    def __init__(self, config: VganConfig):
        super().__init__()
        self.config = config
        self.conditional = config.variant == "cond"
        self.generator = ConditionalGenerator(config) if self.conditional else Generator(config)
        self.discriminator = Discriminator(config)
        self.apply(lambda m: init_weights(m, config.init_std))

    # -----------------------------------------------------------------------------------------
    # Generation (network layout)

    def draw_inputs(self, real: torch.Tensor) -> dict[str, torch.Tensor | None]:
        """The generator's inputs for a training batch `real` [B, C, T, H, W] in [-1, 1]: uncond z ~ N(0, I);
        cond the first frame, plus N(0, I) noise when z_dim > 0 (the global torch RNG, saved by checkpoints)."""
        b = real.shape[0]
        noise = torch.randn(b, self.config.z_dim, device=real.device) if self.config.z_dim else None
        return {"image": real[:, :, 0], "noise": noise} if self.conditional else {"z": noise}

    def generate_parts(self, inputs: dict[str, torch.Tensor | None]) -> dict[str, torch.Tensor]:
        if self.conditional:
            return self.generator(inputs["image"], inputs["noise"])
        return self.generator(inputs["z"])

    # -----------------------------------------------------------------------------------------
    # The objective (network layout)

    def discriminator_loss(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """real, fake [B, C, T, H, W] in [-1, 1] (fake detached from G) -> (D loss, logs)."""
        logits_real = self.discriminator(real)                 # [B, 2]
        logits_fake = self.discriminator(fake)                 # [B, 2]
        loss = cross_entropy(logits_real, REAL) + cross_entropy(logits_fake, FAKE)
        with torch.no_grad():
            acc_real = (logits_real.argmax(1) == REAL).float().mean().item()
            acc_fake = (logits_fake.argmax(1) == FAKE).float().mean().item()
        return loss, {"d_loss": loss.item(), "d_acc_real": acc_real, "d_acc_fake": acc_fake,
                      "d_acc": (acc_real + acc_fake) / 2}

    def generator_loss(self, parts: dict[str, torch.Tensor],
                       inputs: dict[str, torch.Tensor | None]) -> tuple[torch.Tensor, dict[str, float]]:
        """parts of G's output (not detached) -> (G loss, logs)."""
        c = self.config
        adversarial = cross_entropy(self.discriminator(parts["video"]), REAL)
        loss = adversarial
        logs = {"g_adv": adversarial.item()}
        mask_mean = parts["mask"].float().abs().mean()          # m >= 0: |m| = m
        logs["mask_mean"] = mask_mean.item()
        if c.mask_l1:
            loss = loss + c.mask_l1 * mask_mean
        if self.conditional:
            first_l1 = (parts["video"][:, :, 0].float() - inputs["image"].float()).abs().mean()
            logs["first_l1"] = first_l1.item()
            if c.first_frame_l1:
                loss = loss + c.first_frame_l1 * first_l1
        logs["g_loss"] = loss.item()
        return loss, logs

    # -----------------------------------------------------------------------------------------
    # Generation for the adapters (harness layout)

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """Unconditional: z [N, z_dim] -> videos [N, T, C, S, S] in [0, 1]."""
        return from_net(self.generator(z)["video"])

    @torch.no_grad()
    def continue_frame(self, frame: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Conditional: frame [N, C, S, S] in [0, 1] -> video [N, T, C, S, S] in [0, 1] whose frame 0 is
        the model's reconstruction of the input and frames 1..T-1 its future."""
        return from_net(self.generator(frame * 2 - 1, noise)["video"])
