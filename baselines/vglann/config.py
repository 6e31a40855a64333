"""VGLANN configurations: one dataclass, the paper-size config and the CPU-size `tiny` one.

Where the values come from: `shared/design/baselines.md` §7 (the VGLANN report and code,
`danielafrimi/GLANN-VIDEO`, and GLANN, `yedidh/glann`). A config is built in one fixed order, each
step overriding the previous one:

1. the base: `FULL` or `TINY`;
2. the suite: channels;
3. a YAML file's keys, when `--config file.yaml` is given (`base: full|tiny` picks step 1);
4. explicit command-line overrides (`--steps`, `--batch-size`, `--seed`).

The generator is VGAN's two-stream generator (§6.1): a video of `image_size` pixels has
`image_size // 2` frames (64 px: 32 frames, 32 px: 16). GLO trains on a fixed set of `num_videos`
training clips (one latent each) for `epochs` passes; `steps` (0 = derived) is `epochs` whole passes
of `num_videos // batch_size` steps, unless set. The noise-to-latent mapper is fitted once after the
last GLO step.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from baselines import configs

GLO_LOSSES = ("vgg", "laplacian", "video", "l1")
MAPPERS = ("imle", "vae", "gmm")


@dataclass(frozen=True)
class VglannConfig(configs.ConfigRecord):
    KIND: ClassVar[str] = "VGLANN"
    variant: ClassVar[str] = "vglann"    # one model; the checkpoint loader checks it

    # The generator (VGAN's two-stream generator, z L2-normalised inside)
    image_size: int = 64             # frames are image_size x image_size; the video has image_size // 2 frames
    channels: int = 3
    z_dim: int = 100                 # GLO latent size (unit sphere)
    ngf: int = 64                    # level l of the streams has ngf * 2**(levels-1-l) channels

    # GLO
    num_videos: int = 50_000         # N: the fixed training set (one latent per clip); the report's golf subset
    batch_size: int = 15             # the report (the trainer script: 7)
    epochs: int = 200
    steps: int = 0                   # 0: epochs * (num_videos // batch_size)
    glo_loss: str = "vgg"            # vgg (code default) | laplacian | video (random 3D CNN) | l1 (whole clip)
    lap_levels: int = 3              # laplacian: band-pass levels (plus the low-pass residual)
    video_layers: int = 3            # video: layers of the randomly initialised 3D CNN (stand-in for ResNeXt-101)
    video_width: int = 8             #   its first layer's channels, doubled at every layer
    lr_z: float = 0.01               # Adam lr of the latents; the generator's is lr_z * lr_g_factor
    lr_g_factor: float = 0.1
    beta1: float = 0.5
    lr_halve_epochs: int = 20        # both lrs halve every this many epochs
    reset_adam_every_epoch: bool = True   # the released code builds new Adam optimisers every epoch

    # The noise-to-latent mapper, fitted on the N latents after GLO
    mapper: str = "imle"             # imle | vae | gmm
    mapper_batch_size: int = 128     # imle, vae
    mapper_lr: float = 1e-3          # imle, vae: Adam betas (0.5, 0.999), new every epoch (as the released code)
    mapper_halve_epochs: int = 50    # imle, vae: the lr halves every this many epochs
    imle_e_dim: int = 16             # IMLE noise e ~ N(0, I) of this size -> MLP -> z
    imle_hidden: int = 128
    imle_epochs: int = 100           # the report (the script: 50)
    imle_weight_decay: float = 1e-5
    vae_hidden: int = 512
    vae_latent: int = 16
    vae_epochs: int = 200
    vae_kl: float = 0.01             # loss = sum of squared errors + vae_kl * KL
    gmm_components: int = 100        # scikit-learn GaussianMixture, full covariances
    gmm_max_iter: int = 100
    gmm_n_init: int = 10
    seed: int = 0

    def __post_init__(self):
        levels = math.log2(self.image_size) - 2 if self.image_size > 0 else 0.0
        per_epoch = self.num_videos // self.batch_size if self.batch_size > 0 else 0
        checks = [
            (self.channels in (1, 3), "channels must be 1 or 3"),
            (levels >= 1 and levels.is_integer(), "image_size must be a power of two >= 8"),
            (min(self.z_dim, self.ngf, self.batch_size, self.epochs) >= 1, "z_dim, ngf, batch_size, epochs must be >= 1"),
            (per_epoch >= 1, f"num_videos ({self.num_videos}) must be at least batch_size ({self.batch_size})"),
            (self.steps >= 0, "steps must be >= 0 (0: epochs * (num_videos // batch_size))"),
            (self.glo_loss in GLO_LOSSES, f"glo_loss must be one of {GLO_LOSSES}"),
            (self.glo_loss != "vgg" or self.image_size >= 16, "glo_loss vgg needs image_size >= 16"),
            (self.lap_levels >= 1 and self.image_size >> self.lap_levels >= 1, "lap_levels must be >= 1 and "
             "leave a residual of at least 1 pixel"),
            (min(self.video_layers, self.video_width) >= 1, "video_layers and video_width must be >= 1"),
            (self.lr_z > 0 and self.lr_g_factor > 0 and self.mapper_lr > 0 and 0 <= self.beta1 < 1,
             "need lr_z, lr_g_factor, mapper_lr > 0 and 0 <= beta1 < 1"),
            (min(self.lr_halve_epochs, self.mapper_halve_epochs) >= 1, "the halving periods must be >= 1"),
            (self.mapper in MAPPERS, f"mapper must be one of {MAPPERS}"),
            (1 <= self.mapper_batch_size <= self.num_videos, "mapper_batch_size must be in 1..num_videos"),
            (min(self.imle_e_dim, self.imle_hidden, self.imle_epochs, self.vae_hidden, self.vae_latent,
                 self.vae_epochs, self.gmm_max_iter, self.gmm_n_init) >= 1, "mapper sizes and epochs must be >= 1"),
            (self.imle_weight_decay >= 0 and self.vae_kl >= 0, "imle_weight_decay and vae_kl must be >= 0"),
            (1 <= self.gmm_components <= self.num_videos, "gmm_components must be in 1..num_videos"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(f"VGLANN config: {why} (config: {dataclasses.asdict(self)})")
        if self.steps == 0:
            object.__setattr__(self, "steps", self.epochs * per_epoch)

    @property
    def frames(self) -> int:
        """Frames of a generated (and a training) video: 2 at 4x4, doubled at every level."""
        return self.image_size // 2

    @property
    def steps_per_epoch(self) -> int:
        return self.num_videos // self.batch_size


FIELDS = [f.name for f in dataclasses.fields(VglannConfig)]

# Paper size (baselines.md §7.2): VGAN's generator at 64x64 (32 frames), z 100, GLO with GLANN's
# VGG loss, IMLE with e 16 (the report's best mapper). The data size is the report's golf subset.
FULL: dict[str, Any] = dict(image_size=64, z_dim=100, ngf=64, num_videos=50_000, batch_size=15, epochs=200,
                            glo_loss="vgg", lap_levels=3, mapper="imle", imle_e_dim=16, imle_hidden=128,
                            imle_epochs=100, mapper_batch_size=128)

# CPU size (baselines.md §7.2 "tiny config", scaled up for the bundled smmnist-mini checkpoint): 32x32,
# 16 frames, z 16 on the sphere, VGAN's tiny streams (64 -> 32 -> 16 channels), per-frame Laplacian loss
# with 2 levels, IMLE e 8 / hidden 64. The tests shrink it further (16 videos, batch 4, 3 epochs).
TINY: dict[str, Any] = dict(image_size=32, z_dim=16, ngf=16, num_videos=512, batch_size=16, epochs=50,
                            glo_loss="laplacian", lap_levels=2, mapper="imle", imle_e_dim=8, imle_hidden=64,
                            imle_epochs=100, mapper_batch_size=64, vae_hidden=64, vae_latent=8, vae_epochs=100,
                            gmm_components=10, gmm_n_init=2)


def make_config(spec: str, channels: int, overrides: dict[str, Any] | None = None) -> VglannConfig:
    """The config for training on a suite with `channels`: `spec` is `full`, `tiny` or a YAML file."""
    base, file_keys = configs.read_spec(spec, FIELDS, "VGLANN", "vglann", "vglann")
    values = dict(FULL if base == "full" else TINY)
    values.update(channels=channels)
    values.update(file_keys)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return VglannConfig(**values)
