"""Hierarchical conditional VRNN (`hier_vrnn`) and its one-level variant (`vrnn_1l`): objective and sampling.

Spec: `shared/design/baselines.md` §5.1-5.3. Frames are in [0, 1]; n_ctx context frames, then step t
(t = n_ctx .. T-1) predicts frame t:

    e_t^r          = encoder(x_t) at every resolution r (1, 4, 8, ..., S)
    initial states = init nets on the concatenated context embeddings e_0..n_ctx-1 (renderer, prior, posterior)
    p(z_t^l | x_<t)            prior level l reads e_{t-1} at its resolution (coarser samples too if prior_topdown)
    q(z_t^l | x_<=t, z_t^<l)   posterior level l reads e_t and the samples of all coarser levels (dense top-down)
    x_hat_t = sigmoid(renderer(e_{t-1}^1, z_t))  (teacher-forced in training: e_{t-1} of the true frame)

Loss (released scaling; §5.2): reconstruction summed over pixels, channels and predicted frames, averaged
over the batch, plus beta * the single-sample Monte-Carlo KL sum_l sum_t sum_{c,h,w} [log q(z) - log p(z)]
at the posterior sample, averaged over the batch. beta rises linearly from 0 over `beta_warmup` training
steps; the count of steps taken is a buffer (`steps_done`), so it is saved and resumed with the weights.

Sampling (§5.3) is the step-wise recurrent sampler: carry the ConvLSTM states, draw z_t from the prior,
render x_hat_t, embed it for the next step. Each step draws its standard normal noise level by level,
coarse to fine, through `draw(shape) -> [N, *shape]`, so a caller that owns per-sample generators decides
the noise (the adapter uses the harness's SampleRNG).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from baselines.vrnn.config import VrnnConfig, resolutions
from baselines.vrnn.nets import FrameEncoder, LatentLevel, Renderer

Draw = Callable[[tuple[int, ...]], torch.Tensor]     # shape -> standard normal [N, *shape]

# log-likelihood constants per element, so that the negative ELBO is in nats: bce is a Bernoulli
# likelihood; l1 a Laplace of scale 1 (-log p = |x - mu| + log 2); l2 a Gaussian of variance 1/2
# (-log p = (x - mu)^2 + log(pi) / 2).
NLL_CONSTANT = {"bce": 0.0, "l1": math.log(2.0), "l2": 0.5 * math.log(math.pi)}


def kl_gaussians(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor,
                 logvar_p: torch.Tensor) -> torch.Tensor:
    """Analytic KL(N(mu_q, var_q) || N(mu_p, var_p)) per element."""
    return 0.5 * (logvar_p - logvar_q) + (logvar_q.exp() + (mu_q - mu_p) ** 2) / (2 * logvar_p.exp()) - 0.5


def kl_sample(eps: torch.Tensor, mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor,
              logvar_p: torch.Tensor) -> torch.Tensor:
    """log q(z) - log p(z) per element at z = mu_q + exp(logvar_q / 2) * eps (the released single-sample KL)."""
    z = mu_q + torch.exp(0.5 * logvar_q) * eps
    return 0.5 * (logvar_p - logvar_q) + 0.5 * ((z - mu_p) ** 2 / logvar_p.exp() - eps ** 2)


def torch_draw(n: int, like: torch.Tensor, generator: torch.Generator | None = None) -> Draw:
    """Standard normal noise from torch's global RNG (or `generator`), on `like`'s device, float32."""
    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        if generator is None:
            return torch.randn(n, *shape, device=like.device)
        return torch.randn(n, *shape, generator=generator).to(like.device)
    return draw


class VRNN(nn.Module):
    def __init__(self, config: VrnnConfig):
        super().__init__()
        self.config = c = config
        self.enc_res = resolutions(c.image_size)                           # [S, S/2, ..., 4, 1]
        widths = [c.n_hid * min(2 ** l, c.max_mult) for l in range(len(self.enc_res) - 1)]
        self.widths = widths + widths[-1:]                                 # per encoder level
        self.stage_res = list(reversed(self.enc_res))                      # renderer: [1, 4, 8, ..., S]
        self.latent_sizes = list(c.latent_sizes)
        self.z_channels = {r: (c.n_z if r == 1 else self.width_at(r)) for r in self.latent_sizes}
        self.encoder = FrameEncoder(c.channels, self.widths, c.enc_blocks)
        self.renderer = Renderer(c.channels, [self.width_at(r) for r in self.stage_res], self.z_channels,
                                 c.n_ctx, self.stage_res)
        coarser = [sum(self.z_channels[q] for q in self.latent_sizes[:l]) for l in range(len(self.latent_sizes))]
        self.prior = nn.ModuleList(
            LatentLevel(self.width_at(r), self.width_at(r), self.z_channels[r], c.n_ctx, td if c.prior_topdown else 0)
            for r, td in zip(self.latent_sizes, coarser))
        self.posterior = nn.ModuleList(
            LatentLevel(self.width_at(r), self.width_at(r), self.z_channels[r], c.n_ctx, td)
            for r, td in zip(self.latent_sizes, coarser))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    def width_at(self, r: int) -> int:
        return self.widths[self.enc_res.index(r)]

    # ------------------------------------------------------------------------------------------
    # pieces

    def embed(self, video: torch.Tensor) -> dict[int, torch.Tensor]:
        """[N, T, C, S, S] -> {resolution r: [N, T, w_r, r, r]}."""
        n, t = video.shape[:2]
        maps = self.encoder(video.flatten(0, 1))
        return {r: m.unflatten(0, (n, t)) for r, m in zip(self.enc_res, maps)}

    def _init_states(self, embs: dict[int, torch.Tensor], n_ctx: int, posterior: bool) -> dict[str, list]:
        if n_ctx != self.config.n_ctx:
            raise ValueError(f"{self.config.name}: the init nets read exactly {self.config.n_ctx} context frames, "
                             f"got {n_ctx}")
        ctx = {r: e[:, :n_ctx].flatten(1, 2) for r, e in embs.items()}    # [N, n_ctx * w_r, r, r]
        states = {"renderer": self.renderer.init_states([ctx[r] for r in self.stage_res]),
                  "prior": [lvl.init(ctx[r]) for lvl, r in zip(self.prior, self.latent_sizes)]}
        if posterior:
            states["posterior"] = [lvl.init(ctx[r]) for lvl, r in zip(self.posterior, self.latent_sizes)]
        return states

    def _noise(self, draw: Draw, r: int, like: torch.Tensor) -> torch.Tensor:
        eps = draw((self.z_channels[r], r, r))                             # [N, z, r, r]
        return eps.to(device=like.device, dtype=like.dtype)

    def latent_step(self, prev: dict[int, torch.Tensor], cur: dict[int, torch.Tensor] | None,
                    states: dict[str, list], draw: Draw, scale_var: float = 1.0, use_mean: bool = False):
        """One step of the latent hierarchy, coarse to fine. With `cur` (embeddings of frame t) the samples
        come from the posterior, else from the prior. Returns ({r: z [N, c, r, r]}, per-level stats dicts)."""
        zs: dict[int, torch.Tensor] = {}
        stats = []
        coarser: list[torch.Tensor] = []
        for l, r in enumerate(self.latent_sizes):
            mu_p, lv_p, states["prior"][l] = self.prior[l](prev[r], states["prior"][l], coarser)
            level = {"mu_p": mu_p, "logvar_p": lv_p}
            if cur is not None:
                mu_q, lv_q, states["posterior"][l] = self.posterior[l](cur[r], states["posterior"][l], coarser)
                eps = self._noise(draw, r, mu_q)
                z = mu_q + torch.exp(0.5 * lv_q) * eps
                level.update(mu_q=mu_q, logvar_q=lv_q, eps=eps)
            else:
                eps = self._noise(draw, r, mu_p)
                z = mu_p if use_mean else mu_p + torch.exp(0.5 * lv_p) * math.sqrt(scale_var) * eps
            level["z"] = z
            stats.append(level)
            zs[r] = z
            coarser.append(z)
        return zs, stats

    def _reconstruction(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-video reconstruction term [N], summed over channels and pixels."""
        logits, target = logits.float(), target.float()
        rec = self.config.rec_loss
        if rec == "bce":
            per = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        elif rec == "l1":
            per = (torch.sigmoid(logits) - target).abs()
        else:
            per = (torch.sigmoid(logits) - target) ** 2
        return per.flatten(1).sum(1)

    def _elbo_terms(self, video: torch.Tensor, n_ctx: int, draw: Draw, analytic_kl: bool):
        """(reconstruction [N], KL [N]) summed over the predicted frames of `video` [N, T, C, S, S]."""
        n, t = video.shape[:2]
        if t <= n_ctx:
            raise ValueError(f"{self.config.name}: need more than the {n_ctx} context frames, "
                             f"got a video of shape {list(video.shape)}")
        embs = self.embed(video)
        states = self._init_states(embs, n_ctx, posterior=True)
        rec = video.new_zeros(n, dtype=torch.float32)
        kl = video.new_zeros(n, dtype=torch.float32)
        for i in range(n_ctx, t):
            prev = {r: e[:, i - 1] for r, e in embs.items()}
            cur = {r: e[:, i] for r, e in embs.items()}
            zs, stats = self.latent_step(prev, cur, states, draw)
            logits, states["renderer"] = self.renderer(prev[1], zs, states["renderer"])
            rec = rec + self._reconstruction(logits, video[:, i])
            for s in stats:
                q = (s["mu_q"].float(), s["logvar_q"].float(), s["mu_p"].float(), s["logvar_p"].float())
                per = kl_gaussians(*q) if analytic_kl else kl_sample(s["eps"].float(), *q)
                kl = kl + per.flatten(1).sum(1)
        return rec, kl

    # ------------------------------------------------------------------------------------------
    # objective

    def current_beta(self) -> float:
        c = self.config
        if c.beta_warmup <= 0:
            return c.beta
        return c.beta * min(1.0, int(self.steps_done) / c.beta_warmup)

    def training_loss(self, video: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Teacher-forced negative ELBO (released scaling) on `video` [B, T, C, S, S] in [0, 1]."""
        c = self.config
        beta = self.current_beta()
        rec, kl = self._elbo_terms(video, c.n_ctx, torch_draw(video.shape[0], video), analytic_kl=False)
        rec, kl = rec.mean(), kl.mean()
        loss = rec + beta * kl
        if self.training and torch.is_grad_enabled():
            self.steps_done += 1
        steps = video.shape[1] - c.n_ctx
        return loss, {"loss": loss.item(), "rec": rec.item() / steps, "kl": kl.item() / steps, "beta": beta}

    @torch.no_grad()
    def negative_elbo(self, video: torch.Tensor, draw: Draw | None = None, n_ctx: int | None = None) -> torch.Tensor:
        """Per-video negative ELBO of the predicted frames of `video` [N, T, C, S, S] in [0, 1], in nats per
        predicted frame (summed over channels and pixels of a frame at the model's resolution), conditioned on
        the first n_ctx frames: -E_q[log p(x_t | ...)] + KL(q || p), beta = 1, one posterior sample per step
        (noise from `draw`), the KL of each level analytic given the sampled coarser levels. The likelihood
        is the one the model was trained with (`rec_loss`; see NLL_CONSTANT), so values compare only
        between models with the same rec_loss. -> [N]."""
        n_ctx = self.config.n_ctx if n_ctx is None else n_ctx
        draw = draw or torch_draw(video.shape[0], video)
        rec, kl = self._elbo_terms(video, n_ctx, draw, analytic_kl=True)
        steps = video.shape[1] - n_ctx
        per_frame_pixels = video[0, 0].numel()
        return (rec + kl) / steps + NLL_CONSTANT[self.config.rec_loss] * per_frame_pixels

    # ------------------------------------------------------------------------------------------
    # sampling

    @torch.no_grad()
    def generate(self, context: torch.Tensor, num_future: int, draw: Draw, scale_var: float = 1.0,
                 use_mean: bool = False, return_latents: bool = False):
        """Step-wise ancestral sampling from `context` [N, n_ctx, C, S, S] -> [N, num_future, C, S, S] in [0, 1].

        `draw(shape)` gives the standard normal noise of each step and level ([N, *shape], coarse to fine);
        the prior's variance is multiplied by `scale_var`; `use_mean` takes the prior means (the noise is
        still drawn, so the streams stay aligned). With `return_latents` also the latents, one {r: z} per step.
        """
        n, tc = context.shape[:2]
        embs = self.embed(context)
        states = self._init_states(embs, tc, posterior=False)
        prev = {r: e[:, -1] for r, e in embs.items()}
        frames, latents = [], []
        for k in range(num_future):
            zs, _ = self.latent_step(prev, None, states, draw, scale_var, use_mean)
            logits, states["renderer"] = self.renderer(prev[1], zs, states["renderer"])
            frame = torch.sigmoid(logits)                                  # [N, C, S, S]
            frames.append(frame)
            latents.append(zs)
            if k < num_future - 1:
                prev = {r: m for r, m in zip(self.enc_res, self.encoder(frame))}   # closed loop
        out = torch.stack(frames, 1)                                       # [N, T, C, S, S]
        return (out, latents) if return_latents else out

    @torch.no_grad()
    def render(self, video: torch.Tensor, latents: list[dict[int, torch.Tensor]],
               n_ctx: int | None = None) -> torch.Tensor:
        """Teacher-forced frames given fixed latents (one {r: z} per predicted step): the full re-run the
        step-wise sampler must agree with. video [N, T, C, S, S] -> [N, T - n_ctx, C, S, S]."""
        n_ctx = self.config.n_ctx if n_ctx is None else n_ctx
        embs = self.embed(video)
        states = self._init_states(embs, n_ctx, posterior=False)
        frames = []
        for i, zs in zip(range(n_ctx, video.shape[1]), latents):
            logits, states["renderer"] = self.renderer(embs[1][:, i - 1], zs, states["renderer"])
            frames.append(torch.sigmoid(logits))
        return torch.stack(frames, 1)
