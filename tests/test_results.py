"""RunSummary: the typed, versioned summary a finished run stores and every report reads; summaries
stored before it carried a version load and render as they did."""

import copy
import json
import re

import pytest

from conftest import write_suite
from vbench.api import Result
from vbench.check import run_scores
from vbench.cli import format_summary, main
from vbench.errors import SummaryError
from vbench.export import FORMATS, export_text
from vbench.report import build_site
from vbench.results import SUMMARY_VERSION, FrameMetricSummary, RunSummary, SetMetricSummary
from vbench.store import Store

# The blocks the runner stored before summaries carried a version, beside the per-frame metrics of a
# real run: a set metric with its interval and one from before intervals, diversity, the negative ELBO.
FVD = {"profile": "tf", "higher_is_better": False, "trials": [3.0, 5.0], "mean": 4.0, "std": 1.0, "videos": 6,
       "interval": {"low": 2.5, "high": 5.5, "confidence": 0.95, "method": "delete-a-group jackknife, 6 groups, "
                    "Student t", "groups": 6, "of": "the expected FVD of 6 test videos, over draws of the test "
                    "videos and samples"}}
KVD = {"profile": "tf", "higher_is_better": False, "trials": [0.5], "mean": 0.5, "std": 0.0, "videos": 6}
DIVERSITY = {"profile": "alex-v0.1", "higher_is_better": True, "mean": 0.25,
             "per_video": [0.2, 0.3, 0.25, 0.2, 0.3, 0.25], "per_frame": [0.25] * 10}
LIKELIHOOD = {"negative_elbo": {"mean": 812.5, "per_video": [800.0, 825.0, 812.5, 800.0, 825.0, 812.5],
                                "higher_is_better": False, "unit": "nats per predicted frame at the model's "
                                "resolution", "draws": 4}}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store with one real run, its record and the summary JSON in its row."""
    folder = tmp_path_factory.mktemp("results")
    path = folder / "r.sqlite"
    assert main(["run", "--suite", str(write_suite(folder)), "--model", "noisy_copy_last", "--store", str(path),
                 "--no-progress"]) == 0
    with Store(path) as store:
        (record,) = store.runs()
        raw = json.loads(store.conn.execute("SELECT summary FROM runs").fetchone()[0])
    return path, record, raw


def _legacy(raw: dict) -> dict:
    """The real run's summary as stored before versions, with every optional block."""
    legacy = copy.deepcopy({k: v for k, v in raw.items() if k != "version"})
    legacy["metrics"].update(fvd=copy.deepcopy(FVD), kvd=copy.deepcopy(KVD))
    legacy.update(diversity=copy.deepcopy(DIVERSITY), likelihood=copy.deepcopy(LIKELIHOOD))
    return legacy


def _write_row(path, summary: dict) -> None:
    with Store(path) as store, store.conn:
        store.conn.execute("UPDATE runs SET summary = ?", (json.dumps(summary),))


def test_a_real_run_stores_a_versioned_summary_that_round_trips(stored):
    _, record, raw = stored
    assert raw["version"] == SUMMARY_VERSION == 1
    assert isinstance(record.summary, RunSummary) and record.summary.to_dict() == raw
    assert RunSummary.from_dict(raw, record.id) == record.summary
    assert set(record.summary.frame_metrics) == {"ssim", "psnr"} and record.summary.set_metrics == {}
    ssim = record.summary.metrics["ssim"]
    assert ssim.best.mean == raw["metrics"]["ssim"]["best"]["mean"] and len(ssim.best.chosen_sample) == 6
    assert ssim.mean_of_samples.chosen_sample is None
    assert "chosen_sample" not in raw["metrics"]["ssim"]["mean_of_samples"]


def test_a_summary_without_a_version_loads_every_block_and_writes_it_back_the_same(stored):
    _, record, raw = stored
    legacy = _legacy(raw)
    summary = RunSummary.from_dict(legacy, record.id)
    assert isinstance(summary.metrics["ssim"], FrameMetricSummary)
    fvd, kvd = summary.set_metrics["fvd"], summary.set_metrics["kvd"]
    assert isinstance(fvd, SetMetricSummary)
    assert (fvd.interval.low, fvd.interval.high, fvd.interval.groups) == (2.5, 5.5, 6)
    assert kvd.interval is None and kvd.trials == [0.5]                 # a run from before stored intervals
    assert summary.diversity.per_video == DIVERSITY["per_video"]
    assert summary.negative_elbo.mean == 812.5 and summary.negative_elbo.draws == 4
    assert summary.to_dict() == {**legacy, "version": SUMMARY_VERSION}
    assert "interval" not in summary.to_dict()["metrics"]["kvd"]
    truth = {"videos": [0, 1], "config": {"k": 6}, "coverage": {"mean": None, "videos": 0, "per_video": [None, None],
                                                                "higher_is_better": True}}
    assert RunSummary.from_dict({**legacy, "truth": truth}, record.id).truth == truth    # a plain dict, kept as is


def test_a_newer_summary_version_is_refused_naming_the_run_and_the_versions(stored, capsys):
    path, record, raw = stored
    with pytest.raises(SummaryError, match=rf"^run {record.id}: summary version 2 is newer than this vbench "
                                           r"reads \(up to 1\); upgrade vbench"):
        RunSummary.from_dict({"version": 2, "scores": {}}, record.id)         # refused before its layout is read
    with pytest.raises(SummaryError, match=r"summary version 'one' is not a version \(1 to 1\)"):
        RunSummary.from_dict({**raw, "version": "one"}, record.id)
    _write_row(path, {**raw, "version": 2})
    try:
        assert main(["show", record.id, "--store", str(path)]) == 2
        assert f"error: run {record.id}: summary version 2 is newer" in capsys.readouterr().err
    finally:
        _write_row(path, raw)


@pytest.mark.parametrize("path, key", [
    (("num_videos",), "num_videos"),
    (("metrics", "ssim", "best", "per_video"), "metrics.ssim.best.per_video"),
    (("metrics", "psnr", "mean_of_samples"), "metrics.psnr.mean_of_samples"),
    (("metrics", "fvd", "trials"), "metrics.fvd.trials"),
    (("metrics", "fvd", "interval", "low"), "metrics.fvd.interval.low"),
    (("diversity", "mean"), "diversity.mean"),
    (("likelihood", "negative_elbo", "draws"), "likelihood.negative_elbo.draws"),
])
def test_a_missing_key_is_named_with_the_run(stored, path, key):
    _, record, raw = stored
    legacy = _legacy(raw)
    parent = legacy
    for name in path[:-1]:
        parent = parent[name]
    del parent[path[-1]]
    with pytest.raises(SummaryError, match=rf"^run {record.id}: summary lacks key '{re.escape(key)}'$"):
        RunSummary.from_dict(legacy, record.id)


def test_the_report_of_a_store_with_a_malformed_summary_names_the_run_and_key(stored, tmp_path, capsys):
    path, record, raw = stored
    broken = copy.deepcopy(raw)
    del broken["metrics"]["ssim"]["best"]["per_video"]
    _write_row(path, broken)
    try:
        assert main(["report", "--store", str(path), "--out", str(tmp_path / "site"), "--resamples", "10"]) == 2
    finally:
        _write_row(path, raw)
    assert capsys.readouterr().err == (f"error: run {record.id}: summary lacks key 'metrics.ssim.best.per_video'\n")


def test_a_run_with_an_unreadable_summary_still_lists_and_can_be_removed(stored, tmp_path, capsys):
    path, record, raw = stored
    copy_path = tmp_path / "copy.sqlite"
    copy_path.write_bytes(path.read_bytes())
    _write_row(copy_path, {**raw, "version": 2})
    assert main(["ls", "runs", "--store", str(copy_path)]) == 0
    assert record.id in capsys.readouterr().out
    assert main(["rm", record.id, "--store", str(copy_path)]) == 0
    with Store(copy_path) as store:
        assert store.runs() == []


def test_a_block_that_is_not_a_mapping_is_named(stored):
    _, record, raw = stored
    with pytest.raises(SummaryError, match=rf"^run {record.id}: summary key 'metrics.ssim' should be a mapping, "
                                           "got list$"):
        RunSummary.from_dict({**raw, "metrics": {"ssim": [0.5]}}, record.id)


def test_report_and_exports_of_a_store_from_before_versions_are_those_of_a_versioned_one(stored, tmp_path):
    """The same summary, written by the runner of before (no version) and by RunSummary.to_dict: the
    same pages and the same exports in every format."""
    path, record, raw = stored
    legacy = _legacy(raw)
    outputs = {}
    for kind, summary in (("legacy", legacy), ("versioned", RunSummary.from_dict(legacy, record.id).to_dict())):
        _write_row(path, summary)
        with Store(path) as store:
            runs = store.runs()
            build_site(store, tmp_path / kind, resamples=50)
        pages = {page.name: re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", page.read_text())   # when it was built
                 for page in sorted((tmp_path / kind).glob("*.html"))}
        exports = {fmt: export_text(runs, fmt, resamples=50) for fmt in FORMATS}
        outputs[kind] = (pages, exports, format_summary(runs[0]), run_scores(runs[0]))
    _write_row(path, raw)
    assert "version" not in legacy and outputs["legacy"] == outputs["versioned"]
    pages, exports, printed, _ = outputs["legacy"]
    board = pages["suite-tiny.html"]
    assert "DIVERSITY" in board and "−ELBO" in board and "4.0 ± 1.0" in board
    assert "[2.5000, 5.5000]" in pages[f"run-{record.id}.html"]
    assert "fvd_low" in exports["csv"] and "812.5" in exports["csv"]
    assert "(6 videos, 1 trial(s))" in printed and "812.5000" in printed


def test_the_python_result_of_a_run_from_before_set_intervals_has_none(stored):
    _, record, raw = stored
    scores = Result(record.id, record.manifest, RunSummary.from_dict(_legacy(raw), record.id)).scores
    assert scores["fvd"]["interval"] == (2.5, 5.5) and scores["kvd"]["interval"] is None
    assert scores["ssim"]["best"] == raw["metrics"]["ssim"]["best"]["mean"]
