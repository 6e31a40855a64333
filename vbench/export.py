"""One flat record per run (manifest essentials + summary scores), for scripts, CI and papers."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from vbench.store import RunRecord


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
    for metric, profile in m["suite"]["profiles"].items():
        record[f"{metric}_profile"] = profile
    for metric, summary in ((run.summary or {}).get("metrics") or {}).items():
        if "best" in summary:
            record[f"{metric}_best"] = summary["best"]["mean"]
            record[f"{metric}_mean_of_samples"] = summary["mean_of_samples"]["mean"]
        else:
            record[f"{metric}_mean"] = summary["mean"]
            record[f"{metric}_std"] = summary["std"]
            record[f"{metric}_trials"] = len(summary["trials"])
    if run.summary:
        record["wall_time_s"] = run.summary.get("wall_time_s")
    if full:
        record["manifest"] = m
    return record


def to_json(runs: list[RunRecord]) -> str:
    return json.dumps([run_record(r, full=True) for r in runs], indent=2, sort_keys=True)


def to_csv(runs: list[RunRecord]) -> str:
    records = [run_record(r) for r in runs]
    columns: list[str] = []
    for record in records:
        columns += [k for k in record if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()
