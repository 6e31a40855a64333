"""The five networks of SVG (Denton & Fergus, ICML 2018): frame encoders, decoders and LSTMs.

Written from the spec (`shared/design/baselines.md` §3.2-3.3), which describes the released code
(`edenton/svg`); nothing here is copied from it.

Encoders map a frame `[N, C, S, S]` to `(h [N, g_dim], skips)`, where `skips[l]` is the feature map
of level l (level 0 at S/2 for DCGAN, at S for VGG). Decoders map `(g [N, g_dim], skips)` back to a
frame in [0, 1] (sigmoid). The number of levels follows the frame size: a frame of S pixels has
log2(S) - 2 levels, so the last level ends at 4x4 and a 4x4 valid convolution makes the 1x1 code.
Level l has `nf * 2**min(l, 3)` channels (64, 128, 256, 512, 512 for nf = 64).
"""

from __future__ import annotations

import math

import torch
from torch import nn

LEAK = 0.2


def level_widths(image_size: int, nf: int) -> list[int]:
    """Channels per level for square frames of `image_size` (a power of two, at least 8)."""
    levels = math.log2(image_size) - 2
    if image_size < 8 or not levels.is_integer():
        raise ValueError(f"SVG encoders need a power-of-two frame size >= 8, got {image_size}")
    return [nf * 2 ** min(level, 3) for level in range(int(levels))]


def init_weights(module: nn.Module) -> None:
    """The released initialisation: conv / linear weights N(0, 0.02), BatchNorm gamma N(1, 0.02), biases 0.

    LSTM cells keep PyTorch's default initialisation, as in the released code.
    """
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _conv_block(cin: int, cout: int, kernel: int, stride: int, pad: int, transposed: bool = False) -> nn.Sequential:
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(cin, cout, kernel, stride, pad)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.LeakyReLU(LEAK))


def _vgg_layer(cin: int, cout: int) -> nn.Sequential:
    """3x3 convolution (pad 1) -> BatchNorm -> LeakyReLU(0.2)."""
    return _conv_block(cin, cout, 3, 1, 1)


def _code_layer(cin: int, g_dim: int) -> nn.Sequential:
    """4x4 valid convolution of the last 4x4 map to the 1x1 code, BatchNorm, tanh."""
    return nn.Sequential(nn.Conv2d(cin, g_dim, 4, 1, 0), nn.BatchNorm2d(g_dim), nn.Tanh())


class DcganEncoder(nn.Module):
    """Stride-2 4x4 convolutions (BatchNorm on every level, the first included), then the 4x4 code layer."""

    def __init__(self, channels: int, image_size: int, nf: int, g_dim: int):
        super().__init__()
        widths = level_widths(image_size, nf)
        ins = [channels] + widths[:-1]
        self.levels = nn.ModuleList(_conv_block(cin, cout, 4, 2, 1) for cin, cout in zip(ins, widths))
        self.code = _code_layer(widths[-1], g_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for level in self.levels:
            x = level(x)                                   # [N, w_l, S / 2**(l+1), ...]
            skips.append(x)
        h = self.code(x)                                   # [N, g_dim, 1, 1]
        return h.flatten(1), skips                         # [N, g_dim], skips


class DcganDecoder(nn.Module):
    """4x4 transposed conv from the code to the deepest level, then per level: concatenate the skip,
    stride-2 transposed conv; the last one outputs the frame through a sigmoid."""

    def __init__(self, channels: int, image_size: int, nf: int, g_dim: int):
        super().__init__()
        widths = level_widths(image_size, nf)
        self.code = _conv_block(g_dim, widths[-1], 4, 1, 0, transposed=True)
        outs = [channels] + widths[:-1]                    # level l outputs outs[l]
        self.levels = nn.ModuleList(
            _conv_block(2 * widths[l], outs[l], 4, 2, 1, transposed=True) if l > 0
            else nn.Sequential(nn.ConvTranspose2d(2 * widths[0], channels, 4, 2, 1), nn.Sigmoid())
            for l in range(len(widths)))

    def forward(self, g: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = self.code(g[:, :, None, None])                 # [N, w_last, 4, 4]
        for l in reversed(range(len(self.levels))):
            x = self.levels[l](torch.cat([x, skips[l]], 1))   # [N, outs[l], 2x, 2x]
        return x                                           # [N, C, S, S] in [0, 1]


def vgg_layers_for(image_size: int, layers: list[int] | tuple[int, ...] | None) -> list[int]:
    """3x3 layers per VGG level: the released (2, 2, 3, 3[, 3]) unless given."""
    count = len(level_widths(image_size, 1))
    layers = list(layers) if layers else ([2, 2] + [3] * count)[:count]
    if len(layers) != count or min(layers) < 1:
        raise ValueError(f"vgg_layers must give >= 1 layer for each of the {count} levels of "
                         f"{image_size}px frames, got {layers}")
    return layers


class VggEncoder(nn.Module):
    """VGG16-style blocks of 3x3 layers with 2x2 max-pooling between them, then the 4x4 code layer.

    The skips are the block outputs before pooling (level 0 at full resolution).
    """

    def __init__(self, channels: int, image_size: int, nf: int, g_dim: int, layers=None):
        super().__init__()
        widths = level_widths(image_size, nf)
        layers = vgg_layers_for(image_size, layers)
        blocks, cin = [], channels
        for width, count in zip(widths, layers):
            blocks.append(nn.Sequential(*[_vgg_layer(cin if i == 0 else width, width) for i in range(count)]))
            cin = width
        self.levels = nn.ModuleList(blocks)
        self.pool = nn.MaxPool2d(2, 2)
        self.code = _code_layer(widths[-1], g_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for l, level in enumerate(self.levels):
            x = level(x if l == 0 else self.pool(x))       # [N, w_l, S / 2**l, ...]
            skips.append(x)
        h = self.code(self.pool(x))                        # [N, g_dim, 1, 1]
        return h.flatten(1), skips


class VggDecoder(nn.Module):
    """Mirror of VggEncoder: per level, nearest x2 upsampling, concatenate the skip, the level's 3x3
    layers (the last one narrows to the next level's width). At level 0 the last layer is a 3x3
    transposed convolution to the frame's channels with a sigmoid."""

    def __init__(self, channels: int, image_size: int, nf: int, g_dim: int, layers=None):
        super().__init__()
        widths = level_widths(image_size, nf)
        layers = vgg_layers_for(image_size, layers)
        self.code = _conv_block(g_dim, widths[-1], 4, 1, 0, transposed=True)
        blocks = []
        for l, (width, count) in enumerate(zip(widths, layers)):
            ins = [2 * width] + [width] * (count - 1)
            if l > 0:
                outs = [width] * (count - 1) + [widths[l - 1]]
                block = [_vgg_layer(cin, cout) for cin, cout in zip(ins, outs)]
            else:
                block = [_vgg_layer(cin, width) for cin in ins[:-1]]
                block += [nn.ConvTranspose2d(ins[-1], channels, 3, 1, 1), nn.Sigmoid()]
            blocks.append(nn.Sequential(*block))
        self.levels = nn.ModuleList(blocks)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, g: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        x = self.code(g[:, :, None, None])                 # [N, w_last, 4, 4]
        for l in reversed(range(len(self.levels))):
            x = self.levels[l](torch.cat([self.up(x), skips[l]], 1))   # [N, w_{l-1} or C, 2x, 2x]
        return x                                           # [N, C, S, S] in [0, 1]


BACKBONES = {"dcgan": (DcganEncoder, DcganDecoder), "vgg": (VggEncoder, VggDecoder)}


LstmState = list[tuple[torch.Tensor, torch.Tensor]]


class _LstmTrunk(nn.Module):
    """Linear embedding to `hidden`, then `layers` stacked LSTMCell(hidden, hidden)."""

    def __init__(self, in_dim: int, hidden: int, layers: int):
        super().__init__()
        self.hidden = hidden
        self.embed = nn.Linear(in_dim, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))

    def zero_state(self, batch: int, like: torch.Tensor) -> LstmState:
        """Hidden and cell states start at zero for every sequence."""
        zeros = like.new_zeros(batch, self.hidden)         # [N, hidden]
        return [(zeros, zeros) for _ in self.cells]

    def trunk(self, x: torch.Tensor, state: LstmState) -> tuple[torch.Tensor, LstmState]:
        out = self.embed(x)                                # [N, hidden]
        new_state = []
        for cell, hc in zip(self.cells, state):
            hc = cell(out, hc)
            new_state.append(hc)
            out = hc[0]                                    # [N, hidden]
        return out, new_state


class Lstm(_LstmTrunk):
    """The frame predictor LSTM_theta: embedding, stacked cells, linear head, tanh."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int, layers: int):
        super().__init__(in_dim, hidden, layers)
        self.head = nn.Sequential(nn.Linear(hidden, out_dim), nn.Tanh())

    def forward(self, x: torch.Tensor, state: LstmState) -> tuple[torch.Tensor, LstmState]:
        out, state = self.trunk(x, state)
        return self.head(out), state                       # [N, out_dim]


class GaussianLstm(_LstmTrunk):
    """The posterior LSTM_phi / learned prior LSTM_psi: the same trunk with linear mu and log-variance
    heads. With noise `eps` it also returns the reparameterised sample mu + exp(logvar / 2) * eps."""

    def __init__(self, in_dim: int, z_dim: int, hidden: int, layers: int):
        super().__init__(in_dim, hidden, layers)
        self.mu = nn.Linear(hidden, z_dim)
        self.logvar = nn.Linear(hidden, z_dim)

    def forward(self, x: torch.Tensor, state: LstmState, eps: torch.Tensor | None = None):
        out, state = self.trunk(x, state)
        mu, logvar = self.mu(out), self.logvar(out)        # [N, z_dim] each
        z = None if eps is None else mu + torch.exp(0.5 * logvar) * eps
        return z, mu, logvar, state
