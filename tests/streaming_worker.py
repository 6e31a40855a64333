"""Streaming metrics over one process's share of a fixed set of clips, with a stand-in I3D.

test_streaming_metrics calls `streaming_scores` in its own process and runs this file under
`torchrun --nproc_per_node 2`: rank 0 prints the scores of the whole set as JSON.
"""

from __future__ import annotations

import functools
import importlib
import json

import torch

fvd_module = importlib.import_module("vbench.metrics.fvd")   # `vbench.metrics.fvd` itself is the function


class StandInI3D(torch.nn.Module):
    """I3D stand-in, fast on CPU: input [b, 3, 10, 224, 224] -> [b, 400], a fixed projection of its
    per-frame channel means, in float64 and clip by clip, so a clip's features do not depend on its batch."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Parameter(torch.randn(400, 30, generator=torch.Generator().manual_seed(0)).double())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        means = x.double().mean(dim=(3, 4)).flatten(1)                    # [b, 3*T]
        return torch.stack([(self.proj * m).sum(dim=1) for m in means])   # [b, 400]


@functools.lru_cache(maxsize=None)
def stand_in_i3d(device=None) -> StandInI3D:
    return StandInI3D()


def clips() -> tuple[torch.Tensor, torch.Tensor]:
    """(real, generated): float [7, 10, 1, 32, 32] in [0, 1], generated a noisy copy of real."""
    g = torch.Generator().manual_seed(0)
    real = torch.rand(7, 10, 1, 32, 32, generator=g)
    return real, (real + 0.2 * torch.randn(real.shape, generator=g)).clamp(0, 1)


def streaming_scores(rank: int, world: int, batch: int = 2) -> dict[str, float]:
    """Every streaming metric updated with videos rank, rank + world, ... in batches of `batch`."""
    from vbench.metrics.streaming import FVD, KVD, LPIPS, PSNR, SSIM
    real, fake = clips()
    mine = list(range(rank, len(real), world))
    metrics = {"fvd": FVD(), "kvd": KVD(), "ssim": SSIM(), "psnr": PSNR(), "lpips": LPIPS()}
    for start in range(0, len(mine), batch):
        videos = mine[start:start + batch]
        for name, metric in metrics.items():
            metric.update(*((real[videos], fake[videos]) if name in ("fvd", "kvd") else (fake[videos], real[videos])))
    return {name: metric.compute().item() for name, metric in metrics.items()}


if __name__ == "__main__":
    torch.distributed.init_process_group("gloo")
    fvd_module.get_i3d = stand_in_i3d
    scores = streaming_scores(torch.distributed.get_rank(), torch.distributed.get_world_size())
    if torch.distributed.get_rank() == 0:
        print(json.dumps(scores))
    torch.distributed.destroy_process_group()
