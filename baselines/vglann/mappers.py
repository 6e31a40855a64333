"""Noise-to-latent mappers of VGLANN (spec `shared/design/baselines.md` §7.1-7.2): after GLO, a mapper
learns to turn noise into latents like the N training latents, and sampling is noise -> mapper -> G.

- IMLE (GLANN's): an MLP T, e -> hidden -> hidden -> z (Linear without bias, BatchNorm, ReLU; the
  output Linear without bias). Each epoch draws M = 2 * floor(N / B) * B noise vectors e ~ N(0, I),
  maps them (BatchNorm with the statistics of each chunk of B), finds for every latent z_i its nearest
  T(e) (exact L2 search, `torch.cdist`), then makes one pass in random order regressing T(e_nn(i))
  onto z_i (MSE). Adam(lr, betas (0.5, 0.999), weight decay 1e-5), built anew every epoch with the lr
  halved every `mapper_halve_epochs` epochs (the released code).
- VAE: encoder z -> hidden -> hidden (ReLU) with two heads mu, log sigma^2 of size d; decoder
  d -> hidden -> hidden (ReLU) -> z, unit-normalised. Loss: sum of squared errors + vae_kl * KL (sums
  over the batch). Same optimiser and schedule as IMLE, without weight decay. Sampling decodes
  eps ~ N(0, I_d).
- GMM: scikit-learn's GaussianMixture (full covariances), fitted on the latents; its weights, means
  and Cholesky factors of the covariances are buffers. A sample takes its component from a uniform
  draw u (the first k with cumsum(weights)_k > u) and its value mean_k + L_k eps from a normal draw
  eps, both given by the caller, so the noise comes from the harness's per-video streams, not from
  scikit-learn's sampler.

Every mapper is called as `mapper(*noise) -> z [N, z_dim]` with the noise of `noise_shapes()`.
Fitting is deterministic given the latents and a torch.Generator (GMM: `random_state=seed`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def nearest(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """[N, d], [M, d] -> [N]: index of the candidate nearest to each query (L2; ties: the first)."""
    return torch.cdist(queries, candidates).argmin(1)                   # [N]


def _adam(mapper: nn.Module, lr: float, epoch: int, halve_every: int, weight_decay: float = 0.0):
    return torch.optim.Adam(mapper.parameters(), lr=lr * 0.5 ** (epoch // halve_every), betas=(0.5, 0.999),
                            weight_decay=weight_decay)


class ImleMapper(nn.Module):
    def __init__(self, e_dim: int, hidden: int, z_dim: int):
        super().__init__()
        self.e_dim = e_dim
        self.net = nn.Sequential(nn.Linear(e_dim, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
                                 nn.Linear(hidden, z_dim, bias=False))

    def noise_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("normal", (self.e_dim,))]

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.net(e)                                              # [N, e] -> [N, z]

    def fit(self, latents: torch.Tensor, config, generator: torch.Generator) -> list[dict[str, float]]:
        """latents [N, z] -> one log per epoch: the mean regression MSE and the mean nearest-neighbour distance."""
        n, b = latents.shape[0], config.mapper_batch_size
        batches = n // b
        logs = []
        for epoch in range(config.imle_epochs):
            optimizer = _adam(self, config.mapper_lr, epoch, config.mapper_halve_epochs, config.imle_weight_decay)
            self.train()
            e = torch.randn(2 * batches * b, self.e_dim, generator=generator).to(latents)    # [M, e]
            with torch.no_grad():
                te = torch.cat([self(chunk) for chunk in e.split(b)])                     # [M, z]
                match = nearest(latents, te)                                              # [N]
                distance = (latents - te[match]).norm(dim=1).mean().item()
            order = torch.randperm(n, generator=generator)                                # [N]
            total = 0.0
            for i in range(batches):
                rows = order[i * b:(i + 1) * b].to(latents.device)                        # [B]
                loss = F.mse_loss(self(e[match[rows]]), latents[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item()
            logs.append({"mapper_epoch": epoch + 1, "imle_mse": total / batches, "imle_nn_distance": distance})
        return logs


class VaeMapper(nn.Module):
    def __init__(self, z_dim: int, hidden: int, latent: int):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.mu = nn.Linear(hidden, latent)
        self.logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, z_dim))

    def noise_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("normal", (self.latent,))]

    def forward(self, eps: torch.Tensor) -> torch.Tensor:
        """Decode: eps [N, d] -> unit latents [N, z]."""
        z = self.decoder(eps)                                           # [N, z]
        return z / z.norm(dim=1, keepdim=True)

    def fit(self, latents: torch.Tensor, config, generator: torch.Generator) -> list[dict[str, float]]:
        n, b = latents.shape[0], config.mapper_batch_size
        batches = n // b
        logs = []
        for epoch in range(config.vae_epochs):
            optimizer = _adam(self, config.mapper_lr, epoch, config.mapper_halve_epochs)
            self.train()
            order = torch.randperm(n, generator=generator)                                # [N]
            sums = {"vae_loss": 0.0, "vae_sse": 0.0, "vae_kl": 0.0}
            for i in range(batches):
                x = latents[order[i * b:(i + 1) * b].to(latents.device)]                  # [B, z]
                h = self.encoder(x)                                                       # [B, hidden]
                mu, logvar = self.mu(h), self.logvar(h)                                   # [B, d] each
                eps = torch.randn(mu.shape, generator=generator).to(mu)                   # [B, d]
                recon = self(mu + eps * torch.exp(0.5 * logvar))                          # [B, z]
                sse = F.mse_loss(recon, x, reduction="sum")
                kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp())
                loss = sse + config.vae_kl * kl
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for key, value in (("vae_loss", loss), ("vae_sse", sse), ("vae_kl", kl)):
                    sums[key] += value.item() / batches
            logs.append({"mapper_epoch": epoch + 1, **sums})
        return logs


class GmmMapper(nn.Module):
    def __init__(self, z_dim: int, components: int):
        super().__init__()
        self.z_dim = z_dim
        self.register_buffer("weights", torch.full((components,), 1.0 / components))   # [K]
        self.register_buffer("means", torch.zeros(components, z_dim))                  # [K, z]
        self.register_buffer("cholesky", torch.eye(z_dim).repeat(components, 1, 1))    # [K, z, z], lower

    def noise_shapes(self) -> list[tuple[str, tuple[int, ...]]]:
        return [("uniform", ()), ("normal", (self.z_dim,))]

    def forward(self, u: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """u [N] uniform in [0, 1), eps [N, z] normal -> latents [N, z] of the mixture."""
        cdf = self.weights.cumsum(0)                                    # [K]
        k = torch.searchsorted(cdf, u.to(cdf).contiguous(), right=True).clamp(max=len(cdf) - 1)   # [N]
        return self.means[k] + (self.cholesky[k] @ eps.to(cdf)[:, :, None])[:, :, 0]             # [N, z]

    def fit(self, latents: torch.Tensor, config, generator: torch.Generator) -> list[dict[str, float]]:
        from sklearn.mixture import GaussianMixture
        import numpy as np

        x = latents.detach().cpu().double().numpy()                     # [N, z]
        gmm = GaussianMixture(config.gmm_components, covariance_type="full", max_iter=config.gmm_max_iter,
                              n_init=config.gmm_n_init, random_state=config.seed).fit(x)
        with torch.no_grad():
            self.weights.copy_(torch.from_numpy(gmm.weights_))
            self.means.copy_(torch.from_numpy(gmm.means_))
            self.cholesky.copy_(torch.from_numpy(np.linalg.cholesky(gmm.covariances_)))
        return [{"gmm_mean_log_likelihood": float(gmm.score(x)), "gmm_converged": float(gmm.converged_),
                 "gmm_iterations": float(gmm.n_iter_)}]


def build_mapper(config) -> nn.Module:
    if config.mapper == "imle":
        return ImleMapper(config.imle_e_dim, config.imle_hidden, config.z_dim)
    if config.mapper == "vae":
        return VaeMapper(config.z_dim, config.vae_hidden, config.vae_latent)
    return GmmMapper(config.z_dim, config.gmm_components)
