"""SAVP configurations: one dataclass, the paper-size configs per dataset and variant, and the CPU-size `tiny` one.

Where the values come from: `shared/design/baselines.md` §4.1 (the released `hparams/*/model_hparams.json`),
§4.2-4.5 (architecture, losses, schedules) and §4.6 (data and the tiny config). A config is built in one
fixed order, each step overriding the previous one:

1. the base: `FULL_COMMON` with the variant's and the dataset's values (`DATASETS`), or `TINY_COMMON` with
   the variant's values (tiny's schedules are fractions of the variant's default tiny steps, fixed: `--steps`
   changes the length of the run, not the schedules, so a run can be resumed with more steps);
2. the suite: channels, training context / predicted frames (tiny: at most 5 predicted), the frame size (`full`);
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).

The variants (spec §4.1 table):

    variant  model id   nz    L1   KL                 GAN (prior)  VAE-GAN (posterior)  feature matching    lr*   beta1  batch
    det      savp_det   0     1    0                  0            0                    0                   1e-3  0.9    32
    vae      savp_vae   nz_d  1    kl_vae_d           0            0                    0                   1e-3  0.9    32
    gan      savp_gan   nz_d  100  0                  0.1          0                    GAN D, 10           2e-4  0.5    16
    savp     savp       nz_d  100  kl_savp_d          0.1          0.1                  VAE-GAN D, 10       2e-4  0.5    16

(* generator and discriminators alike: `lr` and `d_lr` are equal at paper size), with nz_d / kl_vae_d /
kl_savp_d per dataset: BAIR 8 / 1e-3 / 1.0, KTH 32 / 1e-5 / 0.01. SM-MNIST has no SAVP config in the paper
or the released code; its `full` config takes BAIR's values (a choice).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs


VARIANTS = ("det", "vae", "gan", "savp")
MODEL_NAMES = {"det": "savp_det", "vae": "savp_vae", "gan": "savp_gan", "savp": "savp"}
TRANSFORMATIONS = ("cdna", "dna", "flow")
RECON_PASSES = ("posterior", "prior")
IMAGE_SIZES = (32, 64)      # generator depth: 2 levels at 32 px, 3 at 64 px (spec §4.2)


@dataclass(frozen=True)
class SavpConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "SAVP"
    variant: str = "savp"            # det | vae | gan | savp (see the table above)
    image_size: int = 64             # frames the networks read and write: 32 or 64
    channels: int = 3
    n_ctx: int = 2                   # training: context frames (ground truth fed in, the first n_ctx - 1
                                     #   transitions' latents come from the posterior on the prior pass)
    n_train_fut: int = 10            # training: predicted frames (sequence length n_ctx + n_train_fut)
    ngf: int = 32                    # generator width: encoder ngf, 2 ngf, 4 ngf (64 px)
    nef: int = 64                    # posterior encoder width: nef, 2 nef, 4 nef
    ndf: int = 32                    # video discriminator width: ndf, 2 ndf, 4 ndf, 8 ndf
    nz: int = 8                      # latent size (0: deterministic, no encoder)
    transformation: str = "cdna"     # cdna | dna | flow
    num_transformed: int = 4         # K transformed images (CDNA kernels, DNA kernel sets or flows)
    kernel_size: int = 5             # CDNA / DNA kernel size
    l1_weight: float = 1.0
    l2_weight: float = 0.0
    kl_weight: float = 0.0           # full value, reached at kl_anneal_end
    gan_weight: float = 0.0          # LSGAN on prior-sample videos (the "GAN" discriminator)
    vae_gan_weight: float = 0.0      # LSGAN on posterior-reconstruction videos (the "VAE-GAN" discriminator)
    gan_fm_weight: float = 0.0       # feature matching (cosine) on the GAN discriminator's features
    vae_gan_fm_weight: float = 0.0   # feature matching (cosine) on the VAE-GAN discriminator's features
    tv_weight: float = 0.001         # flow only: total variation of the flows (not in the spec's numbers: a choice)
    recon_pass: str = "posterior"    # pass the L1 / L2 terms read when nz > 0: posterior (released code) | prior
    kl_anneal_start: int = 50_000    # KL weight 0 until here, then linear ...
    kl_anneal_end: int = 100_000     # ... to kl_weight here
    schedule_sampling_k: float = 900.0   # p_gt = k / (k + exp(step / k)), 0 once below 0.001; 0 = always autoregressive
    clip_length: int = 10            # frames of the window the video discriminators judge
    lr: float = 2e-4                 # Adam, generator with the posterior encoder
    d_lr: float = 2e-4               # Adam, discriminators (the paper: = lr; used only by gan and savp)
    beta1: float = 0.5               # both optimisers
    lr_decay_start: int = 200_000    # lr constant until here, then linear ...
    lr_decay_end: int = 300_000      # ... to 0 here
    batch_size: int = 16
    steps: int = 300_000
    seed: int = 0

    def __post_init__(self):
        discriminators = self.has_discriminators
        checks = [
            (self.variant in VARIANTS, f"variant must be one of {VARIANTS}"),
            (self.transformation in TRANSFORMATIONS, f"transformation must be one of {TRANSFORMATIONS}"),
            (self.recon_pass in RECON_PASSES, f"recon_pass must be one of {RECON_PASSES}"),
            (self.image_size in IMAGE_SIZES, f"image_size must be one of {IMAGE_SIZES} (the generator's depth is "
                                             "defined for 32 px, 2 levels, and 64 px, 3 levels)"),
            (self.channels in (1, 3), "channels must be 1 or 3"),
            ((self.nz == 0) == (self.variant == "det"), "nz must be 0 for det and >= 1 for vae, gan and savp"),
            (self.nz >= 0 and min(self.ngf, self.nef, self.ndf, self.num_transformed, self.n_ctx, self.n_train_fut,
                                  self.batch_size, self.steps) >= 1,
             "nz >= 0; widths, num_transformed, frames, batch_size and steps >= 1"),
            (self.kernel_size >= 1 and self.kernel_size % 2 == 1, "kernel_size must be odd"),
            (min(self.l1_weight, self.l2_weight, self.kl_weight, self.gan_weight, self.vae_gan_weight,
                 self.gan_fm_weight, self.vae_gan_fm_weight, self.tv_weight) >= 0, "loss weights must be >= 0"),
            (self.nz > 0 or (self.kl_weight == 0 and self.vae_gan_weight == 0),
             "the KL and VAE-GAN terms need a latent (nz >= 1)"),
            ((self.gan_fm_weight == 0 or self.gan_weight > 0) and (self.vae_gan_fm_weight == 0 or self.vae_gan_weight > 0),
             "feature matching reads a discriminator, which trains only with its GAN weight > 0"),
            (not discriminators or self.clip_length >= 4, "clip_length must be >= 4 (the video discriminator's shapes)"),
            (not discriminators or self.n_ctx + self.n_train_fut - 1 >= self.clip_length,
             "the generated frames (n_ctx + n_train_fut - 1) must cover clip_length"),
            (0 <= self.kl_anneal_start <= self.kl_anneal_end and 0 <= self.lr_decay_start < self.lr_decay_end,
             "need 0 <= kl_anneal_start <= kl_anneal_end and 0 <= lr_decay_start < lr_decay_end"),
            (self.schedule_sampling_k >= 0 and self.lr > 0 and self.d_lr > 0 and 0 <= self.beta1 < 1,
             "need schedule_sampling_k >= 0, lr > 0, d_lr > 0, 0 <= beta1 < 1"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"SAVP config: {why} (config: {self.to_dict()})")

    @property
    def name(self) -> str:
        return MODEL_NAMES[self.variant]

    @property
    def sequence_length(self) -> int:
        return self.n_ctx + self.n_train_fut

    @property
    def has_discriminators(self) -> bool:
        """Whether a GAN or VAE-GAN term trains a discriminator (with its own optimiser, at `d_lr`)."""
        return self.gan_weight > 0 or self.vae_gan_weight > 0

    def lr_scale(self, step: int) -> float:
        """lr schedule: 1 until lr_decay_start, linear to 0 at lr_decay_end."""
        start, end = self.lr_decay_start, self.lr_decay_end
        return min(max(1.0 - (step - start) / (end - start), 0.0), 1.0)


FIELDS = [f.name for f in dataclasses.fields(SavpConfig)]

# Per dataset (spec §4.1): latent size and the KL weights of savp_vae and savp. SM-MNIST: BAIR's values (a choice).
DATASETS: dict[str, dict[str, float]] = {
    "bair": dict(nz=8, kl_vae=1e-3, kl_savp=1.0),
    "kth": dict(nz=32, kl_vae=1e-5, kl_savp=0.01),
    "smmnist": dict(nz=8, kl_vae=1e-3, kl_savp=1.0),
    "smmnist-mini": dict(nz=8, kl_vae=1e-3, kl_savp=1.0),
}


def _variant_values(variant: str, nz: int, kl_vae: float, kl_savp: float) -> dict[str, Any]:
    """The loss weights and optimiser of `variant` (spec §4.1 table)."""
    gan_opt = dict(lr=2e-4, d_lr=2e-4, beta1=0.5, batch_size=16)
    return {
        "det": dict(nz=0, l1_weight=1.0, lr=1e-3, d_lr=1e-3, beta1=0.9, batch_size=32),
        "vae": dict(nz=nz, l1_weight=1.0, kl_weight=kl_vae, lr=1e-3, d_lr=1e-3, beta1=0.9, batch_size=32),
        "gan": dict(nz=nz, l1_weight=100.0, gan_weight=0.1, gan_fm_weight=10.0, **gan_opt),
        "savp": dict(nz=nz, l1_weight=100.0, kl_weight=kl_savp, gan_weight=0.1, vae_gan_weight=0.1,
                     vae_gan_fm_weight=10.0, **gan_opt),
    }[variant]


# Paper size (spec §4.1-4.2): ngf 32, nef 64, ndf 32, CDNA with 4 kernels of 5x5, clip_length 10, 300k steps
# (KL annealed 50k -> 100k, lr decayed 200k -> 300k, scheduled sampling k = 900).
FULL_COMMON: dict[str, Any] = dict(ngf=32, nef=64, ndf=32, transformation="cdna", num_transformed=4, kernel_size=5,
                                   clip_length=10, steps=300_000, kl_anneal_start=50_000, kl_anneal_end=100_000,
                                   lr_decay_start=200_000, lr_decay_end=300_000, schedule_sampling_k=900.0)

# CPU size (spec §4.6 tiny config): 32x32 frames, ngf 8, nef 8, ndf 8, nz 4, CDNA with K = 2 kernels of 5x5,
# clip_length 4, the suite's channels and context frames, at most TINY_MAX_FUTURE predicted frames (CPU time;
# smmnist-mini: 5 -> 5, 10-frame clips), batch 4, SM-MNIST-like KL weights (BAIR's). Generator lr 1e-3 for every
# variant (at the paper's 2e-4 the gan / savp generators barely move in a few hundred steps and their
# discriminators win outright); discriminator lr the paper's 2e-4 (at 1e-3 the spectral-norm discriminators
# stay at a constant output). Steps per variant, sized to about 10 minutes each on the shared 2-core CPU (the
# GAN variants cost 2-3x more per step); the schedules are the paper's fractions of those steps (tiny_schedules).
TINY_COMMON: dict[str, Any] = dict(image_size=32, ngf=8, nef=8, ndf=8, transformation="cdna", num_transformed=2,
                                   kernel_size=5, clip_length=4)
TINY_LATENT = dict(nz=4, kl_vae=1e-3, kl_savp=1.0)
TINY_STEPS = {"det": 450, "vae": 400, "gan": 200, "savp": 180}
TINY_OPTIMISER = dict(lr=1e-3, d_lr=2e-4, batch_size=4)
TINY_MAX_FUTURE = 5


def tiny_schedules(steps: int) -> dict[str, Any]:
    """The paper's schedules as fractions of a `steps`-step run: KL annealed over [1/6, 1/3] of the run
    (50k -> 100k of 300k), lr decayed over [2/3, 1] (200k -> 300k). Scheduled sampling: k = steps / 40, so
    that p_gt falls below 0.001 about a quarter of the way in (the paper's k = 900: 4 % of the way)."""
    return dict(steps=steps, kl_anneal_start=steps // 6, kl_anneal_end=steps // 3, lr_decay_start=2 * steps // 3,
                lr_decay_end=steps, schedule_sampling_k=max(steps / 40, 1.0))


def make_config(variant: str, spec: str, dataset: str, channels: int, resolution: int, n_ctx: int,
                n_train_fut: int, overrides: dict[str, Any] | None = None) -> SavpConfig:
    """The config for training `variant` on a suite's data: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "SAVP", variant, MODEL_NAMES[variant])
    if base == "full":
        if dataset not in DATASETS:
            raise ValueError(f"no paper-size SAVP config for dataset '{dataset}' (have: {', '.join(DATASETS)}); "
                             "pass --config file.yaml with the settings to use")
        values = dict(FULL_COMMON, image_size=resolution, **_variant_values(variant, **DATASETS[dataset]))
    else:
        values = dict(TINY_COMMON, **_variant_values(variant, **TINY_LATENT))
        values.update(TINY_OPTIMISER, **tiny_schedules(TINY_STEPS[variant]))
        n_train_fut = min(n_train_fut, TINY_MAX_FUTURE)
    values.update(variant=variant, channels=channels, n_ctx=n_ctx, n_train_fut=n_train_fut)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return SavpConfig(**values)
