"""Typed records that flow between the stages: what the scorer hands the store for a batch (BatchScores),
and what a finished run stores and every report reads (RunSummary, versioned, to and from its JSON dict)."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from vbench.errors import SummaryError


@dataclass
class BatchScores:
    """One batch of test videos, scored: written to the store in one transaction.

    scores          {metric: float [B, S, T]} per (video, sample, predicted frame); also "diversity",
                    "nelbo" and "truth/<name>" rows, [B, 1, T] or [B, 1, 1]
    features        {kind: float [B', K, D]} I3D features of the feature_videos ("fvd_fake")
    feature_videos  the B' videos that enter FVD / KVD (default: all of `videos`)
    flags           {flag: videos it applies to}, e.g. "context-echo"
    strips          {video: {"rows", "context", "frames" uint8 [R, T, C, H, W]}} of the few videos
                    that keep frames for the report
    """
    videos: list[int]
    scores: dict[str, np.ndarray]
    features: dict[str, np.ndarray] = field(default_factory=dict)
    feature_videos: list[int] | None = None
    flags: dict[str, list[int]] = field(default_factory=dict)
    strips: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.feature_videos is None:
            self.feature_videos = list(self.videos)


# A run's summary as stored (JSON in the store's runs table). Version 1 is the layout every summary had
# before summaries carried a version, so a summary without one reads as version 1.
SUMMARY_VERSION = 1


def _mapping(data: Any, source: str, path: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SummaryError(f"run {source}: summary key '{path}' should be a mapping, got {type(data).__name__}")
    return data


def _fields(cls: type, data: Any, source: str, path: str) -> dict[str, Any]:
    """The keys of `data` (the summary at key `path`) that are fields of the record `cls`, after
    checking that every required one is there."""
    data = _mapping(data, source, path)
    for f in fields(cls):
        if f.default is MISSING and f.default_factory is MISSING and f.name not in data:
            raise SummaryError(f"run {source}: summary lacks key '{path + '.' if path else ''}{f.name}'")
    return {f.name: data[f.name] for f in fields(cls) if f.name in data}


def _plain(record: Any) -> dict[str, Any]:
    """A record as a JSON-ready dict. Optional fields (default None) are left out when None: summaries
    written before those fields existed lack them, and read back the same."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if value is None and f.default is None:
            continue
        out[f.name] = _plain(value) if is_dataclass(value) else value
    return out


class _Record:
    """A part of a run summary, read from its dict at key `path` of run `source`'s summary."""

    @classmethod
    def from_dict(cls, data: Any, source: str, path: str) -> Any:
        return cls(**_fields(cls, data, source, path))


@dataclass(frozen=True, kw_only=True)
class Aggregate(_Record):
    """A per-frame metric over test videos: overall mean, per predicted frame [T], per test video [V]."""
    mean: float
    per_frame: list[float]
    per_video: list[float]
    chosen_sample: list[int] | None = None     # best-of-N: the sample each test video is read from [V]


@dataclass(frozen=True, kw_only=True)
class FrameMetricSummary(_Record):
    """SSIM, PSNR, LPIPS, ...: best-of-N (the chosen sample of each video) and the mean over samples."""
    profile: str | None
    higher_is_better: bool
    best: Aggregate
    mean_of_samples: Aggregate

    @classmethod
    def from_dict(cls, data: Any, source: str, path: str) -> FrameMetricSummary:
        kw = _fields(cls, data, source, path)
        return cls(**dict(kw, best=Aggregate.from_dict(kw["best"], source, f"{path}.best"),
                          mean_of_samples=Aggregate.from_dict(kw["mean_of_samples"], source,
                                                              f"{path}.mean_of_samples")))


@dataclass(frozen=True, kw_only=True)
class SetInterval(_Record):
    """The interval a run stores for a set metric (vbench.stats.set_distance_interval); `of` says of what."""
    low: float
    high: float
    confidence: float
    method: str
    groups: int
    of: str


@dataclass(frozen=True, kw_only=True)
class SetMetricSummary(_Record):
    """FVD, KVD: one value per trial over `videos` test videos, their mean and std, and the interval
    (None in runs stored before vbench kept it)."""
    profile: str | None
    higher_is_better: bool
    trials: list[float]
    mean: float
    std: float
    videos: int
    interval: SetInterval | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str, path: str) -> SetMetricSummary:
        kw = _fields(cls, data, source, path)
        if kw.get("interval") is not None:
            kw["interval"] = SetInterval.from_dict(kw["interval"], source, f"{path}.interval")
        return cls(**kw)


@dataclass(frozen=True, kw_only=True)
class Diversity(_Record):
    """Mean pairwise LPIPS between the samples of each test video (SAVP's measure)."""
    profile: str
    higher_is_better: bool
    mean: float
    per_video: list[float]
    per_frame: list[float]


@dataclass(frozen=True, kw_only=True)
class Likelihood(_Record):
    """The negative ELBO of each test video's true future (likelihood models), in `unit`."""
    mean: float
    per_video: list[float]
    higher_is_better: bool
    unit: str
    draws: int


MetricSummary = FrameMetricSummary | SetMetricSummary


def _metric(data: Any, source: str, path: str) -> MetricSummary:
    """A per-frame metric summary has best-of-N ("best"); a set metric's has none."""
    kind = FrameMetricSummary if isinstance(data, dict) and "best" in data else SetMetricSummary
    return kind.from_dict(data, source, path)


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """What a finished run stores: its scores over the test videos (vbench.runner), read by every report.

    truth   the truth scores of SM-MNIST suites as vbench.truth.summarize_truth returns them: a plain
            dict, one module's business, described by its own "config"
    """
    metrics: dict[str, MetricSummary]
    num_videos: int
    selection: str
    flags: dict[str, list[int]] = field(default_factory=dict)      # {flag: test videos}, e.g. "context-echo"
    diversity: Diversity | None = None
    negative_elbo: Likelihood | None = None
    truth: dict[str, Any] | None = None
    wall_time_s: float | None = None

    @property
    def frame_metrics(self) -> dict[str, FrameMetricSummary]:
        return {m: s for m, s in self.metrics.items() if isinstance(s, FrameMetricSummary)}

    @property
    def set_metrics(self) -> dict[str, SetMetricSummary]:
        return {m: s for m, s in self.metrics.items() if isinstance(s, SetMetricSummary)}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": SUMMARY_VERSION, **_plain(self)}
        out["metrics"] = {m: _plain(s) for m, s in self.metrics.items()}
        if self.negative_elbo is not None:     # stored under "likelihood", where other likelihoods may join it
            out["likelihood"] = {"negative_elbo": out.pop("negative_elbo")}
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str) -> RunSummary:
        """The summary stored for run `source`; SummaryError names the run and what is wrong."""
        if not isinstance(data, dict):
            raise SummaryError(f"run {source}: the summary should be a mapping, got {type(data).__name__}")
        version = data.get("version", 1)     # first: a newer layout may lack what this one needs
        if isinstance(version, int) and version > SUMMARY_VERSION:
            raise SummaryError(f"run {source}: summary version {version} is newer than this vbench reads "
                               f"(up to {SUMMARY_VERSION}); upgrade vbench to read it")
        if not isinstance(version, int) or version < 1:
            raise SummaryError(f"run {source}: summary version {version!r} is not a version (1 to {SUMMARY_VERSION})")
        kw = _fields(cls, data, source, "")
        if kw.get("truth") is not None:
            _mapping(kw["truth"], source, "truth")
        kw["metrics"] = {m: _metric(s, source, f"metrics.{m}")
                         for m, s in _mapping(kw["metrics"], source, "metrics").items()}
        if data.get("diversity") is not None:
            kw["diversity"] = Diversity.from_dict(data["diversity"], source, "diversity")
        elbo = _mapping(data.get("likelihood") or {}, source, "likelihood").get("negative_elbo")
        if elbo is not None:
            kw["negative_elbo"] = Likelihood.from_dict(elbo, source, "likelihood.negative_elbo")
        return cls(**kw)
