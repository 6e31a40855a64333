"""The networks of the VRNN-GAN (`shared/design/seed-systems.md` §2): a generator built around the
hierarchical VRNN's frame encoder and renderer (imported from `baselines/vrnn/nets.py`, not copied), and a
discriminator that applies 2D convolutions to every frame, then 3D convolutions over the stacked maps.

Generator, for n_ctx context frames and T predicted steps (frames `[N, C, S, S]` in [0, 1]):

    e_k^r       = VRNN encoder(x_k) at every resolution r (S, S/2, ..., 4, 1), k < n_ctx
    code        = [e_0^1, ..., e_{n_ctx-1}^1]              the context encoding, [N, n_ctx * w_1]
    (h, c)      = init net(code)                             the temporal LSTM's initial state
    renderer    = one ConvLSTM stage per resolution, each initialised from the *last* context frame's
                  embedding at its resolution (its init nets: the skips from the last context frame)
    step t:     (h, c) = LSTM([code, z_t], (h, c)),  z_t ~ N(0, I_{n_z})
                x_hat_t = sigmoid(renderer(h as a 1x1 map))  (stage 0 reads h where the VRNN reads the
                previous frame's embedding; no latent maps: one latent per step, through the LSTM)

Generated frames are never encoded again: the LSTM and the renderer's ConvLSTM states carry time.

Discriminator, on context + future `[N, T, C, S, S]` in [0, 1] (shifted to [-1, 1]):

    per frame   log2(S) - 3 conv 4x4 stride 2 (ndf, 2 ndf, ...) -> w @ 8x8, LeakyReLU(0.2)
    over time   conv3d 3^3 stride (1, 2, 2) -> 2w @ 4x4, then 3^3 stride 2 -> 2w @ 2x2 (T/2),
                then 3^3 stride (2, 1, 1) -> 2w (T/4), LeakyReLU(0.2)
    logit       mean over time and space, linear to one logit (any clip length)

Every discriminator layer is spectral-normalised (as the dual image + video discriminators of DVD-GAN,
which the thesis's design is "close to"; the thesis names no normalisation): a choice.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from baselines.vrnn.config import resolutions
from baselines.vrnn.nets import LEAK, FrameEncoder, InitNet, Renderer
from baselines.vrnn_gan.config import VrnnGanConfig


def encoder_widths(config: VrnnGanConfig) -> list[int]:
    """Channels of every encoder level, finest first (the VRNN's rule: the 1x1 level as wide as the 4x4)."""
    widths = [config.n_hid * min(2 ** l, config.max_mult) for l in range(len(resolutions(config.image_size)) - 1)]
    return widths + widths[-1:]


class Generator(nn.Module):
    def __init__(self, config: VrnnGanConfig):
        super().__init__()
        self.config = c = config
        self.enc_res = resolutions(c.image_size)                           # [S, S/2, ..., 4, 1]
        self.stage_res = list(reversed(self.enc_res))                      # renderer: [1, 4, 8, ..., S]
        widths = dict(zip(self.enc_res, encoder_widths(c)))
        self.code_width = c.n_ctx * widths[1]
        self.encoder = FrameEncoder(c.channels, [widths[r] for r in self.enc_res], c.enc_blocks)
        self.renderer = Renderer(c.channels, [widths[r] for r in self.stage_res], {}, 1, self.stage_res)
        self.init = InitNet(self.code_width, widths[1])
        self.lstm = nn.LSTMCell(self.code_width + c.n_z, widths[1])

    def forward(self, context: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """context [N, n_ctx, C, S, S] in [0, 1], z [N, T, n_z] -> frames [N, T, C, S, S] in [0, 1]."""
        n, tc = context.shape[:2]
        if tc != self.config.n_ctx or z.shape[-1] != self.config.n_z:
            raise ValueError(f"vrnn_gan: needs {self.config.n_ctx} context frames and z [N, T, {self.config.n_z}], "
                             f"got context {list(context.shape)} and z {list(z.shape)}")
        maps = self.encoder(context.flatten(0, 1))                         # [N * n_ctx, w_r, r, r] per level
        embs = {r: m.unflatten(0, (n, tc)) for r, m in zip(self.enc_res, maps)}
        code = embs[1].flatten(1)                                          # [N, n_ctx * w_1]
        h, c = (s.flatten(1) for s in self.init(code[:, :, None, None]))   # [N, w_1] each
        states = self.renderer.init_states([embs[r][:, -1] for r in self.stage_res])
        frames = []
        for t in range(z.shape[1]):
            h, c = self.lstm(torch.cat([code, z[:, t].to(code.dtype)], 1), (h, c))
            logits, states = self.renderer(h[:, :, None, None], {}, states)   # [N, C, S, S]
            frames.append(torch.sigmoid(logits))
        return torch.stack(frames, 1)                                      # [N, T, C, S, S]


class Discriminator(nn.Module):
    def __init__(self, config: VrnnGanConfig):
        super().__init__()
        levels = int(math.log2(config.image_size)) - 3                    # 2D levels down to 8x8
        widths = [config.ndf * 2 ** l for l in range(levels)]
        ins = [config.channels] + widths[:-1]
        self.frames = nn.Sequential(*[m for cin, cout in zip(ins, widths)
                                      for m in (spectral_norm(nn.Conv2d(cin, cout, 4, 2, 1)), nn.LeakyReLU(LEAK))])
        w, v = widths[-1], 2 * widths[-1]
        self.video = nn.Sequential(*[m for cin, stride in ((w, (1, 2, 2)), (v, 2), (v, (2, 1, 1)))
                                     for m in (spectral_norm(nn.Conv3d(cin, v, 3, stride, 1)), nn.LeakyReLU(LEAK))])
        self.logit = spectral_norm(nn.Linear(v, 1))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """video [N, T, C, S, S] in [0, 1] -> logits [N] (positive: real)."""
        n, t = video.shape[:2]
        maps = self.frames(video.flatten(0, 1) * 2 - 1)                    # [N * T, w, 8, 8]
        maps = maps.unflatten(0, (n, t)).transpose(1, 2)                   # [N, w, T, 8, 8]
        return self.logit(self.video(maps).mean((2, 3, 4)))[:, 0]          # [N]
