"""Loading a trained baseline for `vbench run`: the checkpoint given, or the bundled one.

Shared by the adapters of every trainable baseline (svg, vrnn, vgan). A checkpoint is a `model.pt`
(or `last.pt`) written by `vbench train`, read with `torch.load(weights_only=True)`
(`vbench.train.load_checkpoint`); bundled ones are `baselines/checkpoints/<model>-smmnist-mini.pt`.
Every failure is a ModelError naming the model, the file and what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from vbench.adapters import VideoModel
from vbench.errors import ModelError, VBenchError

CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
BUNDLED_SUITE = "smmnist-mini"


def bundled_checkpoint(name: str) -> Path:
    return CHECKPOINTS_DIR / f"{name}-{BUNDLED_SUITE}.pt"


def train_hint(name: str) -> str:
    return (f"train one with `vbench train --model {name} --suite SUITE --out DIR` (add `--config tiny` for a "
            f"CPU-sized model) and pass `--checkpoint DIR/model.pt`")


@dataclass
class Trained:
    """A network with its weights loaded, its config and where it came from."""

    network: nn.Module
    config: Any
    bundled: bool               # no --checkpoint given: the bundled smmnist-mini one
    path: Path
    sha256: str
    trained_on: str             # the suite it was trained on
    steps: int                  # training steps done


def load_trained(name: str, variant: str, checkpoint: str | None, read_config: Callable[[dict, str], Any],
                 build: Callable[[Any], nn.Module], *, has_bundled: bool = True) -> Trained:
    """`name`'s network from `checkpoint`, or from the bundled checkpoint when it is None.

    read_config(dict, source) -> config (checked), build(config) -> network. The checkpoint must have
    been trained as `name` (a checkpoint of svg_fp is not an svg_lp) and its config's variant must be
    `variant`.
    """
    bundled = checkpoint is None
    if bundled and not has_bundled:
        raise ModelError(f"{name}: needs --checkpoint (there is no bundled one); " + train_hint(name))
    path = bundled_checkpoint(name) if bundled else Path(checkpoint).expanduser()
    if bundled and not path.is_file():
        raise ModelError(f"{name}: no --checkpoint given and the bundled checkpoint {path} is missing; "
                         + train_hint(name))
    from vbench.train import load_checkpoint
    try:
        payload = load_checkpoint(path)
    except VBenchError as exc:
        raise ModelError(f"{name}: {exc}") from None
    trained_as = payload.get("model")
    if trained_as != name:
        raise ModelError(f"{name}: checkpoint {path} was trained as {trained_as}, not {name}: score it with "
                         f"`--model {trained_as}`")
    try:
        config = read_config(payload["config"], str(path))
    except (VBenchError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{name}: {exc}") from None
    if config.variant != variant:
        raise ModelError(f"{name}: checkpoint {path} is inconsistent: trained as {name}, but its config is the "
                         f"{config.variant!r} variant (expected {variant!r})")
    network = build(config)
    try:
        network.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise ModelError(f"{name}: checkpoint {path} does not match its config: {exc}") from None
    return Trained(network=network, config=config, bundled=bundled, path=path,
                   sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                   trained_on=payload.get("suite", {}).get("name", "?"), steps=int(payload.get("step", 0)))


BATCHNORM_MODES = ("eval", "batch")


@contextlib.contextmanager
def batchnorm_mode(network: nn.Module, mode: str):
    """mode 'eval': as is (running statistics). 'batch': every BatchNorm layer of `network` normalises with
    the statistics of the batch it sees (as the released SVG / VGAN generators do) and leaves its running
    statistics unchanged."""
    if mode == "eval":
        yield
        return
    layers = [m for m in network.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.momentum) for m in layers]
    for m in layers:
        m.train()
        m.momentum = 0.0        # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for m, (training, momentum) in zip(layers, saved):
            m.train(training)
            m.momentum = momentum


class TrainedAdapter(nn.Module, VideoModel):
    """The part every trained baseline's adapter shares: loading its checkpoint (`_load`), the provenance
    the runner records (checkpoint_path, checkpoint_sha256, trained_on, steps_trained, bundled), and the
    checks that the suite's frames fit the model (each naming the model, its checkpoint and how to train)."""

    name = ""

    def _load(self, variant: str, checkpoint: str | None, read_config: Callable[[dict, str], Any],
              build: Callable[[Any], nn.Module], *, has_bundled: bool = True) -> nn.Module:
        """Load `checkpoint` (or the bundled one), keep its config and provenance, return the network."""
        trained = load_trained(self.name, variant, checkpoint, read_config, build, has_bundled=has_bundled)
        self.config, self.bundled = trained.config, trained.bundled
        self.trained_on, self.steps_trained = trained.trained_on, trained.steps
        self.checkpoint_path, self.checkpoint_sha256 = str(trained.path), trained.sha256
        self.resolution = trained.config.image_size
        return trained.network

    def _where(self) -> str:
        return f"{self.name} (checkpoint {self.checkpoint_path}, trained on {self.trained_on})"

    def _check_channels(self, c: int) -> None:
        if c != self.config.channels:
            raise ModelError(f"{self._where()}: the model reads {self.config.channels}-channel frames, the suite "
                             f"gives {c}; " + train_hint(self.name))

    def _check_bundled_context(self, tc: int) -> None:
        """The bundled checkpoints are for SM-MNIST suites with the context length they were trained on."""
        if self.bundled and tc != self.config.n_ctx:
            raise ModelError(f"{self._where()}: the bundled checkpoint is for SM-MNIST suites with "
                             f"{self.config.n_ctx} context frames, this suite gives {tc}; " + train_hint(self.name))

    def _last_context(self, context: torch.Tensor) -> torch.Tensor:
        """The last `config.n_ctx` frames of `context` [B, Tc, C, S, S], for models that read a fixed
        number of context frames, after checking that the suite's frames fit the model."""
        _, tc, c, _, _ = context.shape
        n_ctx = self.config.n_ctx
        self._check_channels(c)
        self._check_bundled_context(tc)
        if tc < n_ctx:
            raise ModelError(f"{self._where()}: the model reads {n_ctx} context frames, the suite gives {tc}; "
                             + train_hint(self.name))
        return context[:, tc - n_ctx:]                                       # [B, n_ctx, C, S, S]
