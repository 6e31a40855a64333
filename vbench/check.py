"""`vbench check`: compare a run's scores with committed reference scores (CI regression).

A reference file (JSON, one per suite, e.g. `reports/reference/smmnist-mini.json`) holds, per model
entry, the scores of a run and a tolerance for each:

    {"suite": "smmnist-mini", "suite_version": 1, "tolerance_rule": "...",
     "models": {"copy_last": {"model": "copy_last", "model_args": {}, "checkpoint_sha256": null,
                              "updated": "...", "reason": "...", "run": {...provenance...},
                              "scores": {"ssim/best": {"value": 0.5634, "tolerance": 0.0001,
                                                       "ci95_half_width": 0.012}, ...}}}}

Scores are keyed `<metric>/best`, `<metric>/mean_of_samples` for per-frame metrics,
`<metric>/mean` for set metrics (FVD, KVD) and `truth/<score>` for the truth scores of SM-MNIST
suites with a `truth:` section (coverage, precision, position_w1, velocity_w1: their means over
test videos). The default tolerance is a numerical floor: the same model, checkpoint, suite and
seed must reproduce its numbers up to floating-point differences between machines
(`abs + rel * |reference|`, per metric or score in `TOLERANCE_FLOORS`). Coverage and precision
count match decisions (a distance against a radius), which a float difference can flip, so their
tolerance adds one decision: `1 / (K * videos)` for coverage, `1 / (S * videos)` for precision.
The tolerance is written into the file and can be edited there; `--update` keeps an edited
tolerance. The 95% bootstrap CI half-width over test videos is stored beside it, so a report can
say whether a move is also statistically meaningful. `--update` never happens silently: it needs a reason, which is recorded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vbench.errors import VBenchError
from vbench.results import SetMetricSummary
from vbench.stats import bootstrap_ci
from vbench.store import RunRecord

# metric (or score key) -> (absolute, relative) floor: float32 networks on another CPU/GPU move LPIPS
# and I3D features in the 6th-7th digit; FVD amplifies that through the matrix square root. Truth
# trajectory distances are in pixels from integer digit positions (1e-3: a localiser tie or two).
TOLERANCE_FLOORS = {"ssim": (1e-4, 0.0), "psnr": (1e-3, 0.0), "lpips": (1e-4, 0.0),
                    "fvd": (1e-2, 1e-3), "kvd": (1e-4, 1e-2),
                    "truth/coverage": (1e-6, 0.0), "truth/precision": (1e-6, 0.0),
                    "truth/position_w1": (1e-3, 0.0), "truth/velocity_w1": (1e-3, 0.0)}
TRUTH_SCORES = ("coverage", "precision", "position_w1", "velocity_w1")   # checked as truth/<score>
TOLERANCE_RULE = ("numerical floor: |now - reference| <= abs + rel * |reference| with (abs, rel) per metric "
                  + ", ".join(f"{m} {a:g}/{r:g}" for m, (a, r) in TOLERANCE_FLOORS.items())
                  + ", plus one match decision for truth/coverage (1 / (K * videos)) and truth/precision "
                  "(1 / (S * videos)); same model, checkpoint, suite and seed must reproduce up to "
                  "floating-point differences")


@dataclass(frozen=True)
class Comparison:
    key: str
    reference: float | None
    value: float | None
    tolerance: float | None
    ci95_half_width: float | None

    @property
    def difference(self) -> float | None:
        return None if self.reference is None or self.value is None else self.value - self.reference

    @property
    def status(self) -> str:
        if self.value is None:
            return "missing"
        if self.reference is None:
            return "new"
        return "ok" if abs(self.difference) <= self.tolerance else "MOVED"


def entry_name(model: str, model_args: dict[str, Any]) -> str:
    """The reference entry of a model spec with its arguments, e.g. `noisy_copy_last[sigma=0.05]`."""
    if not model_args:
        return model
    return f"{model}[{','.join(f'{k}={model_args[k]}' for k in sorted(model_args))}]"


def run_scores(run: RunRecord) -> dict[str, dict[str, float | None]]:
    """`{key: {"value", "ci95_half_width"}}` from a finished run's summary; truth coverage and
    precision add "quantum", the change one match decision makes to the mean."""
    if run.status != "finished" or not run.summary:
        raise VBenchError(f"run {run.id} is {run.status}, not finished: nothing to check")
    out: dict[str, dict[str, float | None]] = {}
    for metric, s in run.summary.metrics.items():
        if isinstance(s, SetMetricSummary):
            out[f"{metric}/mean"] = {"value": s.mean, "ci95_half_width": None}
            continue
        for kind, part in (("best", s.best), ("mean_of_samples", s.mean_of_samples)):
            half = bootstrap_ci(part.per_video).half_width if len(part.per_video) > 1 else None
            out[f"{metric}/{kind}"] = {"value": part.mean, "ci95_half_width": half}
    truth = run.summary.truth or {}
    for name in TRUTH_SCORES:
        summary = truth.get(name)
        if not summary or summary["mean"] is None:
            continue
        per_video = [v for v in summary["per_video"] if v is not None]
        half = bootstrap_ci(per_video).half_width if len(per_video) > 1 else None
        out[f"truth/{name}"] = {"value": summary["mean"], "ci95_half_width": half}
        if name in ("coverage", "precision"):
            per_video_count = truth["config"]["k"] if name == "coverage" else run.manifest["num_samples"]
            out[f"truth/{name}"]["quantum"] = 1.0 / (per_video_count * len(per_video))
    return out


def default_tolerance(key: str, value: float, quantum: float | None = None) -> float:
    """The numerical floor of `key` at `value`, plus `quantum` (one discrete decision) where given."""
    absolute, relative = TOLERANCE_FLOORS.get(key, TOLERANCE_FLOORS.get(key.split("/")[0], (1e-6, 1e-6)))
    return absolute + relative * abs(value) + (quantum or 0.0)


def compare(reference: dict[str, dict], scores: dict[str, dict]) -> list[Comparison]:
    """Every score of the reference entry against the run's; scores the reference lacks are 'new'."""
    rows = []
    for key in list(reference) + [k for k in scores if k not in reference]:
        ref = reference.get(key)
        now = scores.get(key)
        rows.append(Comparison(key, ref["value"] if ref else None, now["value"] if now else None,
                               ref["tolerance"] if ref else None,
                               (ref or now).get("ci95_half_width")))
    return rows


def format_table(rows: list[Comparison]) -> str:
    def num(x: float | None, fmt: str = ".6g") -> str:
        return "-" if x is None else format(x, fmt)
    lines = [f"{'score':<26} {'reference':>12} {'now':>12} {'difference':>12} {'tolerance':>10} "
             f"{'CI95 ±':>9}  status"]
    for r in rows:
        beyond_ci = (r.difference is not None and r.ci95_half_width is not None
                     and abs(r.difference) > r.ci95_half_width)
        lines.append(f"{r.key:<26} {num(r.reference):>12} {num(r.value):>12} {num(r.difference, '+.3g'):>12} "
                     f"{num(r.tolerance, '.2g'):>10} {num(r.ci95_half_width, '.3g'):>9}  {r.status}"
                     + ("  (beyond the CI half-width)" if beyond_ci and r.status == "MOVED" else ""))
    return "\n".join(lines)


def load_reference(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise VBenchError(f"reference file {path} not found (create it with `vbench check ... --update --reason TEXT`)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise VBenchError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise VBenchError(f"{path}: not a vbench reference file (no 'models' mapping)")
    return data


def _entry_for(path: Path, data: dict[str, Any], run: RunRecord) -> tuple[str, dict[str, Any]]:
    model = run.manifest["model"]
    name = entry_name(model["spec"], model["args"])
    if data.get("suite") != run.suite:
        raise VBenchError(f"{path} holds references for suite '{data.get('suite')}', run {run.id} is on '{run.suite}'")
    if data.get("suite_version") != run.manifest["suite"]["version"]:
        raise VBenchError(f"{path}: references were made on {run.suite} v{data.get('suite_version')}, the run used "
                          f"v{run.manifest['suite']['version']}: the protocol changed, update the references")
    if name not in data["models"]:
        raise VBenchError(f"{path}: no reference for model '{name}' (have: {', '.join(data['models']) or 'none'}); "
                          "add one with --update --reason TEXT")
    entry = data["models"][name]
    for key in ("num_videos", "num_samples"):
        made, now = entry.get("run", {}).get(key), run.manifest[key]
        if made is not None and made != now:
            raise VBenchError(f"{path}: the reference for '{name}' was made with {key}={made}, run {run.id} has "
                              f"{now} (--limit/--samples change the numbers); check with the reference's")
    sha = (model.get("checkpoint") or {}).get("sha256")
    if entry.get("checkpoint_sha256") != sha:
        raise VBenchError(f"{path}: the reference for '{name}' was made with checkpoint sha256 "
                          f"{entry.get('checkpoint_sha256')}, this run used {sha}")
    return name, entry


def check_run(run: RunRecord, reference_path: str | Path,
              overrides: dict[str, float] | None = None) -> tuple[bool, str]:
    """(passed, table) of a finished run against its reference entry.

    `overrides` maps a metric (`ssim`) or a score key (`ssim/best`) to a tolerance used instead of
    the file's for this check only.
    """
    path = Path(reference_path)
    data = load_reference(path)
    name, entry = _entry_for(path, data, run)
    reference = {}
    for key, ref in entry["scores"].items():
        tolerance = (overrides or {}).get(key, (overrides or {}).get(key.split("/")[0], ref["tolerance"]))
        reference[key] = dict(ref, tolerance=tolerance)
    rows = compare(reference, run_scores(run))
    passed = all(r.status in ("ok", "new") for r in rows)
    header = (f"{run.suite} / {name}: run {run.id} against {path} (updated {entry.get('updated')}: "
              f"{entry.get('reason')})")
    return passed, header + "\n" + format_table(rows)


def update_reference(run: RunRecord, reference_path: str | Path, reason: str) -> str:
    """Write the run's scores as the reference of its model; returns the comparison with the old one."""
    if not reason or not reason.strip():
        raise VBenchError("--update needs --reason TEXT: references never change silently")
    path = Path(reference_path)
    data = load_reference(path) if path.exists() else {
        "suite": run.suite, "suite_version": run.manifest["suite"]["version"], "models": {}}
    if data.get("suite") != run.suite:
        raise VBenchError(f"{path} holds references for suite '{data.get('suite')}', run {run.id} is on '{run.suite}'")
    data["suite_version"] = run.manifest["suite"]["version"]
    data["tolerance_rule"] = TOLERANCE_RULE
    model = run.manifest["model"]
    name = entry_name(model["spec"], model["args"])
    old = data["models"].get(name, {}).get("scores", {})
    scores = {key: {"value": s["value"],
                    "tolerance": (old[key]["tolerance"] if key in old
                                  else default_tolerance(key, s["value"], s.get("quantum"))),
                    "ci95_half_width": s["ci95_half_width"]}
              for key, s in run_scores(run).items()}
    env = run.manifest["environment"]
    data["models"][name] = {
        "model": model["spec"], "model_args": model["args"],
        "checkpoint_sha256": (model.get("checkpoint") or {}).get("sha256"),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "reason": reason.strip(),
        "run": {"run_id": run.id, "vbench_version": run.manifest["vbench_version"], "git_sha": env["git_sha"],
                "device": env["device"], "torch": env["torch"], "num_videos": run.manifest["num_videos"],
                "num_samples": run.manifest["num_samples"]},
        "scores": scores,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    rows = compare({k: dict(v, tolerance=scores[k]["tolerance"]) for k, v in old.items() if k in scores}, scores)
    return f"updated '{name}' in {path} ({reason.strip()})\n" + format_table(rows)
