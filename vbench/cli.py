"""The `vbench` command line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from vbench.errors import VBenchError
from vbench.results import FrameMetricSummary
from vbench.interrupts import Interrupted
from vbench.models import trainable
from vbench.store import DEFAULT_STORE


def _add_debug(parser: argparse.ArgumentParser) -> None:
    """--debug on every command (on `data prepare`, not on the group `data`: a group's default would
    overwrite its command's)."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for command in (c for group in groups for c in group.choices.values()):
        if any(isinstance(a, argparse._SubParsersAction) for a in command._actions):
            _add_debug(command)
        else:
            command.add_argument("--debug", action="store_true",
                                 help="on an error, show the full traceback (the model's too); or set VBENCH_DEBUG=1")


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=str(DEFAULT_STORE),
                        help=f"result store (SQLite file), default ./{DEFAULT_STORE}")


def _add_resamples(parser: argparse.ArgumentParser) -> None:
    from vbench.stats import DEFAULT_RESAMPLES
    parser.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES,
                        help=f"bootstrap resamples of every 95%% interval, seed 0 (default {DEFAULT_RESAMPLES:,})")


def _check_resamples(args: argparse.Namespace) -> None:
    if args.resamples < 1:
        raise VBenchError(f"--resamples must be at least 1, got {args.resamples}")


def _add_run_args(parser: argparse.ArgumentParser, model_required: bool) -> None:
    """What picks a model and a suite and where a run happens (shared by run and check)."""
    parser.add_argument("--suite", default="smmnist-mini", help="built-in suite name or path to a suite .yaml")
    parser.add_argument("--model", required=model_required,
                        help="bundled short name (see `vbench ls models`), package.module:Class or path/model.py:Class")
    parser.add_argument("--checkpoint", help="checkpoint file passed to the model as checkpoint=PATH")
    parser.add_argument("--model-arg", action="append", default=[], metavar="KEY=VALUE",
                        help="constructor argument for the model (repeatable); values parsed as YAML scalars")
    parser.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    parser.add_argument("--data-root", help="where prepared datasets live (default: $VBENCH_DATA or a user cache dir)")
    parser.add_argument("--batch-size", type=int, default=8, help="test videos per model call (speed only)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_store(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vbench", description="Evaluate stochastic video prediction models.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_scoring_commands(sub)
    _add_train_command(sub)
    _add_store_commands(sub)
    _add_tool_commands(sub)
    _add_debug(parser)
    return parser


def _add_scoring_commands(sub: Any) -> None:
    """run and check."""
    p = sub.add_parser("run", help="score a model on a suite and store the result")
    _add_run_args(p, model_required=True)
    p.add_argument("--samples", type=int, help="samples per test video (overrides the suite; recorded)")
    p.add_argument("--limit", type=int, help="score only the first N test videos (recorded)")
    resume = p.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="continue the interrupted or abandoned identical run (error if there is none)")
    resume.add_argument("--resume-or-new", action="store_true",
                        help="continue the identical run if there is one, else start a new run")

    p = sub.add_parser("check", help="compare a run's scores with committed reference scores (CI regression)",
                       conflict_handler="resolve")   # its own --store replaces the shared one
    p.add_argument("--reference", required=True, help="reference file, e.g. reports/reference/smmnist-mini.json")
    p.add_argument("--run", help="check this stored run (default: score the model now, as `vbench run`)")
    _add_run_args(p, model_required=False)
    p.add_argument("--store", help=f"result store: where --run is found (default ./{DEFAULT_STORE}) or where the "
                                   "run scored now is kept (default: a temporary store, deleted after the check)")
    p.add_argument("--samples", type=int, help="samples per test video (recorded in the reference; must match it)")
    p.add_argument("--limit", type=int, help="score only the first N test videos (recorded in the reference; "
                                             "must match it)")
    p.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE",
                   help="tolerance for a metric (ssim) or score (ssim/best), this check only (repeatable)")
    p.add_argument("--update", action="store_true", help="write the run's scores as the new reference")
    p.add_argument("--reason", help="why the reference changes (required with --update; recorded)")


def _add_train_command(sub: Any) -> None:
    p = sub.add_parser("train", help="train a bundled baseline on a suite's training split")
    p.add_argument("--model", required=True,
                   help=f"trainable bundled model (see `vbench ls models`): {', '.join(trainable())}")
    p.add_argument("--suite", default="smmnist-mini", help="built-in suite name or path to a suite .yaml")
    p.add_argument("--config", default="full", help="full (the paper's size), tiny (CPU size) or a .yaml file")
    p.add_argument("--steps", type=int, help="training steps (overrides the config)")
    p.add_argument("--batch-size", type=int, help="clips per step (overrides the config)")
    p.add_argument("--seed", type=int, help="seed of weights, noise and training clips (overrides the config)")
    p.add_argument("--out", help="folder for last.pt, model.pt, config.json, log.jsonl "
                                 "(default vbench-train/MODEL-SUITE-CONFIG)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when available)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=None,
                   help="mixed precision (default: on with CUDA, off on CPU)")
    p.add_argument("--data-root", help="where prepared datasets live (default: $VBENCH_DATA or a user cache dir)")
    p.add_argument("--save-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_store_commands(sub: Any) -> None:
    """ls, show, rm, validate, export and report."""
    p = sub.add_parser("ls", help="list suites, models or runs")
    p.add_argument("what", choices=["suites", "models", "runs"])
    _add_store(p)

    p = sub.add_parser("show", help="one run: status and lease, protocol, overrides, provenance, scores")
    p.add_argument("run", help="run id, or a part of it that only one run's id contains")
    _add_store(p)

    p = sub.add_parser("rm", help="remove runs with their scores, features and strips (never a live run)")
    p.add_argument("runs", nargs="+", metavar="RUN", help="run ids, or parts that only one run's id contains")
    _add_store(p)

    p = sub.add_parser("validate", help="check suite YAML files against the schema, and their data where it is here")
    p.add_argument("paths", nargs="+")
    p.add_argument("--data-root", help="where prepared datasets live (default: $VBENCH_DATA or a user cache dir)")

    p = sub.add_parser("export", help="runs for scripts (json, csv: one record per run) or papers (markdown, latex)")
    p.add_argument("--format", choices=["json", "csv", "markdown", "latex"], default="json",
                   help="json (with manifests), csv, or a paper table: markdown, latex (finished runs)")
    _add_resamples(p)
    p.add_argument("--out", help="write to this file instead of standard output")
    p.add_argument("--suite", help="only runs of this suite")
    p.add_argument("--all", action="store_true", help="include unfinished and failed runs")
    _add_store(p)

    p = sub.add_parser("report", help="build the static HTML site from the store")
    p.add_argument("--out", default="reports/site", help="output folder (default reports/site)")
    _add_resamples(p)
    _add_store(p)


def _add_tool_commands(sub: Any) -> None:
    """parity and data."""
    p = sub.add_parser("parity", help="compare our metric networks with their reference implementations")
    parity_sub = p.add_subparsers(dest="parity_command", required=True)
    q = parity_sub.add_parser("fvd", help="TF-Hub Kinetics-400 I3D vs ours on the same seeded clips "
                                          "(needs tensorflow and the module in TFHUB_CACHE_DIR or the network)")
    q.add_argument("--videos", type=int, default=16, help="clips in all, split into two sets (even, >= 4)")
    q.add_argument("--frames", type=int, default=16)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--handle", help="TF-Hub handle or local module folder (default: deepmind/i3d-kinetics-400/1)")

    p = sub.add_parser("data", help="prepare datasets and show what is prepared")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    q = data_sub.add_parser("prepare", help="convert an original download once into the prepared form")
    q.add_argument("name")
    q.add_argument("--source", required=True, help="the original download (file or folder)")
    q.add_argument("--data-root")
    q.add_argument("--resolution", type=int, help="frame size of the prepared form (default: the protocol's)")
    q = data_sub.add_parser("info", help="what is prepared for a dataset, and where")
    q.add_argument("name")
    q.add_argument("--data-root")
    q = data_sub.add_parser("download", help="where to get a dataset's original files (vbench never downloads)")
    q.add_argument("name")


def _run_from_args(args: argparse.Namespace) -> str:
    """Score the model the arguments name; returns the run id (KeyboardInterrupt propagates)."""
    from vbench.adapters import parse_model_args
    from vbench.runner import RunRequest, run
    for flag in ("batch_size", "samples", "limit"):
        value = getattr(args, flag, None)
        if value is not None and value < 1:
            raise VBenchError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    request = RunRequest(suite=args.suite, model=args.model, checkpoint=args.checkpoint,
                         model_args=parse_model_args(args.model_arg), samples=getattr(args, "samples", None),
                         limit=getattr(args, "limit", None), device=args.device, store=args.store,
                         data_root=args.data_root, resume=getattr(args, "resume", False),
                         resume_or_new=getattr(args, "resume_or_new", False),
                         batch_size=args.batch_size, progress=not args.no_progress)
    return run(request)


def cmd_run(args: argparse.Namespace) -> int:
    from vbench.store import Store
    try:
        run_id = _run_from_args(args)
    except KeyboardInterrupt as exc:
        signal_name = exc.args[0] if isinstance(exc, Interrupted) else "SIGINT"
        print(f"\ninterrupted ({signal_name}): finished batches are stored; continue with the same command "
              "plus --resume", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    from vbench.distributed import is_main_process
    from vbench.suite import load_suite
    if not is_main_process():
        return 0
    with Store(args.store) as store:
        record = store.run(run_id)
    print(format_summary(record))
    print(f"stored as run {run_id} in {args.store}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    if args.run is None and args.model is None:
        raise VBenchError("vbench check needs --model (to score it now) or --run ID (a stored run)")
    if args.update and not (args.reason or "").strip():
        raise VBenchError("--update needs --reason TEXT: references never change silently")   # before scoring
    tolerances = {}
    for item in args.tolerance:
        key, sep, value = item.partition("=")
        try:
            tolerances[key.strip()] = float(value)
        except ValueError:
            raise VBenchError(f"--tolerance {item!r}: expected METRIC=NUMBER, e.g. ssim=0.001") from None
        if not sep or tolerances[key.strip()] < 0:
            raise VBenchError(f"--tolerance {item!r}: expected METRIC=NUMBER with NUMBER >= 0")
    if args.run is not None and (args.limit is not None or args.samples is not None):
        raise VBenchError("--limit and --samples apply to a model scored now, not to a stored --run")
    if args.run is None and args.store is None:   # a check's run stays out of the user's store
        with tempfile.TemporaryDirectory(prefix="vbench-check-") as folder:
            args.store = str(Path(folder) / "check.sqlite")
            return _check_record(args, _stored_run(args.store, _run_from_args(args)), tolerances)
    run_id = args.run or _run_from_args(args)
    return _check_record(args, _stored_run(args.store or str(DEFAULT_STORE), run_id), tolerances)


def _stored_run(path: str, run_id: str):
    from vbench.store import Store
    with Store(path) as store:
        try:
            return store.run(run_id)
        except KeyError as exc:
            raise VBenchError(str(exc).strip("'\"")) from None


def _check_record(args: argparse.Namespace, record, tolerances: dict[str, float]) -> int:
    from vbench.check import check_run, update_reference
    if args.update:
        print(update_reference(record, args.reference, args.reason or ""))
        return 0
    passed, table = check_run(record, args.reference, tolerances)
    print(table)
    print("check passed" if passed else "check FAILED: scores moved beyond their tolerance (see MOVED rows)")
    return 0 if passed else 1


def _train_command(args: argparse.Namespace) -> str:
    """The training command line, rebuilt from the parsed arguments (recorded in config.json)."""
    words = ["vbench train", f"--model {args.model}", f"--suite {args.suite}", f"--config {args.config}"]
    for flag in ("steps", "batch_size", "seed", "out", "device", "data_root"):
        if getattr(args, flag) is not None:
            words.append(f"--{flag.replace('_', '-')} {getattr(args, flag)}")
    words += ["--resume"] * args.resume + ({True: ["--amp"], False: ["--no-amp"]}.get(args.amp) or [])
    return " ".join(words)


def cmd_train(args: argparse.Namespace) -> int:
    from vbench.train import TrainRequest, train
    for flag in ("steps", "batch_size", "save_every"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise VBenchError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    request = TrainRequest(model=args.model, suite=args.suite, config=args.config, steps=args.steps,
                           batch_size=args.batch_size, seed=args.seed, out=args.out, resume=args.resume,
                           device=args.device, amp=args.amp, data_root=args.data_root,
                           save_every=args.save_every, progress=not args.no_progress,
                           command=_train_command(args))
    try:
        out = train(request)
    except KeyboardInterrupt:
        print("\ninterrupted: the last periodic checkpoint is kept; continue with the same command plus --resume",
              file=sys.stderr)
        return 130
    from vbench.distributed import is_main_process
    if not is_main_process():
        return 0
    from vbench.models import BUNDLED
    from vbench.suite import builtin_suites, load_suite
    suite, trained_on = args.suite, load_suite(args.suite)
    if BUNDLED[args.model].task == "generation" and trained_on.task != "generation":
        gen = f"{trained_on.name}-gen"
        suite = gen if gen in builtin_suites() else "SUITE-gen"
        print(f"{args.model} is an unconditional generator: score it on a generation suite")
    print(f"checkpoints in {out}: score with `vbench run --suite {suite} --model {args.model} "
          f"--checkpoint {out / 'model.pt'}`")
    return 0


FLAG_HINTS = {"context-echo": ": every sample starts by replaying the context frames verbatim; "
                                "does the adapter return its input?"}


def _truth_summary(truth: dict) -> list[str]:
    """The truth scores of a run summary, each named as the reports name it (vbench.truth.LABELS)."""
    from vbench.truth import LABELS, UNITS

    def mean(name: str, key: str = "mean") -> str:
        value = (truth.get(name) or {}).get(key)
        return "—" if value is None else f"{value:.3f}"

    def w1(name: str, note: str = "") -> str:
        return f"{LABELS[name]} {mean(name)} {UNITS[name]} (noise floor {mean(name, 'reference_mean')}{note})"
    bounce = truth.get("bounce_velocity_w1") or {}
    bounces = f"; {bounce.get('videos', 0)} videos with a true bounce" + (
        f", no model bounce in {bounce['missed']}" if "missed" in bounce else "")
    return [f"truth (K={truth['config']['k']}, {truth['config']['distance']}): {LABELS['coverage']} {mean('coverage')} "
            f"(perfect ≈ {mean('coverage', 'perfect_model_expected')}), {LABELS['precision']} {mean('precision')}",
            f"  {w1('position_w1')}, {w1('velocity_w1')}",
            f"  {w1('bounce_velocity_w1', bounces)}"]


def format_summary(record) -> str:
    n, k = record.manifest["num_videos"], record.manifest["num_samples"]
    if record.manifest["suite"].get("task") == "generation":
        lines = [f"{record.suite} / {record.model}: {n} generated against {n} real videos, {k} trial(s)",
                 f"{'metric':<8} {'profile':<12} {'mean ± std over trials':>22}"]
    else:
        lines = [f"{record.suite} / {record.model}: {n} videos x {k} samples, selection "
                 f"{record.manifest['suite']['selection']}",
                 f"{'metric':<8} {'profile':<12} {'best-of-N':>12} {'mean-of-N':>12}"]
    summary = record.summary
    for metric, s in summary.metrics.items():
        arrow = "↑" if s.higher_is_better else "↓"
        if isinstance(s, FrameMetricSummary):
            lines.append(f"{metric + arrow:<8} {s.profile or '':<12} {s.best.mean:>12.4f} "
                         f"{s.mean_of_samples.mean:>12.4f}")
        else:
            value = f"{s.mean:.4f}" + (f" ± {s.std:.4f}" if len(s.trials) > 1 else "")
            lines.append(f"{metric + arrow:<8} {s.profile or '':<12} {value:>12}   "
                         f"({s.videos} videos, {len(s.trials)} trial(s))")
    if summary.truth:
        lines += _truth_summary(summary.truth)
    elbo = summary.negative_elbo
    if elbo:
        lines.append(f"{'-ELBO↓':<8} {'nats/frame':<12} {elbo.mean:>12.4f}   (of the true futures, "
                     f"{elbo.draws} posterior draws each)")
    for flag, videos in summary.flags.items():
        lines.append(f"warning: {flag} on {len(videos)} of {record.manifest['num_videos']} test videos "
                     f"(e.g. {', '.join(map(str, videos[:5]))})" + FLAG_HINTS.get(flag, ""))
    lines.append(f"wall time {summary.wall_time_s or 0:.1f} s")
    return "\n".join(lines)


def cmd_ls(args: argparse.Namespace) -> int:
    if args.what == "suites":
        from vbench.suite import builtin_suites, load_suite
        for name in builtin_suites():
            s = load_suite(name)
            shape = (f"generate {s.predicted_frames} frames, {s.num_videos} videos x {s.num_samples} trials"
                     if s.task == "generation" else
                     f"{s.context_frames}->{s.predicted_frames}  {s.num_videos} videos x {s.num_samples} samples")
            print(f"{name:<17} v{s.version}  {s.dataset:<12} {s.resolution}px {shape}  metrics: {', '.join(s.metrics)}")
    elif args.what == "models":
        from vbench.models import BUNDLED
        for name, model in sorted(BUNDLED.items()):
            trains = "trainable" if model.recipe else "fixed"
            print(f"{name:<18} {model.task:<10} {trains:<9} {model.about}  ({model.adapter})")
    else:
        with _open_existing_store(args.store) as store:
            runs = [(r, len(store.done_videos(r.id))) for r in store.runs()]
        if not runs:
            print(f"no runs in {args.store}")
        for r, done in runs:
            overrides = ", ".join(f"--{k} {v}" for k, v in (r.manifest.get("overrides") or {}).items() if v is not None)
            print(f"{r.id:<60} {r.status:<11} {done:>4}/{r.manifest['num_videos']:<4} videos  {r.suite:<14} "
                  f"{r.model}" + (f"  [{overrides}]" if overrides else ""))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from vbench.show import describe_run
    with _open_existing_store(args.store) as store:
        record = store.find_run(args.run)
        done = len(store.done_videos(record.id))
    scores = format_summary(record) if record.status == "finished" and record.summary else None
    print(describe_run(record, done, scores))
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    with _open_existing_store(args.store) as store:
        ids = list(dict.fromkeys(store.find_run(text).id for text in args.runs))
        store.delete_runs(ids)
    for run_id in ids:
        print(f"removed {run_id}")
    return 0


def _check_suite_data(suite, data_root: str | None) -> str:
    """What `validate` can check of a suite's data without running a model (a note, or VBenchError):
    a folder suite's data_path exists; prepared or folder data, where present, holds num_videos test
    clips of the suite's length and shape (read as `vbench run` reads them)."""
    from vbench.data import DATASETS, DIGIT_SOURCES, default_data_root, load_test_clips
    if suite.dataset in DIGIT_SOURCES:
        return "clips generated from the seed"
    root = Path(data_root).expanduser() if data_root else default_data_root()
    if suite.dataset == "folder":
        if not Path(suite.data_path).expanduser().is_dir():
            raise VBenchError(f"suite '{suite.name}': data_path {suite.data_path} is not a directory")
    elif suite.dataset in DATASETS and not (root / suite.dataset / "manifest.json").is_file():
        return f"'{suite.dataset}' is not prepared under {root}: its test clips are not checked"
    load_test_clips(suite, data_root)
    return f"{suite.num_videos} test clips found"


def cmd_validate(args: argparse.Namespace) -> int:
    from vbench.suite import load_suite
    failed = 0
    for path in args.paths:
        try:
            suite = load_suite(path)
            try:
                note = _check_suite_data(suite, args.data_root)
            except VBenchError as exc:
                raise VBenchError(f"{path}: {exc}") from None
            print(f"ok: {path} (suite '{suite.name}' v{suite.version}; {note})")
        except VBenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _open_existing_store(path: str):
    from vbench.store import Store
    if not Path(path).exists():
        raise VBenchError(f"no result store at {path} (run `vbench run ...` first, or pass --store)")
    return Store(path)


def cmd_export(args: argparse.Namespace) -> int:
    from vbench.export import export_text
    _check_resamples(args)
    with _open_existing_store(args.store) as store:
        every = store.runs()
    suites = sorted({r.suite for r in every})
    if args.suite is not None and args.suite not in suites:
        import difflib
        close = difflib.get_close_matches(args.suite, suites, n=1)
        raise VBenchError(f"no runs of suite '{args.suite}' in {args.store}"
                          + (f" (did you mean '{close[0]}'?)" if close else "")
                          + f"; suites with runs: {', '.join(suites) or 'none'}")
    runs = [r for r in every if (args.all or r.status == "finished") and (args.suite is None or r.suite == args.suite)]
    if args.format in ("markdown", "latex") and not any(r.status == "finished" and r.summary for r in runs):
        raise VBenchError(f"no finished runs to put in a {args.format} table"
                          + (f" for suite '{args.suite}'" if args.suite else ""))
    text = export_text(runs, args.format, args.resamples)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from vbench.report import build_site
    _check_resamples(args)
    with _open_existing_store(args.store) as store:
        index = build_site(store, Path(args.out), resamples=args.resamples)
    print(f"report written: {index}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from vbench.data.prepare import dataset_info, download_info, prepare
    if args.data_command == "prepare":
        print(prepare(args.name, Path(args.source), args.data_root, args.resolution))
    elif args.data_command == "download":
        print(download_info(args.name))
    else:
        print(dataset_info(args.name, args.data_root))
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from vbench.parity import DEFAULT_HANDLE, compare_fvd, format_parity
    if args.videos < 4 or args.videos % 2:
        raise VBenchError(f"--videos must be even and at least 4 (two sets of two or more), got {args.videos}")
    result = compare_fvd(num_videos=args.videos, num_frames=args.frames, seed=args.seed,
                         handle=args.handle or DEFAULT_HANDLE)
    print(format_parity(result))
    return 0


COMMANDS = {"run": cmd_run, "train": cmd_train, "check": cmd_check, "ls": cmd_ls, "show": cmd_show, "rm": cmd_rm,
            "validate": cmd_validate, "export": cmd_export, "report": cmd_report, "data": cmd_data,
            "parity": cmd_parity}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("VBENCH_DEBUG", "") not in ("", "0")
    try:
        return COMMANDS[args.command](args)
    except VBenchError as exc:
        if debug:
            traceback.print_exception(exc)
        print(f"error: {exc}", file=sys.stderr)
        if exc.__cause__ is not None and not debug:
            print("(the traceback of the error inside: run again with --debug, or VBENCH_DEBUG=1)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
