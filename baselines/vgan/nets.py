"""The networks of VGAN (Vondrick, Pirsiavash & Torralba, NeurIPS 2016): two-stream generator, image
encoder (conditional variant) and 3D-convolutional discriminator.

Written from the spec (`shared/design/baselines.md` §6.1-6.2), which describes the released Torch
code (`cvondrick/videogan`); nothing here is copied from it.

Layout inside the networks: videos `[N, C, T, H, W]` in [-1, 1] (Conv3d's layout, tanh outputs);
`baselines/vgan/model.py` converts from and to the harness's `[N, T, C, H, W]` in [0, 1].

With `L = log2(S) - 2` levels for S-pixel frames, both generator streams have widths
`w_l = ngf * 2**(L - 1 - l)` (64 px, ngf 64: 512, 256, 128, 64; the conditional model's ngf 128:
1024, 512, 256, 128):

    foreground  seed -> w_0 x 2x4x4, then L-1 4^3 stride-2 transposed convs -> w_{L-1} x (S/4) x (S/2)^2,
                then two 4^3 stride-2 heads: foreground f (C, tanh) and mask m (1, sigmoid), T = S/2 frames
    background  seed -> w_0 @ 4^2, then L-1 4x4 stride-2 transposed convs -> w_{L-1} @ (S/2)^2,
                then a 4x4 stride-2 head b (C, tanh) @ S^2
    video       m * f + (1 - m) * b, m broadcast over channels, b repeated over the T frames

Unconditional seeds: z [N, z_dim] through a 2x4x4 (foreground) and a 4x4 (background) transposed
convolution. Conditional: the encoder's code map `w_0 @ 4^2` is the background's level-0 map, and a
2x1x1 transposed convolution of it (viewed as w_0 x 1x4x4) is the foreground seed. Every layer but the
heads is followed by BatchNorm and ReLU.
"""

from __future__ import annotations

import torch
from torch import nn

from baselines.vgan.config import VganConfig

LEAK = 0.2
D_BN_EPS = 1e-3       # BatchNorm epsilon of the discriminator and the conditional encoder (the spec's);
                      # the generator streams keep Torch's default 1e-5


def stream_widths(config: VganConfig) -> list[int]:
    return [config.ngf * 2 ** (config.levels - 1 - l) for l in range(config.levels)]


def init_weights(module: nn.Module, std: float) -> None:
    """The released initialisation: conv weights N(0, std), biases 0, BatchNorm gamma N(1, 0.02), beta 0."""
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        nn.init.normal_(module.weight, 0.0, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm3d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _up3d(cin: int, cout: int, kernel=4, stride=2, pad=1) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose3d(cin, cout, kernel, stride, pad), nn.BatchNorm3d(cout), nn.ReLU())


def _up2d(cin: int, cout: int, kernel=4, stride=2, pad=1) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel, stride, pad), nn.BatchNorm2d(cout), nn.ReLU())


class TwoStream(nn.Module):
    """Foreground (3D) and background (2D) streams from their level-0 inputs to the composed video."""

    def __init__(self, config: VganConfig, fg_seed: nn.Module, bg_seed: nn.Module, bg_in: int):
        super().__init__()
        w, c = stream_widths(config), config.channels
        self.fg_seed, self.bg_seed = fg_seed, bg_seed
        self.foreground = nn.Sequential(*[_up3d(w[l - 1], w[l]) for l in range(1, len(w))])
        self.fg_head = nn.Sequential(nn.ConvTranspose3d(w[-1], c, 4, 2, 1), nn.Tanh())
        self.mask_head = nn.Sequential(nn.ConvTranspose3d(w[-1], 1, 4, 2, 1), nn.Sigmoid())
        self.background = nn.Sequential(*[_up2d(bg_in if l == 1 else w[l - 1], w[l]) for l in range(1, len(w))])
        self.bg_head = nn.Sequential(nn.ConvTranspose2d(w[-1] if len(w) > 1 else bg_in, c, 4, 2, 1), nn.Tanh())

    def forward(self, fg_in: torch.Tensor, bg_in: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.foreground(self.fg_seed(fg_in))               # [N, w_{L-1}, S/4, S/2, S/2]
        f = self.fg_head(h)                                    # [N, C, T, S, S] in [-1, 1]
        m = self.mask_head(h)                                  # [N, 1, T, S, S] in [0, 1]
        b = self.bg_head(self.background(self.bg_seed(bg_in)))   # [N, C, S, S] in [-1, 1]
        video = m * f + (1 - m) * b[:, :, None]                # [N, C, T, S, S]
        return {"video": video, "foreground": f, "mask": m, "background": b}


class Generator(nn.Module):
    """Unconditional: z [N, z_dim] -> parts. The video is `parts["video"]` [N, C, S/2, S, S] in [-1, 1].

    `unit_z=True` (VGLANN, spec §7.2; not VGAN) divides z by its L2 norm before both streams; the norm is
    treated as a constant in the backward pass, as in the VGLANN code (GLO keeps its latents on the sphere)."""

    def __init__(self, config: VganConfig, unit_z: bool = False):
        super().__init__()
        self.unit_z = unit_z
        w0 = stream_widths(config)[0]
        self.streams = TwoStream(config, _up3d(config.z_dim, w0, (2, 4, 4), 1, 0),
                                 _up2d(config.z_dim, w0, 4, 1, 0), w0)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.unit_z:
            z = z / z.norm(dim=1, keepdim=True).detach()                   # [N, z], unit rows
        return self.streams(z[:, :, None, None, None], z[:, :, None, None])   # [N, z, 1, 1, 1], [N, z, 1, 1]


class ImageEncoder(nn.Module):
    """L 4x4 stride-2 convolutions, C -> ngf -> ... -> ngf * 2**(L-1) (the stream width w_0), each with
    ReLU, BatchNorm on all but the first: [N, C, S, S] -> code map [N, w_0, 4, 4]."""

    def __init__(self, config: VganConfig):
        super().__init__()
        widths = [config.ngf * 2 ** l for l in range(config.levels)]
        ins = [config.channels] + widths[:-1]
        self.levels = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), *([nn.BatchNorm2d(cout, eps=D_BN_EPS)] if l > 0 else []),
                          nn.ReLU())
            for l, (cin, cout) in enumerate(zip(ins, widths))])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.levels(image)                              # [N, w_0, 4, 4]


class ConditionalGenerator(nn.Module):
    """Frame [N, C, S, S] in [-1, 1] (+ optional noise [N, z_dim]) -> parts of a video whose first frame
    should reproduce the input. With z_dim > 0 (not in the released code) the noise is tiled over the
    4x4 code map as z_dim extra channels entering both streams."""

    def __init__(self, config: VganConfig):
        super().__init__()
        self.z_dim = config.z_dim
        w0 = stream_widths(config)[0]
        code = w0 + config.z_dim
        self.encoder = ImageEncoder(config)
        self.streams = TwoStream(config, _up3d(code, w0, (2, 1, 1), 1, 0), nn.Identity(), code)

    def forward(self, image: torch.Tensor, noise: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        code = self.encoder(image)                             # [N, w_0, 4, 4]
        if self.z_dim:
            if noise is None or tuple(noise.shape) != (image.shape[0], self.z_dim):
                raise ValueError(f"vgan_cond with z_dim {self.z_dim}: noise must be [N, z_dim] = "
                                 f"{[image.shape[0], self.z_dim]}, got {None if noise is None else list(noise.shape)}")
            code = torch.cat([code, noise[:, :, None, None].expand(-1, -1, *code.shape[2:]).to(code.dtype)], 1)
        return self.streams(code[:, :, None], code)            # [N, code, 1, 4, 4], [N, code, 4, 4]


class Discriminator(nn.Module):
    """L 4^3 stride-2 convolutions C -> ndf -> ... -> ndf * 2**(L-1) with LeakyReLU(0.2) (BatchNorm, eps 1e-3,
    on all but the first), then a 2x4x4 valid convolution: video [N, C, S/2, S, S] -> logits [N, 2]
    (index 1 = real)."""

    def __init__(self, config: VganConfig):
        super().__init__()
        widths = [config.ndf * 2 ** l for l in range(config.levels)]
        ins = [config.channels] + widths[:-1]
        self.levels = nn.Sequential(*[
            nn.Sequential(nn.Conv3d(cin, cout, 4, 2, 1), *([nn.BatchNorm3d(cout, eps=D_BN_EPS)] if l > 0 else []),
                          nn.LeakyReLU(LEAK))
            for l, (cin, cout) in enumerate(zip(ins, widths))])
        self.logits = nn.Conv3d(widths[-1], 2, (2, 4, 4))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.logits(self.levels(video)).flatten(1)      # [N, 2]
