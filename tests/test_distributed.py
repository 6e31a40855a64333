"""Sharded evaluation: `torchrun -m vbench run` with 2 gloo processes on CPU gives exactly the
numbers of one process, every test video scored once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from conftest import REPO, write_suite
from vbench.distributed import shard
from vbench.runner import RunRequest, run
from vbench.store import Store

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


@given(st.integers(0, 40), st.integers(1, 9))
def test_shards_are_disjoint_complete_and_unpadded(count, world):
    items = list(range(100, 100 + count))
    shards = [shard(items, rank, world) for rank in range(world)]
    assert sorted(sum(shards, [])) == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1
    with pytest.raises(ValueError):
        shard(items, world, world)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
               "127.0.0.1", "--master_port", str(_free_port()), "-m", "vbench", "run", "--no-progress", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=REPO)


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path):
    # 5 videos over 2 ranks (uneven shards), batches of 2 (several rounds), FVD on the first 4.
    suite = write_suite(tmp_path, num_videos=5, num_samples=2, metrics=["ssim", "psnr", "fvd"],
                        profiles={"ssim": "gaussian", "psnr": "frame", "fvd": "tf"}, fvd_videos=4, fvd_trials=1,
                        truth={"k": 4, "neighbours": 2})
    single, sharded = tmp_path / "single.db", tmp_path / "sharded.db"
    # Float32 convolutions (I3D) round differently with another thread count: both sides use one thread.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = run(RunRequest(suite=str(suite), model="noisy_copy_last", store=single, batch_size=2,
                             progress=False, device="cpu"))
    finally:
        torch.set_num_threads(threads)
    done = _torchrun("--suite", str(suite), "--model", "noisy_copy_last", "--store", str(sharded),
                     "--batch-size", "2", "--device", "cpu")
    assert done.returncode == 0, done.stderr[-3000:]
    with Store(single) as a, Store(sharded) as b:
        (two,) = b.runs()
        assert two.status == "finished" and two.manifest["environment"]["world_size"] == 2
        videos_a, scores_a = a.scores(one)
        videos_b, scores_b = b.scores(two.id)
        assert videos_a == videos_b == [0, 1, 2, 3, 4]                  # each video once, none padded
        for metric in ("ssim", "psnr"):
            np.testing.assert_array_equal(scores_a[metric], scores_b[metric])
        feats_a, feats_b = a.features(one, "fvd_fake"), b.features(two.id, "fvd_fake")
        assert feats_a[0] == feats_b[0] == [0, 1, 2, 3]
        np.testing.assert_array_equal(feats_a[1], feats_b[1])
        assert a.run(one).summary.metrics["fvd"].mean == two.summary.metrics["fvd"].mean
        assert a.run(one).summary.metrics["ssim"] == two.summary.metrics["ssim"]
        np.testing.assert_array_equal(scores_a["truth/position_w1"], scores_b["truth/position_w1"])
        assert a.run(one).summary.truth == two.summary.truth


@pytest.mark.slow
def test_a_model_error_on_any_rank_stops_every_rank(tmp_path):
    suite = write_suite(tmp_path)
    store = tmp_path / "s.db"
    done = _torchrun("--suite", str(suite), "--model", f"{TEST_MODELS}:Faulty", "--model-arg", "fault=nan",
                     "--store", str(store), "--device", "cpu")
    assert done.returncode != 0
    assert "NaN" in done.stderr
    with Store(store) as s:
        (failed,) = s.runs()
        assert failed.status == "failed" and s.done_videos(failed.id) == set()
