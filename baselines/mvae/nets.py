"""The two networks MVAE adds to SVG's: a frame decoder that reads z alone, and a frame discriminator.

The frame encoder (`DcganEncoder`) and the experts' LSTMs (`GaussianLstm`) are SVG's, imported by
`model.py`. The decoder mirrors `DcganDecoder` without its skip connections, because the generative model
is p(x_a, x_b | z): everything a frame shows must pass through z. The discriminator is a `DcganEncoder`
(its levels are the features Dis_l) with a linear logit on its code, as Larsen et al.'s convolutional D
with a fully connected layer on top.
"""

from __future__ import annotations

import torch
from torch import nn

from baselines.svg.nets import DcganEncoder, _conv_block, level_widths


class FrameDecoder(nn.Module):
    """z [N, z_dim] -> logits [N, out_channels, S, S]: 4x4 transposed conv to the deepest level, then per
    level a stride-2 transposed conv (BatchNorm, LeakyReLU), the last one to `out_channels` logits."""

    def __init__(self, out_channels: int, image_size: int, nf: int, z_dim: int):
        super().__init__()
        widths = level_widths(image_size, nf)
        self.code = _conv_block(z_dim, widths[-1], 4, 1, 0, transposed=True)
        outs = [out_channels] + widths[:-1]                # level l outputs outs[l]
        self.levels = nn.ModuleList(
            _conv_block(widths[l], outs[l], 4, 2, 1, transposed=True) if l > 0
            else nn.ConvTranspose2d(widths[0], out_channels, 4, 2, 1)
            for l in range(len(widths)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.code(z[:, :, None, None])                 # [N, w_last, 4, 4]
        for level in reversed(self.levels):
            x = level(x)                                   # [N, outs[l], 2x, 2x]
        return x                                           # [N, out_channels, S, S] logits


class FrameDiscriminator(nn.Module):
    """frames [N, C, S, S] in [0, 1] -> (logits [N], features of level `layer` [N, w_l, S / 2**(l+1), ...])."""

    def __init__(self, channels: int, image_size: int, ndf: int, d_code: int, layer: int):
        super().__init__()
        self.layer = layer
        self.body = DcganEncoder(channels, image_size, ndf, d_code)
        self.logit = nn.Linear(d_code, 1)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code, levels = self.body(frames)                   # [N, d_code], per-level maps
        return self.logit(code)[:, 0], levels[self.layer]
