"""Truth scores in the harness: the suite's `truth:` section, the runner (stored per video, resumable),
the summary, `vbench check`, the report and `vbench export` (vbench.truth holds the maths and its tests)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch
import yaml

from conftest import REPO, write_suite
from vbench.cli import format_summary, main
from vbench.data import load_digit_source, load_test_clips
from vbench.data.smmnist import generate_clips
from vbench.errors import DatasetNotPrepared, SuiteError
from vbench.report import build_site
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.suite import load_suite, parse_suite
from vbench.truth import TruthConfig, perfect_coverage

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")
TRUTH = {"k": 6, "neighbours": 2}      # small K: a few LPIPS forwards per context


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _suite_data(name: str = "smmnist-mini") -> dict:
    return yaml.safe_load((REPO / "vbench" / "suites" / f"{name}.yaml").read_text())


# --- the suite's truth section -------------------------------------------------------------------


def test_builtin_sm_mnist_suites_have_truth_with_the_suites_fvd_settings():
    mini, full = load_suite("smmnist-mini"), load_suite("smmnist")
    assert mini.truth == TruthConfig(k=20, neighbours=5, distance="lpips", fvd_profile="tf",
                                     fvd_frames="context+predicted")
    assert full.truth.k == 100 and (mini.version, full.version) == (3, 3)
    assert mini.to_dict()["truth"]["k"] == 20                          # recorded in every manifest
    assert load_suite("kth").truth is None


def test_truth_defaults_and_overrides(tmp_path):
    data = _suite_data()
    data.update(fvd_frames="predicted", profiles={"fvd": "videogpt"}, truth={"k": 8, "neighbours": 3})
    suite = parse_suite(data, source="x.yaml")
    assert (suite.truth.k, suite.truth.fvd_profile, suite.truth.fvd_frames) == (8, "videogpt", "predicted")
    assert suite.truth.distance == "lpips" and suite.truth.with_fvd is False
    data["truth"] = {"fvd_profile": "tf", "distance": "pixel", "truth_seed": 3}
    assert parse_suite(data, source="x.yaml").truth == TruthConfig(fvd_profile="tf", distance="pixel",
                                                                   truth_seed=3, fvd_frames="predicted")
    data["truth"] = None                                                # `truth:` left empty: no truth scores
    assert parse_suite(data, source="x.yaml").truth is None


@pytest.mark.parametrize("truth,message", [
    ({"nieghbours": 3}, r"unknown key 'truth\.nieghbours' \(did you mean 'truth\.neighbours'\?\)"),
    ({"k": 5, "neighbours": 5}, r"key 'truth': truth needs 1 <= neighbours < k"),
    ({"k": True}, r"key 'truth\.k': must be an integer"),
    ({"k": "20"}, r"key 'truth\.k': must be an integer"),
    ({"with_fvd": "yes"}, r"key 'truth\.with_fvd': must be a boolean"),
    ({"distance": "ssim"}, r"key 'truth': truth distance must be one of lpips, pixel"),
    ({"fvd_profile": "clean"}, r"key 'truth': fvd_profile must be one of"),
    ({"truth_seed": -1}, r"key 'truth': truth_seed must be >= 0"),
    ([20], r"key 'truth': must be a mapping"),
])
def test_bad_truth_sections_name_the_file_and_key(truth, message):
    data = dict(_suite_data(), truth=truth)
    with pytest.raises(SuiteError, match=f"^x\\.yaml: {message}"):
        parse_suite(data, source="x.yaml")


def test_truth_only_on_sm_mnist(tmp_path):
    data = dict(_suite_data("kth"), truth={"k": 20})
    with pytest.raises(SuiteError, match=r"x\.yaml: key 'truth': only SM-MNIST suites.*'kth'"):
        parse_suite(data, source="x.yaml")
    data = dict(_suite_data(), predicted_frames=8, metrics=["ssim"], profiles={},
                truth={"with_fvd": True, "fvd_frames": "predicted"})
    with pytest.raises(SuiteError, match=r"key 'truth\.with_fvd': FVD needs at least 10 frames"):
        parse_suite(data, source="x.yaml")
    path = write_suite(tmp_path, truth={"k": 4, "neighbour": 2})
    assert main(["validate", str(path)]) == 1                          # the CLI names it too


def test_digit_source_is_what_the_clips_are_drawn_from(tmp_path):
    suite = load_suite("smmnist-mini")
    digits = load_digit_source(suite)
    assert digits.dtype == np.uint8 and digits.shape == (1000, 32, 32)
    np.testing.assert_array_equal(generate_clips(digits, suite.seed, range(2), suite.total_frames),
                                  load_test_clips(suite, count=2))
    with pytest.raises(DatasetNotPrepared, match="not SM-MNIST"):
        load_digit_source(load_suite("kth"))
    with pytest.raises(DatasetNotPrepared, match="vbench data prepare mnist"):
        load_digit_source(load_suite("smmnist"), data_root=tmp_path)


# --- runner, resume, summary, check, report, export ----------------------------------------------


@pytest.fixture(scope="module")
def truth_runs(tmp_path_factory):
    """A stochastic run interrupted and resumed, the same run uninterrupted, and copy_last (one sample)."""
    folder = tmp_path_factory.mktemp("truth")
    suite = write_suite(folder, num_videos=4, num_samples=3, truth=TRUTH)
    store, flag = folder / "r.sqlite", folder / "crash"
    flag.touch()
    request = RunRequest(suite=str(suite), model=f"{TEST_MODELS}:CrashAfter",
                         model_args={"flag": str(flag), "after": 2}, store=store, batch_size=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run(request)
    with Store(store) as s:
        (crashed,) = s.runs()
        assert crashed.status == "interrupted" and s.done_videos(crashed.id) == {0, 1}
    flag.unlink()
    resumed = run(RunRequest(**{**request.__dict__, "resume": True}))
    assert resumed == crashed.id
    fresh = run(RunRequest(**{**request.__dict__, "batch_size": 4}))
    copy = run(RunRequest(suite=str(suite), model="copy_last", store=store, progress=False))
    with Store(store) as s:
        records = {name: s.run(run_id) for name, run_id in (("resumed", resumed), ("fresh", fresh), ("copy", copy))}
        stored = {name: s.scores(r.id)[1] for name, r in records.items()}
    return {"store": store, "records": records, "stored": stored}


def test_truth_is_stored_per_video_and_summarized(truth_runs):
    record, stored = truth_runs["records"]["fresh"], truth_runs["stored"]["fresh"]
    assert record.manifest["suite"]["truth"]["k"] == 6
    assert stored["truth/coverage"].shape == (4, 1, 1) and stored["truth/position_w1"].shape == (4, 1, 10)
    truth = record.summary.truth
    assert truth["videos"] == [0, 1, 2, 3] and truth["config"]["k"] == 6
    assert truth["coverage"]["perfect_model_expected"] == pytest.approx(perfect_coverage(6, 3, 2))
    assert len(truth["position_w1"]["per_frame"]) == 10
    assert truth["position_w1"]["reference_per_frame"][0] == 0.0        # fixed by the context
    assert truth["position_w1"]["per_video"] == pytest.approx(stored["truth/position_w1"][:, 0].mean(axis=1))
    json.dumps(record.summary.to_dict(), allow_nan=False)
    printed = format_summary(record)                                    # what `vbench run` prints
    assert "truth (K=6, lpips): coverage " in printed
    # the two velocity W1s are different numbers: each is printed under its own name, with its own value
    bounce, velocity = truth["bounce_velocity_w1"], truth["velocity_w1"]
    assert f"velocity W1 (all frames) {velocity['mean']:.3f} px/frame" in printed
    assert (f"bounce-velocity W1 (after wall touches) {bounce['mean']:.3f} px/frame" in printed
            if bounce["mean"] is not None else "bounce-velocity W1 (after wall touches) — " in printed)
    assert f"{bounce['videos']} videos with a true bounce, no model bounce in {bounce['missed']})" in printed
    # SSIM and PSNR are untouched by truth scoring
    assert set(record.summary.metrics) == {"ssim", "psnr"}


def test_resume_after_an_interrupt_gives_identical_truth_numbers(truth_runs):
    resumed, fresh = truth_runs["records"]["resumed"], truth_runs["records"]["fresh"]
    assert resumed.summary.truth == fresh.summary.truth
    for name, array in truth_runs["stored"]["fresh"].items():
        np.testing.assert_array_equal(truth_runs["stored"]["resumed"][name], array, err_msg=name)


def test_a_deterministic_model_gets_truth_scores_too(truth_runs):
    copy = truth_runs["records"]["copy"]
    assert copy.manifest["num_samples"] == 1
    truth = copy.summary.truth
    assert truth["coverage"]["perfect_model_expected"] == pytest.approx(perfect_coverage(6, 1, 2))
    assert truth["coverage"]["mean"] <= 1 / 6 + 1e-6                   # one sample covers at most one future
    # the last context frame repeated: the digits stand still while the true ones move on
    assert truth["velocity_w1"]["mean"] > 3 * truth["velocity_w1"]["reference_mean"]


def test_check_covers_truth_scores(truth_runs, tmp_path, capsys):
    copy = truth_runs["records"]["copy"]
    ref = tmp_path / "tiny.json"
    base = ["check", "--run", copy.id, "--store", str(truth_runs["store"]), "--reference", str(ref)]
    assert main([*base, "--update", "--reason", "truth scores"]) == 0
    scores = json.loads(ref.read_text())["models"]["copy_last"]["scores"]
    assert {"truth/coverage", "truth/precision", "truth/position_w1", "truth/velocity_w1"} <= set(scores)
    videos = sum(v is not None for v in copy.summary.truth["coverage"]["per_video"])
    assert scores["truth/coverage"]["tolerance"] == pytest.approx(1e-6 + 1 / (6 * videos))   # one match decision
    assert scores["truth/precision"]["tolerance"] == pytest.approx(1e-6 + 1 / (1 * videos))
    assert scores["truth/position_w1"]["tolerance"] == pytest.approx(1e-3)
    capsys.readouterr()
    assert main(base) == 0
    assert "truth/coverage" in capsys.readouterr().out


def test_report_and_export_show_truth(truth_runs, tmp_path, capsys):
    with Store(truth_runs["store"]) as store:
        build_site(store, tmp_path, resamples=100)
    board = (tmp_path / "suite-tiny.html").read_text()
    for label in ("coverage ↑", "precision ↑", "position W1 ↓", "bounce-velocity W1 (after wall touches) ↓",
                  "Where the truth is known"):
        assert label in board
    fresh = truth_runs["records"]["fresh"]
    coverage = fresh.summary.truth["coverage"]["mean"]
    assert f'data-key="truth-coverage" data-value="{coverage!r}"' in board
    floor = fresh.summary.truth["position_w1"]["reference_mean"]
    assert f"floor {floor:.3f}" in board
    page = (tmp_path / f"run-{fresh.id}.html").read_text()
    assert 'id="truth"' in page and 'id="truth-per-frame"' in page
    assert 'data-metric="position_w1"' in page and 'data-metric="velocity_w1"' in page
    assert page.count('<path class="band"') == 4                        # ssim, psnr and both W1 curves
    assert "simulator (noise floor)" in page
    assert "velocity W1 (all frames) [px/frame] ↓" in page and "bounce-velocity W1 (after wall touches) [px/frame]" in page

    assert main(["export", "--format", "csv", "--store", str(truth_runs["store"])]) == 0
    rows = {r["run_id"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert float(rows[fresh.id]["truth_coverage"]) == pytest.approx(coverage)
    assert float(rows[fresh.id]["truth_position_w1_reference"]) == pytest.approx(floor)
    assert main(["export", "--format", "markdown", "--store", str(truth_runs["store"]), "--resamples", "100"]) == 0
    table = capsys.readouterr().out
    assert "Coverage ↑" in table and "Precision ↑" in table and "Position W1 ↓" in table
