"""Typed records that flow between the stages: what the scorer hands the store for a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class BatchScores:
    """One batch of test videos, scored: written to the store in one transaction.

    scores          {metric: float [B, S, T]} per (video, sample, predicted frame); also "diversity",
                    "nelbo" and "truth/<name>" rows, [B, 1, T] or [B, 1, 1]
    features        {kind: float [B', K, D]} I3D features of the feature_videos ("fvd_fake")
    feature_videos  the B' videos that enter FVD / KVD (default: all of `videos`)
    flags           {flag: videos it applies to}, e.g. "context-echo"
    strips          {video: {"rows", "context", "frames" uint8 [R, T, C, H, W]}} of the few videos
                    that keep frames for the report
    """
    videos: list[int]
    scores: dict[str, np.ndarray]
    features: dict[str, np.ndarray] = field(default_factory=dict)
    feature_videos: list[int] | None = None
    flags: dict[str, list[int]] = field(default_factory=dict)
    strips: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.feature_videos is None:
            self.feature_videos = list(self.videos)
