"""vbench from Python: `evaluate` a model as `vbench run` does, read its `Result`, `load_runs` of a store.

`evaluate` builds the `RunRequest` the command line builds and calls the same `vbench.runner.run`,
so its numbers, manifest and store rows are those of `vbench run` with the same arguments. Without a
store it writes to a temporary one and keeps the results in memory.
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from vbench.errors import VBenchError
from vbench.results import Aggregate, FrameMetricSummary, RunSummary

FRAME_COLUMNS = {"metric": "object", "frame": "int64", "best": "float64", "mean": "float64"}
VIDEO_COLUMNS = {"metric": "object", "video": "int64", "best": "float64", "mean": "float64"}


@dataclass(frozen=True)
class Result:
    """One finished run: its id, its manifest (everything that decided the numbers) and summary
    (vbench.results.RunSummary)."""

    run_id: str
    manifest: dict[str, Any]
    summary: RunSummary

    @functools.cached_property
    def scores(self) -> dict[str, dict[str, Any]]:
        """Per-frame metrics (ssim, psnr, lpips): {"best": best-of-N mean over test videos, "mean":
        mean-of-N, "interval": (low, high) 95% bootstrap interval of "best" over test videos}.
        Set metrics (fvd, kvd): {"value": mean over trials, "trials": [one value per trial],
        "interval": (low, high) of the expected score at this many test videos, None in runs stored
        before vbench kept it}."""
        from vbench.stats import bootstrap_ci
        out: dict[str, dict[str, Any]] = {}
        for metric, s in self.summary.metrics.items():
            if isinstance(s, FrameMetricSummary):
                ci = bootstrap_ci(np.asarray(s.best.per_video))
                out[metric] = {"best": s.best.mean, "mean": s.mean_of_samples.mean, "interval": (ci.low, ci.high)}
            else:
                out[metric] = {"value": s.mean, "trials": list(s.trials),
                               "interval": (s.interval.low, s.interval.high) if s.interval else None}
        return out

    def per_frame(self):
        """pandas DataFrame, one row per (per-frame metric, predicted frame): columns metric (str),
        frame (int64, 0 = the first predicted frame), best and mean (float64: best-of-N and
        mean-of-N over test videos)."""
        return self._long("frame", lambda part: part.per_frame, FRAME_COLUMNS)

    def per_video(self):
        """pandas DataFrame, one row per (per-frame metric, test video): columns metric (str), video
        (int64, index in the suite's test list), best and mean (float64: the video's best-of-N
        score and its mean over samples)."""
        return self._long("video", lambda part: part.per_video, VIDEO_COLUMNS)

    def _long(self, column: str, values: Callable[[Aggregate], list[float]], dtypes: dict[str, str]):
        import pandas as pd
        rows = [(metric, i, best, mean) for metric, s in self.summary.frame_metrics.items()
                for i, (best, mean) in enumerate(zip(values(s.best), values(s.mean_of_samples), strict=True))]
        return pd.DataFrame(rows, columns=list(dtypes)).astype(dtypes)


def evaluate(model: Any, suite: str = "smmnist-mini", *, limit: int | None = None, samples: int | None = None,
             store: str | Path | None = None, device: str | None = None, progress: bool = True,
             checkpoint: str | None = None, **model_args: Any) -> Result | None:
    """Score `model` on `suite` exactly as `vbench run` does and return the finished run's Result.

    model: a model object (used as it is: moved to `device` and scored in eval mode, its training
        mode restored afterwards), a model class (built with `model_args`), or any name `vbench run
        --model` accepts (`copy_last`, `pkg.module:Class`, `path/model.py:Class`).
    suite: a suite name or YAML file. limit, samples: `--limit`, `--samples` (recorded as overrides).
    store: the SQLite store to add the run to (None: a temporary one, gone when this returns).
    device: `--device` (None: CUDA when available). checkpoint: `--checkpoint`.
    model_args: `--model-arg key=value` pairs, as Python values.

    Under torchrun every process calls it; rank 0 returns the Result, the others None.
    """
    import torch

    from vbench.distributed import is_main_process
    from vbench.runner import RunRequest, run
    from vbench.store import Store
    restore = model.train if isinstance(model, torch.nn.Module) else None
    training = getattr(model, "training", False)
    with contextlib.ExitStack() as stack:
        if store is None:
            store = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vbench-"))) / "results.sqlite"
        try:
            run_id = run(RunRequest(suite=suite, model=model, checkpoint=checkpoint, model_args=model_args,
                                    samples=samples, limit=limit, device=device, store=store, progress=progress))
        finally:
            if restore is not None:
                restore(training)
        if not is_main_process():
            return None
        with Store(store) as opened:
            record = opened.run(run_id)
    return Result(record.id, record.manifest, record.summary)


def load_runs(store: str | Path, suite: str | None = None):
    """The finished runs of `store` (of `suite` only, if given) as a pandas DataFrame, one row per run:
    the records of `vbench export --format csv` (vbench.export.run_record). Columns include run_id,
    suite, model, model_spec, model_args (JSON), num_videos and num_samples (int64), protocol and
    standard (whether the run kept its suite's settings), code_sha256, data_fingerprint, and per
    metric `<m>_best`, `<m>_best_low`, `<m>_best_high`, `<m>_mean_of_samples` (per-frame metrics) or
    `<m>_mean`, `<m>_std`, `<m>_low`, `<m>_high` (float64) and `<m>_trials` (int64) for fvd, kvd."""
    from vbench.export import records_frame
    from vbench.store import Store
    if not Path(store).exists():
        raise VBenchError(f"no result store at {store}")
    with Store(store) as opened:
        runs = [r for r in opened.runs() if r.status == "finished" and (suite is None or r.suite == suite)]
    return records_frame(runs)
