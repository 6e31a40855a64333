"""SVG configurations: one dataclass, the paper-size configs per dataset and the CPU-size `tiny` one.

Where the values come from: `shared/design/baselines.md` §2 and §3.6 (released code of `edenton/svg`).
A config is built in one fixed order, each step overriding the previous one:

1. the base: `FULL[dataset]` or `TINY` (architecture and optimiser);
2. the suite: channels, training context / predicted frames (and the frame size, for `full`);
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs


VARIANTS = ("det", "fp", "lp")
BACKBONES = ("dcgan", "vgg")
SKIP_SOURCES = ("svg_code", "last_context", "every_step")


@dataclass(frozen=True)
class SvgConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "SVG"
    variant: str = "lp"              # det (no latent) | fp (fixed prior N(0, I)) | lp (learned prior)
    backbone: str = "dcgan"          # dcgan (SM-MNIST) | vgg (KTH, BAIR)
    image_size: int = 64             # frames the networks read and write, image_size x image_size
    channels: int = 1
    nf: int = 64                     # channels of the first encoder level; level l has nf * 2**min(l, 3)
    vgg_layers: tuple[int, ...] = () # 3x3 layers per VGG level; () = the released (2, 2, 3, 3)
    g_dim: int = 128                 # frame code size
    z_dim: int = 10                  # latent size (unused by det)
    rnn_size: int = 256
    predictor_layers: int = 2        # LSTM_theta
    posterior_layers: int = 1        # LSTM_phi
    prior_layers: int = 1            # LSTM_psi (lp only)
    beta: float = 1e-4               # KL weight
    skip_source: str = "svg_code"    # which frame feeds the decoder skips, see model.py
    n_ctx: int = 5                   # training: context frames
    n_train_fut: int = 10            # training: predicted frames
    lr: float = 2e-3                 # Adam
    lr_drops: tuple[tuple[int, float], ...] = ()   # ((step, lr), ...): from `step` on, Adam's lr is `lr`
    beta1: float = 0.9
    batch_size: int = 100
    steps: int = 180_000             # 300 "epochs" x 600 iterations in the released code
    seed: int = 0

    def __post_init__(self):
        try:
            drops = tuple((int(step), float(lr)) for step, lr in self.lr_drops)
        except (TypeError, ValueError):
            raise ValueError(f"SVG config: lr_drops must be a list of [step, lr] pairs, got {self.lr_drops!r}") from None
        object.__setattr__(self, "lr_drops", drops)
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {VARIANTS}"),
            (self.backbone in BACKBONES, f"backbone must be one of {BACKBONES}"),
            (self.skip_source in SKIP_SOURCES, f"skip_source must be one of {SKIP_SOURCES}"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (min(self.nf, self.g_dim, self.z_dim, self.rnn_size, self.predictor_layers,
                 self.posterior_layers, self.prior_layers, self.n_ctx, self.n_train_fut,
                 self.batch_size, self.steps) >= 1, "sizes, layers, frames, batch_size and steps must be >= 1"),
            (self.beta >= 0 and self.lr > 0 and 0 <= self.beta1 < 1, "need beta >= 0, lr > 0, 0 <= beta1 < 1"),
            (all(s > 0 and lr > 0 for s, lr in drops) and all(a[0] < b[0] for a, b in zip(drops, drops[1:])),
             "lr_drops needs steps > 0 in increasing order and lrs > 0"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"SVG config: {why} (config: {self.to_dict()})")
        object.__setattr__(self, "vgg_layers", tuple(self.vgg_layers))

    def lr_at(self, step: int) -> float:
        """Adam's learning rate for training step `step` (0-based): `lr`, then each drop from its step on."""
        return next((lr for start, lr in reversed(self.lr_drops) if step >= start), self.lr)


FIELDS = [f.name for f in dataclasses.fields(SvgConfig)]

# Paper-size configs by the suite's dataset key (baselines.md §2, §3.6).
FULL: dict[str, dict[str, Any]] = {
    "smmnist": dict(backbone="dcgan", z_dim=10, beta=1e-4, lr=2e-3),
    "smmnist-mini": dict(backbone="dcgan", z_dim=10, beta=1e-4, lr=2e-3),
    "bair": dict(backbone="vgg", z_dim=64, beta=1e-4, lr=2e-3),
    "kth": dict(backbone="vgg", z_dim=24, beta=1e-6, lr=8e-4),   # z 24: README recipe; the paper's is unverified
}

# CPU size (baselines.md §2 "tiny config"): 32x32 frames, DCGAN-32 with 8/16/32 channels, g_dim 16,
# LSTMs of 32 cells, z_dim 4. Used by the tests; the bundled smmnist-mini checkpoints widen it
# (baselines/checkpoints/svg_<variant>-smmnist-mini.yaml).
TINY: dict[str, Any] = dict(backbone="dcgan", image_size=32, nf=8, g_dim=16, z_dim=4, rnn_size=32,
                            beta=1e-4, lr=2e-3, batch_size=16, steps=5000)


def make_config(variant: str, spec: str, dataset: str, channels: int, resolution: int, n_ctx: int,
                n_train_fut: int, overrides: dict[str, Any] | None = None) -> SvgConfig:
    """The config for training `variant` on a suite's data: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "SVG", variant, f"svg_{variant}")
    if base == "full":
        if dataset not in FULL:
            raise ValueError(f"no paper-size SVG config for dataset '{dataset}' (have: {', '.join(FULL)}); "
                             "pass --config file.yaml with the architecture to use")
        values = dict(FULL[dataset], image_size=resolution)
    else:
        values = dict(TINY)
    values.update(variant=variant, channels=channels, n_ctx=n_ctx, n_train_fut=n_train_fut)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return SvgConfig(**values)
