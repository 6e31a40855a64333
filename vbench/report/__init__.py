"""`vbench report`: a static site built from the result store alone (never models or data).

index.html (suites and recent runs) -> suite-<name>.html (leaderboard) -> run-<id>.html (one run).
Templates are jinja2 with autoescape on, so names and arguments from users render inert.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jinja2

import vbench
from vbench.export import run_record
from vbench.stats import bootstrap_ci
from vbench.store import RunRecord, Store

TEMPLATES = Path(__file__).parent / "templates"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"], default=True),
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = lambda x, digits=4: "—" if x is None else f"{x:.{digits}f}"
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))
    return env


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def leaderboard(runs: list[RunRecord]) -> dict[str, Any]:
    """Columns and rows of one suite's leaderboard: one row per finished run, best first."""
    finished = [r for r in runs if r.status == "finished" and r.summary]
    metrics: list[str] = []
    for r in finished:
        metrics += [m for m in r.summary["metrics"] if m not in metrics]
    columns = []
    for metric in metrics:
        sample = next(r.summary["metrics"][metric] for r in finished if metric in r.summary["metrics"])
        columns.append({"metric": metric, "per_frame": "best" in sample, "profile": sample["profile"],
                        "arrow": "↑" if sample["higher_is_better"] else "↓"})
    rows = []
    for r in finished:
        cells = []
        for col in columns:
            s = r.summary["metrics"].get(col["metric"])
            if s is None:
                cells.append({"best": None, "mean": None})
            elif col["per_frame"]:
                ci = bootstrap_ci(s["best"]["per_video"])   # 95%, 10,000 resamples over test videos, seed 0
                cells.append({"best": s["best"]["mean"], "mean": s["mean_of_samples"]["mean"],
                              "low": ci.low, "high": ci.high})
            else:
                cells.append({"best": s["mean"], "mean": s["std"] if len(s["trials"]) > 1 else None})
        rows.append({"run": r, "page": f"run-{_slug(r.id)}.html", "cells": cells,
                     "checkpoint": (r.manifest["model"]["checkpoint"] or {}).get("path")})
    if columns:   # rank by the first metric, in its better direction
        key = 0
        sign = -1 if columns[0]["arrow"] == "↑" else 1
        rows.sort(key=lambda row: (row["cells"][key]["best"] is None, sign * (row["cells"][key]["best"] or 0)))
    return {"columns": columns, "rows": rows}


def build_site(store: Store, out: Path) -> Path:
    """Write the whole site into `out`; returns the index page."""
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    runs = store.runs()
    suites = sorted({r.suite for r in runs})
    common = {"version": vbench.__version__, "generated": time.time(), "store": str(store.path)}

    suite_pages = []
    for suite in suites:
        suite_runs = [r for r in runs if r.suite == suite]
        newest = suite_runs[-1].manifest["suite"]
        board = leaderboard(suite_runs)
        page = f"suite-{_slug(suite)}.html"
        (out / page).write_text(env.get_template("suite.html").render(
            suite=newest, board=board, references=newest.get("references", []), **common))
        suite_pages.append({"name": suite, "page": page, "runs": len(suite_runs),
                            "finished": len(board["rows"]), "description": newest.get("description", "")})

    for r in runs:
        metrics = (r.summary or {}).get("metrics", {})
        (out / f"run-{_slug(r.id)}.html").write_text(env.get_template("run.html").render(
            run=r, record=run_record(r), metrics=metrics, suite_page=f"suite-{_slug(r.suite)}.html", **common))

    recent = [{"run": r, "page": f"run-{_slug(r.id)}.html"} for r in reversed(runs[-20:])]
    index = out / "index.html"
    index.write_text(env.get_template("index.html").render(suites=suite_pages, recent=recent, **common))
    (out / "style.css").write_text((TEMPLATES / "style.css").read_text())
    return index
