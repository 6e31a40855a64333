"""`vbench run`: score one model on one suite and store the result.

suite -> test clips -> model.predict (validated) -> per-frame scores [V, S, T] + I3D features
      (+ truth scores of SM-MNIST suites with a `truth:` section, vbench.truth)
      -> store (one transaction per batch) -> best-of-N + summary + FVD/KVD (+ truth) -> finished run.

Everything that changes a number is in the manifest; the manifest's identity decides which
unfinished run `--resume` continues, after taking over its lease (vbench.lease: a live run is never
taken over); when none can be, it says why. SIGINT, SIGTERM and SIGHUP stop the run once the batch
in hand is stored (a second one at once), leaving it `interrupted`; any error leaves it `failed`.
Sample k of test video v is drawn from a generator seeded by (suite seed, v, k), and each video is
scored on its own, so scores do not depend on batch size or on where a run was interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

import vbench
from vbench import distributed
from vbench.adapters import (SampleRNG, generate_checked, model_name, model_spec, negative_elbo_checked,
                             predict_checked, resolve_model)
from vbench.data import load_digit_source, load_test_clips, prepared_folder
from vbench.errors import ModelError, NothingToResume, RunBusy, VBenchError
from vbench.interrupts import Interrupted, StopSignals
from vbench.lease import Heartbeat, Holder, this_process
from vbench.metrics import frame_metric
from vbench.metrics.fvd import clips_per_pass, i3d_features, i3d_path
from vbench.protocol import data_record, model_code_sha256, model_weights_sha256, wants_fvd
from vbench.selection import best_sample, summarize
from vbench.results import BatchScores, Diversity, Likelihood, MetricSummary, RunSummary, SetMetricSummary
from vbench.store import DEFAULT_STORE, TRUTH_PREFIX, RunRecord, Store
from vbench.suite import Suite, load_suite

PREDICTION_BUDGET_BYTES = 256 * 2**20   # float32 predictions held at once per predict() call
STRIP_VIDEOS = 4        # the first test videos keep frames for the report's sample strips
STRIP_RANDOM = 3        # random samples shown beside the ground truth and the best sample
STRIP_SIZE = 64         # strip frames larger than this are shrunk (area average) to fit
# Likelihood models (an adapter with `negative_elbo(context, future, rng) -> [B]`): the ELBO of each test
# video's true future, averaged over ELBO_DRAWS posterior draws taken from sample streams ELBO_STREAM.. of
# the SampleRNG (apart from the streams of the predicted samples), stored as the per-video row "nelbo".
ELBO_DRAWS = 4
ELBO_STREAM = 1_000_000
# Truth scores (vbench.truth.truth_video_scores) are stored as video_scores rows named "truth/<name>"
# (store.TRUTH_PREFIX): these per-frame curves as [1, T], every other number as [1, 1].
TRUTH_CURVES = ("position_w1", "position_w1_reference", "velocity_w1", "velocity_w1_reference")


@dataclass
class RunRequest:
    """What the user asked for; every field that can change a number goes into the manifest."""
    suite: str
    model: Any                          # a name or spec (`vbench run --model`), or a model class or object
    checkpoint: str | None = None
    model_args: dict[str, Any] = field(default_factory=dict)
    samples: int | None = None          # override of the suite's num_samples
    limit: int | None = None            # score only the first N test videos
    device: str | None = None           # cpu | cuda | cuda:N; default cuda when available
    store: str | Path = DEFAULT_STORE
    data_root: str | None = None
    resume: bool = False                # continue the unfinished identical run (NothingToResume if none)
    resume_or_new: bool = False         # with resume: start a new run when there is none to continue
    batch_size: int = 8                 # videos per predict() call: changes speed, never numbers
    progress: bool = True


def pick_device(requested: str | None) -> torch.device:
    if requested is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VBenchError(f"--device {requested}: CUDA is not available on this machine (use --device cpu)")
    return device


def _sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _git_sha() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(vbench.__file__).parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_manifest(request: RunRequest, suite: Suite, model: Any, num_samples: int, num_videos: int,
                   device: torch.device, clips: np.ndarray) -> tuple[dict[str, Any], str]:
    """(manifest, identity): identity hashes everything that decides the numbers, the content of the
    scored clips (uint8 [V, T, C, H, W]) and the model's source code (its file or package) included, so
    an edited model or changed data never resumes an old run."""
    checkpoint = None
    if request.checkpoint:
        checkpoint = {"path": str(request.checkpoint), "sha256": _sha256_file(request.checkpoint)}
    suite_dict = suite.to_dict()
    numbers = {
        "suite": suite_dict,
        "model": {"spec": request.model, "name": model_name(model, request.model),
                  "args": request.model_args, "checkpoint": checkpoint,
                  "source_sha256": model_code_sha256(model), "weights_sha256": model_weights_sha256(model),
                  "stochastic": bool(getattr(model, "stochastic", True))},
        "num_samples": num_samples,
        "num_videos": num_videos,
        "data": data_record(suite_dict, clips),
        "overrides": {"samples": request.samples, "limit": request.limit},
        "seed": suite.seed,
        "vbench_version": vbench.__version__,
    }
    identity = hashlib.sha256(json.dumps(numbers, sort_keys=True, default=str).encode()).hexdigest()
    manifest = dict(numbers, environment={
        "git_sha": _git_sha(), "torch": torch.__version__, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "python": platform.python_version(), "host": platform.node(),
        "batch_size": request.batch_size, "data_root": request.data_root,
        "i3d": i3d_path(device) if wants_fvd(suite_dict) else None,
    })
    return manifest, identity


class _Scorer:
    """Per-video scoring of predicted frames and extraction of FVD clips."""

    def __init__(self, suite: Suite, device: torch.device, num_samples: int, digits: np.ndarray | None = None):
        self.suite = suite
        self.metrics = {m: frame_metric(m, suite.profiles.get(m), device) for m in suite.frame_metrics}
        self.wants_fvd = bool(suite.set_metrics)
        self.fvd_samples = min(suite.fvd_trials, num_samples)
        self.num_samples = num_samples
        self.device = device
        self.digits = digits            # uint8 [N, 32, 32]: the SM-MNIST digit source, for truth scores

    def score_video(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
        """pred [S, T, C, H, W], target [T, C, H, W] -> {metric: [S, T]}, plus "diversity" [1, T]
        (mean pairwise LPIPS between the samples, SAVP's measure) when LPIPS is scored and S >= 2."""
        s, t = pred.shape[:2]
        flat_pred = pred.reshape(s * t, *pred.shape[2:])                      # [S*T, C, H, W]
        flat_target = target[None].expand(s, *target.shape).reshape_as(flat_pred)
        lpips, spread = None, None
        if "lpips" in self.metrics:     # one backbone pass per frame serves both (S*T + T frames)
            from vbench.metrics.lpips import video_scores
            lpips, spread = video_scores(pred, target, self.metrics["lpips"])  # [S, T], [T] or None
        scores = {m: (lpips if m == "lpips" else fn(flat_pred, flat_target)).reshape(s, t).double().cpu().numpy()
                  for m, fn in self.metrics.items()}
        if spread is not None:
            scores["diversity"] = spread.numpy()[None]                          # [1, T]
        return scores

    def truth_rows(self, pred: torch.Tensor, video: int) -> dict[str, np.ndarray]:
        """pred [S, T, 1, H, W] of test video `video` -> {"truth/<name>": [1, T] curve or [1, 1] number}:
        its samples against true futures from the simulator (vbench.truth.truth_video_scores)."""
        from vbench.truth import truth_video_scores
        suite = self.suite
        scores = truth_video_scores(pred, video, self.digits, suite.seed, suite.context_frames,
                                    suite.predicted_frames, suite.truth, device=self.device)
        return {TRUTH_PREFIX + name: np.asarray(value, np.float64).reshape(1, -1)      # [1, T] or [1, 1]
                for name, value in scores.items() if name not in ("video", "num_samples")}

    def fvd_clips(self, context: torch.Tensor, pred: torch.Tensor) -> torch.Tensor:
        """context [B, Tc, C, H, W], pred [B, S, T, C, H, W] -> clips [B, K, T', C, H, W] entering FVD."""
        fake = pred[:, :self.fvd_samples]                                     # [B, K, T, C, H, W]
        if self.suite.fvd_frames == "context+predicted":
            ctx = context[:, None].expand(-1, fake.shape[1], -1, -1, -1, -1)
            fake = torch.cat([ctx, fake], dim=2)                              # [B, K, Tc+T, C, H, W]
        return fake


def run(request: RunRequest) -> str:
    """Score `request.model` on `request.suite`; returns the run id (finished in the store)."""
    started = time.time()
    suite = load_suite(request.suite)
    ctx = distributed.init_from_env(request.device)
    device = pick_device(ctx.device(request.device))
    if not ctx.is_main:
        request = dataclasses.replace(request, progress=False)
    model = resolve_model(request.model, request.model_args, request.checkpoint)
    request = dataclasses.replace(request, model=model_spec(request.model))   # a class or object: "module:Class"
    name = model_name(model, request.model)
    if hasattr(model, "to"):
        model.to(device)
    if isinstance(model, torch.nn.Module):
        model.eval()
    check_task(model, name, suite)
    stochastic = bool(getattr(model, "stochastic", True)) or suite.task == "generation"
    num_samples = (suite.num_samples if request.samples is None else request.samples) if stochastic else 1
    if request.samples is not None and request.samples < 1:
        raise VBenchError(f"--samples must be at least 1, got {request.samples}")
    num_videos = suite.num_videos if request.limit is None else request.limit
    if not 1 <= num_videos <= suite.num_videos:
        raise VBenchError(f"--limit {request.limit}: must be 1 to {suite.num_videos}, the test videos of suite "
                          f"'{suite.name}'")

    clips = load_test_clips(suite, request.data_root, num_videos)           # uint8 [V, T, C, H, W]
    digits = load_digit_source(suite, request.data_root) if suite.truth else None   # uint8 [N, 32, 32]
    manifest, identity = build_manifest(request, suite, model, num_samples, num_videos, device, clips)
    scorer = _Scorer(suite, device, num_samples, digits)

    if ctx.active:
        manifest["environment"]["world_size"] = ctx.world
    # Rank 0 alone opens the store: it creates or takes over the run, holds its lease, writes every
    # rank's results and computes the summary. The other ranks only score their shard of the pending videos.
    store = Store(request.store) if ctx.is_main else None
    holder = this_process()
    try:
        run_id, pending = _open_run(ctx, store, request, manifest, identity, holder, num_videos)
        beating = Heartbeat(store.path, run_id, holder) if store is not None else contextlib.nullcontext()
        with StopSignals("this batch is stored") as stop, beating:
            try:
                _predict_and_score(ctx, store, run_id, suite, model, name, clips, pending, scorer, num_samples,
                                   device, request, holder, stop)
                if store is not None:
                    stop.check()
                    stop.at_once = True         # the summary has no batch to wait for
                    summary = _summarize(store, run_id, suite, clips, scorer, device, request)
                    store.finish(run_id, dataclasses.replace(summary, wall_time_s=time.time() - started), holder)
            except KeyboardInterrupt as exc:
                if store is not None:
                    by = exc.args[0] if isinstance(exc, Interrupted) else "SIGINT"
                    store.release(run_id, holder, "interrupted", f"interrupted by {by}; continue with --resume")
                raise
            except RunBusy:
                raise                           # another process holds the run now: leave it alone
            except Exception as exc:
                if store is not None:
                    store.release(run_id, holder, "failed", str(exc) or type(exc).__name__)
                raise
    finally:
        if store is not None:
            store.close()
    return ctx.broadcast(run_id)            # every rank returns once rank 0 has finished the run


def _open_run(ctx: distributed.Context, store: Store | None, request: RunRequest, manifest: dict[str, Any],
              identity: str, holder: Holder, num_videos: int) -> tuple[str, list[int]]:
    """(run id, test videos still to score) on every rank; rank 0 creates the run or, with --resume,
    takes over the unfinished identical one. A refusal on rank 0 is raised on every rank."""
    opened: tuple[str | None, list[int] | None, VBenchError | None] = (None, None, None)
    if store is not None:
        try:
            resuming = request.resume or request.resume_or_new
            run_id = _resumed_run(store, request, manifest, identity, holder) if resuming else None
            run_id = run_id or store.create_run(manifest, identity, holder)
            opened = (run_id, sorted(set(range(num_videos)) - store.done_videos(run_id)), None)
        except VBenchError as exc:
            opened = (None, None, exc)
    run_id, pending, error = ctx.broadcast(opened)
    if error is not None:
        raise error
    return run_id, pending


def _resumed_run(store: Store, request: RunRequest, manifest: dict[str, Any], identity: str,
                 holder: Holder) -> str | None:
    """The newest unfinished run identical to the request, now held by `holder` (RunBusy when a live
    process holds it). When there is none: NothingToResume saying why, or None (a new run) with
    `resume_or_new`."""
    same = store.runs_with_identity(identity)                   # newest first
    unfinished = [r for r in same if r.status != "finished"]
    if unfinished:
        store.acquire(unfinished[0].id, holder)
        return unfinished[0].id
    reason = nothing_to_resume(store, manifest, same)
    if request.resume_or_new:
        print(f"--resume-or-new: {reason}; starting a new run", file=sys.stderr)
        return None
    raise NothingToResume(f"--resume: {reason}. Run without --resume to start a new run, or with "
                          "--resume-or-new to resume when possible and start one otherwise")


def nothing_to_resume(store: Store, manifest: dict[str, Any], identical: list[RunRecord]) -> str:
    """Why no run can be resumed: the identical run finished, or what differs from the newest run of
    the same model on the same suite (model code, checkpoint, arguments, suite version, data, ...)."""
    if identical:
        done = identical[0]
        return (f"run {done.id} with the same suite, model, arguments and data has finished "
                f"(`vbench show {done.id}`); nothing to resume")
    suite, spec = manifest["suite"]["name"], manifest["model"]["spec"]
    candidates = [r for r in store.runs(where="suite = ?", params=(suite,))[::-1]
                  if r.manifest["model"].get("spec") == spec]
    if not candidates:
        return f"no run of model '{spec}' on suite '{suite}' in {store.path}"
    newest = next((r for r in candidates if r.status != "finished"), candidates[0])
    changes = manifest_differences(newest.manifest, manifest)
    return (f"the newest {newest.status} run of '{spec}' on '{suite}', {newest.id}, differs from this request: "
            + "; ".join(changes[:6]) + (f"; and {len(changes) - 6} more" if len(changes) > 6 else ""))


def manifest_differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """'key: old -> new' for every number-deciding manifest field that differs (environment ignored)."""
    a, b = _flatten({k: v for k, v in old.items() if k != "environment"}), \
        _flatten({k: v for k, v in new.items() if k != "environment"})
    missing = object()

    def short(value: Any) -> str:
        if value is missing:
            return "(absent)"
        text = json.dumps(value, sort_keys=True, default=str)
        return text[:13] + "…" if len(text) > 40 else text
    return [f"{key}: {short(a.get(key, missing))} -> {short(b.get(key, missing))}"
            for key in sorted(set(a) | set(b)) if a.get(key, missing) != b.get(key, missing)]


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists and scalars are leaves."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def check_task(model: Any, name: str, suite: Suite) -> None:
    """The model can do the suite's task: prediction needs `predict` (and enough context), generation
    needs `generate`. Unconditional models declare `task = "generation"`."""
    task = getattr(model, "task", "prediction")
    if suite.task == "generation":
        if not callable(getattr(model, "generate", None)):
            raise ModelError(f"model '{name}' has no generate(num_videos, rng, num_frames); suite '{suite.name}' "
                             "is a generation suite (unconditional models only; score predictors on prediction suites)")
        return
    if task == "generation" or not callable(getattr(model, "predict", None)):
        raise ModelError(f"model '{name}' is unconditional (it generates, it does not predict from context); "
                         f"suite '{suite.name}' is a prediction suite: score it on a generation suite such as "
                         "smmnist-mini-gen (`vbench ls suites`)")
    if suite.context_frames < getattr(model, "min_context", 1):
        raise ModelError(f"model '{name}' needs at least {model.min_context} context frames; "
                         f"suite '{suite.name}' gives {suite.context_frames}")


def _draw(suite: Suite, model: Any, name: str, context: torch.Tensor, videos: list[int], num_samples: int,
          device: torch.device) -> torch.Tensor:
    """The model's samples for a batch: context [B, Tc, C, H, W] -> [B, S, T, C, H, W] in [0, 1], validated.

    Prediction: predict() in sample chunks that keep PREDICTION_BUDGET_BYTES. Generation: one generate()
    call per sample index k (= FVD trial k), video v drawn from sample stream (v, k)."""
    b, _, c, h, w = context.shape
    t = suite.predicted_frames
    if suite.task == "generation":
        return torch.stack([generate_checked(model, name, t, c, h, SampleRNG(suite.seed, videos, [k], device))
                            for k in range(num_samples)], dim=1)          # [B, S, T, C, H, W]
    per_call = max(1, PREDICTION_BUDGET_BYTES // (b * t * c * h * w * 4))
    chunks = []
    for first in range(0, num_samples, per_call):
        rng = SampleRNG(suite.seed, videos, range(first, min(first + per_call, num_samples)), device)
        chunks.append(predict_checked(model, name, context, t, rng))      # [B, s, T, C, H, W]
    return torch.cat(chunks, dim=1)                                       # [B, S, T, C, H, W]


def _predict_and_score(ctx: distributed.Context, store: Store | None, run_id: str, suite: Suite, model: Any,
                       name: str, clips: np.ndarray, pending: list[int], scorer: _Scorer, num_samples: int,
                       device: torch.device, request: RunRequest, holder: Holder, stop: StopSignals) -> None:
    """Score the pending videos, rank by rank; rank 0 stores each round's batches as they arrive.

    Every rank runs the same number of rounds (a rank whose shard is done contributes nothing), so
    the collective calls match; a model error on any rank stops all of them, and so does a stop
    signal to rank 0, once the round's batches are stored.
    """
    mine = distributed.shard(pending, ctx.rank, ctx.world)
    rounds = math.ceil(math.ceil(len(pending) / ctx.world) / request.batch_size)
    bar = tqdm(total=len(pending), desc=f"{suite.name} / {name}", unit="video", disable=not request.progress)
    for round_index in range(rounds):
        videos = mine[round_index * request.batch_size:(round_index + 1) * request.batch_size]
        result, error, failure = None, None, None
        try:
            if videos:
                result = _score_batch(suite, model, name, clips, videos, scorer, num_samples, device)
        except ModelError as exc:
            error, failure = str(exc), exc        # this rank raises its own error, traceback and all
        gathered = ctx.gather((videos, result, error))
        if store is not None:
            for rank_videos, rank_result, rank_error in gathered:
                if rank_error is not None:
                    error = error or rank_error
                elif rank_videos:
                    store.write_batch(run_id, rank_result, holder=holder)
                    bar.update(len(rank_videos))
        error, signum = ctx.broadcast((error, stop.requested))
        if error is not None:
            raise failure or ModelError(error)
        if signum is not None:
            raise Interrupted(signum)
    bar.close()


def _score_batch(suite: Suite, model: Any, name: str, clips: np.ndarray, videos: list[int], scorer: _Scorer,
                 num_samples: int, device: torch.device) -> BatchScores:
    """Predict and score `videos`: per-frame scores, I3D features of the videos entering FVD, flags and
    the sample strips of the videos below STRIP_VIDEOS."""
    ctx_len = suite.context_frames
    batch = torch.from_numpy(clips[videos]).to(device).float() / 255.0   # [B, T, C, H, W]
    context, target = batch[:, :ctx_len], batch[:, ctx_len:]              # generation: context [B, 0, ...]
    pred = _draw(suite, model, name, context, videos, num_samples, device)   # [B, S, T, C, H, W]
    per_video = [scorer.score_video(pred[i], target[i]) for i in range(len(videos))]
    if suite.truth is not None:
        for i, v in enumerate(videos):
            per_video[i].update(scorer.truth_rows(pred[i], v))
    if hasattr(model, "negative_elbo") and suite.task == "prediction":
        rng = SampleRNG(suite.seed, videos, range(ELBO_STREAM, ELBO_STREAM + ELBO_DRAWS), device)
        for i, value in enumerate(negative_elbo_checked(model, name, context, target, rng)):
            per_video[i]["nelbo"] = np.array([[value]])                  # [1, 1]
    scores = {m: np.stack([pv[m] for pv in per_video]) for m in per_video[0]}    # [B, S, T]
    features = {}
    in_fvd = [i for i, v in enumerate(videos) if v < suite.fvd_videos]   # only these enter FVD / KVD
    if scorer.wants_fvd and in_fvd:
        fake = scorer.fvd_clips(context[in_fvd], pred[in_fvd])            # [B', K, T', C, H, W]
        features = {"fvd_fake": _i3d_features(fake.flatten(0, 1), suite, device)
                    .reshape(len(in_fvd), fake.shape[1], -1)}             # [B', K, 400]
    strips = {v: sample_strip(clips[v], pred[i], {m: scores[m][i] for m in scorer.metrics}, suite, v)
              for i, v in enumerate(videos) if v < STRIP_VIDEOS}
    return BatchScores(videos, scores, features, [videos[i] for i in in_fvd],
                       {"context-echo": _context_echoes(context, pred, videos)}, strips)


def sample_strip(clip: np.ndarray, pred: torch.Tensor, scores: dict[str, np.ndarray], suite: Suite,
                 video: int) -> dict[str, Any]:
    """Frames of one test video kept for the report: clip uint8 [T, C, H, W], pred [S, T', C, H, W],
    scores {metric: [S, T']} -> {"rows", "context", "frames" uint8 [R, T, C, h, w]}.

    Rows: the ground truth, the best sample (by the selection metric, SSIM under per-metric) and up
    to STRIP_RANDOM other samples drawn with a generator seeded by (suite seed, video); every
    prediction row starts with the context frames.
    """
    ctx, s = suite.context_frames, pred.shape[0]
    by = suite.selection.removeprefix("by:") if suite.selection.startswith("by:") else "ssim"
    by = by if by in scores else next(iter(scores), None)
    rows, picks = [{"label": "ground truth" if ctx else "real clip", "sample": None}], []
    if by is not None:
        picks.append(int(best_sample(scores[by][None], by, suite.profiles.get(by))[0]))
        rows.append({"label": f"best by {by}", "sample": picks[0]})
    others = [k for k in range(s) if k not in picks]
    drawn = np.random.default_rng([suite.seed, video]).choice(others, min(STRIP_RANDOM, len(others)), replace=False)
    for k in sorted(int(k) for k in drawn):
        picks.append(k)
        rows.append({"label": f"sample {k}" if ctx else f"generated, trial {k}", "sample": k})
    predicted = (pred[picks].clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()   # [R-1, T', C, H, W]
    context = np.broadcast_to(clip[None, :ctx], (len(picks), *clip[:ctx].shape))       # [R-1, Tc, C, H, W]
    frames = np.concatenate([clip[None, :ctx + pred.shape[1]],
                             np.concatenate([context, predicted], axis=1)])            # [R, T, C, H, W]
    h, w = frames.shape[-2:]
    if max(h, w) > STRIP_SIZE:
        size = (max(1, round(h * STRIP_SIZE / max(h, w))), max(1, round(w * STRIP_SIZE / max(h, w))))
        small = torch.nn.functional.interpolate(torch.from_numpy(frames).flatten(0, 1).float(), size=size,
                                                mode="area")                           # [R*T, C, h, w]
        frames = small.round().to(torch.uint8).reshape(*frames.shape[:3], *size).numpy()
    return {"rows": rows, "context": ctx, "frames": np.ascontiguousarray(frames)}


def _context_echoes(context: torch.Tensor, pred: torch.Tensor, videos: list[int]) -> list[int]:
    """Videos whose every sample starts by replaying the context frames verbatim (at least 2 of them).

    Not an error (the numbers stand), but almost always a bug in an adapter that returns its input.
    """
    m = min(context.shape[1], pred.shape[2])
    if m < 2:
        return []
    same = (pred[:, :, :m] == context[:, None, :m]).flatten(2).all(dim=2).all(dim=1)   # [B]
    return [v for v, echo in zip(videos, same.tolist()) if echo]


def _i3d_features(clips: torch.Tensor, suite: Suite, device: torch.device, progress: bool = False) -> np.ndarray:
    """clips float [N, T, C, H, W] in [0, 1] -> [N, 400] I3D features under the suite's FVD profile.

    On CPU one clip per forward pass, so a clip's features never depend on which clips share its batch;
    on CUDA batches (metrics.fvd.i3d_path: the manifest records which path ran).
    """
    step = clips_per_pass(i3d_path(device), clips.shape[1])
    bar = tqdm(total=len(clips), desc="I3D features of real clips", unit="clip", disable=not progress, leave=False)
    out = []
    for start in range(0, len(clips), step):
        batch = clips[start:start + step]                                   # [b, T, C, H, W]
        out.append(i3d_features(batch, profile=suite.profiles["fvd"], batch_size=step, device=device))
        bar.update(len(batch))
    bar.close()
    return np.concatenate(out)                                              # [N, 400]


def real_clip_features(suite: Suite, clips: np.ndarray, videos: list[int], device: torch.device,
                       progress: bool = False) -> np.ndarray:
    """I3D features [M, 400] of the real clips `videos` (uint8 [V, T, C, H, W]) as they enter FVD."""
    first = 0 if suite.fvd_frames == "context+predicted" else suite.context_frames
    real = torch.from_numpy(clips[videos, first:]).float() / 255.0          # [M, T', C, H, W]
    return _i3d_features(real, suite, device, progress)


def _real_features(store: Store, suite: Suite, clips: np.ndarray, device: torch.device, progress: bool,
                   data_root: str | None = None) -> np.ndarray:
    """I3D features `[V, 400]` of the real clips entering FVD: from the store's cache, the package's files
    or those beside the prepared data, else computed (vbench.reference)."""
    from vbench import reference
    folder = prepared_folder(suite, data_root)
    features, _ = reference.real_features(
        store, reference.features_key(suite, clips), len(clips),
        lambda videos: real_clip_features(suite, clips, videos, device, progress),
        folder / reference.FOLDER if folder is not None else None)
    return features


def _summarize(store: Store, run_id: str, suite: Suite, clips: np.ndarray, scorer: _Scorer,
               device: torch.device, request: RunRequest) -> RunSummary:
    videos, stored = store.scores(run_id)
    scores = {m: stored[m] for m in suite.frame_metrics if m in stored}
    expected = list(range(len(clips)))
    if videos and videos != expected:
        raise VBenchError(f"run {run_id}: stored videos {videos[:5]}... do not match the test list")
    diversity, negative_elbo, truth = None, None, None
    if "diversity" in stored:
        per_video_frame = stored["diversity"][:, 0].astype(np.float64)            # [V, T]
        diversity = Diversity(profile=suite.profiles["lpips"], higher_is_better=True,
                              mean=float(per_video_frame.mean()), per_video=per_video_frame.mean(axis=1).tolist(),
                              per_frame=per_video_frame.mean(axis=0).tolist())
    if "nelbo" in stored:
        per_video = stored["nelbo"][:, 0, 0].astype(np.float64)                    # [V]
        negative_elbo = Likelihood(mean=float(per_video.mean()), per_video=per_video.tolist(), higher_is_better=False,
                                   unit="nats per predicted frame at the model's resolution", draws=ELBO_DRAWS)
    metrics: dict[str, MetricSummary] = dict(summarize(scores, suite.selection, suite.profiles))
    if scorer.wants_fvd:
        metrics.update(_set_metrics(store, run_id, suite, clips, device, request.progress, request.data_root))
    if suite.truth is not None:
        from vbench.truth import summarize_truth
        truth = summarize_truth(truth_per_video(stored, videos, scorer.num_samples), suite.truth)
    return RunSummary(metrics=metrics, num_videos=len(clips), selection=suite.selection, flags=store.flags(run_id),
                      diversity=diversity, negative_elbo=negative_elbo, truth=truth)


def truth_per_video(stored: dict[str, np.ndarray], videos: list[int], num_samples: int) -> list[dict[str, Any]]:
    """The stored "truth/<name>" rows {name: [V, 1, T or 1]} back as `truth_video_scores` dicts, one per video."""
    rows = {m.removeprefix(TRUTH_PREFIX): a.astype(np.float64) for m, a in stored.items() if m.startswith(TRUTH_PREFIX)}
    return [{"video": v, "num_samples": num_samples,
             **{name: a[i, 0] if name in TRUTH_CURVES else float(a[i, 0, 0]) for name, a in rows.items()}}
            for i, v in enumerate(videos)]


def _set_metrics(store: Store, run_id: str, suite: Suite, clips: np.ndarray,
                 device: torch.device, progress: bool, data_root: str | None = None) -> dict[str, SetMetricSummary]:
    """FVD / KVD per trial (trial t: sample t of each of the first fvd_videos videos), mean, std and the
    jackknife interval of the expected score at n videos (vbench.stats.set_distance_interval)."""
    from vbench.metric_registry import METRICS, profile_key
    from vbench.stats import set_distance_interval, set_interval_record
    n = min(suite.fvd_videos, len(clips))
    if n < 2:
        return {}
    _, fake = store.features(run_id, "fvd_fake")                            # [V, K, 400]
    fake = fake[:n].astype(np.float64)                                       # [n, K, 400]
    real = _real_features(store, suite, clips[:n], device, progress, data_root)    # [n, 400]
    out = {}
    for metric in suite.set_metrics:
        distance = METRICS[metric].distance
        trials = [float(distance(real, fake[:, k])) for k in range(fake.shape[1])]
        mean = float(np.mean(trials))
        interval = set_distance_interval(real, fake, distance, mean)
        out[metric] = SetMetricSummary(profile=suite.profiles[profile_key(metric)],
                                       higher_is_better=METRICS[metric].higher_is_better, trials=trials, mean=mean,
                                       std=float(np.std(trials)), videos=n,
                                       interval=set_interval_record(interval, metric, n))
    return out
