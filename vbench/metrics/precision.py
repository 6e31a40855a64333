"""Full float32 convolutions on CUDA, so metric networks give the same numbers on every GPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def ieee_fp32(device: torch.device) -> Iterator[None]:
    """cuDNN convolutions in full float32 (PyTorch defaults them to TF32 on Ampere and later)."""
    if device.type != "cuda":
        yield
        return
    conv = torch.backends.cudnn.conv
    previous = conv.fp32_precision
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = previous
