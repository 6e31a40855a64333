"""MVAE for frame prediction (`mvae`) and its VAE-GAN variant (`mvae_gan`): the product of Gaussian
experts, the objectives and the closed-loop sampler.

Spec: `shared/design/seed-systems.md` §1. Frames are in [0, 1]. Two modalities per step t (1 <= t < T):
a = the current frame x_t, b = the previous frame x_{t-1}; one latent z_t; p(x_a, x_b | z) = p(x_a | z) p(x_b | z).

    expert a   (mu_a, logvar_a) = LSTM_a(E(x_1), ..., E(x_t))        reads the current frames
    expert b   (mu_b, logvar_b) = LSTM_b(E(x_0), ..., E(x_{t-1}))    reads the previous frames
    q(z | X)   = N(0, I) x the experts of the modalities in X (`product_of_experts`)
    decoder    z -> logits of (x_t', x_{t-1}'), 2C channels: one network for both modalities

`mvae` (Method I): per step, sum over the subsets X of {(a, b), (a,), (b,)} of
    -ELBO(X) = E_q(z|X)[-sum_{i in X} lambda_i log p(x_i | z)] + beta KL(q(z | X) || N(0, I)),
with a Bernoulli pixel likelihood (Wu & Goodman's for MNIST), one reparameterised sample per subset;
averaged over steps and batch. beta rises linearly from 0 over `kl_warmup` steps (Wu & Goodman anneal it);
the count of steps taken is a buffer (`steps_done`), saved and resumed with the weights.

`mvae_gan` (Method II, Larsen et al.'s learned similarity): log p(x_i | z) becomes the Gaussian
log-likelihood of a discriminator layer, -1/2 ||Dis_l(x_i) - Dis_l(x_i')||^2 (constant dropped), and a GAN
loss is added. Updates (VAE-GAN's rules; the step order lives in recipe.py):
    encoder (CNN, LSTMs)   beta KL + feature reconstruction
    decoder                feature reconstruction + gamma * GAN (non-saturating, -log D(x'))
    discriminator          GAN: -log D(x) - log(1 - D(x'))
The decoder's GAN term is computed on frames decoded from a detached z, so it reaches the decoder and not
the encoder. D's fakes are x_t' decoded from q(z | a, b) and from q(z | b) (the frame the sampler
outputs); every frame of the clip is a real one. `pixel_weight` > 0 keeps `mvae`'s pixel term beside the
feature one (a deviation for small CPU-trained models; 0 at full size).

Sampling (closed loop): LSTM_b reads the context frames; each future step draws z from q(z | b) =
N(0, I) x expert b, decodes x_t' = sigmoid(logits_a), and feeds x_t' back as the next previous frame.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from baselines.mvae.config import MvaeConfig
from baselines.mvae.nets import FrameDecoder, FrameDiscriminator
from baselines.svg.model import kl_gaussians, kl_standard
from baselines.svg.nets import DcganEncoder, GaussianLstm, init_weights

# The subsets of the sub-sampled objective and which modalities each holds: (a, b), (a,), (b,).
SUBSETS = (("a", "b"), ("a",), ("b",))
# mvae_gan: the (subset, modality) pairs with a feature-likelihood term (the modalities each subset holds) ...
PRESENT = tuple((s, m) for s, subset in enumerate(SUBSETS) for m, name in enumerate("ab") if name in subset)
# ... and D's fakes: x_t' decoded from q(z | a, b) (Larsen's reconstruction) and from q(z | b) (the sampler's
# prediction, in the role of Larsen's sample from the prior).
FAKE_SUBSETS = (0, 2)


def product_of_experts(mus: Sequence[torch.Tensor], logvars: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian N(0, I) x prod_i N(mu_i, var_i), normalised: precision 1 + sum 1/var_i, mean
    sum(mu_i / var_i) / (1 + sum 1/var_i). A missing modality is simply left out of the lists (at least one
    expert must remain, to give the shape). Each mu_i, logvar_i [..., z] -> (mu, logvar) [..., z]."""
    if len(mus) != len(logvars):
        raise ValueError(f"product_of_experts: {len(mus)} means and {len(logvars)} log-variances")
    if not mus:
        raise ValueError("product_of_experts needs at least one expert, to give the shape (the prior is implicit)")
    precisions = [torch.exp(-lv) for lv in logvars]                         # [..., z] each
    # log(1 + sum exp(-logvar_i)) with logsumexp: stable for very confident experts
    log_precision = torch.logsumexp(torch.stack([torch.zeros_like(logvars[0])] + [-lv for lv in logvars]), 0)
    mu = sum(m * p for m, p in zip(mus, precisions)) * torch.exp(-log_precision)
    return mu, -log_precision


def posterior(experts: dict[str, tuple[torch.Tensor, torch.Tensor]], subset: Sequence[str]):
    """q(z | subset): the product of the prior and the experts of the modalities in `subset`."""
    return product_of_experts([experts[m][0] for m in subset], [experts[m][1] for m in subset])


class MVAE(nn.Module):
    def __init__(self, config: MvaeConfig):
        super().__init__()
        self.config = c = config
        self.encoder = DcganEncoder(c.channels, c.image_size, c.nf, c.g_dim)
        self.expert_a = GaussianLstm(c.g_dim, c.z_dim, c.rnn_size, c.rnn_layers)
        self.expert_b = GaussianLstm(c.g_dim, c.z_dim, c.rnn_size, c.rnn_layers)
        self.decoder = FrameDecoder(2 * c.channels, c.image_size, c.nf, c.z_dim)
        self.discriminator = (FrameDiscriminator(c.channels, c.image_size, c.ndf, c.d_code, c.disc_layer)
                              if c.variant == "gan" else None)
        self.apply(init_weights)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    def generator_parameters(self) -> list[nn.Parameter]:
        """Encoder, both LSTMs and the decoder: everything but the discriminator."""
        return [p for name, p in self.named_parameters() if not name.startswith("discriminator.")]

    def current_beta(self) -> float:
        c = self.config
        return c.beta if c.kl_warmup <= 0 else c.beta * min(1.0, int(self.steps_done) / c.kl_warmup)

    # ------------------------------------------------------------------------------------------
    # inference and decoding (teacher forced on a whole video)

    def experts(self, video: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """video [B, T, C, S, S] -> {"a": (mu, logvar), "b": (mu, logvar)}, each [B, T - 1, z]: step t's
        experts at index t - 1 (a has read x_1..x_t, b has read x_0..x_{t-1})."""
        b, t = video.shape[:2]
        if t < 2:
            raise ValueError(f"{self.config.name} needs at least 2 frames, got a video of shape {list(video.shape)}")
        codes = self.encoder(video.flatten(0, 1))[0].unflatten(0, (b, t))   # [B, T, g]
        out = {}
        for name, lstm, inputs in (("a", self.expert_a, codes[:, 1:]), ("b", self.expert_b, codes[:, :-1])):
            state = lstm.zero_state(b, codes)
            mus, logvars = [], []
            for i in range(t - 1):
                _, mu, logvar, state = lstm(inputs[:, i], state)             # [B, z] each
                mus.append(mu)
                logvars.append(logvar)
            out[name] = (torch.stack(mus, 1), torch.stack(logvars, 1))       # [B, T - 1, z]
        return out

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z [..., z_dim] -> logits [..., 2, C, S, S] of (x_a', x_b')."""
        c = self.config
        logits = self.decoder(z.reshape(-1, c.z_dim))                       # [N, 2C, S, S]
        return logits.reshape(*z.shape[:-1], 2, c.channels, c.image_size, c.image_size)

    def subset_passes(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three subsets' posteriors and one reparameterised sample each (noise from torch's global RNG,
        saved by checkpoints): mu, logvar, z [3, B, T - 1, z_dim], in the order of SUBSETS."""
        experts = self.experts(video)
        stats = [posterior(experts, subset) for subset in SUBSETS]
        mu = torch.stack([m for m, _ in stats])                             # [3, B, T - 1, z]
        logvar = torch.stack([lv for _, lv in stats])
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return {"mu": mu, "logvar": logvar, "z": z}

    def _targets_and_weights(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(targets [B, T - 1, 2, C, S, S]: (x_t, x_{t-1}) per step, weights [3, 1, 1, 2]: lambda_i where the
        subset holds modality i, else 0)."""
        c = self.config
        targets = torch.stack([video[:, 1:], video[:, :-1]], 2)             # [B, T - 1, 2, C, S, S]
        weights = torch.tensor([[c.lambda_a * ("a" in s), c.lambda_b * ("b" in s)] for s in SUBSETS],
                               device=video.device, dtype=torch.float32)     # [3, 2]
        return targets, weights[:, None, None]                              # [3, 1, 1, 2]

    def _pixel_nll(self, logits: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        """-sum_{i in X} lambda_i log p(x_i | z), Bernoulli pixels: logits [3, B, T - 1, 2, C, S, S] -> [3, B, T - 1]."""
        targets, weights = self._targets_and_weights(video)
        logits = logits.float()
        bce = F.binary_cross_entropy_with_logits(logits, targets.float().expand_as(logits), reduction="none")
        return (bce.flatten(4).sum(-1) * weights).sum(-1)

    # ------------------------------------------------------------------------------------------
    # objectives

    def vae_loss(self, video: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`mvae`: the sub-sampled negative ELBO on `video` [B, T, C, S, S] in [0, 1]."""
        passes = self.subset_passes(video)
        rec = self._pixel_nll(self.decode(passes["z"]), video)              # [3, B, T - 1]
        kl = kl_standard(passes["mu"].float(), passes["logvar"].float()).sum(-1)   # [3, B, T - 1]
        beta = self.current_beta()
        loss = (rec + beta * kl).sum(0).mean()
        return loss, {"loss": loss.item(), "rec": rec.sum(0).mean().item(), "kl": kl.sum(0).mean().item(),
                      "beta": beta}

    def gan_passes(self, video: torch.Tensor) -> dict[str, torch.Tensor]:
        """`subset_passes` plus "recon": every frame decoded from the samples, [3, B, T - 1, 2, C, S, S] in
        [0, 1], and "fakes": D's fake frames cut from it, [2, B, T - 1, C, S, S] (FAKE_SUBSETS, modality a)."""
        passes = self.subset_passes(video)
        logits = self.decode(passes["z"])
        recon = torch.sigmoid(logits)
        return dict(passes, logits=logits, recon=recon, fakes=recon[list(FAKE_SUBSETS), :, :, 0])

    def _discriminate(self, *frames: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """D on groups of frames [..., C, S, S] as one batch (one set of BatchNorm statistics) -> (logits,
        features at layer l), split back per group."""
        c = self.config
        flat = [f.reshape(-1, c.channels, c.image_size, c.image_size) for f in frames]
        logits, features = self.discriminator(torch.cat(flat))
        sizes = [len(f) for f in flat]
        return ([l.unflatten(0, f.shape[:-3]) for l, f in zip(logits.float().split(sizes), frames)],
                [h.unflatten(0, f.shape[:-3]) for h, f in zip(features.float().split(sizes), frames)])

    def discriminator_loss(self, video: torch.Tensor, fakes: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """`mvae_gan`'s D: every frame of `video` [B, T, C, S, S] is real, `fakes` [..., C, S, S] (detached) are
        not; real and fake frames go through D as separate batches (as `vgan`), so the fakes' BatchNorm
        statistics are the same here and in the generator's step."""
        (real,), _ = self._discriminate(video)
        (fake,), _ = self._discriminate(fakes)
        loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        with torch.no_grad():
            acc = ((real > 0).float().mean() + (fake < 0).float().mean()) / 2
        return loss, {"d_loss": loss.item(), "d_acc": acc.item()}

    def generator_loss(self, video: torch.Tensor, passes: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        """`mvae_gan`'s encoder and decoder loss (D's weights frozen by the caller): beta KL + feature
        reconstruction at D's layer l (through z, to the encoder and the decoder) + gamma * the non-saturating
        GAN loss on D's fakes decoded again from the detached z (to the decoder only). The real frames and the
        reconstructions share one D batch (one normalisation for both sides of the feature distance); the
        fakes have their own, so no gradient of the GAN term reaches the reconstructions through BatchNorm.
        Per step, summed over subsets, modalities and fake frames; averaged over steps and batch."""
        c = self.config
        subsets, modalities = (list(i) for i in zip(*PRESENT))
        present = passes["recon"][subsets, :, :, modalities]               # [P, B, T - 1, C, S, S]
        z_fake = passes["z"][list(FAKE_SUBSETS)].detach()                  # [2, B, T - 1, z]: no path to the encoder
        fakes = torch.sigmoid(self.decode(z_fake)[:, :, :, 0])             # [2, B, T - 1, C, S, S]
        _, (real_f, present_f) = self._discriminate(video, present)
        (fake_logits,), _ = self._discriminate(fakes)                      # [2, B, T - 1]
        target_f = torch.stack([real_f[:, 1:], real_f[:, :-1]])[modalities]   # [P, B, T - 1, F...]
        lambdas = torch.tensor([(c.lambda_a, c.lambda_b)[m] for m in modalities], device=video.device)
        feature_rec = (0.5 * (present_f - target_f) ** 2).flatten(3).sum(-1) * lambdas[:, None, None]   # [P, B, T - 1]
        gan = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits), reduction="none")
        kl = kl_standard(passes["mu"].float(), passes["logvar"].float()).sum(-1)         # [3, B, T - 1]
        beta = self.current_beta()
        rec, gan, kl = feature_rec.sum(0).mean(), gan.sum(0).mean(), kl.sum(0).mean()
        loss = beta * kl + rec + c.gamma * gan
        logs = {"feature_rec": rec.item(), "g_gan": gan.item(), "kl": kl.item(), "beta": beta}
        if c.pixel_weight:
            pixel = self._pixel_nll(passes["logits"], video).sum(0).mean()
            loss = loss + c.pixel_weight * pixel
            logs["pixel_rec"] = pixel.item()
        return loss, {"g_loss": loss.item(), **logs}

    # ------------------------------------------------------------------------------------------
    # likelihood and sampling

    @torch.no_grad()
    def negative_elbo(self, video: torch.Tensor, eps: torch.Tensor, n_ctx: int) -> torch.Tensor:
        """Per-video negative ELBO of frames n_ctx..T-1 of `video` [N, T, C, S, S] given the frames before,
        under the predictive model the sampler draws from (z_t ~ q(z | b), x_t ~ Bernoulli(decoder_a(z))):
        -E_q(z|a,b)[log p(x_t | z)] + KL(q(z | a, b) || q(z | b)), one posterior sample per step from `eps`
        [N, T - n_ctx, z], in nats per predicted frame (summed over channels and pixels). -> [N]."""
        experts = self.experts(video)
        future = slice(n_ctx - 1, None)                                     # step t at index t - 1
        experts = {m: (mu[:, future], lv[:, future]) for m, (mu, lv) in experts.items()}   # [N, T - n_ctx, z]
        mu_ab, lv_ab = posterior(experts, ("a", "b"))
        mu_b, lv_b = posterior(experts, ("b",))
        z = mu_ab + torch.exp(0.5 * lv_ab) * eps.to(mu_ab.dtype)
        logits = self.decode(z)[:, :, 0].float()                           # [N, T - n_ctx, C, S, S]
        rec = F.binary_cross_entropy_with_logits(logits, video[:, n_ctx:].float(), reduction="none")
        kl = kl_gaussians(mu_ab.float(), lv_ab.float(), mu_b.float(), lv_b.float())
        return (rec.flatten(2).sum(-1) + kl.sum(-1)).mean(1)               # [N]

    @torch.no_grad()
    def generate(self, context: torch.Tensor, num_future: int, noise: torch.Tensor) -> torch.Tensor:
        """Closed-loop continuation of `context` [N, Tc, C, S, S] in [0, 1] -> [N, num_future, C, S, S], the
        standard normal draws of each future step's z in `noise` [N, num_future, z_dim]."""
        c = self.config
        n, tc = context.shape[:2]
        if tuple(noise.shape) != (n, num_future, c.z_dim):
            raise ValueError(f"{c.name}: noise must be [N, num_future, z_dim] = {[n, num_future, c.z_dim]}, "
                             f"got {list(noise.shape)}")
        codes = self.encoder(context.flatten(0, 1))[0].unflatten(0, (n, tc))   # [N, Tc, g]
        state = self.expert_b.zero_state(n, codes)
        for i in range(tc - 1):                                            # expert b has read x_0..x_{Tc-2}
            _, _, _, state = self.expert_b(codes[:, i], state)
        code = codes[:, -1]
        frames = []
        for k in range(num_future):
            _, mu_b, lv_b, state = self.expert_b(code, state)
            mu, logvar = product_of_experts([mu_b], [lv_b])                # q(z | b): a is missing
            z = mu + torch.exp(0.5 * logvar) * noise[:, k].to(mu.dtype)
            frame = torch.sigmoid(self.decode(z)[:, 0])                    # [N, C, S, S]
            frames.append(frame)
            if k < num_future - 1:
                code = self.encoder(frame)[0]                              # the loop is closed on the prediction
        return torch.stack(frames, 1)                                      # [N, num_future, C, S, S]
