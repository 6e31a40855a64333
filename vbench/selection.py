"""Best-of-N selection and summaries: pure functions on per-frame score arrays.

Input everywhere: `scores[metric]` float array `[V, S, T]` (test video, sample, predicted frame).
A video's score for one sample is its time average, except PSNR under the `mean-mse` profile,
which is the PSNR of the time-averaged MSE (MCVD). Best-of-N picks, per test video, either the
best sample for each metric separately (`per-metric`, the oracle most papers report) or the sample
that is best by one metric, reading every metric off it (`by:<metric>`).
"""

from __future__ import annotations

import numpy as np
import torch

from vbench.metric_registry import METRICS
from vbench.metrics.psnr import psnr_of_mean_mse
from vbench.results import Aggregate, FrameMetricSummary



def video_scores(per_frame: np.ndarray, metric: str, profile: str | None) -> np.ndarray:
    """[..., T] per-frame scores -> [...] one score per (video, sample)."""
    if metric == "psnr" and profile == "mean-mse":
        return psnr_of_mean_mse(torch.from_numpy(np.asarray(per_frame, dtype=np.float64))).numpy()
    return np.asarray(per_frame, dtype=np.float64).mean(axis=-1)


def best_sample(per_frame: np.ndarray, metric: str, profile: str | None) -> np.ndarray:
    """[V, S, T] -> [V] index of the best sample of each video (first one on ties)."""
    per_sample = video_scores(per_frame, metric, profile)               # [V, S]
    return per_sample.argmax(axis=1) if METRICS[metric].higher_is_better else per_sample.argmin(axis=1)


def chosen_samples(scores: dict[str, np.ndarray], selection: str,
                   profiles: dict[str, str]) -> dict[str, np.ndarray]:
    """The sample index `[V]` each metric is read from under `selection`."""
    if selection == "per-metric":
        return {m: best_sample(s, m, profiles.get(m)) for m, s in scores.items()}
    by = selection.removeprefix("by:")
    if not selection.startswith("by:") or by not in scores:
        raise ValueError(f"selection '{selection}' needs 'per-metric' or 'by:<metric>' with one of {sorted(scores)}")
    index = best_sample(scores[by], by, profiles.get(by))
    return {m: index for m in scores}


def summarize_metric(per_frame: np.ndarray, chosen: np.ndarray, metric: str,
                     profile: str | None) -> FrameMetricSummary:
    """Summary of one metric: best-of-N and mean over samples, per video, per frame and overall."""
    v = np.arange(per_frame.shape[0])
    best_frames = per_frame[v, chosen]                                    # [V, T]
    best_videos = video_scores(best_frames, metric, profile)             # [V]
    mean_videos = video_scores(per_frame, metric, profile).mean(axis=1)  # [V]
    return FrameMetricSummary(
        profile=profile, higher_is_better=METRICS[metric].higher_is_better,
        best=Aggregate(mean=float(best_videos.mean()), per_frame=best_frames.mean(axis=0).tolist(),
                       per_video=best_videos.tolist(), chosen_sample=chosen.tolist()),
        mean_of_samples=Aggregate(mean=float(mean_videos.mean()), per_frame=per_frame.mean(axis=(0, 1)).tolist(),
                                  per_video=mean_videos.tolist()))


def summarize(scores: dict[str, np.ndarray], selection: str,
              profiles: dict[str, str]) -> dict[str, FrameMetricSummary]:
    """Per-metric summaries for all per-frame metrics of a run (arrays `[V, S, T]`)."""
    chosen = chosen_samples(scores, selection, profiles)
    return {m: summarize_metric(s, chosen[m], m, profiles.get(m)) for m, s in scores.items()}
