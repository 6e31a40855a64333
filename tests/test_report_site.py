"""The leaderboard and run pages from a small store: intervals, resamples, paired comparison,
FVD intervals from stored features, diversity, old stores, and the paper tables of `vbench export`."""

import dataclasses
import json
import re
import sqlite3

import numpy as np
import pytest

from conftest import write_suite
from vbench.cli import main
from vbench.export import run_record
from vbench.metrics.frechet import frechet_distance
from vbench.protocol import real_features_key
from vbench.report import build_site, set_features
from vbench.report.leaderboard import leaderboard
from vbench.results import BatchScores, Diversity, SetMetricSummary
from vbench.stats import Interval, bootstrap_ci, paired_bootstrap, set_distance_interval, set_interval_record
from vbench.store import Store


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    suite = write_suite(folder)
    path = folder / "r.sqlite"
    for model in (["copy_last"], ["noisy_copy_last", "--model-arg", "sigma=0.05"]):
        assert main(["run", "--suite", str(suite), "--model", *model, "--store", str(path), "--no-progress"]) == 0
    return path


@pytest.fixture(scope="module")
def runs(store_path):
    with Store(store_path) as store:
        return {r.model: r for r in store.runs()}


def _brackets(html: str) -> list[str]:
    return re.findall(r'<span class="ci">(\[[^\]]*\])</span>', html)


def test_leaderboard_columns_rows_and_sort_keys(store_path, runs, tmp_path):
    with Store(store_path) as store:
        build_site(store, tmp_path, resamples=200)
    board = (tmp_path / "suite-tiny.html").read_text()
    for metric, arrow, profile in (("SSIM", "↑", "gaussian"), ("PSNR", "↑", "frame")):
        assert re.search(f"{metric} {arrow}<br><span class=\"profile\">{profile}</span>", board)
    assert '<th data-key="ssim" data-order="desc">best-of-N</th>' in board
    assert '<th data-key="ssim-mean" data-order="desc">mean-of-N</th>' in board
    noisy = runs["noisy_copy_last"].summary.metrics["ssim"]
    assert f'data-key="ssim" data-value="{noisy.best.mean!r}"' in board
    assert f'data-key="ssim-mean" data-value="{noisy.mean_of_samples.mean!r}"' in board
    ci = bootstrap_ci(np.asarray(noisy.mean_of_samples.per_video), resamples=200)
    assert f"[{ci.low:.4f}, {ci.high:.4f}]" in board                      # mean-of-N has its interval too
    assert "sigma=0.05" in board and "200 resamples" in board
    assert "<script>" in board and "src=" not in board.split("<script>")[1].split("</script>")[0]
    # the run page: one inline SVG chart per per-frame metric, with a band
    page = (tmp_path / f"run-{runs['noisy_copy_last'].id}.html").read_text()
    assert page.count('<svg class="curve"') == 2 and page.count('<path class="band"') == 2
    assert "Provenance" in page and "selection" in page


def test_resamples_change_intervals_deterministically(store_path, tmp_path):
    pages = {}
    for name, resamples in (("a", 300), ("b", 300), ("c", 5000)):
        assert main(["report", "--store", str(store_path), "--out", str(tmp_path / name),
                     "--resamples", str(resamples)]) == 0
        pages[name] = (tmp_path / name / "suite-tiny.html").read_text()
    assert _brackets(pages["a"]) == _brackets(pages["b"])
    assert _brackets(pages["a"]) != _brackets(pages["c"])
    assert "5,000 resamples" in pages["c"]
    assert main(["report", "--store", str(store_path), "--out", str(tmp_path / "d"), "--resamples", "0"]) == 2


def test_paired_comparison_with_the_top_row(store_path, runs, tmp_path):
    with Store(store_path) as store:
        build_site(store, tmp_path, resamples=400)
    board = (tmp_path / "suite-tiny.html").read_text()
    top, other = runs["copy_last"], runs["noisy_copy_last"]
    assert board.index(">copy_last<") < board.index(">noisy_copy_last<")   # ranked by SSIM
    table = board[board.index('<table id="comparison">'):]
    table = table[:table.index("</table>")]
    for metric in ("ssim", "psnr"):
        diff = paired_bootstrap(np.asarray(other.summary.metrics[metric].best.per_video),
                                np.asarray(top.summary.metrics[metric].best.per_video), resamples=400)
        assert f"{diff.mean:+.4f}<br><span class=\"ci\">[{diff.low:+.4f}, {diff.high:+.4f}]</span>" in table
    assert "worse than #1" in table                       # noise ruins SSIM of the sparse digits


def test_old_store_without_strips_table_still_reports(store_path, runs, tmp_path):
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(store_path) as src, sqlite3.connect(old) as dst:
        src.backup(dst)
        dst.execute("DROP TABLE video_strips")
    assert main(["report", "--store", str(old), "--out", str(tmp_path / "site"), "--resamples", "100"]) == 0
    page = (tmp_path / "site" / f"run-{runs['copy_last'].id}.html").read_text()
    assert "No sample strips stored" in page and '<svg class="curve"' in page
    assert not (tmp_path / "site" / "strips").exists()


def test_export_paper_tables(store_path, runs, capsys):
    top = runs["copy_last"].summary.metrics
    for fmt in ("markdown", "latex"):
        assert main(["export", "--store", str(store_path), "--format", fmt, "--resamples", "200"]) == 0
        text = capsys.readouterr().out
        ssim = top["ssim"].best
        half = bootstrap_ci(np.asarray(ssim.per_video), resamples=200).half_width
        psnr = top["psnr"].mean_of_samples.mean
        if fmt == "markdown":
            assert f"{ssim.mean:.4f} ± {half:.4f}" in text and f"{psnr:.2f} ±" in text
            assert "| copy_last " in text and "SSIM ↑ best-of-N" in text
        else:
            assert f"{ssim.mean:.4f} $\\pm$ {half:.4f}" in text and f"{psnr:.2f} $\\pm$" in text
            assert "copy\\_last" in text and "SSIM $\\uparrow$ best-of-N" in text
            assert text.startswith("\\begin{table}") and "\\toprule" in text
    assert main(["export", "--store", str(store_path), "--format", "markdown", "--suite", "nope"]) == 2
    assert "no runs of suite 'nope'" in capsys.readouterr().err   # unknown suite: named, closest suggested


def test_fvd_interval_from_stored_features_and_diversity(runs, tmp_path):
    """A hand-made run with I3D-like features (16-d, 64 videos, 2 trials) in the store, FVD in its summary
    but no stored interval (runs before vbench kept it): the report recomputes it from the features."""
    rng = np.random.default_rng(1)
    base = runs["noisy_copy_last"]
    manifest = json.loads(json.dumps(base.manifest))
    suite = manifest["suite"]
    suite["metrics"] += ["fvd"]
    suite["profiles"]["fvd"] = "tf"
    real, fake = rng.normal(size=(64, 16)), rng.normal(0.2, 1.0, size=(64, 2, 16))   # [V, D], [V, K, D]
    trials = [frechet_distance(real, fake[:, k]) for k in range(2)]
    fvd = SetMetricSummary(profile="tf", higher_is_better=False, trials=trials, mean=float(np.mean(trials)),
                           std=float(np.std(trials)), videos=64)
    diversity = Diversity(profile="alex-v0.1", higher_is_better=True, mean=0.25,
                          per_video=[0.2, 0.3, 0.25, 0.2, 0.3, 0.25], per_frame=[0.25] * 10)
    summary = dataclasses.replace(base.summary, metrics={**base.summary.metrics, "fvd": fvd}, diversity=diversity)
    manifest["data"].update(fvd_videos=6, fvd_fingerprint="f" * 64)    # as the runner records an FVD suite's
    key = real_features_key(suite, "f" * 64, {"embedding": "i3d-kinetics-400/logits-mean", "profile": "tf",
                                              "weights_sha256": "x"})
    with Store(tmp_path / "h.sqlite") as store:
        with_features = store.create_run(manifest, "with")
        store.write_batch(with_features, BatchScores(list(range(64)), {}, {"fvd_fake": fake.astype(np.float32)}))
        store.cache_features(key, list(range(64)), real.astype(np.float32))
        store.finish(with_features, summary)
        without = store.create_run(manifest, "without")                     # same scores, no features stored
        store.finish(without, summary)
        kept = store.create_run(manifest, "kept")                           # interval stored by the run itself
        interval = set_interval_record(Interval(0.0, 1.5, 9.5, 0.95, 32), "fvd", 64)
        store.finish(kept, dataclasses.replace(summary, metrics={**summary.metrics,
                                                                 "fvd": dataclasses.replace(fvd, interval=interval)}))
        board = leaderboard(store.runs(), resamples=300, set_features=set_features(store))
        build_site(store, tmp_path / "site", resamples=300)
    names = [c["metric"] for c in board["columns"]]
    assert names == ["ssim", "psnr", "fvd", "diversity"]
    cells = {row["run"].id: row["cells"] for row in board["rows"]}
    mean = fvd.mean
    want = set_distance_interval(real.astype(np.float32), fake.astype(np.float32), frechet_distance, mean)
    got = cells[with_features][2]["ci"]
    assert (got.low, got.high) == pytest.approx((want.low, want.high), rel=1e-9)
    assert got.low < mean < got.high                  # the old basic bootstrap: [0.33, 2.61] around 3.80
    assert cells[without][2]["ci"] is None and cells[without][2]["value"] == pytest.approx(np.mean(trials))
    assert (cells[kept][2]["ci"].low, cells[kept][2]["ci"].high) == (1.5, 9.5)
    # json / csv records: the stored interval, and the bootstrap interval of best-of-N over test videos
    records = {row["run"].id: run_record(row["run"]) for row in board["rows"]}
    assert (records[kept]["fvd_low"], records[kept]["fvd_high"]) == (1.5, 9.5) and "fvd_low" not in records[without]
    best = bootstrap_ci(np.asarray(summary.metrics["ssim"].best.per_video))
    assert (records[kept]["ssim_best_low"], records[kept]["ssim_best_high"]) == (best.low, best.high)
    assert cells[with_features][3]["ci"] is not None
    html = (tmp_path / "site" / "suite-tiny.html").read_text()
    assert f"{np.mean(trials):.1f} ± {np.std(trials):.1f}" in html and "2 trial(s), 64 videos" in html
    assert f"[{want.low:.1f}, {want.high:.1f}]" in html and "expected FVD/KVD at the run's number of test videos" in html
    page = (tmp_path / "site" / f"run-{with_features}.html").read_text()
    assert f"[{want.low:.4f}, {want.high:.4f}]" in page and "interval of the expected FVD of 64 test videos" in page
    assert "DIVERSITY" in html and "0.2500" in html
