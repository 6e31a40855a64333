"""VRNN-GAN configurations: one dataclass, the paper-faithful `full` config and the CPU-size `tiny` one.

Where the values come from: `shared/design/seed-systems.md` §2 (the thesis's VRNN-GAN: no numbers are
given). The generator's widths follow the hierarchical VRNN's (`baselines/vrnn/config.py`: encoder level
l has `n_hid * min(2**l, max_mult)` channels, the renderer the encoder's width at each resolution); the
optimiser follows VGAN's GAN recipe (Adam 2e-4, betas (0.5, 0.999)); batch 16 is the VRNN's. A config
is built in one fixed order, each step overriding the previous one:

1. the base: `FULL` or `TINY`;
2. the suite: channels, training context / predicted frames (and the frame size, for `full`);
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs

NAME = "vrnn_gan"
VARIANT = "gan"       # one variant; the field lets the shared checkpoint loader check it


@dataclass(frozen=True)
class VrnnGanConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "VRNN-GAN"
    variant: str = VARIANT
    image_size: int = 64             # frames the networks read and write, image_size x image_size
    channels: int = 3
    n_hid: int = 64                  # VRNN encoder / renderer widths: level l has n_hid * min(2**l, max_mult)
    max_mult: int = 8
    enc_blocks: int = 2              # ResNet blocks per encoder level after level 0
    n_z: int = 10                    # z_t ~ N(0, I) per predicted step
    ndf: int = 64                    # discriminator: 2D level l has ndf * 2**l channels; 3D layers 2x the last
    rec_weight: float = 0.0          # deviation (0 = the thesis): weight of mean |x_hat - x| over predicted frames
    n_ctx: int = 2                   # context frames (the init nets read exactly these)
    n_train_fut: int = 10            # training: predicted frames
    lr: float = 2e-4                 # Adam, generator
    d_lr: float = 2e-4               # Adam, discriminator
    beta1: float = 0.5
    batch_size: int = 16
    steps: int = 100_000             # no figure in the thesis: VGAN's choice
    seed: int = 0

    def __post_init__(self):
        levels = math.log2(self.image_size) if self.image_size > 0 else 0.5
        checks = [
            (self.variant == VARIANT, f"variant must be {VARIANT!r}"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (self.image_size >= 16 and levels.is_integer(), "image_size must be a power of two >= 16"),
            (min(self.n_hid, self.max_mult, self.enc_blocks, self.n_z, self.ndf, self.n_ctx, self.n_train_fut,
                 self.batch_size, self.steps) >= 1, "sizes, blocks, frames, batch_size and steps must be >= 1"),
            (self.rec_weight >= 0 and self.lr > 0 and self.d_lr > 0 and 0 <= self.beta1 < 1,
             "need rec_weight >= 0, lr > 0, d_lr > 0, 0 <= beta1 < 1"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"VRNN-GAN config: {why} (config: {self.to_dict()})")

    @property
    def name(self) -> str:
        return NAME


FIELDS = [f.name for f in dataclasses.fields(VrnnGanConfig)]

# Paper-faithful: the hier_vrnn's full widths (n_hid 64, two ResNet blocks per level), no reconstruction term.
FULL: dict[str, Any] = dict(n_hid=64, max_mult=8, enc_blocks=2, n_z=10, ndf=64, rec_weight=0.0, lr=2e-4,
                            d_lr=2e-4, beta1=0.5, batch_size=16, steps=100_000)

# CPU size: 32x32 frames, encoder / renderer widths 8, 16, 32, 32, 32 at 32, 16, 8, 4, 1, one ResNet block per
# level, z 8, discriminator 8 / 16 (2D) then 32 (3D), batch 8. The reconstruction term (weight 10) is the
# deviation that makes a briefly trained checkpoint usable; both lrs are 1e-3 for a short run (at the
# discriminator's 2e-4 it stayed near chance for 150 steps in a trial).
TINY: dict[str, Any] = dict(image_size=32, n_hid=8, max_mult=4, enc_blocks=1, n_z=8, ndf=8, rec_weight=10.0,
                            lr=1e-3, d_lr=1e-3, beta1=0.5, batch_size=8, steps=1800)


def make_config(spec: str, channels: int, resolution: int, n_ctx: int, n_train_fut: int,
                overrides: dict[str, Any] | None = None) -> VrnnGanConfig:
    """The config for training on a suite's data: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "VRNN-GAN", VARIANT, NAME)
    values = dict(FULL, image_size=resolution) if base == "full" else dict(TINY)
    values.update(channels=channels, n_ctx=n_ctx, n_train_fut=n_train_fut)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return VrnnGanConfig(**values)
