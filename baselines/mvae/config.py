"""MVAE configurations: one dataclass, the paper-size config and the CPU-size `tiny` one.

Where the values come from: `shared/design/seed-systems.md` §1, with the gaps filled from Wu & Goodman
2018 (z 64, lambda 1, beta 1, Adam lr 1e-3) and Larsen et al. 2016 (the discriminator layer l, gamma);
every choice is listed in `baselines/README.md` (## mvae, ## mvae_gan). A config is built in one fixed
order, each step overriding the previous one:

1. the base: `FULL` or `TINY` (architecture and optimiser), with the variant's GAN settings;
2. the suite: channels, training context / predicted frames (and the frame size, for `full`);
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs
from baselines.svg.nets import level_widths

VARIANTS = ("vae", "gan")
MODEL_NAMES = {"vae": "mvae", "gan": "mvae_gan"}


@dataclass(frozen=True)
class MvaeConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "MVAE"
    variant: str = "vae"             # vae (pixel Bernoulli likelihood, `mvae`) | gan (VAE-GAN, `mvae_gan`)
    image_size: int = 64
    channels: int = 1
    nf: int = 64                     # DCGAN encoder / decoder: level l has nf * 2**min(l, 3) channels
    g_dim: int = 128                 # frame code size (the encoder's output, the LSTMs' input)
    z_dim: int = 64                  # the shared latent (Wu & Goodman's MNIST size)
    rnn_size: int = 256              # the two expert LSTMs (one per modality)
    rnn_layers: int = 1
    lambda_a: float = 1.0            # weight of log p(x_t | z), modality a = the current frame
    lambda_b: float = 1.0            # weight of log p(x_{t-1} | z), modality b = the previous frame
    beta: float = 1.0                # KL weight, reached after `kl_warmup` steps (linear from 0)
    kl_warmup: int = 0
    ndf: int = 64                    # gan: discriminator width (a DCGAN encoder, level l: ndf * 2**min(l, 3))
    d_code: int = 512                # gan: the discriminator's code before its logit (Larsen: FC 512)
    disc_layer: int = 2              # gan: l, the discriminator level whose features are the likelihood's
    gamma: float = 1.0               # gan: weight of the decoder's GAN loss against the feature likelihood
    pixel_weight: float = 0.0        # gan: weight of the Bernoulli pixel likelihood kept beside the feature one
                                     #   (not in Larsen et al.: 0 at full size; the tiny CPU config uses it)
    init_from: str = ""              # gan: "" (random), "bundled" (the bundled `mvae` checkpoint) or a `mvae`
                                     #   model.pt: its encoder, LSTMs and decoder start training (not Larsen's)
    d_lr: float = 3e-4               # gan: the discriminator's Adam lr
    lr: float = 1e-3                 # Adam, encoder (CNN + LSTMs) and decoder
    beta1: float = 0.9
    batch_size: int = 32
    steps: int = 100_000
    n_ctx: int = 5                   # training: context frames (the sampler conditions on as many)
    n_train_fut: int = 10            # training: predicted frames
    seed: int = 0

    def __post_init__(self):
        try:
            levels = len(level_widths(self.image_size, 1))
        except ValueError:
            levels = 0
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {VARIANTS}"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (levels >= 1, "image_size must be a power of two >= 8"),
            (min(self.nf, self.g_dim, self.z_dim, self.rnn_size, self.rnn_layers, self.ndf, self.d_code,
                 self.n_ctx, self.n_train_fut, self.batch_size, self.steps) >= 1,
             "sizes, layers, frames, batch_size and steps must be >= 1"),
            (0 <= self.disc_layer < levels, f"disc_layer must be a discriminator level, 0..{levels - 1}"),
            (min(self.lambda_a, self.lambda_b, self.beta, self.gamma, self.pixel_weight, self.kl_warmup) >= 0,
             "lambda_a, lambda_b, beta, gamma, pixel_weight and kl_warmup must be >= 0"),
            (self.lr > 0 and self.d_lr > 0 and 0 <= self.beta1 < 1, "need lr > 0, d_lr > 0, 0 <= beta1 < 1"),
            (self.variant == "gan" or not self.init_from, "init_from is for mvae_gan (it starts from an mvae)"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"MVAE config: {why} (config: {self.to_dict()})")

    @property
    def name(self) -> str:
        return MODEL_NAMES[self.variant]


FIELDS = [f.name for f in dataclasses.fields(MvaeConfig)]

# Paper size: DCGAN-64 frames as SVG's SM-MNIST encoder, z 64, one LSTM of 256 cells per expert; the GAN
# variant's discriminator is the same DCGAN encoder (64 -> 512 channels) with Larsen's FC 512, l = level 2
# (8x8 at 64 px), Adam lr 3e-4 (Larsen's RMSProp lr) and beta1 0.5 for both of its optimisers.
FULL: dict[str, Any] = dict(nf=64, g_dim=128, z_dim=64, rnn_size=256, rnn_layers=1, ndf=64, d_code=512,
                            disc_layer=2, batch_size=32, steps=100_000)

# CPU size: 32x32 frames, DCGAN-32 with 16/32/64 channels, g_dim 64, z 16, LSTMs of 64 cells; the
# discriminator 16/32/64 channels, code 32, l = level 1 (8x8). The bundled smmnist-mini checkpoints use it.
TINY: dict[str, Any] = dict(image_size=32, nf=16, g_dim=64, z_dim=16, rnn_size=64, rnn_layers=1, ndf=16,
                            d_code=32, disc_layer=1, batch_size=16, steps=1200, kl_warmup=500)

# The GAN variant's optimiser (Larsen et al.: lr 3e-4; beta1 0.5 as DCGAN and `vgan`) and gamma, by base.
# Its tiny size halves the batch (one iteration costs about three of `mvae`'s on a CPU) and starts from the
# bundled `mvae` with the pixel term kept: from scratch, a few hundred CPU steps drew grey noise.
GAN: dict[str, dict[str, Any]] = {
    "full": dict(lr=3e-4, d_lr=3e-4, beta1=0.5, gamma=100.0),
    "tiny": dict(lr=3e-4, d_lr=3e-4, beta1=0.5, gamma=10.0, pixel_weight=1.0, init_from="bundled", kl_warmup=0,
                 batch_size=8, steps=600)}


def make_config(variant: str, spec: str, dataset: str, channels: int, resolution: int, n_ctx: int,
                n_train_fut: int, overrides: dict[str, Any] | None = None) -> MvaeConfig:
    """The config for training `variant` on a suite's data: `spec` is `full`, `tiny` or a YAML file."""
    del dataset   # one paper-size config for every dataset (the report used Moving MNIST only)
    base, file_keys = configs.read_spec(spec, FIELDS, "MVAE", variant, MODEL_NAMES[variant])
    values = dict(FULL, image_size=resolution) if base == "full" else dict(TINY)
    if variant == "gan":
        values.update(GAN[base])
    values.update(variant=variant, channels=channels, n_ctx=n_ctx, n_train_fut=n_train_fut)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return MvaeConfig(**values)
