import numpy as np
import pytest

from conftest import REPO, write_suite
from vbench.errors import ModelError, VBenchError
from vbench.runner import RunRequest, run
from vbench.store import Store

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


def _scores(store_path, run_id):
    with Store(store_path) as store:
        return store.run(run_id), store.scores(run_id)[1]


def test_copy_last_run_is_stored_with_manifest_and_summary(tmp_path, tiny_suite):
    store = tmp_path / "r.sqlite"
    run_id = run(RunRequest(suite=str(tiny_suite), model="copy_last", store=store, progress=False))
    record, scores = _scores(store, run_id)
    assert record.status == "finished"
    assert record.manifest["num_samples"] == 1                     # deterministic model: one sample
    assert record.manifest["suite"]["version"] == 1 and record.manifest["seed"] == 0
    assert set(record.manifest["environment"]) >= {"git_sha", "torch", "device"}
    assert scores["ssim"].shape == (6, 1, 10)
    summary = record.summary.metrics
    assert 0 < summary["ssim"].best.mean < 1
    # copy-last gets worse the further it predicts
    assert summary["psnr"].best.per_frame[0] > summary["psnr"].best.per_frame[-1]


def test_scores_do_not_depend_on_batch_size(tmp_path, tiny_suite):
    store = tmp_path / "r.sqlite"
    a = run(RunRequest(suite=str(tiny_suite), model="noisy_copy_last", store=store, batch_size=1, progress=False))
    b = run(RunRequest(suite=str(tiny_suite), model="noisy_copy_last", store=store, batch_size=4, progress=False))
    sa, sb = _scores(store, a)[1], _scores(store, b)[1]
    for metric in ("ssim", "psnr"):
        np.testing.assert_array_equal(sa[metric], sb[metric])
    assert sa["ssim"].shape == (6, 3, 10)
    assert not np.array_equal(sa["ssim"][:, 0], sa["ssim"][:, 1])   # samples differ


def test_best_of_n_beats_mean_of_n_for_a_stochastic_model(tmp_path, tiny_suite):
    store = tmp_path / "r.sqlite"
    run_id = run(RunRequest(suite=str(tiny_suite), model="noisy_copy_last", store=store, progress=False))
    metrics = _scores(store, run_id)[0].summary.metrics
    assert metrics["ssim"].best.mean > metrics["ssim"].mean_of_samples.mean


def test_resume_after_crash_gives_identical_numbers(tmp_path, tiny_suite):
    store, flag = tmp_path / "r.sqlite", tmp_path / "crash"
    flag.touch()
    request = RunRequest(suite=str(tiny_suite), model=f"{TEST_MODELS}:CrashAfter",
                         model_args={"flag": str(flag), "after": 3}, store=store, batch_size=2, progress=False)
    with pytest.raises(KeyboardInterrupt):
        run(request)
    with Store(store) as s:
        (crashed,) = s.runs()
        assert crashed.status == "interrupted"
        assert s.done_videos(crashed.id) == {0, 1}                  # whole batches only
    flag.unlink()
    resumed = run(RunRequest(**{**request.__dict__, "resume": True}))
    assert resumed == crashed.id
    fresh = run(RunRequest(**{**request.__dict__, "batch_size": 6}))
    assert fresh != resumed
    r_resumed, s_resumed = _scores(store, resumed)
    r_fresh, s_fresh = _scores(store, fresh)
    for metric in ("ssim", "psnr"):
        np.testing.assert_array_equal(s_resumed[metric], s_fresh[metric])
    assert r_resumed.summary.metrics == r_fresh.summary.metrics
    with Store(store) as s:   # no duplicate rows
        rows = s.conn.execute("SELECT COUNT(*) FROM video_scores WHERE run_id = ?", (resumed,)).fetchone()[0]
    assert rows == 6 * 2


def test_model_error_marks_run_failed_and_stores_nothing_of_the_batch(tmp_path, tiny_suite):
    store = tmp_path / "r.sqlite"
    with pytest.raises(ModelError, match="model .faulty., test videos 0..5: output has 1 NaN/Inf"):
        run(RunRequest(suite=str(tiny_suite), model=f"{TEST_MODELS}:Faulty", model_args={"fault": "nan"},
                       store=store, progress=False, batch_size=6))
    with Store(store) as s:
        (failed,) = s.runs()
        assert failed.status == "failed" and "NaN" in failed.error
        assert s.done_videos(failed.id) == set()
        assert failed.summary is None


def test_overrides_are_recorded(tmp_path, tiny_suite):
    store = tmp_path / "r.sqlite"
    run_id = run(RunRequest(suite=str(tiny_suite), model="noisy_copy_last", samples=2, limit=4,
                            model_args={"sigma": 0.05}, store=store, progress=False))
    record, scores = _scores(store, run_id)
    assert record.manifest["overrides"] == {"samples": 2, "limit": 4}
    assert record.manifest["model"]["args"] == {"sigma": 0.05}
    assert scores["psnr"].shape == (4, 2, 10)


@pytest.mark.parametrize("override", [{"limit": 0}, {"limit": -1}, {"limit": 7}, {"samples": 0}])
def test_limit_and_samples_below_one_or_beyond_the_suite_are_errors(tmp_path, tiny_suite, override):
    """0 is not "no limit": a limit of 0 used to score the whole suite."""
    with pytest.raises(VBenchError, match=f"--{next(iter(override))} "):
        run(RunRequest(suite=str(tiny_suite), model="noisy_copy_last", store=tmp_path / "r.sqlite",
                       progress=False, **override))
    assert not (tmp_path / "r.sqlite").exists()


def test_skimage_legacy_and_mean_mse_profiles_change_the_numbers(tmp_path):
    store = tmp_path / "r.sqlite"
    default = write_suite(tmp_path, name="a")
    legacy = write_suite(tmp_path, name="b", profiles={"ssim": "skimage-legacy", "psnr": "mean-mse"})
    ra = _scores(store, run(RunRequest(suite=str(default), model="copy_last", store=store, progress=False)))[0]
    rb = _scores(store, run(RunRequest(suite=str(legacy), model="copy_last", store=store, progress=False)))[0]
    assert rb.manifest["suite"]["profiles"] == {"ssim": "skimage-legacy", "psnr": "mean-mse"}
    assert ra.summary.metrics["ssim"].best.mean != rb.summary.metrics["ssim"].best.mean
    assert ra.summary.metrics["psnr"].best.mean != rb.summary.metrics["psnr"].best.mean
    # per-frame PSNR is the same under both profiles; only the per-video aggregation differs
    assert ra.summary.metrics["psnr"].best.per_frame == rb.summary.metrics["psnr"].best.per_frame


def test_real_dataset_suite_without_data_says_how_to_prepare(tmp_path):
    from vbench.errors import DatasetNotPrepared
    with pytest.raises(DatasetNotPrepared, match=r"dataset 'bair' is not prepared .*vbench data prepare bair --source"):
        run(RunRequest(suite="bair", model="copy_last", store=tmp_path / "r.sqlite", data_root=str(tmp_path),
                       progress=False))


def test_smmnist_suite_reads_prepared_mnist(tmp_path):
    """The full smmnist suite from the real t10k files, via `vbench data prepare mnist`."""
    from conftest import SHARED
    from vbench.cli import main
    source = SHARED / "golden" / "clips" / "mnist"
    if not source.is_dir():
        pytest.skip(f"golden MNIST files not found at {source}")
    root = tmp_path / "data"
    store = tmp_path / "r.sqlite"
    suite = write_suite(tmp_path, name="full", dataset="smmnist")
    with pytest.raises(Exception, match="vbench data prepare mnist --source"):
        run(RunRequest(suite=str(suite), model="copy_last", store=store, data_root=str(root), progress=False))
    assert main(["data", "prepare", "mnist", "--source", str(source), "--data-root", str(root)]) == 0
    assert (root / "mnist" / "t10k-images-idx3-ubyte").stat().st_size == 16 + 10000 * 28 * 28
    run_id = run(RunRequest(suite=str(suite), model="copy_last", store=store, data_root=str(root), progress=False))
    assert _scores(store, run_id)[0].status == "finished"


def test_lpips_fvd_kvd_do_not_depend_on_batch_size_or_resume(tmp_path):
    """All five metrics of smmnist-mini on 4 videos: identical with batch 1, batch 4 and after a crash."""
    suite = write_suite(tmp_path, name="withfvd", num_videos=4, num_samples=2, fvd_videos=4,
                        metrics=["ssim", "psnr", "lpips", "fvd", "kvd"],
                        profiles={"ssim": "gaussian", "psnr": "frame", "lpips": "alex-v0.1", "fvd": "tf"})
    store, flag = tmp_path / "r.sqlite", tmp_path / "crash"
    base = RunRequest(suite=str(suite), model=f"{TEST_MODELS}:CrashAfter", model_args={"flag": str(flag), "after": 2},
                      store=store, progress=False)
    one = run(RunRequest(**{**base.__dict__, "batch_size": 1}))
    four = run(RunRequest(**{**base.__dict__, "batch_size": 4}))
    flag.touch()
    with pytest.raises(KeyboardInterrupt):
        run(RunRequest(**{**base.__dict__, "batch_size": 2}))
    flag.unlink()
    resumed = run(RunRequest(**{**base.__dict__, "batch_size": 3, "resume": True}))
    summaries = [_scores(store, r)[0].summary.metrics for r in (one, four, resumed)]
    assert summaries[0]["fvd"].mean > 0 and summaries[0]["lpips"].best.mean > 0
    for metric in ("fvd", "kvd"):                    # the interval is computed once, at the end of the run
        s = summaries[0][metric]
        assert s.interval.low < s.mean < s.interval.high and "of 4 test videos" in s.interval.of
    assert summaries[0] == summaries[1] == summaries[2]


def test_diversity_is_stored_for_stochastic_models_with_lpips(tmp_path):
    """SAVP's diversity (mean pairwise LPIPS between samples) per video, equal to metrics.diversity."""
    import torch
    from vbench.data import load_test_clips
    from vbench.metrics import LPIPS, diversity
    from vbench.suite import load_suite
    suite = write_suite(tmp_path, num_videos=2, num_samples=3, metrics=["ssim", "lpips"],
                        profiles={"ssim": "gaussian", "lpips": "alex-v0.1"}, fvd_videos=2)
    store = tmp_path / "r.sqlite"
    run_id = run(RunRequest(suite=str(suite), model="noisy_copy_last", store=store, progress=False))
    record, scores = _scores(store, run_id)
    assert scores["diversity"].shape == (2, 1, 10)
    d = record.summary.diversity
    assert d.profile == "alex-v0.1" and len(d.per_video) == 2 and d.mean > 0
    # video 0 recomputed by hand from the model's samples
    from baselines.trivial import NoisyCopyLast
    from vbench.adapters import SampleRNG
    clip = torch.from_numpy(load_test_clips(load_suite(suite), count=1)).float() / 255    # [1, 15, 1, 64, 64]
    samples = NoisyCopyLast().predict(clip[:, :5], 10, 3, SampleRNG(0, [0], range(3)))[0]
    np.testing.assert_allclose(d.per_video[0], diversity(samples, LPIPS("alex")).mean().item(), rtol=1e-5)
    copy = run(RunRequest(suite=str(suite), model="copy_last", store=store, progress=False))
    assert _scores(store, copy)[0].summary.diversity is None                 # one sample: no pairs


def test_score_video_sends_each_frame_through_lpips_once(tmp_path):
    """LPIPS to the target and diversity share one backbone pass per frame (S*T + T frames, not the
    3*S*T of scoring (sample, target) pairs and then the samples again), with the numbers of that
    pair path."""
    import torch
    from vbench.metrics import LPIPS, diversity
    from vbench.runner import _Scorer
    from vbench.suite import load_suite
    suite = load_suite(write_suite(tmp_path, metrics=["ssim", "lpips"],
                                   profiles={"ssim": "gaussian", "lpips": "alex-v0.1"}))
    scorer = _Scorer(suite, torch.device("cpu"), num_samples=4)
    s, t = 4, 3
    gen = torch.Generator().manual_seed(0)
    pred, target = torch.rand(s, t, 1, 64, 64, generator=gen), torch.rand(t, 1, 64, 64, generator=gen)
    seen = [0]
    net = scorer.metrics["lpips"].model.net
    handle = net.register_forward_hook(lambda module, inputs, output: seen.__setitem__(0, seen[0] + len(inputs[0])))
    try:
        scores = scorer.score_video(pred, target)
    finally:
        handle.remove()
    assert seen[0] == s * t + t
    assert list(scores) == ["ssim", "lpips", "diversity"]
    assert scores["lpips"].shape == (s, t) and scores["lpips"].dtype == np.float64
    metric = LPIPS("alex")
    pairs = metric(pred.flatten(0, 1), target[None].expand(s, -1, -1, -1, -1).flatten(0, 1)).view(s, t)
    np.testing.assert_allclose(scores["lpips"], pairs.double().numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(scores["diversity"], diversity(pred, metric).numpy()[None], atol=1e-6, rtol=0)
