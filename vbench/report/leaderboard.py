"""One suite's leaderboard as plain dicts: columns, rows with intervals, paired comparisons.

Per-frame metrics (SSIM, PSNR, LPIPS): best-of-N and mean-of-N, each with its percentile-bootstrap
interval over test videos. Set metrics (FVD, KVD): mean ± std over trials and the jackknife interval
of the expected score at the run's number of videos (stored by the run, or recomputed from its I3D
features in the store for older runs). Diversity (mean pairwise LPIPS between samples) when a run's
summary holds one (vbench.results.Diversity); no arrow, since more diverse is not
by itself better. Truth scores of SM-MNIST suites (summary.truth, vbench.truth): coverage,
precision, position W1 and bounce-velocity W1 (labelled as vbench.truth.LABELS names them), each the
mean over test videos with its bootstrap interval, beside what a perfect model gets (coverage) or the
simulator's own noise floor (W1s). Only runs of one protocol are ranked (vbench.protocol: the newest
standard run's: suite version, data, test videos, samples, selection, profiles, FVD set), by the
suite's first metric; every other ranked row is compared with the top row by a paired bootstrap of the
per-video difference on the same test videos. Runs with overrides or of another protocol are listed
apart, unranked, each with why.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from vbench.protocol import is_standard, protocol_key, protocol_of, why_apart
from vbench.results import FrameMetricSummary, SetMetricSummary
from vbench.stats import DEFAULT_RESAMPLES, Interval, bootstrap_ci, paired_bootstrap, set_distance_interval
from vbench.store import RunRecord
from vbench.truth import LABELS

TRUTH_COLUMNS = {name: LABELS[name] for name in ("coverage", "precision", "position_w1", "bounce_velocity_w1")}
ARROWS = {True: "↑", False: "↓"}
EMPTY = {"value": None, "ci": None, "mean": None, "mean_ci": None}   # a metric the run does not have

# (real [V, D], fake [V, K, D]) of a run's FVD videos, or None when the store lacks them
SetFeatures = Callable[[RunRecord], "tuple[np.ndarray, np.ndarray] | None"]


def _ci(values: list[float] | None, resamples: int) -> Interval | None:
    return bootstrap_ci(np.asarray(values), resamples=resamples) if values else None


def columns_of(runs: list[RunRecord]) -> list[dict[str, Any]]:
    """The metric columns, in the order the suite lists them (diversity last, when stored)."""
    columns: list[dict[str, Any]] = []
    for r in runs:
        for metric, s in r.summary.metrics.items():
            if all(c["metric"] != metric for c in columns):
                kind = "frame" if isinstance(s, FrameMetricSummary) else "set"
                columns.append({"metric": metric, "label": metric.upper(), "kind": kind,
                                "profile": s.profile, "higher_is_better": s.higher_is_better,
                                "arrow": ARROWS[s.higher_is_better]})
    stored = [r.summary.diversity for r in runs if r.summary.diversity]
    if stored:
        columns.append({"metric": "diversity", "label": "DIVERSITY", "kind": "diversity",
                        "profile": stored[0].profile, "higher_is_better": None, "arrow": ""})
    if any(r.summary.negative_elbo for r in runs):
        columns.append({"metric": "nelbo", "label": "−ELBO", "kind": "likelihood", "profile": "nats / frame",
                        "higher_is_better": False, "arrow": ARROWS[False]})
    truths = [r.summary.truth for r in runs if r.summary.truth]
    for name, label in TRUTH_COLUMNS.items():
        present = [t for t in truths if t.get(name)]
        if present:
            config = present[0].get("config") or {}
            columns.append({"metric": f"truth-{name}", "truth": name, "label": label, "kind": "truth",
                            "profile": f"truth K={config.get('k')}, {config.get('distance')}",
                            "higher_is_better": present[0][name]["higher_is_better"],
                            "arrow": ARROWS[present[0][name]["higher_is_better"]]})
    return columns


def set_interval(metric: str, summary: SetMetricSummary,
                 features: Callable[[], tuple[np.ndarray, np.ndarray] | None]) -> Interval | None:
    """Interval of a set metric (FVD, KVD): the one the run stored at its end, else (runs stored before
    vbench kept it) recomputed from `features()`, the run's real [V, D] and predicted [V, K, D] I3D
    features, by the same jackknife (vbench.stats.set_distance_interval); None without either."""
    stored = summary.interval
    if stored:
        return Interval(summary.mean, stored.low, stored.high, stored.confidence, stored.groups)
    found = features()
    if found is None:
        return None
    real, fake = found                                                         # [V, D], [V, K, D]
    n, trials = summary.videos, len(summary.trials)
    if n < 2 or real.shape[0] < n or fake.shape[0] < n or fake.shape[1] < trials:
        return None
    from vbench.metric_registry import METRICS
    return set_distance_interval(real[:n], fake[:n, :trials], METRICS[metric].distance, summary.mean)


def _cell(column: dict[str, Any], run: RunRecord, resamples: int,
          set_features: SetFeatures | None) -> dict[str, Any]:
    if column["kind"] == "diversity":
        d = run.summary.diversity
        return {"value": d.mean, "ci": _ci(d.per_video, resamples)} if d else dict(EMPTY)
    if column["kind"] == "likelihood":
        e = run.summary.negative_elbo
        return {"value": e.mean, "ci": _ci(e.per_video, resamples)} if e else dict(EMPTY)
    if column["kind"] == "truth":
        t = (run.summary.truth or {}).get(column["truth"])
        if not t or t["mean"] is None:
            return dict(EMPTY, perfect=None, floor=None)
        defined = [v for v in t["per_video"] if v is not None]   # undefined where no spread / no wall touch
        return {"value": t["mean"], "ci": _ci(defined, resamples), "videos": len(defined),
                "perfect": t.get("perfect_model_expected"), "floor": t.get("reference_mean")}
    s = run.summary.metrics.get(column["metric"])
    if s is None:
        return dict(EMPTY)
    if column["kind"] == "frame":
        return {"value": s.best.mean, "ci": _ci(s.best.per_video, resamples),
                "mean": s.mean_of_samples.mean, "mean_ci": _ci(s.mean_of_samples.per_video, resamples)}
    return {"value": s.mean, "std": s.std, "trials": len(s.trials), "videos": s.videos,
            "ci": set_interval(column["metric"], s, lambda: set_features(run) if set_features else None)}


def verdict(diff: Interval, higher_is_better: bool) -> str:
    """'better', 'worse' or 'tie' for row - leader: 'tie' when the interval contains 0."""
    if diff.low > 0:
        return "better" if higher_is_better else "worse"
    if diff.high < 0:
        return "worse" if higher_is_better else "better"
    return "tie"


def _comparable(a: RunRecord, b: RunRecord) -> bool:
    """Same protocol: same suite version, the same test clips (data fingerprint), samples, selection, profiles."""
    return protocol_key(a.manifest) == protocol_key(b.manifest)


def split_by_protocol(runs: list[RunRecord]) -> tuple[dict[str, Any] | None, list[RunRecord],
                                                      list[tuple[RunRecord, list[str]]]]:
    """(the ranked protocol, its runs, [(run, why it is not ranked)] of the others).

    The ranked protocol is that of the newest run with the suite's standard settings; runs with
    overrides (--limit, --samples, ...) and standard runs of another protocol (suite version, data)
    are shown apart, never ranked or paired with it."""
    standard = [r for r in runs if is_standard(r.manifest)]
    reference = protocol_of(standard[-1].manifest) if standard else None
    ranked, others = [], []
    for r in runs:
        why = why_apart(r.manifest, reference)
        if why:
            others.append((r, why))
        else:
            ranked.append(r)
    return reference, ranked, others


def comparison(row: RunRecord, leader: RunRecord, column: dict[str, Any], resamples: int) -> dict[str, Any] | None:
    """Paired bootstrap of row - leader (best-of-N per video) on one per-frame metric."""
    a = row.summary.metrics.get(column["metric"])
    b = leader.summary.metrics.get(column["metric"])
    if a is None or b is None or not _comparable(row, leader):
        return None
    diff = paired_bootstrap(np.asarray(a.best.per_video), np.asarray(b.best.per_video),
                            resamples=resamples)
    return {"diff": diff, "verdict": verdict(diff, column["higher_is_better"])}


def _rank_key(column: dict[str, Any]) -> Callable[[dict[str, Any]], tuple]:
    sign = -1 if column["higher_is_better"] else 1
    return lambda row: (row["cells"][0]["value"] is None, sign * (row["cells"][0]["value"] or 0.0))


def leaderboard(runs: list[RunRecord], resamples: int = DEFAULT_RESAMPLES,
                set_features: SetFeatures | None = None,
                page_of: Callable[[RunRecord], str] = lambda r: f"run-{r.id}.html") -> dict[str, Any]:
    """Columns and rows of one suite's leaderboard: one row per finished run of the ranked protocol, best
    first, and `others`: the rest of the finished runs, unranked, each with `why` it is not ranked."""
    finished = [r for r in runs if r.status == "finished" and r.summary]
    columns = columns_of(finished)
    protocol, ranked, others = split_by_protocol(finished)

    def row_of(r: RunRecord) -> dict[str, Any]:
        return {"run": r, "page": page_of(r), "checkpoint": (r.manifest["model"]["checkpoint"] or {}).get("path"),
                "cells": [_cell(c, r, resamples, set_features) for c in columns], "rank": None, "why": []}

    rows = [row_of(r) for r in ranked]
    ranked_by = columns[0] if columns and columns[0]["higher_is_better"] is not None else None
    if ranked_by:
        rows.sort(key=_rank_key(ranked_by))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    unranked = [dict(row_of(r), why=why) for r, why in others]
    frame_columns = [c for c in columns if c["kind"] == "frame"]
    comparisons = []
    if len(rows) > 1 and frame_columns:
        leader = rows[0]["run"]
        comparisons = [{"row": row, "cells": [comparison(row["run"], leader, c, resamples) for c in frame_columns]}
                       for row in rows[1:]]
    return {"columns": columns, "rows": rows, "others": unranked, "protocol": protocol, "ranked_by": ranked_by,
            "frame_columns": frame_columns, "comparisons": comparisons,
            "leader": rows[0] if rows else None, "resamples": resamples}
