"""Nothing lost: SIGKILL mid-run then --resume, and two runs writing one store while a reader reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, score_rows, videos_done, wait_for, write_suite
from vbench.report import build_site
from vbench.runner import RunRequest, run
from vbench.store import Store

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


def _vbench(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "vbench", "run", "--no-progress", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_gives_the_uninterrupted_scores(tmp_path):
    suite = write_suite(tmp_path, num_videos=8, num_samples=2)
    store, reference_store, flag = tmp_path / "s.db", tmp_path / "ref.db", tmp_path / "slow"
    args = ["--suite", str(suite), "--model", f"{TEST_MODELS}:Slow", "--model-arg", f"flag={flag}",
            "--batch-size", "1", "--device", "cpu"]
    flag.touch()
    victim = _vbench(*args, "--store", str(store))
    wait_for(lambda: videos_done(store) >= 2)
    victim.send_signal(signal.SIGKILL)                        # no handler runs: a hard crash
    victim.wait()
    flag.unlink()
    with Store(store) as s:                                   # readable after the crash
        (killed,) = s.runs()
        assert killed.status == "abandoned" and 2 <= len(s.done_videos(killed.id)) < 8   # its holder is gone
    resumed = _vbench(*args, "--store", str(store), "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    reference = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:Slow", model_args={"flag": str(flag)},
                               store=reference_store, batch_size=4, progress=False, device="cpu"))
    with Store(store) as s, Store(reference_store) as r:
        (finished,) = s.runs()
        assert finished.id == killed.id and finished.status == "finished"
        assert score_rows(store, finished.id) == 8 * 2             # 8 videos x 2 metrics: no duplicate rows
        got, want = s.scores(finished.id)[1], r.scores(reference)[1]
        for metric in ("ssim", "psnr"):
            np.testing.assert_array_equal(got[metric], want[metric])
        assert finished.summary.metrics == r.run(reference).summary.metrics


@pytest.mark.slow
def test_two_writers_and_a_reader_share_one_store(tmp_path):
    suite = write_suite(tmp_path, num_videos=6, num_samples=2)
    store = tmp_path / "shared.db"
    with Store(store):
        pass                                                  # created before the race, as a lab's store is
    writers = [_vbench("--suite", str(suite), "--model", model, "--store", str(store), "--batch-size", "1",
                       "--device", "cpu")
               for model in ("copy_last", "noisy_copy_last")]
    reads = 0
    while any(w.poll() is None for w in writers):             # a reader (the report) during the writes
        with Store(store) as s:
            for record in s.runs():
                videos, scores = s.scores(record.id)
                assert all(a.shape[0] == len(videos) for a in scores.values())   # whole batches only
            build_site(s, tmp_path / "site")
        reads += 1
    for w in writers:
        assert w.wait() == 0, w.stderr.read()[-2000:]
    assert reads >= 1
    with Store(store) as s:
        runs = s.runs()
        assert sorted(r.status for r in runs) == ["finished", "finished"]
        for record in runs:
            assert score_rows(store, record.id) == 6 * 2


def test_a_model_replaying_its_context_is_flagged_not_failed(tmp_path, capsys):
    from vbench.cli import main
    suite = write_suite(tmp_path)
    store = str(tmp_path / "s.db")
    assert main(["run", "--suite", str(suite), "--model", f"{TEST_MODELS}:EchoContext", "--store", store,
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "warning: context-echo on 6 of 6 test videos" in out and "return its input" in out
    assert main(["run", "--suite", str(suite), "--model", "copy_last", "--store", store, "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().out
    with Store(store) as s:
        echo, copy = s.runs()
        assert echo.status == "finished" and echo.summary.flags == {"context-echo": [0, 1, 2, 3, 4, 5]}
        assert copy.summary.flags == {}


def test_predictions_beyond_the_memory_budget_come_in_chunks_with_the_same_scores(tmp_path, monkeypatch):
    import vbench.runner as runner
    from baselines.trivial import NoisyCopyLast
    calls = []
    original = NoisyCopyLast.predict

    def recording(self, context, num_future, num_samples, rng):
        calls.append(num_samples)
        return original(self, context, num_future, num_samples, rng)

    monkeypatch.setattr(NoisyCopyLast, "predict", recording)
    suite = str(write_suite(tmp_path, num_samples=5))
    whole = run(RunRequest(suite=suite, model="noisy_copy_last", store=tmp_path / "a.db", progress=False))
    assert calls == [5]                                       # 6 videos in one batch of 8, 5 samples at once
    calls.clear()
    frame_bytes = 4 * 64 * 64
    monkeypatch.setattr(runner, "PREDICTION_BUDGET_BYTES", 2 * 6 * 10 * frame_bytes)   # 2 samples of 6 videos
    chunked = run(RunRequest(suite=suite, model="noisy_copy_last", store=tmp_path / "b.db", progress=False))
    assert calls == [2, 2, 1]
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        np.testing.assert_array_equal(a.scores(whole)[1]["ssim"], b.scores(chunked)[1]["ssim"])
