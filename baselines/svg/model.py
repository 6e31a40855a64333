"""SVG-Det, SVG-FP and SVG-LP in one module: the training objective and the generation procedure.

Spec: `shared/design/baselines.md` §2 (deterministic baseline) and §3.4-3.5 (SVG). Frames are in
[0, 1]. Step i (1 <= i < T) predicts frame i from frame i-1:

    h_{i-1}, skips_{i-1} = E(x_{i-1})           (skip refreshed by `skip_source`, below)
    z_i ~ q(z | h_i)     posterior LSTM on E(x_i)                 (training, context steps)
    z_i ~ p(z | h_{i-1}) learned prior on E(x_{i-1}) (lp)  or  N(0, I) (fp)   (future steps)
    x_hat_i = D(LSTM_theta([h_{i-1}, z_i]), skip)                 (det: LSTM_theta(h_{i-1}))

Loss (released scaling): sum over i of [ MSE(x_hat_i, x_i) (mean over all elements) +
beta * KL(q || p) (sum over z and batch, divided by the batch size) ]; no division by T.

`skip_source` picks the frame whose encoder features feed the decoder skips:
  svg_code      (default, the released code) refreshed while i < n_ctx, so frozen at x_{n_ctx-2},
                the *penultimate* context frame; with one context frame, frame 0
  last_context  frozen at x_{n_ctx-1}, the last context frame (the paper's wording)
  every_step    refreshed at every step from x_{i-1}, generated frames included (`--last_frame_skip`)

Implementation note: each frame is encoded once per sequence and its code reused as the posterior
target at step i and as the input at step i+1. The released code calls the encoder twice on the same
batch; the values, loss and gradients are identical (only BatchNorm running averages are updated
once instead of twice per frame).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from baselines.svg.config import SvgConfig
from baselines.svg.nets import BACKBONES, GaussianLstm, Lstm, init_weights


def kl_gaussians(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor, logvar_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mu_q, var_q) || N(mu_p, var_p)) per element, `[N, z]`."""
    return 0.5 * (logvar_p - logvar_q) + (logvar_q.exp() + (mu_q - mu_p) ** 2) / (2 * logvar_p.exp()) - 0.5


def kl_standard(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, var) || N(0, I)) per element, `[N, z]` (the analytic form SVG-FP uses)."""
    return -0.5 * (1 + logvar - mu ** 2 - logvar.exp())


class SVG(nn.Module):
    def __init__(self, config: SvgConfig):
        super().__init__()
        self.config = config
        c = config
        encoder, decoder = BACKBONES[c.backbone]
        extra = dict(layers=c.vgg_layers) if c.backbone == "vgg" else {}
        self.encoder = encoder(c.channels, c.image_size, c.nf, c.g_dim, **extra)
        self.decoder = decoder(c.channels, c.image_size, c.nf, c.g_dim, **extra)
        stochastic = c.variant != "det"
        self.predictor = Lstm(c.g_dim + (c.z_dim if stochastic else 0), c.g_dim, c.rnn_size, c.predictor_layers)
        self.posterior = GaussianLstm(c.g_dim, c.z_dim, c.rnn_size, c.posterior_layers) if stochastic else None
        self.prior = GaussianLstm(c.g_dim, c.z_dim, c.rnn_size, c.prior_layers) if c.variant == "lp" else None
        self.apply(init_weights)

    @property
    def stochastic(self) -> bool:
        return self.config.variant != "det"

    def _refresh_skip(self, i: int, n_ctx: int, skip_source: str) -> bool:
        """Does step i take its skip from x_{i-1}?"""
        if skip_source == "every_step":
            return True
        if skip_source == "last_context":
            return i <= n_ctx
        return i < n_ctx               # svg_code (with one context frame the first skip, frame 0, stays)

    def _zero_states(self, n: int, like: torch.Tensor) -> dict[str, list]:
        nets = {"predictor": self.predictor, "posterior": self.posterior, "prior": self.prior}
        return {name: net.zero_state(n, like) for name, net in nets.items() if net is not None}

    def training_loss(self, video: torch.Tensor, n_ctx: int | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """Teacher-forced loss on `video` [B, T, C, H, W] in [0, 1]; returns (loss, per-frame logs)."""
        c = self.config
        n_ctx = c.n_ctx if n_ctx is None else n_ctx
        b, t = video.shape[:2]
        if t < 2:
            raise ValueError(f"SVG training needs at least 2 frames, got video of shape {list(video.shape)}")
        codes = [self.encoder(video[:, i]) for i in range(t)]   # T x (h [B, g], skips)
        states = self._zero_states(b, codes[0][0])
        mse = video.new_zeros(())
        kl = video.new_zeros(())
        skip = None
        for i in range(1, t):
            h_prev, skips_prev = codes[i - 1]
            if skip is None or self._refresh_skip(i, n_ctx, c.skip_source):
                skip = skips_prev
            if self.stochastic:
                eps = torch.randn(b, c.z_dim, device=video.device, dtype=h_prev.dtype)   # [B, z]
                z, mu_q, logvar_q, states["posterior"] = self.posterior(codes[i][0], states["posterior"], eps)
                if self.prior is not None:
                    _, mu_p, logvar_p, states["prior"] = self.prior(h_prev, states["prior"])
                    kl_i = kl_gaussians(mu_q, logvar_q, mu_p, logvar_p)          # [B, z]
                else:
                    kl_i = kl_standard(mu_q, logvar_q)                             # [B, z]
                kl = kl + kl_i.float().sum() / b
                inputs = torch.cat([h_prev, z], 1)                                 # [B, g + z]
            else:
                inputs = h_prev                                                    # [B, g]
            g, states["predictor"] = self.predictor(inputs, states["predictor"])   # [B, g]
            x_hat = self.decoder(g, skip)                                          # [B, C, H, W]
            mse = mse + F.mse_loss(x_hat.float(), video[:, i].float())
        loss = mse + c.beta * kl
        steps = t - 1
        return loss, {"loss": loss.item(), "mse": mse.item() / steps, "kl": kl.item() / steps}

    @torch.no_grad()
    def generate(self, context: torch.Tensor, num_future: int, noise: torch.Tensor | None = None,
                 skip_source: str | None = None) -> torch.Tensor:
        """Closed-loop continuation of `context` [N, Tc, C, H, W] in [0, 1] -> [N, num_future, C, H, W].

        `noise` [N, Tc - 1 + num_future, z_dim] holds the standard normal draws of every step (posterior
        samples on the context steps, prior samples after); required for fp / lp, ignored by det.
        """
        c = self.config
        skip_source = skip_source or c.skip_source
        n, n_ctx = context.shape[:2]
        steps = n_ctx - 1 + num_future
        if self.stochastic and (noise is None or tuple(noise.shape) != (n, steps, c.z_dim)):
            got = None if noise is None else list(noise.shape)
            raise ValueError(f"svg_{c.variant}: noise must be [N, Tc - 1 + num_future, z_dim] = "
                             f"{[n, steps, c.z_dim]}, got {got}")
        code = self.encoder(context[:, 0])                     # (h [N, g], skips) of the frame fed in
        states = self._zero_states(n, code[0])
        skip = None
        future = []
        for i in range(1, n_ctx + num_future):
            h_prev, skips_prev = code
            if skip is None or self._refresh_skip(i, n_ctx, skip_source):
                skip = skips_prev
            eps = noise[:, i - 1] if self.stochastic else None   # [N, z]
            if i < n_ctx:
                # context step: advance the recurrent states on the true frame, output nothing
                code = self.encoder(context[:, i])
                if self.stochastic:
                    z, _, _, states["posterior"] = self.posterior(code[0], states["posterior"], eps)
                    if self.prior is not None:
                        _, _, _, states["prior"] = self.prior(h_prev, states["prior"])
                    _, states["predictor"] = self.predictor(torch.cat([h_prev, z], 1), states["predictor"])
                else:
                    _, states["predictor"] = self.predictor(h_prev, states["predictor"])
                continue
            if self.prior is not None:
                z, _, _, states["prior"] = self.prior(h_prev, states["prior"], eps)
            else:
                z = eps                                        # fp: N(0, I); det: None
            inputs = h_prev if z is None else torch.cat([h_prev, z], 1)
            g, states["predictor"] = self.predictor(inputs, states["predictor"])
            frame = self.decoder(g, skip)                      # [N, C, H, W]
            future.append(frame)
            if len(future) < num_future:
                code = self.encoder(frame)                     # the loop is closed on the model's own output
        return torch.stack(future, 1)                          # [N, num_future, C, H, W]

    def prior_sigma(self, video: torch.Tensor) -> torch.Tensor:
        """Learned-prior standard deviations on a ground-truth video [N, T, C, H, W] -> [N, T - 1, z_dim].

        Entry i-1 is sigma of p(z_i | x_{1:i-1}) (lp only): the paper's Figure 6 quantity.
        """
        if self.prior is None:
            raise ValueError(f"svg_{self.config.variant} has no learned prior")
        n, t = video.shape[:2]
        state = self.prior.zero_state(n, video)
        sigmas = []
        for i in range(1, t):
            h_prev = self.encoder(video[:, i - 1])[0]
            _, _, logvar, state = self.prior(h_prev, state)
            sigmas.append(torch.exp(0.5 * logvar))             # [N, z]
        return torch.stack(sigmas, 1)                          # [N, T - 1, z]
