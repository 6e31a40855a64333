"""`vbench show RUN`: everything the store knows about one run, as text.

Status and lease first (is it live, who holds it, when it last beat), then the protocol it was
scored under and what was overridden, the provenance of the model and the environment, and the
scores when it has finished.
"""

from __future__ import annotations

import json
import time
from typing import Any

from vbench.store import RunRecord


def _when(t: float | None) -> str:
    return "—" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def lease_line(record: RunRecord, now: float | None = None) -> str:
    """Who holds (or last held) the run and how fresh its heartbeat is."""
    if record.holder is None:
        return "no lease recorded (a run from before leases)"
    age = (time.time() if now is None else now) - record.heartbeat
    verb = "held by" if record.live else "last held by"
    return f"{verb} {record.holder.describe()}, heartbeat {age:.0f} s ago ({_when(record.heartbeat)})"


def protocol_lines(manifest: dict[str, Any]) -> list[str]:
    suite = manifest["suite"]
    if suite.get("task") == "generation":
        shape = f"generate {suite['predicted_frames']} frames"
    else:
        shape = f"{suite['context_frames']} -> {suite['predicted_frames']} frames"
    profiles = ", ".join(f"{m} {p}" for m, p in suite["profiles"].items())
    overrides = {k: v for k, v in (manifest.get("overrides") or {}).items() if v is not None}
    lines = [f"  suite      {suite['name']} v{suite['version']} ({suite['dataset']}, split {suite['split']}, "
             f"{suite['resolution']} px, {shape})",
             f"  scored     {manifest['num_videos']} of {suite['num_videos']} test videos x "
             f"{manifest['num_samples']} samples, selection {suite['selection']}, seed {manifest['seed']}",
             f"  profiles   {profiles}",
             "  overrides  " + (", ".join(f"--{k} {v}" for k, v in overrides.items()) if overrides
                                else "none (the suite's standard protocol)")]
    if manifest.get("data"):
        lines.append(f"  data       {json.dumps(manifest['data'], sort_keys=True)}")
    return lines


def provenance_lines(manifest: dict[str, Any]) -> list[str]:
    model, env = manifest["model"], manifest.get("environment", {})
    checkpoint = model.get("checkpoint") or {}
    lines = [f"  model      {model['name']} ({model['spec']}), arguments {json.dumps(model['args'], sort_keys=True)}"]
    if checkpoint:
        lines.append(f"  checkpoint {checkpoint['path']} (sha256 {checkpoint['sha256'][:16]}…)")
    for key in sorted(k for k in model if k.endswith("sha256") and model[k]):
        lines.append(f"  {key:<10} {model[key]}")
    lines.append(f"  vbench     {manifest['vbench_version']} (git {env.get('git_sha', '—')}), "
                 f"torch {env.get('torch', '—')}, python {env.get('python', '—')}")
    processes = f", {env['world_size']} processes" if env.get("world_size") else ""
    i3d = f", I3D {env['i3d']}" if env.get("i3d") else ""
    lines.append(f"  device     {env.get('device', '—')} ({env.get('device_name', '—')}) on host "
                 f"{env.get('host', '—')}, batch size {env.get('batch_size', '—')}{processes}{i3d}")
    return lines


def describe_run(record: RunRecord, videos_done: int, scores: str | None) -> str:
    """The text of `vbench show`: `scores` is the run's score table when it has finished."""
    lines = [f"run {record.id}",
             f"  status     {record.status}, {videos_done}/{record.manifest['num_videos']} test videos stored"
             + (f": {record.error}" if record.error else ""),
             f"  lease      {lease_line(record)}",
             f"  created    {_when(record.created)}"
             + (f", finished {_when(record.finished)}" if record.finished else ""),
             "protocol", *protocol_lines(record.manifest),
             "provenance", *provenance_lines(record.manifest)]
    if scores:
        lines += ["scores", *("  " + line for line in scores.splitlines())]
    return "\n".join(lines)
