"""The adapters `vbench run` calls: `hier_vrnn` and `vrnn_1l` (the VideoModel contract).

    vbench run --suite smmnist-mini --model hier_vrnn                        # bundled tiny checkpoint, if shipped
    vbench run --suite bair --model hier_vrnn --checkpoint DIR/model.pt      # one from `vbench train`
    vbench run ... --model-arg scale_var=0.5 --model-arg use_mean=true

Model arguments:
  checkpoint   a `model.pt` (or `last.pt`) written by `vbench train`. Without one, the bundled checkpoint
               `baselines/checkpoints/<model>-smmnist-mini.pt` (tiny config, trained on the smmnist-mini
               training digits) is used if it exists, and only for SM-MNIST-shaped suites (1 channel, the
               context frames it was trained with); otherwise an error says how to train one.
  scale_var    multiplies the prior's variance when sampling (default 1).
  use_mean     take the prior's means instead of samples (default false; the samples of a video are then equal).

Context: the init nets read exactly the `n_ctx` context frames the model was trained with. A suite with
more context frames gives the model its last `n_ctx` frames; one with fewer is refused (`min_context`).

Noise: sample k of video v draws all its standard normal noise from its own generator in the SampleRNG,
step by step and level by level (coarse to fine), so it is the same whatever the batch size or the other
samples asked for in the same call.
"""

from __future__ import annotations


import torch

from vbench.adapters import SampleRNG, repeat_per_sample
from vbench.errors import ModelError

from baselines.loading import TrainedAdapter, bundled_checkpoint
from baselines.vrnn.config import MODEL_NAMES, VrnnConfig
from baselines.vrnn.model import VRNN

def rng_draw(rng: SampleRNG, like: torch.Tensor):
    """draw(shape) -> [B * S, *shape]: the SampleRNG's noise of every (video, sample), video-major."""
    def draw(shape: tuple[int, ...]) -> torch.Tensor:
        noise = rng.randn(*shape)                                     # [B, S, *shape]
        return noise.to(device=like.device, dtype=like.dtype).flatten(0, 1)
    return draw


class _Vrnn(TrainedAdapter):
    variant = ""
    value_range = (0.0, 1.0)
    stochastic = True

    def __init__(self, checkpoint: str | None = None, scale_var: float = 1.0, use_mean: bool = False):
        super().__init__()
        self.name = MODEL_NAMES[self.variant]
        if isinstance(scale_var, bool) or not (isinstance(scale_var, (int, float)) and scale_var >= 0):
            raise ModelError(f"{self.name}: scale_var must be a number >= 0, got {scale_var!r}")
        if not isinstance(use_mean, bool):
            raise ModelError(f"{self.name}: use_mean must be true or false, got {use_mean!r}")
        self.vrnn = self._load(self.variant, checkpoint, VrnnConfig.from_dict, VRNN,
                               has_bundled=bundled_checkpoint(self.name).is_file())
        self.min_context = self.config.n_ctx
        self.scale_var = float(scale_var)
        self.use_mean = use_mean
        self.eval()

    def predict(self, context: torch.Tensor, num_future: int, num_samples: int, rng: SampleRNG) -> torch.Tensor:
        """context [B, Tc, C, S, S] in [0, 1] -> [B, num_samples, num_future, C, S, S] in [0, 1]."""
        context = self._last_context(context)
        b, tc, c, h, w = context.shape
        video = repeat_per_sample(context, num_samples)                               # [B*S, n_ctx, C, H, W]
        future = self.vrnn.generate(video, num_future, rng_draw(rng, context), self.scale_var, self.use_mean)
        return future.reshape(b, num_samples, num_future, c, h, w)

    @torch.no_grad()
    def negative_elbo(self, context: torch.Tensor, future: torch.Tensor, rng: SampleRNG) -> torch.Tensor:
        """Per-video negative ELBO of `future` given `context` (both [B, T, C, S, S] in [0, 1] at the model's
        resolution, as the harness converts them), in nats per predicted frame at that resolution,
        averaged over the rng's samples (one posterior draw each). -> [B] (see VRNN.negative_elbo)."""
        video = torch.cat([self._last_context(context), future], 1)                   # [B, n_ctx + T, C, S, S]
        b, s = rng.shape
        if b != video.shape[0]:
            raise ModelError(f"{self.name}: negative_elbo got {video.shape[0]} videos and an rng for {b}")
        repeated = video[:, None].expand(b, s, *video.shape[1:]).flatten(0, 1)        # [B*S, T, C, S, S]
        values = self.vrnn.negative_elbo(repeated, rng_draw(rng, video))              # [B*S]
        return values.reshape(b, s).mean(1)


class HierVrnn(_Vrnn):
    """Hierarchical conditional VRNN with latents at 1x1, S/8 and S/2 ("1-8-32" at 64x64)."""
    variant = "hier"


class Vrnn1L(_Vrnn):
    """The conditional VRNN with one 1x1 latent level ("VRNN 1L")."""
    variant = "1l"
