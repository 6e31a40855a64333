"""The networks of the hierarchical conditional VRNN (Castrejon, Ballas & Courville, ICCV 2019).

Written from the spec (`shared/design/baselines.md` §5.1), which describes the released code
(`facebookresearch/improved_vrnn`); nothing here is copied from it. Frames are `[N, C, S, S]` in [0, 1].

Blocks: ResNet block, DcConv / DcUpConv, the normalised ConvLSTM cell and the "init net" that turns
the channel-concatenated context embeddings at one resolution into a ConvLSTM's initial (h, c).
Networks: the frame encoder (one feature map per resolution), one level of the prior or posterior
(`LatentLevel`), and the renderer (the likelihood network: one ConvLSTM stage per resolution).

GroupNorm uses min(groups, channels // 4) groups (at least one; fewer if they do not divide the
channels). At the paper's sizes every normalised layer has at least 4 * groups channels, so this is the
spec's GroupNorm(groups); the CPU-size models (4 or 8 channels) stay legal, and every group keeps at
least 4 channels, also on 1x1 maps, where GroupNorm(C) would reduce each value to the layer's bias.
(The spec's tiny setup suggests min(16, C), which is degenerate on 1x1 maps.)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LEAK = 0.2
State = tuple[torch.Tensor, torch.Tensor]


def group_norm(groups: int, channels: int) -> nn.GroupNorm:
    g = min(groups, max(1, channels // 4))
    while channels % g:
        g -= 1
    return nn.GroupNorm(g, channels)


class ResBlock(nn.Module):
    """LeakyReLU, conv3x3 (cin -> mid), GN(4), LeakyReLU, conv3x3 (mid -> cout, no bias), GN(4);
    out = shortcut + 0.1 * residual. The shortcut is a 1x1 convolution (no bias) when the channel counts
    differ. mid = min(cin, cout): the spec does not give the inner width; this one reproduces its
    encoder count (27.7 M at 64x64, where mid = cout would give 30.0 M)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = min(cin, cout)
        self.body = nn.Sequential(nn.LeakyReLU(LEAK), nn.Conv2d(cin, mid, 3, 1, 1), group_norm(4, mid),
                                  nn.LeakyReLU(LEAK), nn.Conv2d(mid, cout, 3, 1, 1, bias=False), group_norm(4, cout))
        self.shortcut = nn.Conv2d(cin, cout, 1, bias=False) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + 0.1 * self.body(x)


def dc_conv(cin: int, cout: int, kernel: int, stride: int = 1, pad: int = 0, transposed: bool = False) -> nn.Sequential:
    """DcConv / DcUpConv: (transposed) convolution, GN(4), LeakyReLU(0.2)."""
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(cin, cout, kernel, stride, pad)
    return nn.Sequential(conv, group_norm(4, cout), nn.LeakyReLU(LEAK))


class ConvLstmCell(nn.Module):
    """Normalised ConvLSTM: gates = GN16(conv3x3(x)) + GN16(conv3x3(h)) (each to 4 * hid);
    c' = GN16(f * c + i * tanh(g)); h' = o * tanh(c'). The normalised cell state is the one carried."""

    def __init__(self, cin: int, hid: int):
        super().__init__()
        self.hid = hid
        self.x2g = nn.Sequential(nn.Conv2d(cin, 4 * hid, 3, 1, 1), group_norm(16, 4 * hid))
        self.h2g = nn.Sequential(nn.Conv2d(hid, 4 * hid, 3, 1, 1), group_norm(16, 4 * hid))
        self.c_norm = group_norm(16, hid)

    def forward(self, x: torch.Tensor, state: State) -> State:
        h, c = state                                            # [N, hid, r, r] each
        gates = self.x2g(x) + self.h2g(h)                       # [N, 4 * hid, r, r]
        i, f, o, g = gates.chunk(4, 1)
        c = self.c_norm(torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g))
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class InitNet(nn.Module):
    """Initial (h, c) of a ConvLSTM from the context embeddings at its resolution: 1x1 DcConv on the
    channel-concatenated embeddings (width kept), 1x1 conv to 2 * hid, GN(1); split into (h0, c0)."""

    def __init__(self, cin: int, hid: int):
        super().__init__()
        self.net = nn.Sequential(dc_conv(cin, cin, 1), nn.Conv2d(cin, 2 * hid, 1), group_norm(1, 2 * hid))

    def forward(self, context: torch.Tensor) -> State:
        h, c = self.net(context).chunk(2, 1)                    # [N, hid, r, r] each
        return h, c


class FrameEncoder(nn.Module):
    """Six levels at 64x64 (five at 32x32): level 0 is a 1x1 conv to widths[0] and a ResNet block;
    each next level max-pools by 2 and applies `blocks` ResNet blocks; the last level max-pools the
    4x4 map with a 4x4 window (stride 1) to 1x1. Returns every level's map, finest first."""

    def __init__(self, channels: int, widths: list[int], blocks: int):
        super().__init__()
        levels = [nn.Sequential(nn.Conv2d(channels, widths[0], 1), ResBlock(widths[0], widths[0]))]
        for l in range(1, len(widths)):
            pool = nn.MaxPool2d(4, 1) if l == len(widths) - 1 else nn.MaxPool2d(2)
            res = [ResBlock(widths[l - 1] if i == 0 else widths[l], widths[l]) for i in range(blocks)]
            levels.append(nn.Sequential(pool, *res))
        self.levels = nn.ModuleList(levels)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for level in self.levels:
            x = level(x)                                        # [N, w_l, r_l, r_l]
            maps.append(x)
        return maps


class LatentLevel(nn.Module):
    """One level of the prior p(z^l_t | x_<t) or the posterior q(z^l_t | x_<=t, z^<l_t).

    1x1 conv of the frame embedding to `hid` and GN(1); a ConvLSTM (initial state from an InitNet on the
    context embeddings); the samples of the coarser levels, nearest-upsampled, concatenated to its output
    (`topdown` channels; 0 = no top-down input); 1x1 conv to 2 * z channels and GN(1); split into mu and a
    raw variance v: var = softplus(v), logvar = log var. The last layer, the GroupNorm, starts with zero
    weights (gamma) and a N(0, 1e-3^2) bias (beta): at initialisation mu ~ 0 and var ~ softplus(0) for
    both prior and posterior, so the KL starts near 0."""

    def __init__(self, width: int, hid: int, z_channels: int, n_ctx: int, topdown: int):
        super().__init__()
        self.topdown = topdown
        self.embed = nn.Sequential(nn.Conv2d(width, hid, 1), group_norm(1, hid))
        self.init = InitNet(n_ctx * width, hid)
        self.lstm = ConvLstmCell(hid, hid)
        self.out = nn.Conv2d(hid + topdown, 2 * z_channels, 1)
        self.out_norm = group_norm(1, 2 * z_channels)
        self.reset_out()

    def reset_out(self) -> None:
        nn.init.zeros_(self.out_norm.weight)
        nn.init.normal_(self.out_norm.bias, 0.0, 1e-3)

    def forward(self, emb: torch.Tensor, state: State, coarser: list[torch.Tensor]):
        """emb [N, width, r, r]; coarser: samples of the coarser levels [N, c_k, r_k, r_k] (ignored when
        topdown = 0) -> (mu, logvar [N, z, r, r], state)."""
        state = self.lstm(self.embed(emb), state)
        x = state[0]                                            # [N, hid, r, r]
        if self.topdown:
            size = x.shape[-1]
            x = torch.cat([x] + [F.interpolate(z, size=(size, size), mode="nearest") for z in coarser], 1)
        mu, v = self.out_norm(self.out(x)).chunk(2, 1)          # [N, z, r, r] each
        var = F.softplus(v.float()).clamp_min(1e-8)             # floor: log var stays finite
        return mu, var.log(), state                             # logvar in float32, also under autocast


class Renderer(nn.Module):
    """The likelihood p(x_t | x_<t, z_<=t): one normalised-ConvLSTM stage per resolution (1, 4, 8, ..., S).

    Stage 0 reads the previous frame's 1x1 embedding; each stage's ConvLSTM output goes through a 4x4
    DcUpConv to the next resolution (stride 1, no padding from 1 to 4; stride 2 after). The latent of the
    stage's resolution, if any, is concatenated to the stage's input. Each stage's state starts from its
    own InitNet on the context embeddings at its resolution. The last stage ends with a 3x3 DcConv and a
    3x3 conv to C channels: logits; the frame is their sigmoid."""

    def __init__(self, channels: int, widths: list[int], z_channels: dict[int, int], n_ctx: int,
                 stage_resolutions: list[int]):
        super().__init__()
        self.resolutions = stage_resolutions                   # [1, 4, 8, ..., S]
        self.z_channels = z_channels                           # resolution -> latent channels
        last = len(widths) - 1
        lstms, inits, ups = [], [], []
        for s, width in enumerate(widths):
            cin = (widths[0] if s == 0 else width) + z_channels.get(stage_resolutions[s], 0)
            lstms.append(ConvLstmCell(cin, width))
            inits.append(InitNet(n_ctx * width, width))
            if s < last:
                ups.append(dc_conv(width, widths[s + 1], 4, 1 if s == 0 else 2, 0 if s == 0 else 1, transposed=True))
        self.lstms, self.inits, self.ups = nn.ModuleList(lstms), nn.ModuleList(inits), nn.ModuleList(ups)
        self.head = nn.Sequential(dc_conv(widths[-1], widths[-1], 3, 1, 1), nn.Conv2d(widths[-1], channels, 3, 1, 1))

    def init_states(self, contexts: list[torch.Tensor]) -> list[State]:
        """contexts[s]: [N, n_ctx * w_s, r_s, r_s], the concatenated context embeddings of stage s."""
        return [init(ctx) for init, ctx in zip(self.inits, contexts)]

    def forward(self, emb_1x1: torch.Tensor, latents: dict[int, torch.Tensor],
                states: list[State]) -> tuple[torch.Tensor, list[State]]:
        """emb_1x1 [N, w, 1, 1] of the previous frame; latents {resolution: [N, c, r, r]} -> logits [N, C, S, S]."""
        x = emb_1x1
        new_states = []
        for s, lstm in enumerate(self.lstms):
            r = self.resolutions[s]
            if r in latents:
                x = torch.cat([x, latents[r]], 1)              # [N, w_s + c, r, r]
            state = lstm(x, states[s])
            new_states.append(state)
            x = self.ups[s](state[0]) if s < len(self.ups) else state[0]
        return self.head(x), new_states                        # [N, C, S, S] logits
