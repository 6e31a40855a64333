"""The adapters `vbench run` calls: `svg_det`, `svg_fp`, `svg_lp` (the VideoModel contract).

    vbench run --suite smmnist-mini --model svg_lp                          # bundled tiny checkpoint
    vbench run --suite kth --model svg_lp --checkpoint DIR/model.pt         # one from `vbench train`
    vbench run ... --model-arg skip_source=last_context --model-arg batchnorm=batch

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled
               checkpoint `baselines/checkpoints/<model>-smmnist-mini.pt` (a small config, trained on the
               smmnist-mini training digits) is used, and only for SM-MNIST-shaped suites (1 channel,
               the 5 context frames it was trained with); anything else is an error saying how to train.
  skip_source  override the checkpoint's: svg_code (released code: penultimate context frame),
               last_context, every_step. See `baselines/svg/model.py`.
  batchnorm    eval (default: running statistics, so a video's samples do not depend on its batch)
               or batch (statistics of the predict() batch, as the released generate_svg_lp.py;
               scores then depend on --batch-size and on which videos share a batch).

Noise: all standard normal draws of a sample (posterior draws on context steps, prior draws after)
come from its own generator in the SampleRNG, `[B, S, Tc - 1 + T, z_dim]` in one call, so sample k
of video v is the same whatever the batch size or the samples asked for in the same call.
"""

from __future__ import annotations


import torch

from vbench.adapters import SampleRNG, repeat_per_sample
from vbench.errors import ModelError

from baselines.loading import BATCHNORM_MODES, TrainedAdapter, batchnorm_mode, bundled_checkpoint
from baselines.svg.config import SKIP_SOURCES, SvgConfig
from baselines.svg.model import SVG

class _Svg(TrainedAdapter):
    variant = ""
    value_range = (0.0, 1.0)
    min_context = 1     # with one context frame the skip comes from that frame (see model.py)

    def __init__(self, checkpoint: str | None = None, skip_source: str | None = None, batchnorm: str = "eval"):
        super().__init__()
        self.name = f"svg_{self.variant}"
        if skip_source is not None and skip_source not in SKIP_SOURCES:
            raise ModelError(f"{self.name}: skip_source must be one of {', '.join(SKIP_SOURCES)}, got {skip_source!r}")
        if batchnorm not in BATCHNORM_MODES:
            raise ModelError(f"{self.name}: batchnorm must be one of {', '.join(BATCHNORM_MODES)}, got {batchnorm!r}")
        self.svg = self._load(self.variant, checkpoint, SvgConfig.from_dict, SVG)
        self.skip_source = skip_source or self.config.skip_source
        self.batchnorm = batchnorm
        self.eval()

    @property
    def stochastic(self) -> bool:
        return self.variant != "det"

    def _batchnorm_mode(self):
        return batchnorm_mode(self.svg, self.batchnorm)

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        self._check_channels(context.shape[2])
        self._check_bundled_context(context.shape[1])
        b, tc, c, h, w = context.shape
        video = repeat_per_sample(context, num_samples)                               # [B*S, Tc, C, H, W]
        noise = None
        if self.stochastic:
            noise = rng.randn(tc - 1 + num_future, self.config.z_dim)                 # [B, S, steps, z]
            noise = noise.to(context.dtype).flatten(0, 1)                             # [B*S, steps, z]
        with self._batchnorm_mode():
            future = self.svg.generate(video, num_future, noise, self.skip_source)    # [B*S, T, C, H, W]
        return future.reshape(b, num_samples, num_future, c, h, w)


class SvgDet(_Svg):
    """Deterministic baseline of Denton & Fergus 2018: SVG's encoder, decoder and predictor, no latent."""
    variant = "det"


class SvgFP(_Svg):
    """SVG with a fixed prior N(0, I) (Denton & Fergus, ICML 2018)."""
    variant = "fp"


class SvgLP(_Svg):
    """SVG with a learned prior (Denton & Fergus, ICML 2018)."""
    variant = "lp"
