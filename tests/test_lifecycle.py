"""A run's life in the store: leases, signals, --resume that says why, show, rm and --debug."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, score_rows, videos_done, wait_for, write_suite
from vbench.cli import main
from vbench.errors import NothingToResume, RunBusy
from vbench.lease import STALE_AFTER_S, Holder, holder_alive, is_abandoned, this_process
from vbench.results import BatchScores
from vbench.runner import RunRequest, run
from vbench.store import Store

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


def _vbench(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "vbench", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _reference(suite, tmp_path, flag) -> tuple[dict, dict]:
    """(scores, summary metrics) of an uninterrupted in-process run of the Slow model."""
    store = tmp_path / "reference.db"
    run_id = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:Slow", model_args={"flag": str(flag)},
                            store=store, batch_size=4, progress=False, device="cpu"))
    with Store(store) as s:
        return s.scores(run_id)[1], s.run(run_id).summary.metrics


def _assert_same_scores(store_path, run_id: str, reference: tuple[dict, dict]) -> None:
    with Store(store_path) as s:
        record = s.run(run_id)
        assert record.status == "finished"
        got = s.scores(run_id)[1]
    for metric, want in reference[0].items():
        np.testing.assert_array_equal(got[metric], want)
    assert record.summary.metrics == reference[1]


# -- the lease: who holds a run, and when it is abandoned ---------------------------------------

def test_a_holder_is_alive_while_its_process_is():
    me = this_process()
    assert holder_alive(me) is True
    assert holder_alive(Holder(me.host, me.pid, "1")) is False if me.started else True   # a recycled pid
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()                                                  # reaped: the pid is gone
    assert holder_alive(Holder(me.host, child.pid, "")) is False
    assert holder_alive(Holder(me.host + "-elsewhere", me.pid, me.started)) is None   # only the heartbeat tells


def test_a_run_reads_abandoned_once_its_holder_is_gone_or_its_heartbeat_is_stale(tmp_path):
    suite = write_suite(tmp_path)
    now = time.time()
    me = this_process()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    cases = {"live": (me.host, me.pid, me.started, now),
             "pid gone": (me.host, child.pid, "", now),
             "stale heartbeat": (me.host, me.pid, me.started, now - STALE_AFTER_S - 1),
             "other host, fresh": ("elsewhere", 1, "", now),
             "other host, stale": ("elsewhere", 1, "", now - STALE_AFTER_S - 1)}
    with Store(tmp_path / "s.db") as store:
        manifest = {"suite": {"name": "tiny"}, "model": {"name": "m"}}
        ids = {name: store.create_run(manifest, name) for name in cases}
        for name, (host, pid, started, beat) in cases.items():
            store.conn.execute("UPDATE runs SET holder_host = ?, holder_pid = ?, holder_started = ?, heartbeat = ? "
                               "WHERE id = ?", (host, pid, started, beat, ids[name]))
        status = {name: store.run(ids[name]).status for name in cases}
    assert status == {"live": "running", "pid gone": "abandoned", "stale heartbeat": "abandoned",
                      "other host, fresh": "running", "other host, stale": "abandoned"}
    assert is_abandoned(None, None)                              # a run from before leases
    del suite


def test_a_live_run_is_not_taken_over_and_a_lost_lease_writes_nothing(tmp_path):
    with Store(tmp_path / "s.db") as store:
        run_id = store.create_run({"suite": {"name": "tiny"}, "model": {"name": "m"}}, "x")
        other = Holder("elsewhere", 1, "")
        with pytest.raises(RunBusy, match=f"run {run_id} is running in pid {os.getpid()}"):
            store.acquire(run_id, other)
        store.conn.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time() - STALE_AFTER_S - 1, run_id))
        store.acquire(run_id, other)                              # abandoned: taken over
        batch = BatchScores([0], {"ssim": np.zeros((1, 1, 2), np.float32)})
        with pytest.raises(RunBusy, match="no longer holds it"):
            store.write_batch(run_id, batch, holder=this_process())
        assert store.done_videos(run_id) == set()
        store.write_batch(run_id, batch, holder=other)
        assert store.done_videos(run_id) == {0}


# -- signals ------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_leave_an_interrupted_run_that_resumes_exactly(tmp_path, signum):
    suite = write_suite(tmp_path, num_videos=8, num_samples=2)
    store, flag = tmp_path / "s.db", tmp_path / "slow"
    args = ["run", "--no-progress", "--suite", str(suite), "--model", f"{TEST_MODELS}:Slow", "--model-arg",
            f"flag={flag}", "--batch-size", "1", "--device", "cpu", "--store", str(store)]
    flag.touch()
    victim = _vbench(*args)
    wait_for(lambda: videos_done(store) >= 2)
    victim.send_signal(signum)
    assert victim.wait(timeout=120) == 128 + signum
    assert f"interrupted ({signal.Signals(signum).name})" in victim.stderr.read()
    listed = _vbench("ls", "runs", "--store", str(store))
    out, _ = listed.communicate(timeout=120)
    assert " interrupted " in out
    with Store(store) as s:
        (record,) = s.runs()
        assert record.status == "interrupted" and signal.Signals(signum).name in record.error
        assert 2 <= len(s.done_videos(record.id)) < 8
    flag.unlink()
    resumed = _vbench(*args, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()[-2000:]
    _assert_same_scores(store, record.id, _reference(suite, tmp_path, flag))
    assert score_rows(store, record.id) == 8 * 2


def test_an_error_in_the_run_leaves_it_failed_with_the_error(tmp_path, monkeypatch):
    import vbench.runner
    suite = write_suite(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("summary broke")
    monkeypatch.setattr(vbench.runner, "_summarize", broken)
    with pytest.raises(RuntimeError):
        run(RunRequest(suite=str(suite), model="copy_last", store=tmp_path / "s.db", progress=False, device="cpu"))
    with Store(tmp_path / "s.db") as s:
        (record,) = s.runs()
    assert record.status == "failed" and record.error == "summary broke"


# -- --resume: one writer, and a reason when there is nothing to resume --------------------------

@pytest.mark.slow
def test_two_concurrent_resumes_of_one_run_never_both_write(tmp_path):
    suite = write_suite(tmp_path, num_videos=6, num_samples=2)
    flag, base = tmp_path / "crash", tmp_path / "base.db"
    request = RunRequest(suite=str(suite), model=f"{TEST_MODELS}:CrashAfter", model_args={"flag": str(flag)},
                         store=base, batch_size=1, progress=False, device="cpu")
    flag.touch()                                                  # CrashAfter stops at video 3 while it exists
    with pytest.raises(KeyboardInterrupt):
        run(request)
    flag.unlink()
    with Store(base) as s:
        (record,) = s.runs()
        assert record.status == "interrupted" and s.done_videos(record.id) == {0, 1, 2}
    uninterrupted = dataclasses.replace(request, store=tmp_path / "reference.db")
    with Store(uninterrupted.store) as s:
        want = s.run(run(uninterrupted))
        reference = (s.scores(want.id)[1], want.summary.metrics)
    args = ["run", "--no-progress", "--suite", str(suite), "--model", f"{TEST_MODELS}:CrashAfter", "--model-arg",
            f"flag={flag}", "--batch-size", "1", "--device", "cpu", "--resume"]
    rng = random.Random(0)
    for repetition in range(20):
        store = tmp_path / f"race{repetition}.db"
        shutil.copy(base, store)
        racers = []
        for _ in range(2):
            time.sleep(rng.uniform(0, 0.5))
            racers.append(_vbench(*args, "--store", str(store)))
        outcomes = sorted((p.wait(timeout=300), p.stderr.read()) for p in racers)
        (ok, _), (refused, message) = outcomes
        assert (ok, refused) == (0, 2), outcomes
        assert "Traceback" not in message
        assert message.startswith("error: ") and message.count("\n") == 1, message
        assert "is running in pid" in message or "has finished" in message, message
        _assert_same_scores(store, record.id, reference)
        assert score_rows(store, record.id) == 6 * 2                   # no duplicate rows
        with Store(store) as s:
            assert len(s.runs()) == 1


def test_resume_says_why_nothing_matches_and_resume_or_new_starts_a_run(tmp_path, capsys):
    suite = write_suite(tmp_path)
    store = str(tmp_path / "s.db")
    common = ["run", "--no-progress", "--suite", str(suite), "--model", "noisy_copy_last", "--store", store]
    assert main(common) == 0
    capsys.readouterr()
    assert main([*common, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "has finished" in err and "nothing to resume" in err
    with Store(store) as s:
        assert len(s.runs()) == 1                                 # nothing started
    assert main([*common, "--model-arg", "sigma=0.2", "--resume"]) == 2
    assert "model.args.sigma: (absent) -> 0.2" in capsys.readouterr().err
    assert main([*common, "--model-arg", "sigma=0.2", "--resume-or-new"]) == 0
    assert "starting a new run" in capsys.readouterr().err
    with Store(store) as s:
        assert [r.status for r in s.runs()] == ["finished", "finished"]
    with pytest.raises(NothingToResume, match="no run of model 'copy_last'"):
        run(RunRequest(suite=str(suite), model="copy_last", store=store, progress=False, resume=True))


# -- show, ls, rm ---------------------------------------------------------------------------------

def test_show_and_ls_tell_status_lease_protocol_and_overrides(tmp_path, capsys):
    suite = write_suite(tmp_path)
    store = str(tmp_path / "s.db")
    assert main(["run", "--no-progress", "--suite", str(suite), "--model", "noisy_copy_last", "--store", store,
                 "--limit", "4", "--samples", "2"]) == 0
    capsys.readouterr()
    assert main(["ls", "runs", "--store", store]) == 0
    line = capsys.readouterr().out
    assert "finished" in line and "4/4" in line and "--samples 2" in line and "--limit 4" in line
    with Store(store) as s:
        (record,) = s.runs()
    assert main(["show", record.id[-6:], "--store", store]) == 0
    out = capsys.readouterr().out
    for expected in (f"run {record.id}", "status     finished, 4/4 test videos", f"last held by pid {os.getpid()}",
                     "4 of 6 test videos x 2 samples", "--limit 4, --samples 2", "ssim gaussian",
                     "noisy_copy_last", "best-of-N"):
        assert expected in out, expected
    assert main(["show", "no-such-run", "--store", store]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err
    assert main(["ls", "runs", "--store", str(tmp_path / "missing.db")]) == 2
    assert "no result store" in capsys.readouterr().err


def test_rm_removes_a_finished_run_whole_and_refuses_a_live_one(tmp_path, capsys):
    from vbench.report import build_site
    suite = write_suite(tmp_path, metrics=["ssim", "psnr", "fvd"], profiles={"ssim": "gaussian", "psnr": "frame",
                                                                            "fvd": "tf"}, fvd_videos=4)
    store = tmp_path / "s.db"
    kept, removed = (run(RunRequest(suite=str(suite), model=m, store=store, progress=False, device="cpu", limit=4))
                     for m in ("copy_last", "noisy_copy_last"))
    with Store(store) as s:
        live = s.create_run(s.run(kept).manifest, "live")          # held by this (live) process
    assert main(["rm", live, "--store", str(store)]) == 2
    assert "is running in pid" in capsys.readouterr().err
    assert main(["rm", removed, "--store", str(store)]) == 0
    assert f"removed {removed}" in capsys.readouterr().out
    with Store(store) as s:
        assert [r.id for r in s.runs()] == [kept, live]
        assert s.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        for table in ("video_scores", "video_features", "video_flags", "video_strips"):
            assert s.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE run_id = ?", (removed,)).fetchone()[0] == 0
        assert s.conn.execute("SELECT COUNT(*) FROM video_scores WHERE run_id = ?", (kept,)).fetchone()[0] > 0
        index = build_site(s, tmp_path / "site", resamples=50)
    site = "".join(p.read_text() for p in index.parent.glob("*.html"))
    assert kept in site and removed not in site


# -- errors inside a model: one line, or the whole traceback with --debug ------------------------

def test_a_model_error_is_one_line_and_debug_shows_the_models_traceback(tmp_path, capsys, monkeypatch):
    suite = write_suite(tmp_path)
    args = ["run", "--no-progress", "--suite", str(suite), "--model", f"{TEST_MODELS}:Faulty",
            "--model-arg", "fault=raise", "--store", str(tmp_path / "s.db")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "predict() raised" in err and "Traceback" not in err and "--debug" in err
    assert main([*args, "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "models_for_tests.py" in err
    monkeypatch.setenv("VBENCH_DEBUG", "1")
    assert main(args) == 2
    assert "models_for_tests.py" in capsys.readouterr().err


def test_resume_into_a_run_whose_data_changed_is_refused_naming_the_suite_and_the_change(tmp_path, capsys):
    from test_protocol import folder_suite, write_videos
    data = write_videos(tmp_path / "data", seed=3)
    suite = folder_suite(tmp_path, "mine", data, metrics=["ssim"], profiles={"ssim": "gaussian"})
    flag, store = tmp_path / "crash", str(tmp_path / "s.db")
    args = ["run", "--no-progress", "--suite", str(suite), "--model", f"{TEST_MODELS}:CrashAfter", "--model-arg",
            f"flag={flag}", "--model-arg", "after=2", "--batch-size", "1", "--store", store]
    flag.touch()
    assert main(args) == 130                                      # interrupted after videos 0 and 1
    flag.unlink()
    video = np.load(data / "v3.npy")
    video[0, 0, 0] ^= 1                                           # one pixel of a clip not yet scored
    np.save(data / "v3.npy", video)
    capsys.readouterr()
    assert main([*args, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "'mine'" in err and "data.fingerprint" in err and "interrupted run" in err, err
    with Store(store) as s:
        (record,) = s.runs()
        assert record.status == "interrupted" and s.done_videos(record.id) == {0, 1}


def test_the_run_page_says_who_holds_a_running_or_abandoned_run(tmp_path):
    from vbench.report import build_site
    with Store(tmp_path / "s.db") as store:
        suite = write_suite(tmp_path)
        run_id = run(RunRequest(suite=str(suite), model="copy_last", store=store.path, progress=False, limit=2))
        manifest = store.run(run_id).manifest
        live = store.create_run(manifest, "live")
        index = build_site(store, tmp_path / "site", resamples=20)
    page = next(p for p in index.parent.glob("run-*.html") if live in p.name).read_text()
    assert f"held by pid {os.getpid()} on host" in page and "status-running" in page


def test_show_names_the_i3d_path_that_ran():
    from vbench.show import provenance_lines
    manifest = {"model": {"name": "m", "spec": "m", "args": {}}, "vbench_version": "0",
                "environment": {"device": "cpu", "i3d": "per-clip"}}
    assert "I3D per-clip" in "\n".join(provenance_lines(manifest))
    manifest["environment"]["i3d"] = None                      # a suite without FVD
    assert "I3D" not in "\n".join(provenance_lines(manifest))


def test_the_heartbeat_thread_renews_only_a_run_its_process_holds(tmp_path):
    from vbench.lease import Heartbeat
    with Store(tmp_path / "s.db") as store:
        mine = store.create_run({"suite": {"name": "tiny"}, "model": {"name": "m"}}, "mine")
        theirs = store.create_run({"suite": {"name": "tiny"}, "model": {"name": "m"}}, "theirs",
                                  Holder("elsewhere", 1, ""))
        old = time.time() - 100
        store.conn.execute("UPDATE runs SET heartbeat = ?", (old,))
        with Heartbeat(store.path, mine, this_process(), interval=0.05), \
                Heartbeat(store.path, theirs, this_process(), interval=0.05):
            wait_for(lambda: store.run(mine).heartbeat > old, timeout=30)
        assert store.run(mine).heartbeat > old and store.run(theirs).heartbeat == old
