"""Suites: versioned evaluation protocols stored as flat, strictly checked YAML.

A suite names everything that changes a number: data, resolution, context and predicted frames,
test videos, samples, best-of-N selection, metric profiles, FVD frames / set size / trials, seed.
Bump `version` whenever any of these changes. Unknown or missing keys are errors naming the key
and the file.

Generation suites (`task: generation`) score unconditional models: no context (`context_frames: 0`),
`predicted_frames` is the length of a generated clip, and the only metrics are FVD and KVD between the
`num_videos` real test clips (their first `predicted_frames` frames) and as many generated ones, in
`fvd_trials` = `num_samples` trials (trial t: generated video v comes from sample stream (v, t)).

SM-MNIST suites may add a `truth:` mapping (`vbench.truth.TruthConfig`'s fields: k, distance,
neighbours, with_fvd, truth_seed, fvd_profile, fvd_frames): the runner then also scores each
video's samples against true futures drawn from the simulator. fvd_profile and fvd_frames default
to the suite's FVD settings; the others to TruthConfig's defaults.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from vbench.errors import SuiteError
from vbench.metric_registry import FEATURES_PROFILE, METRICS, is_set_metric

if TYPE_CHECKING:
    from vbench.truth import TruthConfig

SUITES_DIR = Path(__file__).parent / "suites"

FVD_FRAMES = ("context+predicted", "predicted")
TASKS = ("prediction", "generation")
TRUTH_DATASETS = ("smmnist", "smmnist-mini")   # where the harness owns the simulator
# truth key -> the type its value must have (a bool is not an int here)
TRUTH_KEYS = {"k": int, "distance": str, "neighbours": int, "with_fvd": bool, "truth_seed": int,
              "fvd_profile": str, "fvd_frames": str}


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    task: str
    dataset: str            # key of vbench.data.DATASETS
    split: str
    resolution: int         # frames are resolution x resolution
    channels: int           # 1 (grey) or 3 (RGB)
    context_frames: int
    predicted_frames: int
    train_context_frames: int
    train_predicted_frames: int
    num_videos: int         # test videos (the fixed test list is the first num_videos of the split)
    num_samples: int        # best-of-N: samples drawn per test video for a stochastic model
    selection: str          # "per-metric" or "by:<metric>"
    metrics: tuple[str, ...]
    profiles: dict[str, str]
    fvd_frames: str         # which frames enter FVD
    fvd_videos: int         # videos per FVD trial
    fvd_trials: int
    seed: int
    description: str = ""
    test_list: str = ""     # fixed list of (video id, start frame) under datasets/; "" = first videos, start 0
    data_path: str = ""     # `folder` dataset only: the user's directory of videos, frame folders or arrays
    clip_stride: int = 0    # `folder` dataset only: frames between clip starts in a video (0 = clip length)
    references: tuple[dict, ...] = field(default=())   # published numbers, cited in reports
    truth: TruthConfig | None = None   # SM-MNIST only: scores against the simulator's true futures

    @property
    def total_frames(self) -> int:
        return self.context_frames + self.predicted_frames

    @property
    def frame_metrics(self) -> tuple[str, ...]:
        """Metrics scored per predicted frame (everything but the set-level FVD/KVD)."""
        return tuple(m for m in self.metrics if not is_set_metric(m))

    @property
    def set_metrics(self) -> tuple[str, ...]:
        """Distances between sets of clips' I3D features (FVD, KVD)."""
        return tuple(m for m in self.metrics if is_set_metric(m))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["metrics"] = list(self.metrics)
        data["references"] = list(self.references)
        return data


_FIELDS = {f.name: f for f in dataclasses.fields(Suite)}
_OPTIONAL = {name for name, f in _FIELDS.items()
             if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
_INT_KEYS = ("version", "resolution", "channels", "context_frames", "predicted_frames",
             "train_context_frames", "train_predicted_frames", "num_videos", "num_samples",
             "fvd_videos", "fvd_trials", "seed")


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def suite_path(name_or_path: str | Path) -> Path:
    """A built-in suite name (`smmnist-mini`) or a path to a user's suite YAML."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise SuiteError(f"suite file not found: {path}")
        return path
    builtin = SUITES_DIR / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    close = difflib.get_close_matches(str(name_or_path), builtin_suites(), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise SuiteError(f"unknown suite '{name_or_path}'.{hint} Built-in suites: {', '.join(builtin_suites())}; "
                     "or pass a path to a suite .yaml file")


def load_suite(name_or_path: str | Path) -> Suite:
    path = suite_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from None
    suite = parse_suite(data, source=str(path))
    if suite.data_path and not Path(suite.data_path).expanduser().is_absolute():
        # a relative data_path means: next to the suite file, wherever the command runs from
        suite = dataclasses.replace(suite, data_path=str((path.parent / suite.data_path).resolve()))
    return suite


def key_hints(unknown: list, known: list[str], prefix: str = "") -> str:
    """"'k1' (did you mean 'key1'?), 'k2'": the unknown keys, each with the closest known key if any."""
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        hints.append(f"'{prefix}{key}'" + (f" (did you mean '{prefix}{close[0]}'?)" if close else ""))
    return ", ".join(hints)


def parse_suite(data: Any, source: str = "<suite>") -> Suite:
    """Check a parsed YAML mapping against the schema and build a Suite."""
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: a suite must be a YAML mapping of keys to values")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise SuiteError(f"{source}: unknown key {key_hints(unknown, _FIELDS)}")
    missing = sorted(set(_FIELDS) - set(data) - _OPTIONAL)
    if missing:
        raise SuiteError(f"{source}: missing key {', '.join(repr(k) for k in missing)}")

    def fail(key: str, why: str) -> SuiteError:
        return SuiteError(f"{source}: key '{key}': {why} (got {data[key]!r})")

    _check_scalars(data, fail)
    metrics = _checked_metrics(data, fail)
    profiles = _checked_profiles(data, metrics, fail)
    _check_sets_and_selection(data, metrics, fail)
    references, description = _checked_extras(data, source, fail)
    values = {k: data[k] for k in _FIELDS if k in data}
    values.update(metrics=tuple(metrics), profiles=profiles, references=tuple(references),
                  description=description.strip(), truth=_parse_truth(data, profiles, source))
    return Suite(**values)


Fail = Callable[[str, str], SuiteError]      # (key, why) -> the error naming the file, the key and its value


def _check_scalars(data: dict[str, Any], fail: Fail) -> None:
    """Integers, strings, the task, channels and FVD frames; generation suites have no context."""
    for key in _INT_KEYS:
        if not isinstance(data[key], int) or isinstance(data[key], bool):
            raise fail(key, "must be an integer")
    for key in ("name", "task", "dataset", "split", "selection", "fvd_frames"):
        if not isinstance(data[key], str) or not data[key]:
            raise fail(key, "must be a non-empty string")
    if data["task"] not in TASKS:
        raise fail("task", f"must be one of {', '.join(TASKS)}")
    generation = data["task"] == "generation"
    for key in ("version", "resolution", "context_frames", "predicted_frames", "num_videos",
                "train_context_frames", "train_predicted_frames", "num_samples", "fvd_trials"):
        if generation and key in ("context_frames", "train_context_frames"):
            if data[key] != 0:
                raise fail(key, "must be 0 in a generation suite (unconditional models see no context)")
        elif data[key] < 1:
            raise fail(key, "must be at least 1")
    if data["channels"] not in (1, 3):
        raise fail("channels", "must be 1 (grey) or 3 (RGB)")
    if data["fvd_frames"] not in FVD_FRAMES:
        raise fail("fvd_frames", f"must be one of {', '.join(FVD_FRAMES)}")


def _checked_metrics(data: dict[str, Any], fail: Fail) -> list[str]:
    """Metric names from the registry, each once; a generation suite scores sets only."""
    metrics = data["metrics"]
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise fail("metrics", "must be a non-empty list of metric names")
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise fail("metrics", f"unknown metric {', '.join(bad)}; known: {', '.join(METRICS)}")
    if len(set(metrics)) != len(metrics):
        raise fail("metrics", "lists a metric twice")
    if data["task"] == "generation":
        if data.get("truth") is not None:
            raise fail("truth", "truth scores compare predictions with true futures; a generation suite has none")
        if not all(is_set_metric(m) for m in metrics):
            raise fail("metrics", "a generation suite scores sets only: fvd and/or kvd (generated videos have no "
                                  "true counterpart for per-frame metrics)")
        if data["fvd_frames"] != "predicted":
            raise fail("fvd_frames", "must be 'predicted' in a generation suite (there is no context)")
        if data["fvd_trials"] != data["num_samples"]:
            raise fail("fvd_trials", f"must equal num_samples ({data['num_samples']}) in a generation suite: "
                                     "trial t generates sample t of every video")
    return metrics


def _checked_profiles(data: dict[str, Any], metrics: list[str], fail: Fail) -> dict[str, str]:
    """Every metric's profile, explicit in the stored suite, defaults filled in from the registry."""
    profiles = data["profiles"]
    if not isinstance(profiles, dict):
        raise fail("profiles", "must be a mapping of metric to profile name")
    with_profiles = [name for name, spec in METRICS.items() if spec.profiles]
    for metric, profile in profiles.items():
        if metric not in with_profiles:
            raise fail("profiles", f"'{metric}' has no profiles; metrics with profiles: {', '.join(with_profiles)}")
        if profile not in METRICS[metric].profiles:
            raise fail("profiles", f"unknown {metric} profile '{profile}'; known: "
                                   f"{', '.join(METRICS[metric].profiles)}")
    profiles = {m: profiles.get(m, METRICS[m].profiles[0]) for m in metrics if METRICS[m].profiles}
    if any(is_set_metric(m) for m in metrics):       # every set metric reads the same I3D features
        profiles.setdefault(FEATURES_PROFILE, METRICS[FEATURES_PROFILE].profiles[0])
    return profiles


def _check_sets_and_selection(data: dict[str, Any], metrics: list[str], fail: Fail) -> None:
    """Selection names a per-frame metric; FVD sets are never padded and have at least 10 frames."""
    selection = data["selection"]
    frame_metrics = [m for m in metrics if not is_set_metric(m)]
    with_sets = len(frame_metrics) < len(metrics)
    if selection != "per-metric":
        by = selection.removeprefix("by:")
        if not selection.startswith("by:") or by not in frame_metrics:
            raise fail("selection", "must be 'per-metric' or 'by:<metric>' naming one of the suite's "
                                    f"per-frame metrics ({', '.join(frame_metrics) or 'none'})")
    if with_sets and data["fvd_videos"] > data["num_videos"]:
        raise fail("fvd_videos", f"exceeds num_videos ({data['num_videos']}); sets are never padded")
    if with_sets and data["fvd_trials"] > data["num_samples"]:
        raise fail("fvd_trials", f"exceeds num_samples ({data['num_samples']}): trial t scores sample t of every video")
    if not frame_metrics and data["fvd_videos"] != data["num_videos"]:
        raise fail("fvd_videos", f"must equal num_videos ({data['num_videos']}) in a suite with only set metrics: "
                                 "the other test videos would be predicted and never scored")
    in_fvd = data["predicted_frames"] + (data["context_frames"] if data["fvd_frames"] == "context+predicted" else 0)
    if with_sets and in_fvd < 10:
        raise fail("fvd_frames", f"FVD needs at least 10 frames per clip, this suite gives {in_fvd}")


def _checked_extras(data: dict[str, Any], source: str, fail: Fail) -> tuple[list[dict], str]:
    """(references, description); the optional data keys; a folder suite names its folder."""
    references = data.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        raise SuiteError(f"{source}: key 'references': must be a list of mappings")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")
    for key in ("test_list", "data_path"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, "must be a string")
    if "clip_stride" in data and (not isinstance(data["clip_stride"], int) or isinstance(data["clip_stride"], bool)
                                  or data["clip_stride"] < 0):
        raise fail("clip_stride", "must be a non-negative integer (0: the clip length)")
    if data["dataset"] == "folder" and not data.get("data_path"):
        raise SuiteError(f"{source}: dataset 'folder' needs key 'data_path' (the directory holding the videos)")
    return references, description


def _parse_truth(data: dict[str, Any], profiles: dict[str, str], source: str) -> TruthConfig | None:
    """The suite's `truth:` mapping as a TruthConfig (None without one); FVD settings default from the suite's."""
    if data.get("truth") is None:
        return None
    truth = data["truth"]
    if data["dataset"] not in TRUTH_DATASETS:
        raise SuiteError(f"{source}: key 'truth': only SM-MNIST suites know their true futures (dataset "
                         f"{' or '.join(TRUTH_DATASETS)}); this suite's dataset is '{data['dataset']}'")
    if not isinstance(truth, dict):
        raise SuiteError(f"{source}: key 'truth': must be a mapping of {', '.join(TRUTH_KEYS)} (got {truth!r})")
    unknown = sorted(set(truth) - set(TRUTH_KEYS), key=str)
    if unknown:
        raise SuiteError(f"{source}: unknown key {key_hints(unknown, list(TRUTH_KEYS), prefix='truth.')}")
    for key, value in truth.items():
        kind = TRUTH_KEYS[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            what = {int: "an integer", str: "a string", bool: "a boolean (true or false)"}[kind]
            raise SuiteError(f"{source}: key 'truth.{key}': must be {what} (got {value!r})")
    if data["channels"] != 1:
        raise SuiteError(f"{source}: key 'truth': SM-MNIST is grey, the suite must have channels 1")
    values = {"fvd_profile": profiles.get(FEATURES_PROFILE, METRICS[FEATURES_PROFILE].profiles[0]), "fvd_frames": data["fvd_frames"], **truth}
    from vbench.truth import TruthConfig    # here, not at the top: it loads torch, which other suites never need
    try:
        config = TruthConfig(**values)
    except ValueError as exc:
        raise SuiteError(f"{source}: key 'truth': {exc}") from None
    frames = data["predicted_frames"] + (data["context_frames"] if config.fvd_frames == "context+predicted" else 0)
    if config.with_fvd and frames < 10:
        raise SuiteError(f"{source}: key 'truth.with_fvd': FVD needs at least 10 frames per clip, "
                         f"truth.fvd_frames '{config.fvd_frames}' gives {frames}")
    return config
