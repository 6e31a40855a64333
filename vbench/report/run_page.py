"""One run's page as plain dicts: scores with intervals, per-frame curves, sample strips.

Per-frame curves: x = frame index in the full clip (context + 1 ... context + T), y = the metric;
the best-of-N line (mean over test videos of the chosen sample's frame) with its 95% band, the
bootstrap over test videos of each frame, and the mean-of-N line. Bands need the per-video scores
`[V, S, T]` from the store; without them the lines are drawn alone. Runs with truth scores
(SM-MNIST, summary.truth) add position and velocity W1 per frame: the model's curve with its band
and the simulator's own (its noise floor, dashed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.report.charts import curve_chart
from vbench.report.leaderboard import set_interval
from vbench.report.strips import write_gif, write_png
from vbench.results import FrameMetricSummary, MetricSummary
from vbench.stats import DEFAULT_RESAMPLES, bootstrap_ci, bootstrap_ci_columns, set_interval_meaning
from vbench.store import TRUTH_PREFIX, RunRecord
from vbench.truth import LABELS, UNITS


def score_rows(metrics: dict[str, MetricSummary], resamples: int = DEFAULT_RESAMPLES,
               set_features: Callable[[], tuple[np.ndarray, np.ndarray] | None] = lambda: None) -> list[dict[str, Any]]:
    """The run's scores table: per-frame metrics with both intervals, set metrics with their trials and
    interval (stored by the run, or recomputed from `set_features()`: real [V, D], predicted [V, K, D])."""
    rows = []
    for name, s in metrics.items():
        row = {"metric": name, "summary": s, "arrow": "↑" if s.higher_is_better else "↓"}
        if isinstance(s, FrameMetricSummary):
            row["best_ci"] = bootstrap_ci(np.asarray(s.best.per_video), resamples=resamples)
            row["mean_ci"] = bootstrap_ci(np.asarray(s.mean_of_samples.per_video), resamples=resamples)
        else:
            row["ci"], row["of"] = set_interval(name, s, set_features), set_interval_meaning(name, s.videos)
        rows.append(row)
    return rows


def best_frames(per_frame: np.ndarray, chosen: list[int]) -> np.ndarray:
    """[V, S, T] scores and the chosen sample of each video [V] -> [V, T] frames of the chosen samples."""
    return per_frame[np.arange(per_frame.shape[0]), np.asarray(chosen)]


def curves(run: RunRecord, scores: dict[str, np.ndarray], resamples: int = DEFAULT_RESAMPLES) -> list[dict[str, Any]]:
    """One chart per per-frame metric of a finished run; `scores` {metric: [V, S, T]} from the store."""
    context = run.manifest["suite"]["context_frames"]
    charts = []
    for name, s in (run.summary.frame_metrics if run.summary else {}).items():
        best, mean = s.best.per_frame, s.mean_of_samples.per_frame
        frames = [context + t + 1 for t in range(len(best))]
        low = high = None
        stored = scores.get(name)
        if stored is not None and stored.shape[0] == len(s.best.chosen_sample) and stored.shape[2] == len(best):
            intervals = bootstrap_ci_columns(best_frames(stored, s.best.chosen_sample), resamples=resamples)
            low, high = [i.low for i in intervals], [i.high for i in intervals]
        title = f"{name.upper()} {'↑' if s.higher_is_better else '↓'} ({s.profile})"
        chart = curve_chart(title, frames, best, mean, low, high)
        chart.update(metric=name, banded=low is not None)
        charts.append(chart)
    return charts


TRUTH_SCORES = {name: label + (f" [{UNITS[name]}]" if name in UNITS else "") for name, label in LABELS.items()}


def truth_rows(truth: dict[str, Any] | None, resamples: int = DEFAULT_RESAMPLES) -> list[dict[str, Any]]:
    """The run's truth scores table: mean over the test videos where defined, its interval, and beside
    it what a perfect model is expected to score (coverage) or the simulator's noise floor (W1s)."""
    rows = []
    for name, label in TRUTH_SCORES.items():
        s = (truth or {}).get(name)
        if not s:
            continue
        defined = [v for v in s["per_video"] if v is not None]
        ci = bootstrap_ci(np.asarray(defined), resamples=resamples) if defined else None
        rows.append({"name": name, "label": label, "arrow": "↑" if s["higher_is_better"] else "↓",
                     "mean": s["mean"], "ci": ci, "videos": len(defined),
                     "perfect": s.get("perfect_model_expected"), "floor": s.get("reference_mean")})
    return rows


TRUTH_CURVES = {name: f"{LABELS[name].upper()} ↓ [{UNITS[name]}]" for name in ("position_w1", "velocity_w1")}


def truth_curves(run: RunRecord, scores: dict[str, np.ndarray],
                 resamples: int = DEFAULT_RESAMPLES) -> list[dict[str, Any]]:
    """Per-frame W1 charts of a run with truth scores: the model (solid, band over test videos from the
    stored rows "truth/<name>" [V, 1, T]) and the simulator's reference, its noise floor (dashed)."""
    truth = (run.summary.truth if run.summary else None) or {}
    context = run.manifest["suite"]["context_frames"]
    charts = []
    for name, title in TRUTH_CURVES.items():
        if name not in truth:
            continue
        model, floor = truth[name]["per_frame"], truth[name]["reference_per_frame"]
        frames = [context + t + 1 for t in range(len(model))]
        low = high = None
        stored = scores.get(TRUTH_PREFIX + name)
        if stored is not None and stored.shape[0] == len(truth["videos"]) and stored.shape[2] == len(model):
            intervals = bootstrap_ci_columns(stored[:, 0].astype(np.float64), resamples=resamples)
            low, high = [i.low for i in intervals], [i.high for i in intervals]
        chart = curve_chart(title, frames, model, floor, low, high, labels=("model", "simulator (noise floor)"))
        chart.update(metric=name, banded=low is not None, floor=floor)
        charts.append(chart)
    return charts


def write_strips(strips: dict[int, dict[str, Any]], folder: Path, prefix: str) -> list[dict[str, Any]]:
    """Write a GIF and a PNG filmstrip per stored video into `folder`; returns what the page links."""
    out = []
    for video, strip in sorted(strips.items()):
        if not out:
            folder.mkdir(parents=True, exist_ok=True)
        gif, png = folder / f"{prefix}-video{video}.gif", folder / f"{prefix}-video{video}.png"
        write_gif(strip["frames"], strip["context"], gif)
        write_png(strip["frames"], strip["context"], png)
        r, t, _, h, w = strip["frames"].shape
        out.append({"video": video, "gif": f"{folder.name}/{gif.name}", "png": f"{folder.name}/{png.name}",
                    "rows": strip["rows"], "context": strip["context"], "frames": t, "size": (h, w)})
    return out
