"""VGAN configurations: one dataclass, the paper-size configs and the CPU-size `tiny` one.

Where the values come from: `shared/design/baselines.md` §6 (released code of `cvondrick/videogan`).
A config is built in one fixed order, each step overriding the previous one:

1. the base: `FULL[variant]` or `TINY[variant]` (architecture and optimiser);
2. the suite: channels;
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).

The frame size fixes the architecture's depth and the clip length: a video of `image_size` pixels
has `levels = log2(image_size) - 2` upsampling levels and `frames = image_size // 2` frames (64 px:
32 frames, the paper's "a little over a second"; 32 px: 16 frames). The suite's context / predicted
frames do not enter: VGAN trains on clips of `frames` frames, and `vgan_cond` predicts from one frame.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs


VARIANTS = ("uncond", "cond")


@dataclass(frozen=True)
class VganConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "VGAN"
    variant: str = "uncond"          # uncond (z -> video, `vgan`) | cond (frame -> video, `vgan_cond`)
    image_size: int = 64             # frames are image_size x image_size; the video has image_size // 2 frames
    channels: int = 3
    z_dim: int = 100                 # uncond: size of z ~ N(0, I). cond: 0 = the released code (no noise);
                                     #   > 0 = extension: z_dim noise channels tiled over the 4x4 code map
    ngf: int = 64                    # generator width: level l of the streams has ngf * 2**(levels-1-l) channels
    ndf: int = 64                    # discriminator width: level l has ndf * 2**l channels
    mask_l1: float = 0.1             # uncond: weight of the mask sparsity penalty, mask_l1 * mean|m|
    first_frame_l1: float = 0.0      # cond: weight of mean|first generated frame - input frame| (in [-1, 1])
    init_std: float = 0.01           # convolution weights ~ N(0, init_std), biases 0; BatchNorm gamma ~ N(1, 0.02)
    lr: float = 2e-4                 # Adam, both networks
    beta1: float = 0.5
    batch_size: int = 64
    steps: int = 100_000             # no figure in the spec (the code says 100 passes over its data): a choice
    seed: int = 0

    def __post_init__(self):
        levels = math.log2(self.image_size) - 2 if self.image_size > 0 else 0.0
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {VARIANTS}"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (levels >= 1 and levels.is_integer(), "image_size must be a power of two >= 8"),
            (self.z_dim >= (1 if self.variant == "uncond" else 0), "z_dim must be >= 1 (uncond) or >= 0 (cond)"),
            (min(self.ngf, self.ndf, self.batch_size, self.steps) >= 1, "ngf, ndf, batch_size and steps must be >= 1"),
            (self.variant == "uncond" or self.ngf * 2 ** (int(levels) - 1) >= 2,
             "cond: the code map (ngf * 2**(levels - 1) channels) must have at least 2 channels"),
            (min(self.mask_l1, self.first_frame_l1) >= 0 and self.init_std > 0 and self.lr > 0
             and 0 <= self.beta1 < 1, "need penalties >= 0, init_std > 0, lr > 0, 0 <= beta1 < 1"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"VGAN config: {why} (config: {self.to_dict()})")

    @property
    def levels(self) -> int:
        """Upsampling levels of the streams: 4 at 64 px (4 -> 8 -> 16 -> 32, then the heads to 64)."""
        return int(math.log2(self.image_size)) - 2

    @property
    def frames(self) -> int:
        """Frames of a generated (and a training) video: 2 at 4x4, doubled at every level."""
        return self.image_size // 2


FIELDS = [f.name for f in dataclasses.fields(VganConfig)]

# Paper size (baselines.md §6.1, §6.2): 64x64, 32 frames; the same for every dataset.
FULL: dict[str, dict[str, Any]] = {
    "uncond": dict(image_size=64, z_dim=100, ngf=64, ndf=64, mask_l1=0.1, first_frame_l1=0.0, batch_size=64),
    "cond": dict(image_size=64, z_dim=0, ngf=128, ndf=128, mask_l1=0.0, first_frame_l1=10.0, batch_size=32),
}

# CPU size (baselines.md §6 "tiny config"): 32x32, 16 frames, streams 64 -> 32 -> 16 channels, D 8 -> 16 -> 32,
# z 16 (uncond). Used by the tests and by the bundled smmnist-mini vgan_cond checkpoint.
TINY: dict[str, dict[str, Any]] = {
    "uncond": dict(image_size=32, z_dim=16, ngf=16, ndf=8, mask_l1=0.1, first_frame_l1=0.0, batch_size=16,
                   steps=4000),
    "cond": dict(image_size=32, z_dim=0, ngf=16, ndf=8, mask_l1=0.0, first_frame_l1=10.0, batch_size=16,
                 steps=4000),
}


def make_config(variant: str, spec: str, channels: int, overrides: dict[str, Any] | None = None) -> VganConfig:
    """The config for training `variant` on a suite with `channels`: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "VGAN", variant, variant)
    values = dict((FULL if base == "full" else TINY)[variant])
    values.update(variant=variant, channels=channels)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return VganConfig(**values)
