"""`vbench check`: reference scores, tolerances, deliberate updates, the pytest fixture, and the
project's own committed references."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, write_suite
from vbench.check import Comparison, compare, default_tolerance, entry_name
from vbench.cli import main

PROJECT_REFERENCE = REPO / "reports" / "reference" / "smmnist-mini.json"


def test_compare_statuses_and_tolerance():
    reference = {"ssim/best": {"value": 0.5, "tolerance": 1e-3, "ci95_half_width": 0.01},
                 "psnr/best": {"value": 20.0, "tolerance": 1e-3, "ci95_half_width": 0.5},
                 "lpips/best": {"value": 0.2, "tolerance": 1e-4, "ci95_half_width": 0.01}}
    now = {"ssim/best": {"value": 0.5009, "ci95_half_width": 0.01},
           "psnr/best": {"value": 20.002, "ci95_half_width": 0.5},
           "fvd/mean": {"value": 100.0, "ci95_half_width": None}}
    rows = {r.key: r for r in compare(reference, now)}
    assert rows["ssim/best"].status == "ok"
    assert rows["psnr/best"].status == "MOVED" and rows["psnr/best"].difference == pytest.approx(0.002)
    assert rows["lpips/best"].status == "missing"
    assert rows["fvd/mean"].status == "new"
    assert Comparison("x", 1.0, 1.0, 0.0, None).status == "ok"        # exact equality passes a zero tolerance
    assert default_tolerance("fvd/mean", 150.0) == pytest.approx(1e-2 + 0.15)
    assert entry_name("noisy_copy_last", {"sigma": 0.05, "a": 1}) == "noisy_copy_last[a=1,sigma=0.05]"


@pytest.fixture
def checked_suite(tmp_path):
    return write_suite(tmp_path, metrics=["ssim", "psnr"], num_samples=3)


def _cli(*args: str) -> int:
    return main(list(args))


def test_update_then_check_a_fresh_run_is_bit_identical(tmp_path, checked_suite, capsys):
    store, ref = str(tmp_path / "s.db"), tmp_path / "ref" / "tiny.json"
    common = ["--suite", str(checked_suite), "--model", "noisy_copy_last", "--model-arg", "sigma=0.1",
              "--store", store, "--no-progress", "--reference", str(ref)]
    assert _cli("check", *common, "--update") == 2                    # never without a reason
    assert "needs --reason" in capsys.readouterr().err
    assert _cli("check", *common, "--update", "--reason", "first reference") == 0
    data = json.loads(ref.read_text())
    entry = data["models"]["noisy_copy_last[sigma=0.1]"]
    assert entry["reason"] == "first reference" and data["suite"] == "tiny"
    assert set(entry["scores"]) == {"ssim/best", "ssim/mean_of_samples", "psnr/best", "psnr/mean_of_samples"}
    assert entry["scores"]["ssim/best"]["tolerance"] == pytest.approx(1e-4)
    capsys.readouterr()
    # a second, fresh run of the same model reproduces every number exactly
    for score in entry["scores"].values():
        score["tolerance"] = 0.0
    ref.write_text(json.dumps(data))
    assert _cli("check", *common) == 0
    out = capsys.readouterr().out
    assert "check passed" in out and "MOVED" not in out


def test_moved_scores_fail_with_a_table_and_overrides_apply(tmp_path, checked_suite, capsys):
    store, ref = str(tmp_path / "s.db"), tmp_path / "tiny.json"
    base = ["--store", store, "--no-progress", "--reference", str(ref)]
    assert _cli("check", "--suite", str(checked_suite), "--model", "copy_last", *base, "--update",
                "--reason", "baseline") == 0
    run_id = json.loads(ref.read_text())["models"]["copy_last"]["run"]["run_id"]
    data = json.loads(ref.read_text())
    data["models"]["copy_last"]["scores"]["psnr/best"]["value"] += 0.5
    ref.write_text(json.dumps(data))
    capsys.readouterr()
    assert _cli("check", "--run", run_id, *base) == 1
    out = capsys.readouterr().out
    psnr_row = next(line for line in out.splitlines() if line.startswith("psnr/best"))
    assert "MOVED" in psnr_row and "-0.5" in psnr_row and "check FAILED" in out
    assert _cli("check", "--run", run_id, *base, "--tolerance", "psnr=0.6") == 0
    assert _cli("check", "--run", run_id, *base, "--tolerance", "psnr") == 2


def test_mismatched_references_are_refused(tmp_path, checked_suite, capsys):
    store, ref = str(tmp_path / "s.db"), tmp_path / "tiny.json"
    base = ["--store", store, "--no-progress", "--reference", str(ref)]
    assert _cli("check", "--suite", str(checked_suite), "--model", "copy_last", *base, "--update",
                "--reason", "baseline") == 0
    run_id = json.loads(ref.read_text())["models"]["copy_last"]["run"]["run_id"]
    capsys.readouterr()
    data = json.loads(ref.read_text())
    data["suite_version"] = 7
    ref.write_text(json.dumps(data))
    assert _cli("check", "--run", run_id, *base) == 2
    assert "the protocol changed" in capsys.readouterr().err
    data["suite_version"] = 1
    data["models"]["copy_last"]["run"]["num_videos"] = 99
    ref.write_text(json.dumps(data))
    assert _cli("check", "--run", run_id, *base) == 2
    assert "num_videos=99" in capsys.readouterr().err
    data["models"] = {}
    ref.write_text(json.dumps(data))
    assert _cli("check", "--run", run_id, *base) == 2
    assert "no reference for model 'copy_last'" in capsys.readouterr().err
    assert _cli("check", "--run", "nope", *base) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert _cli("check", *base) == 2
    assert "needs --model" in capsys.readouterr().err


def test_limit_and_samples_are_recorded_and_must_match(tmp_path, checked_suite, capsys):
    store, ref = str(tmp_path / "s.db"), tmp_path / "tiny.json"
    common = ["--suite", str(checked_suite), "--model", "noisy_copy_last", "--store", store, "--no-progress",
              "--reference", str(ref)]
    assert _cli("check", *common, "--limit", "2", "--samples", "2", "--update", "--reason", "subset") == 0
    made = json.loads(ref.read_text())["models"]["noisy_copy_last"]["run"]
    assert (made["num_videos"], made["num_samples"]) == (2, 2)
    capsys.readouterr()
    assert _cli("check", *common, "--limit", "2", "--samples", "2") == 0
    assert "check passed" in capsys.readouterr().out
    assert _cli("check", *common, "--samples", "2") == 2                 # the whole suite: 6 videos
    assert "was made with num_videos=2" in capsys.readouterr().err
    assert _cli("check", *common, "--limit", "2") == 2                   # the suite's 3 samples
    assert "was made with num_samples=2" in capsys.readouterr().err
    assert _cli("check", *common, "--limit", "0") == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
    assert _cli("check", "--run", "any", "--limit", "2", "--store", store, "--reference", str(ref)) == 2
    assert "not to a stored --run" in capsys.readouterr().err


def test_check_keeps_its_run_out_of_the_default_store(tmp_path, checked_suite, monkeypatch, capsys):
    from vbench.store import DEFAULT_STORE, Store
    monkeypatch.chdir(tmp_path)
    ref = tmp_path / "tiny.json"
    args = ["--suite", str(checked_suite), "--model", "copy_last", "--no-progress", "--reference", str(ref)]
    assert _cli("check", *args, "--update", "--reason", "baseline") == 0
    assert _cli("check", *args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.yaml"]   # no store left behind
    # a stored run is looked up in the default store unless --store says otherwise
    assert main(["run", "--suite", str(checked_suite), "--model", "copy_last", "--no-progress"]) == 0
    with Store(DEFAULT_STORE) as store:
        (stored,) = store.runs()
    capsys.readouterr()
    assert _cli("check", "--run", stored.id, "--reference", str(ref)) == 0
    assert "check passed" in capsys.readouterr().out


def test_pytest_fixture_for_model_authors(pytester, tmp_path, checked_suite):
    ref = tmp_path / "tiny.json"
    assert _cli("check", "--suite", str(checked_suite), "--model", "copy_last", "--store", str(tmp_path / "s.db"),
                "--no-progress", "--reference", str(ref), "--update", "--reason", "baseline") == 0
    pytester.makepyfile(f"""
        def test_still_scores(vbench_check):
            vbench_check(suite={str(checked_suite)!r}, model="copy_last", reference={str(ref)!r})

        def test_other_model_has_no_reference(vbench_check):
            vbench_check(suite={str(checked_suite)!r}, model="noisy_copy_last", reference={str(ref)!r})

        def test_model_args_and_a_subset(vbench_check):
            vbench_check(suite={str(checked_suite)!r}, model="noisy_copy_last", reference={str(ref)!r},
                         model_args={{"sigma": 0.2}}, limit=2, samples=2)
    """)
    assert _cli("check", "--suite", str(checked_suite), "--model", "noisy_copy_last", "--model-arg", "sigma=0.2",
                "--limit", "2", "--samples", "2", "--no-progress", "--reference", str(ref), "--update",
                "--reason", "subset") == 0
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")   # the fixture comes from the entry point
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*no reference for model 'noisy_copy_last'*"])


@pytest.mark.slow
def test_project_reference_scores_on_smmnist_mini(tmp_path, capsys):
    """The project's CI regression: bundled models on the embedded suite, against committed scores."""
    models = json.loads(PROJECT_REFERENCE.read_text())["models"]
    for name, entry in models.items():
        args = [f"--model-arg={k}={v}" for k, v in entry["model_args"].items()]
        code = _cli("check", "--suite", "smmnist-mini", "--model", entry["model"], *args, "--store",
                    str(tmp_path / "s.db"), "--no-progress", "--reference", str(PROJECT_REFERENCE))
        assert code == 0, f"{name}:\n{capsys.readouterr().out}"


def test_update_without_a_reason_is_refused_before_anything_is_scored(tmp_path, capsys, monkeypatch):
    import vbench.cli
    monkeypatch.setattr(vbench.cli, "_run_from_args", lambda args: pytest.fail("scored before refusing"))
    assert main(["check", "--reference", str(tmp_path / "ref.json"), "--model", "copy_last", "--update"]) == 2
    assert "--update needs --reason" in capsys.readouterr().err
