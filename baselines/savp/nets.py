"""The networks of SAVP (Lee et al. 2018): ConvLSTM, the recurrent U-Net generator with its transformation
head, the posterior encoder and the spectral-norm 3D video discriminator.

Written from the spec (`shared/design/baselines.md` §4.2-4.4), which describes the released TF code
(`alexlee-gk/video_prediction`); nothing here is copied from it. Frames are `[N, C, H, W]` in [0, 1].

Generator step (64 px; ngf = 32; z the latent LSTM's output, tiled over space and concatenated to the input of
every convolution and ConvLSTM, `where_add='all'`; nothing is concatenated when nz = 0):

    input       [image_t, x_0]                                             2C   @ 64
    encoder 0   conv 5x5 -> avg-pool 2 -> IN -> ReLU, ConvLSTM             32   @ 32
    encoder 1   conv 3x3 -> avg-pool 2 -> IN -> ReLU, ConvLSTM             64   @ 16
    encoder 2   conv 3x3 -> avg-pool 2 -> IN -> ReLU, ConvLSTM             128  @ 8    (CDNA reads this)
    decoder 0   bilinear x2 -> conv 3x3 -> IN -> ReLU, ConvLSTM            64   @ 16   (from encoder 2)
    decoder 1   [decoder 0, encoder 1] -> same, ConvLSTM                   32   @ 32
    decoder 2   [decoder 1, encoder 0] -> same, no ConvLSTM                32   @ 64   (the heads read this)

At 32 px: encoder 32 @ 16, 64 @ 8 (both ConvLSTM), decoder 32 @ 16 (ConvLSTM), 32 @ 32 (none).

Candidates: K transformed versions of image_t (CDNA: K image-wide kernels from a dense layer on the flattened
last encoder level; DNA: K per-pixel kernels from a conv head; flow: K bilinear warps), image_t itself, x_0
and a scratch image (conv 3x3 -> IN -> ReLU -> conv 3x3 -> sigmoid). Masks: conv 3x3 -> IN -> ReLU, then the
candidates concatenated (`dependent_mask`), conv 3x3 to K + 3 channels, softmax over them. The output is
the mask-weighted sum of the candidates: a convex combination of images in [0, 1] (kernels are normalised
to sum to 1, bilinear warps are convex), so it lies in [0, 1] without clamping.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from baselines.savp.config import SavpConfig

RELU_SHIFT = 1e-12     # kernel floor: relu(k - eps) + eps (the released value; the spec says only "eps")
FORGET_BIAS = 1.0      # added to the forget gates of both LSTMs (spec §4.2)
D_LEAK = 0.1           # LeakyReLU slope of the video discriminator
E_LEAK = 0.2           # LeakyReLU slope of the posterior encoder
INIT_STD = 0.02        # weights ~ truncated N(0, 0.02), biases 0 (the released code's initialiser)


@torch.no_grad()
def truncated_normal_(weight: torch.Tensor, std: float) -> None:
    """N(0, std) with the draws beyond 2 std drawn again (TF's truncated normal; faster than nn.init's on CPU)."""
    weight.normal_(0.0, std)
    if weight.is_meta:
        return
    outside = weight.abs() > 2 * std
    while outside.any():
        weight[outside] = torch.randn(int(outside.sum()), dtype=weight.dtype, device=weight.device) * std
        outside = weight.abs() > 2 * std


def init_weights(module: nn.Module) -> None:
    """Spectral-normalised layers are initialised by VideoDiscriminator before they are wrapped (here: skipped)."""
    if isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear)) and not parametrize.is_parametrized(module):
        truncated_normal_(module.weight, INIT_STD)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def tile_concat(h: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
    """h [N, F, H, W], z [N, Z] (or None) -> [N, F + Z, H, W]: z repeated at every position."""
    if z is None:
        return h
    return torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[2:]).to(h.dtype)], 1)


def pad_symmetric(x: torch.Tensor, p: int) -> torch.Tensor:
    """[..., H, W] -> [..., H + 2p, W + 2p], mirrored *including* the edge (TF's SYMMETRIC): [a b c] -> [b a | a b c | c b]."""
    if p == 0:
        return x
    x = torch.cat([x[..., :p].flip(-1), x, x[..., -p:].flip(-1)], -1)
    return torch.cat([x[..., :p, :].flip(-2), x, x[..., -p:, :].flip(-2)], -2)


def identity_kernel(k: int) -> torch.Tensor:
    """[k, k] with 1 at the centre (k odd)."""
    kernel = torch.zeros(k, k)
    kernel[k // 2, k // 2] = 1.0
    return kernel


def normalise_kernels(kernels: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    """relu(k - eps) + eps, then divided by the sum over `dims` (the kernel's taps): every kernel sums to 1."""
    kernels = F.relu(kernels - RELU_SHIFT) + RELU_SHIFT
    return kernels / kernels.sum(dims, keepdim=True)


def apply_cdna(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """image [N, C, H, W], kernels [N, K, k, k] (one per sample, shared by the channels) -> [N, K, C, H, W].

    Cross-correlation (as a depthwise convolution) over the symmetric-padded image."""
    n, c, h, w = image.shape
    k = kernels.shape[-1]
    patches = F.unfold(pad_symmetric(image, k // 2), k)                 # [N, C * k * k, H * W]
    patches = patches.view(n, c, k * k, h * w)                          # [N, C, k*k, H*W]
    out = torch.einsum("nctp,nkt->nkcp", patches, kernels.flatten(2))   # [N, K, C, H*W]
    return out.reshape(n, -1, c, h, w)


def apply_dna(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """image [N, C, H, W], kernels [N, K, k*k, H, W] (one kernel per pixel) -> [N, K, C, H, W]."""
    n, c, h, w = image.shape
    taps = kernels.shape[2]
    k = int(round(taps ** 0.5))
    patches = F.unfold(pad_symmetric(image, k // 2), k).view(n, c, taps, h, w)   # [N, C, k*k, H, W]
    return torch.einsum("nctyx,nktyx->nkcyx", patches, kernels)                  # [N, K, C, H, W]


def apply_flows(image: torch.Tensor, flows: torch.Tensor) -> torch.Tensor:
    """image [N, C, H, W], flows [N, K, 2, H, W] (dx, dy in pixels) -> [N, K, C, H, W]: output pixel p is the
    bilinear sample of the image at p + flow(p); positions outside the image take the nearest edge value."""
    n, c, h, w = image.shape
    kk = flows.shape[1]
    ys, xs = torch.meshgrid(torch.arange(h, device=image.device, dtype=flows.dtype),
                            torch.arange(w, device=image.device, dtype=flows.dtype), indexing="ij")
    x = xs + flows[:, :, 0]                                             # [N, K, H, W]
    y = ys + flows[:, :, 1]
    grid = torch.stack([2 * x / max(w - 1, 1) - 1, 2 * y / max(h - 1, 1) - 1], -1)   # [N, K, H, W, 2]
    source = image[:, None].expand(n, kk, c, h, w).reshape(n * kk, c, h, w)
    out = F.grid_sample(source, grid.reshape(n * kk, h, w, 2).to(image.dtype), mode="bilinear",
                        padding_mode="border", align_corners=True)      # [N*K, C, H, W]
    return out.view(n, kk, c, h, w)


# ---------------------------------------------------------------------------------------------
# Recurrent cells


class ConvLSTM(nn.Module):
    """Convolutional LSTM (spec §4.2): one k x k convolution of [input, h] gives the four gates (no bias);
    instance norm on the gate pre-activations (each channel on its own, so each gate separately) and on
    the new cell; forget bias 1; no peepholes. h = tanh(norm(c)) * sigmoid(o)."""

    def __init__(self, in_channels: int, hidden: int, kernel_size: int = 5):
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel_size, padding=kernel_size // 2, bias=False)
        self.gate_norm = nn.InstanceNorm2d(4 * hidden, affine=True)
        self.cell_norm = nn.InstanceNorm2d(hidden, affine=True)

    def zero_state(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, h, w = x.shape
        zeros = x.new_zeros(n, self.hidden, h, w)
        return zeros, zeros

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None):
        c, h = self.zero_state(x) if state is None else state             # [N, F, H, W] each
        gates = self.gate_norm(self.gates(torch.cat([x, h], 1)))          # [N, 4F, H, W]
        i, j, f, o = gates.chunk(4, 1)
        c = c * torch.sigmoid(f + FORGET_BIAS) + torch.sigmoid(i) * torch.tanh(j)
        c = self.cell_norm(c)
        h = torch.tanh(c) * torch.sigmoid(o)
        return h, (c, h)


class LatentLSTM(nn.Module):
    """The latent path's LSTM (nz units, forget bias 1): z_t [N, nz] -> [N, nz]."""

    def __init__(self, nz: int):
        super().__init__()
        self.nz = nz
        self.gates = nn.Linear(2 * nz, 4 * nz)

    def forward(self, z: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None):
        c, h = (z.new_zeros(z.shape), z.new_zeros(z.shape)) if state is None else state
        i, j, f, o = self.gates(torch.cat([z, h], 1)).chunk(4, 1)         # [N, nz] each
        c = c * torch.sigmoid(f + FORGET_BIAS) + torch.sigmoid(i) * torch.tanh(j)
        h = torch.tanh(c) * torch.sigmoid(o)
        return h, (c, h)


# ---------------------------------------------------------------------------------------------
# Generator


def layer_specs(config: SavpConfig) -> tuple[list[tuple[int, bool]], list[tuple[int, bool]]]:
    """(encoder, decoder) levels as (channels, has ConvLSTM), spec §4.2."""
    g = config.ngf
    if config.image_size == 64:
        return [(g, True), (2 * g, True), (4 * g, True)], [(2 * g, True), (g, True), (g, False)]
    return [(g, True), (2 * g, True)], [(g, True), (g, False)]


def _norm_relu(channels: int) -> list[nn.Module]:
    return [nn.InstanceNorm2d(channels, affine=True), nn.ReLU()]


def _head(in_channels: int, hidden: int, out_channels: int) -> nn.Sequential:
    """conv 3x3 -> IN -> ReLU -> conv 3x3: the DNA and flow heads."""
    return nn.Sequential(nn.Conv2d(in_channels, hidden, 3, padding=1), *_norm_relu(hidden),
                         nn.Conv2d(hidden, out_channels, 3, padding=1))


class Generator(nn.Module):
    """One step of SAVP's generator: (image_t, x_0, z_t, state) -> (x_hat_{t+1}, state, parts)."""

    def __init__(self, config: SavpConfig):
        super().__init__()
        self.config = config
        c, g, zc, k = config.channels, config.ngf, config.nz, config.kernel_size
        self.num_candidates = config.num_transformed + 3        # K transformed, previous, first, scratch
        enc, dec = layer_specs(config)
        self.latent = LatentLSTM(zc) if zc else None

        self.enc_convs, self.enc_lstms = nn.ModuleList(), nn.ModuleList()
        ins = [2 * c] + [ch for ch, _ in enc[:-1]]
        for l, ((ch, lstm), cin) in enumerate(zip(enc, ins)):
            ks = 5 if l == 0 else 3
            self.enc_convs.append(nn.Sequential(nn.Conv2d(cin + zc, ch, ks, padding=ks // 2), nn.AvgPool2d(2),
                                                *_norm_relu(ch)))
            self.enc_lstms.append(ConvLSTM(ch + zc, ch) if lstm else nn.Identity())
        self.dec_convs, self.dec_lstms = nn.ModuleList(), nn.ModuleList()
        for l, (ch, lstm) in enumerate(dec):
            cin = enc[-1][0] if l == 0 else dec[l - 1][0] + enc[len(enc) - 1 - l][0]
            self.dec_convs.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                                                nn.Conv2d(cin + zc, ch, 3, padding=1), *_norm_relu(ch)))
            self.dec_lstms.append(ConvLSTM(ch + zc, ch) if lstm else nn.Identity())
        self.has_lstm = [lstm for _, lstm in enc + dec]

        last = dec[-1][0]
        kk = config.num_transformed
        if config.transformation == "cdna":
            side = config.image_size // 2 ** len(enc)
            self.cdna = nn.Linear(enc[-1][0] * side * side, kk * k * k)
        elif config.transformation == "dna":
            self.dna = _head(last, g, kk * k * k)
        else:
            self.flow = _head(last, g, kk * 2)
        self.scratch = nn.Sequential(nn.Conv2d(last, g, 3, padding=1), *_norm_relu(g),
                                     nn.Conv2d(g, c, 3, padding=1), nn.Sigmoid())
        self.mask_features = nn.Sequential(nn.Conv2d(last, g, 3, padding=1), *_norm_relu(g))
        self.masks = nn.Conv2d(g + self.num_candidates * c, self.num_candidates, 3, padding=1)
        self.register_buffer("identity", identity_kernel(k), persistent=False)

    def forward(self, image: torch.Tensor, first: torch.Tensor, z: torch.Tensor | None, state: dict | None):
        """image, first [N, C, H, W] in [0, 1]; z [N, nz] or None; state from the previous step (None at t = 0).

        -> (x_hat [N, C, H, W] in [0, 1], state, parts: masks [N, M, 1, H, W], candidates [N, M, C, H, W],
        and kernels [N, K, k, k] (cdna) / [N, K, k*k, H, W] (dna) or flows [N, K, 2, H, W])."""
        state = state or {}
        lstm_states = state.get("lstm", [None] * len(self.has_lstm))
        new_states = []
        zt, latent_state = None, None
        if self.latent is not None:
            zt, latent_state = self.latent(z, state.get("latent"))         # [N, nz]

        def level(conv, lstm, x, i):
            h = conv(tile_concat(x, zt))                                    # [N, F, h, w]
            if self.has_lstm[i]:
                h, s = lstm(tile_concat(h, zt), lstm_states[i])             # [N, F, h, w]
                new_states.append(s)
            else:
                new_states.append(None)
            return h

        skips = []
        h = torch.cat([image, first], 1)                                    # [N, 2C, H, W]
        for i, (conv, lstm) in enumerate(zip(self.enc_convs, self.enc_lstms)):
            h = level(conv, lstm, h, i)
            skips.append(h)
        n_enc = len(skips)
        for l, (conv, lstm) in enumerate(zip(self.dec_convs, self.dec_lstms)):
            x = h if l == 0 else torch.cat([h, skips[n_enc - 1 - l]], 1)
            h = level(conv, lstm, x, n_enc + l)                             # last: [N, ngf, H, W]

        parts = {}
        c, k = self.config.channels, self.config.kernel_size
        n, _, height, width = image.shape
        if self.config.transformation == "cdna":
            raw = self.cdna(skips[-1].flatten(1)).view(n, -1, k, k)         # [N, K, k, k]
            kernels = normalise_kernels(raw + self.identity.to(raw.dtype), (2, 3))
            transformed = apply_cdna(image, kernels)                        # [N, K, C, H, W]
            parts["kernels"] = kernels
        elif self.config.transformation == "dna":
            raw = self.dna(h).view(n, -1, k * k, height, width)             # [N, K, k*k, H, W]
            kernels = normalise_kernels(raw + self.identity.flatten().to(raw.dtype)[:, None, None], (2,))
            transformed = apply_dna(image, kernels)                         # [N, K, C, H, W]
            parts["kernels"] = kernels
        else:
            flows = self.flow(h).view(n, -1, 2, height, width)              # [N, K, 2, H, W]
            transformed = apply_flows(image, flows)                         # [N, K, C, H, W]
            parts["flows"] = flows
        scratch = self.scratch(h)                                           # [N, C, H, W]
        candidates = torch.cat([transformed, image[:, None], first[:, None], scratch[:, None]], 1)   # [N, M, C, H, W]
        logits = self.masks(torch.cat([self.mask_features(h), candidates.flatten(1, 2)], 1))      # [N, M, H, W]
        masks = torch.softmax(logits, 1)[:, :, None]                        # [N, M, 1, H, W]
        out = (masks * candidates).sum(1)                                   # [N, C, H, W]
        parts.update(masks=masks, candidates=candidates)
        return out, {"lstm": new_states, "latent": latent_state}, parts


# ---------------------------------------------------------------------------------------------
# Posterior encoder and discriminator


class PosteriorEncoder(nn.Module):
    """q(z_t | x_t, x_{t+1}) (spec §4.3): [x_t, x_{t+1}] [N, 2C, H, W] -> (mu, logvar) [N, nz], logvar in [-10, 10].

    Three 4x4 stride-2 convolutions (nef, 2 nef, 4 nef; LeakyReLU 0.2, instance norm on all but the first),
    global average pooling, two linear heads. No RNN."""

    def __init__(self, channels: int, nef: int, nz: int):
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv2d(2 * channels, nef, 4, 2, 1), nn.LeakyReLU(E_LEAK),
            nn.Conv2d(nef, 2 * nef, 4, 2, 1), nn.InstanceNorm2d(2 * nef, affine=True), nn.LeakyReLU(E_LEAK),
            nn.Conv2d(2 * nef, 4 * nef, 4, 2, 1), nn.InstanceNorm2d(4 * nef, affine=True), nn.LeakyReLU(E_LEAK))
        self.mu = nn.Linear(4 * nef, nz)
        self.logvar = nn.Linear(4 * nef, nz)

    def forward(self, pairs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(pairs).mean((2, 3))                                  # [N, 4 nef]
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)                # [N, nz] each


def _sn(layer: nn.Module) -> nn.Module:
    """Initialise, then wrap in spectral normalisation (one power iteration per training forward)."""
    init_weights(layer)
    return spectral_norm(layer)


class VideoDiscriminator(nn.Module):
    """`video_sn` (spec §4.4): clip [N, C, L, H, W] in [0, 1] -> (logits [N], features: the 7 layers' outputs).

    Seven 3D convolutions, each with spectral normalisation, zero padding 1 on every axis and LeakyReLU(0.1):
    3^3 -> ndf, 4^3 (1, 2, 2) -> 2 ndf, 3^3, 4^3 (1, 2, 2) -> 4 ndf, 3^3, 4^3 stride 2 -> 8 ndf, 3^3; then a
    spectral-normalised linear layer to one logit. At L = 10, 64 px the last map is 8 ndf x 4 x 8 x 8."""

    def __init__(self, channels: int, ndf: int, clip_length: int, image_size: int):
        super().__init__()
        specs = [(channels, ndf, 3, 1), (ndf, 2 * ndf, 4, (1, 2, 2)), (2 * ndf, 2 * ndf, 3, 1),
                 (2 * ndf, 4 * ndf, 4, (1, 2, 2)), (4 * ndf, 4 * ndf, 3, 1), (4 * ndf, 8 * ndf, 4, 2),
                 (8 * ndf, 8 * ndf, 3, 1)]
        frames, side = (clip_length - 4) // 2 + 1, image_size // 8
        self.clip_length = clip_length
        self.convs = nn.ModuleList(_sn(nn.Conv3d(cin, cout, k, s, 1)) for cin, cout, k, s in specs)
        self.logits = _sn(nn.Linear(8 * ndf * frames * side * side, 1))

    def forward(self, clip: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        h = clip
        for conv in self.convs:
            h = F.leaky_relu(conv(h), D_LEAK)                               # [N, F, L', H', W']
            features.append(h)
        return self.logits(h.flatten(1))[:, 0], features                    # [N]
