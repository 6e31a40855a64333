"""`vbench report`: a static site built from the result store alone (never models or data).

index.html (suites and recent runs) -> suite-<name>.html (leaderboard) -> run-<id>.html (one run,
with strips/<run>-video<v>.gif|png). Templates are jinja2 with autoescape on, so names and
arguments from users render inert. Pages need no network: styles, the sorting script and the
charts (inline SVG) are all inside the site.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

import vbench
from vbench.export import run_record
from vbench.protocol import real_features_fields
from vbench.report.leaderboard import SetFeatures, leaderboard
from vbench.report.run_page import curves, score_rows, truth_curves, truth_rows, write_strips
from vbench.stats import DEFAULT_RESAMPLES
from vbench.store import RunRecord, Store

TEMPLATES = Path(__file__).parent / "templates"
STRIPS_FOLDER = "strips"


def _num(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"], default=True),
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = _num
    env.filters["raw"] = lambda x: "" if x is None else repr(float(x))    # sortable data-value
    env.filters["when"] = lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t))
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def _page(run: RunRecord) -> str:
    return f"run-{_slug(run.id)}.html"


def set_features(store: Store) -> SetFeatures:
    """Look-up of a run's FVD features: (real [V, D] from the feature cache, predicted [V, K, D]).

    The real clips' features are cached under vbench.protocol.real_features_key: the suite's clip
    settings, the fingerprint of the clips entering FVD and the I3D network. A run whose key is missing
    or ambiguous (several I3D weights), or that predates data fingerprints, gets None, and its FVD cell
    no interval.
    """
    keys = []
    for key in store.feature_cache_keys():
        try:
            keys.append((key, json.loads(key)))
        except ValueError:
            continue

    def lookup(run: RunRecord) -> tuple[np.ndarray, np.ndarray] | None:
        data = run.manifest.get("data") or {}
        if not data.get("fvd_fingerprint"):
            return None
        wanted = real_features_fields(run.manifest["suite"], data["fvd_fingerprint"])
        matches = [key for key, fields in keys if isinstance(fields, dict)
                   and all(fields.get(f) == v for f, v in wanted.items())]
        videos, fake = store.features(run.id, "fvd_fake")                   # [V, K, D]
        if len(matches) != 1 or not videos or videos != list(range(len(videos))):
            return None
        cached = store.cached_features(matches[0], videos)
        if len(cached) != len(videos):
            return None
        return np.stack([cached[v] for v in videos]), fake                   # [V, D], [V, K, D]

    return lookup


def _run_page(env: jinja2.Environment, store: Store, run: RunRecord, out: Path, resamples: int,
              common: dict[str, Any]) -> None:
    metrics = run.summary.metrics if run.summary else {}
    truth = run.summary.truth if run.summary else None
    charts, strips, truth_charts = [], [], []
    if run.status == "finished" and run.summary:
        _, scores = store.scores(run.id)
        charts = curves(run, scores, resamples)
        truth_charts = truth_curves(run, scores, resamples)
        strips = write_strips(store.strips(run.id), out / STRIPS_FOLDER, _slug(run.id))
    (out / _page(run)).write_text(env.get_template("run.html").render(
        run=run, record=run_record(run), metrics=metrics, scores=score_rows(metrics, resamples, lambda: set_features(store)(run)),
        charts=charts, strips=strips, resamples=resamples, truth=truth,
        truth_scores=truth_rows(truth, resamples), truth_charts=truth_charts,
        suite_page=f"suite-{_slug(run.suite)}.html", **common))


def build_site(store: Store, out: Path, resamples: int = DEFAULT_RESAMPLES) -> Path:
    """Write the whole site into `out`; returns the index page. `resamples`: bootstrap resamples
    of every interval (seed 0), so a site is the same each time it is built from the same store."""
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    out.mkdir(parents=True, exist_ok=True)
    env = _environment()
    runs = store.runs()
    suites = sorted({r.suite for r in runs})
    common = {"version": vbench.__version__, "generated": time.time(), "store": str(store.path)}
    features = set_features(store)

    suite_pages = []
    for suite in suites:
        suite_runs = [r for r in runs if r.suite == suite]
        newest = suite_runs[-1].manifest["suite"]
        board = leaderboard(suite_runs, resamples, features, _page)
        page = f"suite-{_slug(suite)}.html"
        (out / page).write_text(env.get_template("suite.html").render(
            suite=newest, board=board, references=newest.get("references", []), **common))
        suite_pages.append({"name": suite, "page": page, "runs": len(suite_runs),
                            "finished": len(board["rows"]) + len(board["others"]),
                            "description": newest.get("description", "")})

    for r in runs:
        _run_page(env, store, r, out, resamples, common)

    recent = [{"run": r, "page": _page(r)} for r in reversed(runs[-20:])]
    index = out / "index.html"
    index.write_text(env.get_template("index.html").render(suites=suite_pages, recent=recent, **common))
    (out / "style.css").write_text((TEMPLATES / "style.css").read_text())
    return index
