import csv
import io
import json
import re
import subprocess
import sys

import pytest

from conftest import REPO
from vbench.cli import main
from vbench.store import Store

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


@pytest.fixture
def filled_store(tmp_path, tiny_suite, capsys):
    store = tmp_path / "r.sqlite"
    assert main(["run", "--suite", str(tiny_suite), "--model", "copy_last", "--store", str(store), "--no-progress"]) == 0
    assert main(["run", "--suite", str(tiny_suite), "--model", "noisy_copy_last", "--model-arg", "sigma=0.05",
                 "--store", str(store), "--no-progress"]) == 0
    capsys.readouterr()   # keep the runs' own output out of the tests' captures
    return store


def test_run_prints_summary_and_ls_lists(tmp_path, tiny_suite, capsys):
    store = tmp_path / "r.sqlite"
    for model in ("copy_last", "noisy_copy_last"):
        assert main(["run", "--suite", str(tiny_suite), "--model", model, "--store", str(store), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"ssim↑\s+gaussian\s+0\.\d{4}\s+0\.\d{4}\n", out)
    assert out.index("ssim↑") < out.index("psnr↑")              # the suite's metric order
    assert "stored as run" in out
    filled_store = store
    assert "stored as run" in out
    assert main(["ls", "runs", "--store", str(filled_store)]) == 0
    listing = capsys.readouterr().out
    assert listing.count("finished") == 2 and "noisy_copy_last" in listing
    assert main(["ls", "suites"]) == 0
    assert "smmnist-mini" in capsys.readouterr().out
    assert main(["ls", "models"]) == 0
    assert "copy_last" in capsys.readouterr().out


def test_export_json_and_csv(filled_store, capsys, tmp_path):
    assert main(["export", "--format", "json", "--store", str(filled_store)]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["model"] for r in records] == ["copy_last", "noisy_copy_last"]
    assert records[0]["manifest"]["suite"]["name"] == "tiny"
    assert 0 < records[1]["ssim_best"] <= 1 and records[1]["ssim_profile"] == "gaussian"
    out = tmp_path / "runs.csv"
    assert main(["export", "--format", "csv", "--store", str(filled_store), "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 2 and float(rows[0]["psnr_best"]) > 0


def test_export_of_an_unknown_suite_suggests_the_closest(filled_store, capsys):
    assert main(["export", "--suite", "tiyn", "--store", str(filled_store)]) == 2
    assert f"error: no runs of suite 'tiyn' in {filled_store} (did you mean 'tiny'?); suites with runs: tiny" \
        in capsys.readouterr().err
    assert main(["export", "--suite", "tiny", "--store", str(filled_store)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_report_renders_index_leaderboard_and_run_pages(filled_store, tmp_path):
    site = tmp_path / "site"
    assert main(["report", "--out", str(site), "--store", str(filled_store)]) == 0
    index = (site / "index.html").read_text()
    assert 'href="suite-tiny.html"' in index
    board = (site / "suite-tiny.html").read_text()
    assert board.count('<tr><td data-key="rank"') == 2 and "SSIM ↑" in board and "gaussian" in board
    # every best-of-N and mean-of-N cell carries its bootstrap interval, and the interval contains the value
    cells = re.findall(r'<td class="num[^"]*" data-key="\w+(?:-mean)?" data-value="[^"]*">'
                       r'([\d.]+)<br><span class="ci">\[([\d.]+), ([\d.]+)\]</span>', board)
    assert len(cells) == 2 * 2 * 2
    assert all(float(lo) <= float(v) <= float(hi) for v, lo, hi in cells)
    runs = list(site.glob("run-*.html"))
    assert len(runs) == 2
    assert "Provenance" in runs[0].read_text()


def test_report_autoescapes_model_names(tmp_path, tiny_suite):
    evil = tmp_path / "evil.py"
    evil.write_text("from baselines.trivial import CopyLast\n"
                    "class Evil(CopyLast):\n    name = '<script>alert(1)</script>'\n")
    store = tmp_path / "r.sqlite"
    assert main(["run", "--suite", str(tiny_suite), "--model", f"{evil}:Evil", "--store", str(store),
                 "--no-progress"]) == 0
    site = tmp_path / "site"
    assert main(["report", "--out", str(site), "--store", str(store)]) == 0
    for page in site.glob("*.html"):
        assert "<script>alert(1)</script>" not in page.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (site / "suite-tiny.html").read_text()


def test_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert main(["run", "--suite", "nope", "--model", "copy_last", "--store", str(tmp_path / "x.sqlite")]) == 2
    assert "error: unknown suite 'nope'" in capsys.readouterr().err
    assert main(["export", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert "no result store" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--limit", "--samples", "--batch-size"])
def test_counts_below_one_are_refused_before_anything_runs(tmp_path, tiny_suite, capsys, flag):
    store = tmp_path / "r.sqlite"
    assert main(["run", "--suite", str(tiny_suite), "--model", "copy_last", "--store", str(store),
                 "--no-progress", flag, "0"]) == 2
    assert f"error: {flag} must be at least 1, got 0" in capsys.readouterr().err
    assert not store.exists()


def test_validate(tmp_path, tiny_suite, capsys):
    assert main(["validate", str(tiny_suite)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_suite.read_text().replace("seed:", "sead:"))
    assert main(["validate", str(tiny_suite), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml: unknown key 'sead'" in err


def test_validate_checks_the_data_it_can_without_running(tmp_path, capsys):
    """A folder suite's data_path must exist; data that is here (a folder, a prepared dataset) must
    hold num_videos test clips; a dataset not prepared here is said to be unchecked."""
    import numpy as np
    from conftest import write_suite
    from vbench.data.prepared import PreparedWriter
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(3):                                          # 3 videos of 15 frames: one clip each
        np.save(clips / f"v{i}.npy", np.zeros((15, 64, 64), np.float32))
    folder = dict(dataset="folder", data_path=str(clips), num_videos=3, fvd_videos=3)
    fits = write_suite(tmp_path, name="fits", **folder)
    too_many = write_suite(tmp_path, name="many", **dict(folder, num_videos=4, fvd_videos=4))
    missing = write_suite(tmp_path, name="missing", **dict(folder, data_path=str(tmp_path / "nowhere")))
    assert main(["validate", str(fits)]) == 0
    assert "3 test clips found" in capsys.readouterr().out
    assert main(["validate", str(too_many), str(missing)]) == 1
    err = capsys.readouterr().err
    assert "many.yaml: suite 'many': found 3 clips of 15 frames" in err and "needs 4" in err
    assert f"missing.yaml: suite 'missing': data_path {tmp_path / 'nowhere'} is not a directory" in err

    prepared = dict(dataset="kth", test_list="", num_videos=3, fvd_videos=3)
    kth = write_suite(tmp_path, name="kth3", **prepared)
    root = tmp_path / "data"
    assert main(["validate", str(kth), "--data-root", str(root)]) == 0
    assert f"'kth' is not prepared under {root}: its test clips are not checked" in capsys.readouterr().out
    with PreparedWriter(root, "kth", "somewhere", {"resolution": 64}) as writer:
        for i in range(2):
            writer.add_video("test", f"v{i}", np.zeros((15, 1, 64, 64), np.uint8))
        writer.commit()
    assert main(["validate", str(kth), "--data-root", str(root)]) == 1
    assert "kth3.yaml: suite 'kth3' needs 3 test clips, kth/test offers 2" in capsys.readouterr().err


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "vbench.cli", "ls", "models"], capture_output=True, text=True)
    assert out.returncode == 0 and "copy_last" in out.stdout
