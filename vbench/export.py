"""Runs as data for scripts, CI and papers, through pandas.

- json: one record per run with its whole manifest (nested, so written by `json`).
- csv: one flat record per run (manifest essentials + summary scores). Per-frame metrics carry
  `<metric>_best_low` / `_best_high`, the 95% percentile-bootstrap interval over test videos
  (10,000 resamples, seed 0); set metrics `fvd_low` / `fvd_high` (and kvd), the interval the run
  stored: of the expected score at its number of test videos (vbench.stats.set_distance_interval).
- markdown / latex: a paper table, one row per finished run (its model, model arguments, model-code
  hash, run id, test videos and samples, so rows can be told apart): best-of-N and mean-of-N of every
  per-frame metric as "value ± half-width of its 95% bootstrap interval over test videos", set
  metrics (FVD, KVD) as "mean ± std over trials".

Runs with truth scores (SM-MNIST suites with a `truth:` section) add `truth_<score>` to json / csv
records (coverage, precision, and the W1 distances with their `_reference` noise floor) and
coverage, precision and position W1 (value ± CI half-width) to the paper tables.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from vbench.protocol import describe_overrides, is_standard, protocol_key
from vbench.results import FrameMetricSummary
from vbench.stats import DEFAULT_RESAMPLES, bootstrap_ci
from vbench.store import RunRecord

FORMATS = ("json", "csv", "markdown", "latex")
DIGITS = {"fvd": 1, "psnr": 2}          # decimals in paper tables; 4 for every other metric
TRUTH_RECORD = ("coverage", "precision", "position_w1", "velocity_w1", "bounce_velocity_w1", "fvd", "kvd")
TEXT_COLUMNS = ("suite", "model", "args", "code", "run")   # paper-table columns set left; the others are numbers
CODE_DIGITS = 12        # hex digits of the model-code sha256 shown in paper tables
TRUTH_TABLE = {"coverage": "Coverage", "precision": "Precision", "position_w1": "Position W1"}   # paper columns


def run_record(run: RunRecord, full: bool = False) -> dict[str, Any]:
    """Flat summary of one run; with `full`, the whole manifest is attached under 'manifest'."""
    m = run.manifest
    record: dict[str, Any] = {
        "run_id": run.id, "status": run.status, "suite": run.suite, "suite_version": m["suite"]["version"],
        "model": run.model, "model_spec": m["model"]["spec"],
        "checkpoint": (m["model"]["checkpoint"] or {}).get("path"),
        "model_args": json.dumps(m["model"]["args"], sort_keys=True),
        "num_videos": m["num_videos"], "num_samples": m["num_samples"], "selection": m["suite"]["selection"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.created)),
        "vbench_version": m["vbench_version"], "git_sha": m["environment"]["git_sha"],
        "device": m["environment"]["device"],
    }
    # what tells two rows apart: the model's code, the scored clips, the protocol and its overrides
    record.update(code_sha256=m["model"].get("source_sha256"),
                  data_fingerprint=(m.get("data") or {}).get("fingerprint"), protocol=protocol_key(m),
                  standard=is_standard(m), overrides="; ".join(describe_overrides(m)))
    for metric, profile in m["suite"]["profiles"].items():
        record[f"{metric}_profile"] = profile
    summary = run.summary
    for metric, s in (summary.metrics if summary else {}).items():
        if isinstance(s, FrameMetricSummary):
            best = bootstrap_ci(np.asarray(s.best.per_video))
            record[f"{metric}_best"] = s.best.mean
            record[f"{metric}_best_low"], record[f"{metric}_best_high"] = best.low, best.high
            record[f"{metric}_mean_of_samples"] = s.mean_of_samples.mean
        else:
            record[f"{metric}_mean"] = s.mean
            record[f"{metric}_std"] = s.std
            record[f"{metric}_trials"] = len(s.trials)
            if s.interval:                           # stored by the run (runs before vbench kept it have none)
                record[f"{metric}_low"], record[f"{metric}_high"] = s.interval.low, s.interval.high
    truth = (summary.truth if summary else None) or {}
    for name in TRUTH_RECORD:
        if name in truth:
            record[f"truth_{name}"] = truth[name]["mean"]
            if "reference_mean" in truth[name]:
                record[f"truth_{name}_reference"] = truth[name]["reference_mean"]
    if truth:
        record["truth_k"] = truth["config"]["k"]
    if summary and summary.negative_elbo:
        record["negative_elbo"] = summary.negative_elbo.mean     # nats per predicted frame (likelihood models)
    if summary:
        record["wall_time_s"] = summary.wall_time_s
    if full:
        record["manifest"] = m
    return record


def to_json(runs: list[RunRecord]) -> str:
    return json.dumps([run_record(r, full=True) for r in runs], indent=2, sort_keys=True)


def records_frame(runs: list[RunRecord]):
    """pandas DataFrame of `run_record` rows (columns: the union over runs, in first-seen order)."""
    import pandas as pd
    return pd.DataFrame.from_records([run_record(r) for r in runs])


def to_csv(runs: list[RunRecord]) -> str:
    return records_frame(runs).to_csv(index=False, lineterminator="\n")


def _with_interval(value: float, half: float | None, digits: int) -> str:
    return f"{value:.{digits}f}" + (f" ± {half:.{digits}f}" if half is not None else "")


def paper_table(runs: list[RunRecord], resamples: int = DEFAULT_RESAMPLES, arrows: tuple[str, str] = ("↑", "↓")):
    """pandas DataFrame of finished runs, one column per score, cells as formatted strings.

    Column names are built from the fixed metric names and `arrows` only, so they need no escaping."""
    import pandas as pd
    rows = []
    for r in runs:
        if r.status != "finished" or not r.summary:
            continue
        model = r.manifest["model"]
        row: dict[str, Any] = {"suite": r.suite, "model": r.model,
                               "args": ", ".join(f"{k}={v}" for k, v in sorted(model["args"].items())),
                               "code": (model.get("source_sha256") or "—")[:CODE_DIGITS], "run": r.id,
                               "videos": r.manifest["num_videos"], "samples": r.manifest["num_samples"]}
        for metric, s in r.summary.metrics.items():
            name, digits = metric.upper() + " " + arrows[0 if s.higher_is_better else 1], DIGITS.get(metric, 4)
            if isinstance(s, FrameMetricSummary):
                for label, part in (("best-of-N", s.best), ("mean-of-N", s.mean_of_samples)):
                    ci = bootstrap_ci(np.asarray(part.per_video), resamples=resamples)
                    row[f"{name} {label}"] = _with_interval(part.mean, ci.half_width, digits)
            else:
                row[name] = _with_interval(s.mean, s.std if len(s.trials) > 1 else None, digits)
        truth = r.summary.truth or {}
        for key, label in TRUTH_TABLE.items():
            s = truth.get(key)
            defined = [v for v in s["per_video"] if v is not None] if s else []
            if defined:
                ci = bootstrap_ci(np.asarray(defined), resamples=resamples)
                name = f"{label} {arrows[0 if s['higher_is_better'] else 1]}"
                row[name] = _with_interval(s["mean"], ci.half_width, 3)
        rows.append(row)
    table = pd.DataFrame.from_records(rows)
    if len(table) and table["suite"].nunique() == 1:
        table = table.drop(columns="suite")
    return table.fillna("—")


def to_markdown(runs: list[RunRecord], resamples: int = DEFAULT_RESAMPLES) -> str:
    return paper_table(runs, resamples).to_markdown(index=False, disable_numparse=True) + "\n"


def _latex_escape(text: str) -> str:
    special = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
               "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
               "±": r"$\pm$", "—": "--"}
    return "".join(special.get(ch, ch) for ch in str(text))


def to_latex(runs: list[RunRecord], resamples: int = DEFAULT_RESAMPLES) -> str:
    """A booktabs table (needs \\usepackage{booktabs}) labelled `tab:vbench-<suite>`: text columns left,
    numbers right; cells are escaped, arrows are math."""
    table = paper_table(runs, resamples, arrows=(r"$\uparrow$", r"$\downarrow$")).map(_latex_escape)
    caption = (f"Best-of-N and mean-of-N: mean over test videos $\\pm$ half-width of the 95\\% bootstrap "
               f"interval ({resamples:,} resamples). FVD/KVD: mean $\\pm$ std over trials.")
    if any(r.summary and r.summary.truth for r in runs):
        caption += (" Coverage, precision, position W1 (px): against true futures from the SM-MNIST simulator, "
                    "mean over test videos $\\pm$ CI half-width.")
    suites = sorted({r.suite for r in runs})
    label = "tab:vbench" + ("-" + "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in suites[0])
                            if len(suites) == 1 else "")
    align = "".join("l" if column in TEXT_COLUMNS else "r" for column in table.columns)
    return table.to_latex(index=False, escape=False, caption=caption, label=label, column_format=align)


def export_text(runs: list[RunRecord], fmt: str, resamples: int = DEFAULT_RESAMPLES) -> str:
    if fmt == "json":
        return to_json(runs)
    if fmt == "csv":
        return to_csv(runs)
    if fmt == "markdown":
        return to_markdown(runs, resamples)
    if fmt == "latex":
        return to_latex(runs, resamples)
    raise ValueError(f"unknown export format '{fmt}'; formats: {', '.join(FORMATS)}")
