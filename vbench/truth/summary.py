"""Truth scores over test videos: means, the videos they are defined on, and what reports call them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vbench.truth.config import TruthConfig
from vbench.truth.coverage import perfect_coverage


# What every report calls the truth scores. The two velocity W1s are different quantities: every
# predicted frame's velocity, and the velocity leaving a wall after a touch.
LABELS = {"coverage": "coverage", "precision": "precision", "position_w1": "position W1",
          "velocity_w1": "velocity W1 (all frames)", "bounce_velocity_w1": "bounce-velocity W1 (after wall touches)",
          "fvd": "conditional FVD", "kvd": "conditional KVD"}
UNITS = {"position_w1": "px", "velocity_w1": "px/frame", "bounce_velocity_w1": "px/frame"}

HIGHER_IS_BETTER = {"coverage": True, "precision": True, "position_w1": False, "velocity_w1": False,
                    "bounce_velocity_w1": False, "fvd": False, "kvd": False}


def _scalar(values: Sequence[float], higher_is_better: bool) -> dict[str, Any]:
    """Mean over the videos where the value is defined (not NaN), how many, and the values (NaN -> None)."""
    v = np.asarray(values, dtype=np.float64)
    defined = np.isfinite(v)
    return {"mean": float(v[defined].mean()) if defined.any() else None, "videos": int(defined.sum()),
            "per_video": [float(x) if ok else None for x, ok in zip(v, defined)],
            "higher_is_better": higher_is_better}


def summarize_truth(per_video: Sequence[dict[str, Any]], config: TruthConfig | None = None) -> dict[str, Any]:
    """Means over test videos and per-frame curves of ``truth_video_scores`` results, JSON-ready.

    Scalars (coverage, precision, bounce_velocity_w1, fvd, kvd): ``{"mean", "videos", "per_video",
    "higher_is_better"}``; the mean is over the videos where the value is defined ("videos" of
    them): coverage and precision are undefined where all K true futures coincide, the bounce
    velocity W1 where the true futures never touch a wall (the same videos for every model;
    ``"missed"``: on how many of them the model's samples never touch one). Per-frame statistics
    (position_w1, velocity_w1) add ``"per_frame"`` ``[T]`` (mean over videos) and the simulator's
    own noise floor, ``"reference_mean"`` / ``"reference_per_frame"``.
    """
    if not per_video:
        raise ValueError("summarize_truth needs at least one video")
    out: dict[str, Any] = {"videos": [int(v["video"]) for v in per_video]}
    if config is not None:
        out["config"] = config.to_dict()
    for name in ("coverage", "precision", "bounce_velocity_w1", "fvd", "kvd"):
        if name in per_video[0]:
            out[name] = _scalar([v[name] for v in per_video], HIGHER_IS_BETTER[name])
    if config is not None:
        out["coverage"]["perfect_model_expected"] = perfect_coverage(
            config.k, int(per_video[0]["num_samples"]), config.neighbours)
    out["bounce_velocity_w1"]["reference_mean"] = _scalar(
        [v["bounce_velocity_w1_reference"] for v in per_video], False)["mean"]
    out["bounce_velocity_w1"]["missed"] = sum(v["wall_touches_model"] == 0 < v["wall_touches_true"]
                                              for v in per_video)
    for name in ("position_w1", "velocity_w1"):
        curves = np.stack([v[name] for v in per_video])  # [V, T]
        refs = np.stack([v[f"{name}_reference"] for v in per_video])  # [V, T]
        out[name] = {"mean": float(curves.mean()), "per_frame": curves.mean(axis=0).tolist(),
                     "per_video": curves.mean(axis=1).tolist(), "reference_mean": float(refs.mean()),
                     "reference_per_frame": refs.mean(axis=0).tolist(), "higher_is_better": False}
    out["truth_radius"] = float(np.mean([v["truth_radius"] for v in per_video]))
    out["wall_touches"] = {"model": float(np.mean([v["wall_touches_model"] for v in per_video])),
                           "true": float(np.mean([v["wall_touches_true"] for v in per_video]))}
    return out
