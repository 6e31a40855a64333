"""Helpers shared by the tests of the bundled baselines (svg, savp, vrnn, vgan, vglann)."""

from __future__ import annotations

import torch


def millions(module) -> float:
    """Parameters of `module` in millions (0 for None)."""
    return sum(p.numel() for p in module.parameters()) / 1e6 if module is not None else 0.0


def moving_squares(b: int, t: int, c: int = 1, size: int = 32, seed: int = 0) -> torch.Tensor:
    """[B, T, C, S, S] in [0, 1]: a bright 8x8 square moving with a random constant velocity over a dim noise floor."""
    g = torch.Generator().manual_seed(seed)
    video = torch.rand(b, t, c, size, size, generator=g) * 0.1
    start = torch.randint(0, size - 8, (b, 2), generator=g)
    speed = torch.randint(-2, 3, (b, 2), generator=g)
    for i in range(b):
        for k in range(t):
            y, x = ((start[i] + speed[i] * k) % (size - 8)).tolist()
            video[i, k, :, y:y + 8, x:x + 8] = 1.0
    return video


def jolt(network: torch.nn.Module, *layer_types: type) -> None:
    """Redraw the weights of `network`'s layers of `layer_types` from N(0, 0.3^2) (seed 5): briefly trained
    tiny models barely react to their noise, so tests of noise determinism first make them react."""
    torch.manual_seed(5)
    with torch.no_grad():
        for m in network.modules():
            if isinstance(m, layer_types):
                m.weight.normal_(0, 0.3)
