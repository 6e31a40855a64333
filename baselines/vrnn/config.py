"""Hierarchical conditional VRNN configurations: one dataclass, the paper-size configs, the CPU-size `tiny` one.

Where the values come from: `shared/design/baselines.md` §5 (released code of `facebookresearch/improved_vrnn`,
read by the spec's author; nothing here is copied from it). A config is built in the same fixed order
as SVG's (`baselines/svg/config.py`), each step overriding the previous one:

1. the base: `FULL[dataset]` or `TINY` (architecture, objective, optimiser);
2. the suite: channels, training context / predicted frames (and the frame size, for `full`);
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).

Sizes follow two rules taken from the spec's 64x64 tables:
  * encoder level l (resolution S / 2**l, then a last level at 1x1) has `n_hid * min(2**l, max_mult)`
    channels, the 1x1 level as many as the 4x4 one: 64, 128, 256, 512, 512, 512 for n_hid 64;
  * everything at resolution r (renderer stage, prior / posterior level, latent channels of a level
    finer than 1x1) has the encoder's width at r; the 1x1 latent has `n_z` channels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs


VARIANTS = ("hier", "1l")
MODEL_NAMES = {"hier": "hier_vrnn", "1l": "vrnn_1l"}
REC_LOSSES = ("l1", "l2", "bce")


@dataclass(frozen=True)
class VrnnConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "VRNN"
    variant: str = "hier"            # hier (latents at 1, S/8 and S/2: "1-8-32" at 64x64) | 1l (the 1x1 latent only)
    image_size: int = 64             # frames the networks read and write, image_size x image_size
    channels: int = 3
    n_hid: int = 64                  # width of encoder level 0; level l has n_hid * min(2**l, max_mult)
    max_mult: int = 8
    n_z: int = 10                    # channels of the 1x1 latent
    enc_blocks: int = 2              # ResNet blocks per encoder level after level 0 (level 0 has one)
    latent_sizes: tuple[int, ...] = ()   # resolutions of the latent levels; () = the variant's default
    prior_topdown: bool = False      # prior level l also reads the coarser samples (released code: False)
    rec_loss: str = "l1"             # l1 | l2 | bce: reconstruction term, summed over pixels and frames
    beta: float = 1.0                # KL weight after warm-up
    beta_warmup: int = 0             # steps of linear warm-up of beta from 0 (0: none)
    n_ctx: int = 2                   # training: context frames (also fixed by the init nets' input width)
    n_train_fut: int = 10            # training: predicted frames
    lr: float = 1e-4                 # Adam
    weight_decay: float = 1e-4       # Adam's L2 penalty (torch.optim.Adam weight_decay)
    batch_size: int = 16
    steps: int = 1_352_000
    seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "latent_sizes", tuple(int(r) for r in self.latent_sizes)
                           or default_latent_sizes(self.variant, self.image_size))
        levels = math.log2(self.image_size) if self.image_size > 0 else 0.5
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {VARIANTS}"),
            (self.rec_loss in REC_LOSSES, f"rec_loss must be one of {REC_LOSSES}"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (self.image_size >= 8 and levels.is_integer(), "image_size must be a power of two >= 8"),
            (min(self.n_hid, self.max_mult, self.n_z, self.enc_blocks, self.n_ctx, self.n_train_fut,
                 self.batch_size, self.steps) >= 1,
             "sizes, blocks, frames, batch_size and steps must be >= 1"),
            (set(self.latent_sizes) <= set(resolutions(self.image_size)) and len(set(self.latent_sizes))
             == len(self.latent_sizes) and self.latent_sizes[0] == 1
             and list(self.latent_sizes) == sorted(self.latent_sizes),
             f"latent_sizes must start at 1 and increase through encoder resolutions "
             f"{resolutions(self.image_size) if levels.is_integer() and self.image_size >= 8 else '?'}"),
            (self.variant != "1l" or self.latent_sizes == (1,), "variant 1l has the single latent_sizes (1,)"),
            (self.beta >= 0 and self.beta_warmup >= 0 and self.lr > 0 and self.weight_decay >= 0,
             "need beta >= 0, beta_warmup >= 0, lr > 0, weight_decay >= 0"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"VRNN config: {why} (config: {self.to_dict()})")

    @property
    def name(self) -> str:
        return MODEL_NAMES[self.variant]


FIELDS = [f.name for f in dataclasses.fields(VrnnConfig)]


def resolutions(image_size: int) -> list[int]:
    """Encoder resolutions, finest first: S, S/2, ..., 4, then 1 (64 -> 64, 32, 16, 8, 4, 1)."""
    return [image_size >> l for l in range(int(math.log2(image_size)) - 1)] + [1]


def default_latent_sizes(variant: str, image_size: int) -> tuple[int, ...]:
    """hier: 1, S/8, S/2 (the paper's 1-8-32 at 64x64; 1-4-16 at 32x32); 1l: 1."""
    if variant == "hier" and image_size >= 8:
        return (1, image_size // 8, image_size // 2)
    return (1,)


# Paper-size configs by the suite's dataset key (baselines.md §5.2, §5.4). One "epoch" of the released
# training is a pass over the training set at batch 16; steps = 500 epochs, warm-up = 20 epochs, when the
# spec's `--beta_wu 1` recipe is followed. Epoch sizes: BAIR 43,264 clips -> 2,704 steps; SM-MNIST
# 60,000 clips (the MNIST training digits, an assumption) -> 3,750 steps; Cityscapes 2,975 snippets ->
# 186 steps (an assumption).
def _schedule(epoch_steps: int) -> dict[str, int]:
    return dict(steps=500 * epoch_steps, beta_warmup=20 * epoch_steps)


FULL: dict[str, dict[str, Any]] = {
    "smmnist": dict(rec_loss="bce", **_schedule(3_750)),
    "smmnist-mini": dict(rec_loss="bce", **_schedule(3_750)),
    "bair": dict(rec_loss="l1", **_schedule(2_704)),
    "cityscapes": dict(rec_loss="l1", **_schedule(186)),     # resolution and protocol [U] in the spec
}

# CPU size (baselines.md §5.4 "tiny config", narrowed so that `vbench train --config tiny` runs on one CPU
# thread): 32x32 frames, n_hid 4 with widths capped at 4 * n_hid (encoder / renderer widths 4, 8, 16, 16, 16
# at 32, 16, 8, 4, 1), one ResNet block per encoder level, latents 1-4-16 (channels n_z 4, 16, 8), batch 8,
# lr 1e-3 for a short run, beta warmed up over the first 200 of 900 steps (about 13 minutes on one thread).
# The spec's own tiny setup (n_hid 8, batch 2, 3-frame clips) is the one the tests use, built with VrnnConfig.
TINY: dict[str, Any] = dict(image_size=32, n_hid=4, max_mult=4, n_z=4, enc_blocks=1, beta=1.0, beta_warmup=200,
                            lr=1e-3, weight_decay=1e-4, batch_size=8, steps=900)


def make_config(variant: str, spec: str, dataset: str, channels: int, resolution: int, n_ctx: int,
                n_train_fut: int, overrides: dict[str, Any] | None = None) -> VrnnConfig:
    """The config for training `variant` on a suite's data: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "VRNN", variant, MODEL_NAMES[variant])
    if base == "full":
        if dataset not in FULL:
            raise ValueError(f"no paper-size VRNN config for dataset '{dataset}' (have: {', '.join(FULL)}); "
                             "pass --config file.yaml with the settings to use")
        values = dict(FULL[dataset], image_size=resolution)
    else:
        values = dict(TINY)
        if dataset in FULL:
            values["rec_loss"] = FULL[dataset]["rec_loss"]
    values.update(variant=variant, channels=channels, n_ctx=n_ctx, n_train_fut=n_train_fut)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return VrnnConfig(**values)
