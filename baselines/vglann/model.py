"""VGLANN (spec `shared/design/baselines.md` §7.2): GLO with VGAN's two-stream generator, then a
noise-to-latent mapper (IMLE, VAE or GMM). Written from the spec; nothing is copied.

    latents   one z_i per training clip (an embedding table [N, z_dim]), initialised N(0, 0.01) and
              projected onto the unit sphere, and re-projected after every epoch (`project_latents`)
    generator VGAN's unconditional two-stream generator (`baselines/vgan/nets.py`), z L2-normalised inside;
              conv weights Xavier-normal with gain sqrt(2), biases and BatchNorm at PyTorch's defaults
              (the released code)
    GLO       minimise over the latents and G: loss(G(z_i), x_i) (`training_loss`, `losses.py`)
    mapper    fitted once on the N latents after GLO (`fit_mapper`, `mappers.py`)
    sampling  noise -> mapper -> G (`draw_latents`, `sample`)

The harness's videos are `[B, T, C, S, S]` in [0, 1]; the generator works on `[B, C, T, S, S]` in
[-1, 1] (VGAN's `to_net` / `from_net`). The loss networks (VGG-16, the random 3D CNN) are built on
first use and kept out of the state dict: model.pt holds the generator, the latents and the mapper.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from baselines.vgan.config import VganConfig
from baselines.vgan.model import from_net, to_net
from baselines.vgan.nets import Generator
from baselines.vglann import losses
from baselines.vglann.config import VglannConfig
from baselines.vglann.mappers import build_mapper


def generator_config(config: VglannConfig) -> VganConfig:
    """The VGAN config of VGLANN's generator (the discriminator fields are unused)."""
    return VganConfig(variant="uncond", image_size=config.image_size, channels=config.channels,
                      z_dim=config.z_dim, ngf=config.ngf, ndf=config.ngf, mask_l1=0.0)


def xavier_init(module: nn.Module) -> None:
    """The released initialisation of G: conv weights Xavier-normal, gain sqrt(2)."""
    if isinstance(module, (nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        nn.init.xavier_normal_(module.weight, gain=math.sqrt(2.0))


class VGLANN(nn.Module):
    def __init__(self, config: VglannConfig):
        super().__init__()
        self.config = config
        self.generator = Generator(generator_config(config), unit_z=True)
        self.generator.apply(xavier_init)
        self.latents = nn.Embedding(config.num_videos, config.z_dim)
        nn.init.normal_(self.latents.weight, 0.0, 0.01)
        self.project_latents()
        self.mapper = build_mapper(config)
        self.register_buffer("mapper_fitted", torch.zeros((), dtype=torch.bool))
        self._loss_nets: dict[str, nn.Module] = {}       # not submodules: built on first use, not saved

    # -----------------------------------------------------------------------------------------
    # GLO

    @torch.no_grad()
    def project_latents(self) -> None:
        """Every latent onto the unit sphere (in place)."""
        w = self.latents.weight                                         # [N, z]
        w.div_(w.norm(dim=1, keepdim=True))

    def _loss_net(self, kind: str, device: torch.device) -> nn.Module:
        if kind not in self._loss_nets:
            c = self.config
            self._loss_nets[kind] = (losses.VggDistance(c.image_size) if kind == "vgg" else
                                     losses.RandomVideoNet(c.channels, c.video_layers, c.video_width, c.seed))
        return self._loss_nets[kind].to(device)

    def reconstruction_loss(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """fake, real [B, C, T, S, S] in [-1, 1] -> the configured GLO loss (scalar)."""
        c = self.config
        t = fake.shape[2]
        if c.glo_loss == "laplacian":          # per frame, summed over the T frames
            return t * losses.laplacian_loss(losses.frames_of(fake), losses.frames_of(real), c.lap_levels)
        if c.glo_loss == "vgg":                # per frame, summed over the T frames
            vgg = self._loss_net("vgg", fake.device)
            return t * vgg(losses.frames_of(fake), losses.frames_of(real)).mean()
        if c.glo_loss == "video":
            return losses.video_perceptual_loss(self._loss_net("video", fake.device), fake, real)
        return (fake - real).abs().mean()

    def training_loss(self, video: torch.Tensor, indices: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """video [B, T, C, S, S] in [0, 1], indices [B] (their latents) -> (GLO loss, logs).
        `l1` is the mean |difference| in [0, 1] units, comparable across the losses."""
        real = to_net(video)                                            # [B, C, T, S, S] in [-1, 1]
        fake = self.generator(self.latents(indices))["video"]           # [B, C, T, S, S] in [-1, 1]
        loss = self.reconstruction_loss(fake, real)
        l1 = (fake.detach().float() - real.float()).abs().mean().item() / 2
        return loss, {"glo_loss": loss.item(), "l1": l1}

    @torch.no_grad()
    def reconstruct(self, indices: torch.Tensor) -> torch.Tensor:
        """indices [N] -> G(z_i) [N, T, C, S, S] in [0, 1]."""
        return from_net(self.generator(self.latents(indices))["video"])

    # -----------------------------------------------------------------------------------------
    # The mapper and sampling

    def fit_mapper(self, generator: torch.Generator) -> list[dict[str, float]]:
        """Fit the configured mapper on the (unit) latents; one log per mapper epoch (GMM: one).

        The mapper starts from a fresh initialisation seeded with the config's seed (the global RNG is left
        as it was), so the fit depends only on the config, the latents and `generator`, not on an earlier fit."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            self.mapper = build_mapper(self.config).to(self.mapper_fitted.device)
        z = self.latents.weight.detach()
        z = z / z.norm(dim=1, keepdim=True)                             # [N, z]
        logs = self.mapper.fit(z, self.config, generator)
        self.mapper.eval()
        self.mapper_fitted.fill_(True)
        return logs

    @torch.no_grad()
    def draw_latents(self, rng) -> torch.Tensor:
        """Latents [N, z] from a SampleRNG with one sample per video (N rows, 1 column): each video's
        noise comes from its own stream, in the order of `mapper.noise_shapes()`."""
        device = self.mapper_fitted.device
        noise = []
        for kind, shape in self.mapper.noise_shapes():
            draw = rng.randn(*shape) if kind == "normal" else rng.rand(*shape)           # [N, 1, *shape]
            noise.append(draw[:, 0].to(device))                                         # [N, *shape]
        return self.mapper(*noise)                                                      # [N, z]

    @torch.no_grad()
    def sample(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] (any norm: G normalises) -> videos [N, T, C, S, S] in [0, 1]."""
        return from_net(self.generator(z)["video"])
