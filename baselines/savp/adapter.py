"""The adapters `vbench run` calls: `savp_det`, `savp_vae`, `savp_gan`, `savp` (the VideoModel contract).

    vbench run --suite smmnist-mini --model savp                            # bundled tiny checkpoint
    vbench run --suite bair --model savp --checkpoint DIR/model.pt          # one from `vbench train`

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled checkpoint
               `baselines/checkpoints/<model>-smmnist-mini.pt` (tiny config, trained on the smmnist-mini
               training digits) is used if it exists, and only for SM-MNIST-shaped suites (1 channel, the
               5 context frames it was trained with); otherwise an error says how to train one.

Context: the model reads the `n_ctx` context frames it was trained with (x_0 of that window is the
first-frame input of every step). A suite with more context frames gives it the last `n_ctx`; one with
fewer is refused (`min_context`).

Noise: sample k of video v draws all its standard normal noise from its own generator in the SampleRNG,
`[n_ctx - 1 + T, nz]` in one call (posterior eps on the context transitions, prior draws after), so it is
the same whatever the batch size or the other samples asked for in the same call. Instance norm has no
batch statistics, so nothing else couples the videos of a batch. `savp_det` (nz = 0) is deterministic.
"""

from __future__ import annotations

import torch

from vbench.adapters import SampleRNG, repeat_per_sample

from baselines.loading import TrainedAdapter, bundled_checkpoint
from baselines.savp.config import MODEL_NAMES, SavpConfig
from baselines.savp.model import SAVP


class _Savp(TrainedAdapter):
    variant = ""
    value_range = (0.0, 1.0)

    def __init__(self, checkpoint: str | None = None):
        super().__init__()
        self.name = MODEL_NAMES[self.variant]
        self.savp = self._load(self.variant, checkpoint, SavpConfig.from_dict, SAVP,
                               has_bundled=bundled_checkpoint(self.name).is_file())
        self.min_context = self.config.n_ctx
        self.eval()

    @property
    def stochastic(self) -> bool:
        return self.config.nz > 0

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        context = self._last_context(context)
        b, tc, c, h, w = context.shape
        video = repeat_per_sample(context, num_samples)                             # [B*S, n_ctx, C, H, W]
        noise = None
        if self.stochastic:
            noise = rng.randn(tc - 1 + num_future, self.config.nz)                  # [B, S, steps, nz]
            noise = noise.to(context).flatten(0, 1)                                 # [B*S, steps, nz]
        future = self.savp.generate(video, num_future, noise)                       # [B*S, T, C, H, W]
        return future.reshape(b, num_samples, num_future, c, h, w)


class SavpDet(_Savp):
    """SAVP's deterministic ablation (nz = 0, L1 only)."""
    variant = "det"


class SavpVae(_Savp):
    """SAVP's VAE ablation (L1 + KL to a fixed N(0, I) prior)."""
    variant = "vae"


class SavpGan(_Savp):
    """SAVP's GAN ablation (L1 + LSGAN on prior samples + feature matching; the released code trains the
    posterior encoder by L1 on the posterior pass, see baselines/savp/model.py)."""
    variant = "gan"


class Savp(_Savp):
    """SAVP (Lee et al. 2018): VAE + GAN, two video discriminators."""
    variant = "savp"
