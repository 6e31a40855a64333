"""SAVP and its ablations in one module: schedules, the two generator passes, the losses and generation.

Spec: `shared/design/baselines.md` §4.2-4.5. Frames are `[N, T, C, H, W]` in [0, 1] (the generator composes
images in [0, 1]; there is no tanh). Step t (0 <= t < T - 1) reads image_t and predicts x_{t+1}:

    image_t  = x_t                  for t < n_ctx (context)
             = x_t with prob. p_gt, else x_hat_t     (training, scheduled sampling, per sample and step)
             = x_hat_t              (generation)
    z_t      posterior pass: mu_t + sigma_t * eps,  (mu_t, logvar_t) = E([x_t, x_{t+1}])
             prior pass:     the posterior's z_t for t < n_ctx - 1 (fully observed transitions), N(0, I) after
    x_hat_{t+1}, state = G(image_t, x_0, z_t, state)

    p_gt(step) = k / (k + exp(step / k)), k = 900, forced to 0 once below 0.001 (from step 12,340)

Losses (spec §4.5; the released scales):

    G:  l1_weight * mean|x_hat - x| (+ l2_weight * mean (x_hat - x)^2)   over frames 1..T-1, context steps
        included, on the posterior pass when nz > 0 (`recon_pass`), else on the only pass
      + kl_weight * a(step) * KL        KL summed over nz, averaged over steps and batch; a: 0 until
                                        kl_anneal_start, linear to 1 at kl_anneal_end
      + gan_weight * mean(D_gan(window(prior pass)) - 1)^2
      + vae_gan_weight * mean(D_vae_gan(window(posterior pass)) - 1)^2
      + gan_fm_weight * FM(D_gan) + vae_gan_fm_weight * FM(D_vae_gan)
      + tv_weight * TV(flows)           (transformation 'flow' only; on the reconstruction pass)
    D:  sum over active discriminators of weight * [mean(D(real) - 1)^2 + mean(D(fake))^2]

    FM(D) = sum over D's 7 layers of 1/2 * mean over (batch, positions) of || a/|a| - b/|b| ||^2,
            a, b: the layer's features of a real and a fake window, normalised over channels.

A discriminator judges a window of `clip_length` consecutive frames out of frames 1..T-1, drawn per sample
and per call (real and fake windows independently, as the released code). The GAN discriminator compares
real windows with prior-pass windows, the VAE-GAN one with posterior-pass windows (separate networks).

`savp_gan` caveat (spec §4.1; released behaviour, the default here): with nz > 0 the posterior encoder is
built and the L1 term reads the posterior pass, so the encoder is trained by L1 alone (no KL) while the GAN
loss sees prior samples. `recon_pass: prior` puts the L1 term on the prior pass instead (the README's wording).

Step-dependent schedules (scheduled sampling, KL annealing, lr decay) read `steps_done`, a buffer saved with
the weights, so `--resume` continues them exactly. The recipe increments it after each training step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from baselines.savp.config import SavpConfig
from baselines.savp.nets import Generator, PosteriorEncoder, VideoDiscriminator, init_weights

P_GT_FLOOR = 0.001     # scheduled sampling: p_gt below this is 0 (deterministically autoregressive)


def kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per element."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp())


def lsgan(logits: torch.Tensor, target: float) -> torch.Tensor:
    return ((logits.float() - target) ** 2).mean()


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1/2 * mean over batch and positions of || a/|a| - b/|b| ||^2, normalised over channels (dim 1)."""
    a, b = F.normalize(a.float(), dim=1, eps=1e-12), F.normalize(b.float(), dim=1, eps=1e-12)
    return 0.5 * ((a - b) ** 2).sum(1).mean()


def random_window(frames: torch.Tensor, length: int) -> torch.Tensor:
    """frames [N, T, C, H, W] -> clip [N, C, length, H, W]: `length` consecutive frames from a start drawn
    uniformly per sample (torch's global generator)."""
    n, t = frames.shape[:2]
    starts = torch.randint(0, t - length + 1, (n,), device=frames.device)          # [N]
    index = starts[:, None] + torch.arange(length, device=frames.device)           # [N, L]
    clip = frames[torch.arange(n, device=frames.device)[:, None], index]           # [N, L, C, H, W]
    return clip.transpose(1, 2)


class SAVP(nn.Module):
    def __init__(self, config: SavpConfig):
        super().__init__()
        self.config = config
        c = config
        self.generator = Generator(c)
        self.encoder = PosteriorEncoder(c.channels, c.nef, c.nz) if c.nz else None
        disc = lambda: VideoDiscriminator(c.channels, c.ndf, c.clip_length, c.image_size)
        self.gan_discriminator = disc() if c.gan_weight > 0 else None
        self.vae_gan_discriminator = disc() if c.vae_gan_weight > 0 else None
        self.apply(init_weights)
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    # -----------------------------------------------------------------------------------------
    # Parameter groups and schedules

    def generator_parameters(self) -> list[nn.Parameter]:
        """The generator's and the posterior encoder's parameters (one optimiser, as the released code)."""
        nets = [self.generator] + ([self.encoder] if self.encoder is not None else [])
        return [p for net in nets for p in net.parameters()]

    def discriminators(self) -> dict[str, VideoDiscriminator]:
        """The active discriminators by the name of their loss (gan: prior samples, vae_gan: posterior samples)."""
        found = {"gan": self.gan_discriminator, "vae_gan": self.vae_gan_discriminator}
        return {name: d for name, d in found.items() if d is not None}

    def p_ground_truth(self, step: int) -> float:
        """Scheduled sampling: probability of feeding the true frame after the context."""
        k = self.config.schedule_sampling_k
        if k == 0 or step / k > 700:          # k = 0: always autoregressive; exp overflow: p = 0
            return 0.0
        p = k / (k + math.exp(step / k))
        return 0.0 if p < P_GT_FLOOR else p

    def kl_scale(self, step: int) -> float:
        """KL annealing: 0 until kl_anneal_start, linear to 1 at kl_anneal_end."""
        start, end = self.config.kl_anneal_start, self.config.kl_anneal_end
        if end == start:
            return 1.0 if step >= start else 0.0
        return min(max((step - start) / (end - start), 0.0), 1.0)

    # -----------------------------------------------------------------------------------------
    # The generator unrolled

    def posterior(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video [N, T, C, H, W] -> (mu, logvar) [N, T - 1, nz] of q(z_t | x_t, x_{t+1}) for every transition."""
        n, t = video.shape[:2]
        pairs = torch.cat([video[:, :-1], video[:, 1:]], 2).flatten(0, 1)       # [N*(T-1), 2C, H, W]
        mu, logvar = self.encoder(pairs)                                        # [N*(T-1), nz] each
        return mu.view(n, t - 1, -1), logvar.view(n, t - 1, -1)

    def unroll(self, video: torch.Tensor, zs: torch.Tensor | None, ground_truth: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the generator for S = ground_truth.shape[1] steps.

        video [N, T_in, C, H, W]: the true frames available (x_0 is the first-frame input; step t < T_in may
        read x_t); zs [N, S, nz] or None (nz = 0); ground_truth [N, S] bool: step t feeds x_t (True) or the
        previous prediction (False; step 0 must be True). -> frames [N, S, C, H, W] (x_hat_1..x_hat_S), masks
        [N, S, M, 1, H, W], and kernels or flows [N, S, ...]."""
        n, t_in = video.shape[:2]
        steps = ground_truth.shape[1]
        if not bool(ground_truth[:, 0].all()):
            raise ValueError("step 0 must read the true first frame")
        first = video[:, 0]                                                     # [N, C, H, W]
        state, prev = None, None
        outputs: dict[str, list[torch.Tensor]] = {}
        for t in range(steps):
            if t >= t_in:
                image = prev
            elif prev is None:
                image = video[:, t]
            else:
                image = torch.where(ground_truth[:, t, None, None, None], video[:, t], prev.to(video.dtype))
            prev, state, parts = self.generator(image, first, None if zs is None else zs[:, t], state)
            for key, value in [("frames", prev), *parts.items()]:
                if key != "candidates":
                    outputs.setdefault(key, []).append(value)
        return {key: torch.stack(values, 1) for key, values in outputs.items()}

    def ground_truth_mask(self, n: int, steps: int, p: float, device) -> torch.Tensor:
        """[N, steps] bool: the context steps read the true frame; the others with probability p (scheduled sampling)."""
        mask = torch.rand(n, steps, device=device) < p if p > 0 else torch.zeros(n, steps, dtype=torch.bool, device=device)
        mask[:, :self.config.n_ctx] = True
        return mask

    def forward_passes(self, video: torch.Tensor, step: int) -> dict[str, object]:
        """The training passes on `video` [B, T, C, H, W] (global torch RNG for eps, prior draws and scheduled
        sampling): {"posterior": pass, "prior": pass, "mu", "logvar"} with only the passes some loss reads.
        A pass is unroll()'s dict; frames [B, T - 1, C, H, W] predict video[:, 1:]."""
        c = self.config
        b, t = video.shape[:2]
        p = self.p_ground_truth(step)
        out: dict[str, object] = {"p_gt": p}
        if not c.nz:
            out["prior"] = self.unroll(video, None, self.ground_truth_mask(b, t - 1, p, video.device))
            return out
        mu, logvar = self.posterior(video)                                      # [B, T-1, nz] each
        z_post = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)            # [B, T-1, nz]
        out.update(mu=mu, logvar=logvar)
        l1_reads = "posterior" if c.recon_pass == "posterior" else "prior"
        if l1_reads == "posterior" or c.vae_gan_weight > 0:
            out["posterior"] = self.unroll(video, z_post, self.ground_truth_mask(b, t - 1, p, video.device))
        if l1_reads == "prior" or c.gan_weight > 0:
            fixed = c.n_ctx - 1                                                 # fully observed transitions
            z_prior = torch.cat([z_post[:, :fixed], torch.randn_like(mu[:, fixed:])], 1)   # [B, T-1, nz]
            out["prior"] = self.unroll(video, z_prior, self.ground_truth_mask(b, t - 1, p, video.device))
        return out

    # -----------------------------------------------------------------------------------------
    # The objective

    def _fake_pass(self, name: str, passes: dict) -> dict[str, torch.Tensor]:
        return passes["prior" if name == "gan" else "posterior"]

    def discriminator_loss(self, video: torch.Tensor, passes: dict) -> tuple[torch.Tensor, dict[str, float]]:
        """LSGAN loss of every active discriminator on a real and a (detached) fake window, weighted.

        Logged per discriminator (d_gan_*, d_vae_gan_*) and averaged (d_*): acc_real / acc_fake, the share of
        real / fake windows on the right side of 0.5 (the LSGAN targets' midpoint), acc their mean; margin,
        mean D(real) - mean D(fake); ranked, the share of (real, fake) pairs of the batch that D orders
        correctly (0.5 = chance). A discriminator whose output barely depends on its input puts the whole
        batch on one side of 0.5 (acc = 0.5 exactly); `ranked` still shows whether it separates."""
        c = self.config
        real_frames = video[:, 1:]                                              # [B, T-1, C, H, W]
        total = video.new_zeros((), dtype=torch.float32)
        logs: dict[str, float] = {}
        for name, disc in self.discriminators().items():
            fake_frames = self._fake_pass(name, passes)["frames"].detach()
            logits_real, _ = disc(random_window(real_frames, c.clip_length))   # [B]
            logits_fake, _ = disc(random_window(fake_frames, c.clip_length))   # [B]
            loss = lsgan(logits_real, 1.0) + lsgan(logits_fake, 0.0)
            total = total + getattr(c, f"{name}_weight") * loss
            with torch.no_grad():
                real, fake = logits_real.float(), logits_fake.float()
                acc_real, acc_fake = (real > 0.5).float().mean().item(), (fake < 0.5).float().mean().item()
                ranked = (real[:, None] > fake[None, :]).float().mean().item()
            logs.update({f"d_{name}_loss": loss.item(), f"d_{name}_acc_real": acc_real,
                         f"d_{name}_acc_fake": acc_fake, f"d_{name}_acc": (acc_real + acc_fake) / 2,
                         f"d_{name}_margin": (real.mean() - fake.mean()).item(), f"d_{name}_ranked": ranked})
        names = list(self.discriminators())
        for key in ("acc_real", "acc_fake", "acc", "ranked"):       # averaged over the discriminators
            logs[f"d_{key}"] = sum(logs[f"d_{n}_{key}"] for n in names) / max(len(names), 1)
        logs["d_loss"] = total.item()
        return total, logs

    def generator_loss(self, video: torch.Tensor, passes: dict, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        """The generator's (and encoder's) loss; the discriminators' weights should not require gradients."""
        c = self.config
        target = video[:, 1:].float()                                           # [B, T-1, C, H, W]
        recon = passes["posterior"] if c.nz and c.recon_pass == "posterior" else passes["prior"]
        frames = recon["frames"].float()
        l1 = (frames - target).abs().mean()
        loss = c.l1_weight * l1
        logs = {"l1": l1.item()}
        if c.l2_weight:
            l2 = ((frames - target) ** 2).mean()
            loss = loss + c.l2_weight * l2
            logs["l2"] = l2.item()
        if c.nz:
            kl = kl_standard(passes["mu"].float(), passes["logvar"].float()).sum(-1).mean()
            weight = c.kl_weight * self.kl_scale(step)
            loss = loss + weight * kl
            logs.update(kl=kl.item(), kl_weight=weight)
        for name, disc in self.discriminators().items():
            logits_fake, features_fake = disc(random_window(self._fake_pass(name, passes)["frames"], c.clip_length))
            adversarial = lsgan(logits_fake, 1.0)
            loss = loss + getattr(c, f"{name}_weight") * adversarial
            logs[f"g_{name}"] = adversarial.item()
            fm_weight = getattr(c, f"{name}_fm_weight")
            if fm_weight:
                with torch.no_grad():
                    _, features_real = disc(random_window(video[:, 1:], c.clip_length))
                fm = sum(cosine_distance(a, b) for a, b in zip(features_real, features_fake))
                loss = loss + fm_weight * fm
                logs[f"fm_{name}"] = fm.item()
        if c.transformation == "flow" and c.tv_weight:
            flows = recon["flows"].float()                                      # [B, T-1, K, 2, H, W]
            tv = ((flows[..., 1:, :] - flows[..., :-1, :]).abs().sum(2).mean()
                  + (flows[..., 1:] - flows[..., :-1]).abs().sum(2).mean())
            loss = loss + c.tv_weight * tv
            logs["tv"] = tv.item()
        logs["g_loss"] = loss.item()
        return loss, logs

    # -----------------------------------------------------------------------------------------
    # Generation

    @torch.no_grad()
    def generate(self, context: torch.Tensor, num_future: int, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Closed-loop continuation of `context` [N, Tc, C, H, W] in [0, 1] -> [N, num_future, C, H, W].

        `noise` [N, Tc - 1 + num_future, nz]: the standard normal draws of every step (posterior eps on the
        Tc - 1 context transitions, prior samples after); required when nz > 0, ignored when nz = 0."""
        c = self.config
        n, tc = context.shape[:2]
        steps = tc - 1 + num_future
        zs = None
        if c.nz:
            if noise is None or tuple(noise.shape) != (n, steps, c.nz):
                got = None if noise is None else list(noise.shape)
                raise ValueError(f"{c.name}: noise must be [N, Tc - 1 + num_future, nz] = {[n, steps, c.nz]}, got {got}")
            zs = noise.to(context.dtype)
            if tc > 1:
                mu, logvar = self.posterior(context)                            # [N, Tc-1, nz] each
                zs = torch.cat([mu + torch.exp(0.5 * logvar) * zs[:, :tc - 1], zs[:, tc - 1:]], 1)
        ground_truth = torch.zeros(n, steps, dtype=torch.bool, device=context.device)
        ground_truth[:, :tc] = True
        frames = self.unroll(context, zs, ground_truth)["frames"]               # [N, steps, C, H, W]
        return frames[:, tc - 1:]
