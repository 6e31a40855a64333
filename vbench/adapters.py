"""The adapter protocol every model implements, its validation, and model resolution.

A model is any object with the attributes of `VideoModel` (subclassing it is optional):

    predict(context, num_future, num_samples, rng) -> Tensor [B, S, T_future, C, H, W]

`context` is float32 `[B, T_context, C, H, W]` on the model's device, in the model's declared
`value_range` and at its `resolution` (the harness converts to and from the suite's). The output
must be floating point, finite, within `value_range`, on the same device, with exactly
`S = num_samples` samples (1 for a model with `stochastic = False`) and `T_future = num_future`.
Every batch is checked; a broken rule stops the run with a ModelError naming the model, the test
videos of the batch and the rule, before anything of that batch is stored.

Randomness comes only from `rng` (a SampleRNG): stream (b, s) belongs to test video b of the
batch and sample s, seeded from (suite seed, video index, sample index). A model that draws all
its noise from `rng` gives scores that do not depend on batch size, resume points or world size.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from vbench.errors import ModelError
from vbench.metrics.fvd import device_key
from vbench.models import BUNDLED

# Short name -> "module:Class" of every bundled model (vbench.models.BUNDLED holds the rest of the entry).
MODELS: dict[str, str] = {name: model.adapter for name, model in BUNDLED.items()}

RANGE_TOLERANCE = 1e-4   # outputs this close outside value_range are clamped, further is an error


class VideoModel:
    """Base class documenting the adapter contract (duck typing works too).

    Class attributes a model declares:
      name         shown in results and leaderboards (defaults to the spec it was resolved from)
      stochastic   False -> the harness asks for exactly one sample per video
      value_range  range of the values the model reads and writes; the harness converts
      resolution   square frame size the model works at, or None for "whatever the suite uses"
      min_context  fewest context frames the model can work from
      task         "prediction" (predict from context) or "generation" (unconditional: `generate`)

    Unconditional models (generation suites): `generate(num_videos, rng, num_frames) -> [N, T, C, r, r]`
    in value_range, one video per row of the SampleRNG (`rng.randn(...)[:, 0]`: video n from its
    stream (n, 0)); the runner calls it once per FVD trial with that trial's streams.

    Optional, for likelihood models: `negative_elbo(context, future, rng) -> [B]`, the negative ELBO of
    each video's true `future` given its `context` (float [B, T, C, r, r], converted to the model's
    resolution and value_range as for predict; `rng` a SampleRNG for posterior draws). The runner stores it per video beside the
    other scores and the leaderboard shows it (lower is better; comparable only between models with
    the same likelihood and resolution).
    """

    name: str = ""
    stochastic: bool = True
    value_range: tuple[float, float] = (0.0, 1.0)
    resolution: int | None = None
    min_context: int = 1
    task: str = "prediction"

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int,
                rng: "SampleRNG") -> torch.Tensor:
        raise NotImplementedError


def sample_seed(suite_seed: int, video: int, sample: int) -> int:
    """A 63-bit seed for sample `sample` of test video `video`, independent of how work is batched."""
    digest = hashlib.sha256(f"vbench:{suite_seed}:{video}:{sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


class SampleRNG:
    """One torch.Generator per (video, sample) of a predict() call.

    Draws happen on the CPU and are then moved to `device`, so the same seed gives the same noise
    on every device.
    """

    def __init__(self, suite_seed: int, video_ids: Sequence[int], sample_ids: Sequence[int],
                 device: torch.device | str = "cpu"):
        self.video_ids = list(video_ids)
        self.sample_ids = list(sample_ids)
        self.device = torch.device(device)
        self.generators = [[torch.Generator().manual_seed(sample_seed(suite_seed, v, k))
                            for k in self.sample_ids] for v in self.video_ids]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.video_ids), len(self.sample_ids)

    def generator(self, b: int, s: int) -> torch.Generator:
        return self.generators[b][s]

    def _draw(self, draw, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        noise = torch.stack([torch.stack([draw(shape, generator=g, dtype=dtype) for g in row])
                             for row in self.generators])   # [B, S, *shape]
        return noise.to(self.device)

    def randn(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Standard normal noise `[B, S, *shape]`."""
        return self._draw(torch.randn, shape, dtype)

    def rand(self, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Uniform [0, 1) noise `[B, S, *shape]`."""
        return self._draw(torch.rand, shape, dtype)


def repeat_per_sample(x: torch.Tensor, num_samples: int) -> torch.Tensor:
    """[B, ...] -> [B * num_samples, ...]: each video's entry repeated `num_samples` times, video-major
    (row ``b * S + s`` is video b's sample s), the order of a SampleRNG draw after ``.flatten(0, 1)``.

    For a `predict` that runs its network on every (video, sample) pair as one batch.
    """
    return x[:, None].expand(x.shape[0], num_samples, *x.shape[1:]).flatten(0, 1)   # [B*S, ...]


# ---------------------------------------------------------------------------------------------
# Model resolution


def parse_model_args(pairs: Sequence[str]) -> dict[str, Any]:
    """`["hidden=128", "beta=1e-4", "name=foo"]` -> typed dict (values parsed as YAML scalars)."""
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ModelError(f"--model-arg '{pair}': expected key=value with a Python identifier as key")
        try:
            args[key.strip()] = yaml.safe_load(value) if value.strip() else ""
        except yaml.YAMLError:
            args[key.strip()] = value
    return args


def import_model_class(spec: str) -> Any:
    """The class (or factory) named by 'package.module:Class' or 'path/to/file.py:Class', or ModelError."""
    target, _, attr = spec.rpartition(":")
    if not target or not attr:
        raise ModelError(f"model '{spec}': expected a short name, 'package.module:Class' or 'file.py:Class'")
    if target.endswith(".py"):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise ModelError(f"model '{spec}': file not found: {path}")
        module_name = f"vbench_user_model_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise ModelError(f"model '{spec}': importing {path} failed: {type(exc).__name__}: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ModelError(f"model '{spec}': cannot import module '{target}': {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        names = [n for n in dir(module) if not n.startswith("_")]
        close = difflib.get_close_matches(attr, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ModelError(f"model '{spec}': '{target}' has no attribute '{attr}'.{hint}") from None


def model_spec(model: Any) -> str:
    """The spec a run records for `model`: a name or spec string as given; for a model class or
    object, its class as 'module:Class' (what `vbench run --model module:Class` records)."""
    if isinstance(model, str):
        return model
    cls = model if inspect.isclass(model) else type(model)
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_model(spec: Any, model_args: dict[str, Any] | None = None, checkpoint: str | None = None) -> Any:
    """Build a model from a short name (`copy_last`), `pkg.module:Class` or `path/model.py:Class`;
    a model class is built with `model_args`; a model object is checked and returned as it is."""
    model_args = dict(model_args or {})
    if not isinstance(spec, str) and not inspect.isclass(spec):
        if model_args or checkpoint is not None:
            raise ModelError(f"model '{model_spec(spec)}': model arguments and a checkpoint are for building a "
                             "model from its class or name; this is a model object, already built")
        return _checked_model(spec, model_spec(spec))
    if inspect.isclass(spec):
        return _built(spec, model_spec(spec), model_args, checkpoint)
    if ":" not in spec:
        if spec not in MODELS:
            close = difflib.get_close_matches(spec, MODELS, n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise ModelError(f"unknown model '{spec}'.{hint} Bundled models: {', '.join(sorted(MODELS))}; "
                             "or pass 'package.module:Class' or 'path/to/model.py:Class'")
        spec_target = MODELS[spec]
    else:
        spec_target = spec
    return _built(import_model_class(spec_target), spec, model_args, checkpoint)


def _built(factory: Any, spec: str, model_args: dict[str, Any], checkpoint: str | None) -> Any:
    """`factory(**model_args)` (plus checkpoint=), its arguments checked first, the model checked after."""
    if checkpoint is not None:
        model_args["checkpoint"] = checkpoint
    try:
        inspect.signature(factory).bind(**model_args)
    except TypeError as exc:
        raise ModelError(f"model '{spec}': constructor does not accept the arguments "
                         f"{sorted(model_args)}: {exc}") from None
    except ValueError:
        pass   # no signature available (builtins); let the call decide
    try:
        model = factory(**model_args)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"model '{spec}': constructing it failed: {type(exc).__name__}: {exc}") from exc
    return _checked_model(model, spec)


def _checked_model(model: Any, spec: str) -> Any:
    if not callable(getattr(model, "predict", None)) and not callable(getattr(model, "generate", None)):
        raise ModelError(f"model '{spec}': {type(model).__name__} has no predict(context, num_future, "
                         "num_samples, rng) method (nor, for an unconditional model, generate(num_videos, rng, "
                         "num_frames))")
    return model


def model_name(model: Any, spec: str) -> str:
    return getattr(model, "name", "") or spec


# ---------------------------------------------------------------------------------------------
# Calling a model: conversion to its conventions and validation of what comes back


def resize_frames(video: torch.Tensor, size: int) -> torch.Tensor:
    """[..., C, H, W] -> [..., C, size, size] (area when shrinking, bilinear when growing).

    The harness's conversion between a suite's frame size and a model's: training and analyses
    that feed a model raw frames call it so the model sees them as `vbench run` gives them.
    """
    if video.shape[-1] == size and video.shape[-2] == size:
        return video
    lead, (c, h, w) = video.shape[:-3], video.shape[-3:]
    flat = video.reshape(-1, c, h, w)                                   # [N, C, H, W]
    mode = dict(mode="area") if size < h else dict(mode="bilinear", align_corners=False)
    out = F.interpolate(flat, size=(size, size), **mode)                # [N, C, size, size]
    return out.reshape(*lead, c, size, size)


def to_model_frames(model: Any, frames: torch.Tensor) -> torch.Tensor:
    """Suite frames [..., C, H, W] in [0, 1] -> the model's resolution and value_range [..., C, r, r]."""
    lo, hi = (float(v) for v in getattr(model, "value_range", (0.0, 1.0)))
    return resize_frames(frames, getattr(model, "resolution", None) or frames.shape[-1]) * (hi - lo) + lo


def negative_elbo_checked(model: Any, name: str, context: torch.Tensor, future: torch.Tensor,
                          rng: SampleRNG) -> np.ndarray:
    """Call a likelihood model's `negative_elbo` on a test batch and return its values, checked.

    context [B, T_ctx, C, H, W], future [B, T, C, H, W] in [0, 1] (converted to the model's resolution
    and value_range, as for predict) -> float64 [B], finite.
    """
    try:
        with torch.no_grad():
            values = model.negative_elbo(to_model_frames(model, context), to_model_frames(model, future), rng)
    except Exception as exc:
        raise ModelError(f"model '{name}': negative_elbo raised {type(exc).__name__}: {exc}") from exc
    values = values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    if values.shape != (context.shape[0],) or not np.isfinite(values).all():
        raise ModelError(f"model '{name}': negative_elbo must return {context.shape[0]} finite values, one per "
                         f"video; got shape {values.shape} with values {values.ravel()[:4]}")
    return values


def predict_checked(model: Any, name: str, context: torch.Tensor, num_future: int,
                    rng: SampleRNG) -> torch.Tensor:
    """Call `model.predict` on a context in [0, 1] and return validated samples in [0, 1].

    context: float32 [B, T_ctx, C, H, W] in [0, 1]  ->  float32 [B, S, T_future, C, H, W] in [0, 1]
    """
    b, _, c, h, w = context.shape
    num_samples = rng.shape[1]
    where = f"model '{name}', test videos {rng.video_ids[0]}..{rng.video_ids[-1]}"
    resolution = getattr(model, "resolution", None) or h
    model_context = to_model_frames(model, context)                     # [B, T_ctx, C, r, r]
    try:
        with torch.no_grad():
            out = model.predict(model_context, num_future, num_samples, rng)
    except Exception as exc:
        raise ModelError(f"{where}: predict() raised {type(exc).__name__}: {exc}") from exc
    if isinstance(out, torch.Tensor) and out.ndim == 6 and out.shape[0] == b and out.shape[1] != num_samples:
        raise ModelError(f"{where}: returned {out.shape[1]} samples per video, asked for {num_samples}")
    expected = (b, num_samples, num_future, c, resolution, resolution)
    return _checked_frames(model, out, expected, "predict()", "[B, S, T_future, C, H, W]", where,
                           context.device, h)


def generate_checked(model: Any, name: str, num_frames: int, channels: int, size: int,
                     rng: SampleRNG) -> torch.Tensor:
    """Call an unconditional model's `generate(num_videos, rng, num_frames)` for a generation suite and
    return validated videos in [0, 1]: one per row of `rng` (video n from its stream (n, 0)).

    -> float32 [N, T, C, size, size] in [0, 1]   (N = rng.shape[0], T = num_frames)
    """
    if rng.shape[1] != 1:
        raise ValueError(f"generate_checked draws one video per rng row, got a SampleRNG of {rng.shape[1]} samples")
    n = rng.shape[0]
    where = f"model '{name}', generated videos {rng.video_ids[0]}..{rng.video_ids[-1]} (sample stream {rng.sample_ids[0]})"
    resolution = getattr(model, "resolution", None) or size
    try:
        with torch.no_grad():
            out = model.generate(n, rng, num_frames)
    except Exception as exc:
        raise ModelError(f"{where}: generate() raised {type(exc).__name__}: {exc}") from exc
    expected = (n, num_frames, channels, resolution, resolution)
    return _checked_frames(model, out, expected, "generate()", "[N, T, C, H, W]", where, rng.device, size)


def _checked_frames(model: Any, out: Any, expected: tuple[int, ...], call: str, layout: str, where: str,
                    device: torch.device, size: int) -> torch.Tensor:
    """A model's output frames [..., C, r, r] checked against the contract (shape, dtype, device,
    finite, within value_range) -> float32 [..., C, size, size] in [0, 1]."""
    lo, hi = (float(v) for v in getattr(model, "value_range", (0.0, 1.0)))
    if not isinstance(out, torch.Tensor):
        raise ModelError(f"{where}: {call} must return a torch.Tensor, got {type(out).__name__}")
    if tuple(out.shape) != expected:
        raise ModelError(f"{where}: output shape {list(out.shape)}, expected {layout} = {list(expected)}")
    if not out.is_floating_point():
        raise ModelError(f"{where}: output dtype {out.dtype}, expected a floating point tensor")
    if device_key(out.device) != device_key(device):
        raise ModelError(f"{where}: output on {out.device}, expected on {device} (where the harness gave its inputs)")
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        bad = (~finite).sum().item()
        raise ModelError(f"{where}: output has {bad} NaN/Inf values of {out.numel()}")
    out = out.float()
    low, high = out.min().item(), out.max().item()
    if low < lo - RANGE_TOLERANCE or high > hi + RANGE_TOLERANCE:
        raise ModelError(f"{where}: output values in [{low:.4g}, {high:.4g}], outside the model's declared "
                         f"value_range [{lo:g}, {hi:g}]")
    out = ((out.clamp(lo, hi) - lo) / (hi - lo))                        # [..., C, r, r] in [0, 1]
    return resize_frames(out, size).clamp(0.0, 1.0)                     # [..., C, size, size]
