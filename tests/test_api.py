"""vbench.evaluate / Result / load_runs: the Python face runs `vbench run`'s path, number for number."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import vbench
from baselines.trivial import NoisyCopyLast
from vbench.cli import main
from vbench.errors import ModelError
from vbench.store import Store


def _stored(path, run_id):
    with Store(path) as store:
        videos, scores = store.scores(run_id)
        return store.run(run_id), videos, scores, store.features(run_id, "fvd_fake")


def _numbers(manifest):
    return {k: v for k, v in manifest.items() if k != "environment"}


def test_evaluate_writes_the_rows_vbench_run_writes(tmp_path, tiny_suite, capsys):
    suite = write_fvd_suite(tiny_suite)
    store = tmp_path / "r.sqlite"
    args = ["run", "--suite", str(suite), "--model", "noisy_copy_last", "--model-arg", "sigma=0.2", "--limit", "4",
            "--samples", "2", "--store", str(store), "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    result = vbench.evaluate("noisy_copy_last", str(suite), limit=4, samples=2, store=store, device="cpu",
                             progress=False, sigma=0.2)
    with Store(store) as opened:
        cli_id = next(r.id for r in opened.runs() if r.id != result.run_id)
    cli, mine = _stored(store, cli_id), _stored(store, result.run_id)
    assert _numbers(cli[0].manifest) == _numbers(mine[0].manifest) == _numbers(result.manifest)
    assert cli[0].manifest["overrides"] == {"samples": 2, "limit": 4}
    untimed = [dataclasses.replace(s, wall_time_s=None) for s in (cli[0].summary, result.summary)]
    assert untimed[0] == untimed[1]
    assert cli[1] == mine[1] == [0, 1, 2, 3]
    for metric in cli[2]:
        np.testing.assert_array_equal(cli[2][metric], mine[2][metric])
    np.testing.assert_array_equal(cli[3][1], mine[3][1])
    # load_runs: the rows `vbench export --format csv` writes
    capsys.readouterr()
    assert main(["export", "--format", "csv", "--store", str(store)]) == 0
    frame = vbench.load_runs(store)
    assert frame.to_csv(index=False, lineterminator="\n") == capsys.readouterr().out
    assert list(frame["run_id"]) == [cli_id, result.run_id]
    assert frame["num_videos"].dtype == np.int64 and frame["fvd_trials"].dtype == np.int64
    for column in ("ssim_best", "ssim_best_low", "ssim_best_high", "ssim_mean_of_samples", "fvd_mean", "fvd_std",
                   "fvd_low", "fvd_high"):
        assert frame[column].dtype == np.float64, column
    assert len(vbench.load_runs(store, suite="no-such-suite")) == 0
    # Result.scores: the summary's numbers, the CSV's intervals
    row = frame.iloc[1]
    assert result.scores["ssim"] == {"best": row["ssim_best"], "mean": row["ssim_mean_of_samples"],
                                     "interval": (row["ssim_best_low"], row["ssim_best_high"])}
    assert result.scores["fvd"] == {"value": row["fvd_mean"], "trials": result.summary.metrics["fvd"].trials,
                                    "interval": (row["fvd_low"], row["fvd_high"])}


def write_fvd_suite(path):
    """The tiny suite with FVD on its 3 first videos and one trial (I3D on CPU is slow)."""
    import yaml
    data = yaml.safe_load(path.read_text())
    data.update(metrics=["ssim", "psnr", "fvd"], profiles={"ssim": "gaussian", "psnr": "frame", "fvd": "tf"},
                fvd_videos=3, fvd_trials=1)
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_model_object_or_class_scores_as_its_name_does(tmp_path, tiny_suite):
    by_name = vbench.evaluate("noisy_copy_last", str(tiny_suite), limit=3, progress=False, sigma=0.3)
    by_class = vbench.evaluate(NoisyCopyLast, str(tiny_suite), limit=3, progress=False, sigma=0.3)
    by_object = vbench.evaluate(NoisyCopyLast(sigma=0.3), str(tiny_suite), limit=3, progress=False)
    spec = "baselines.trivial:NoisyCopyLast"
    assert by_class.manifest["model"]["spec"] == by_object.manifest["model"]["spec"] == spec
    assert by_class.manifest["model"]["args"] == {"sigma": 0.3} and by_object.manifest["model"]["args"] == {}
    assert (by_name.manifest["model"]["source_sha256"] == by_class.manifest["model"]["source_sha256"]
            == by_object.manifest["model"]["source_sha256"] is not None)
    for other in (by_class, by_object):
        assert other.summary.metrics == by_name.summary.metrics
        assert other.manifest["data"] == by_name.manifest["data"]
    assert by_name.run_id != by_class.run_id
    assert list(tmp_path.glob("*.sqlite")) == []          # no store: results in memory only
    with pytest.raises(ModelError, match="model object"):
        vbench.evaluate(NoisyCopyLast(), str(tiny_suite), limit=3, progress=False, sigma=0.3)


class _Blur(torch.nn.Module):
    """A torch model: the last context frame, average-pooled; it records the mode it predicted in."""

    name = "blur"
    stochastic = False

    def __init__(self):
        super().__init__()
        self.modes = []

    def predict(self, context, num_future, num_samples, rng):
        self.modes.append(self.training)
        last = torch.nn.functional.avg_pool2d(context[:, -1], 3, stride=1, padding=1)     # [B, C, H, W]
        return last[:, None, None].expand(-1, num_samples, num_future, -1, -1, -1)


def test_a_torch_model_is_scored_in_eval_mode_and_gets_its_mode_back(tiny_suite):
    model = _Blur().train()
    result = vbench.evaluate(model, str(tiny_suite), limit=2, progress=False, device="cpu")
    assert model.modes == [False] and model.training
    assert result.manifest["model"]["name"] == "blur"


def test_result_frames_have_the_documented_columns_and_values(tiny_suite):
    result = vbench.evaluate("noisy_copy_last", str(tiny_suite), limit=4, progress=False)
    frames, videos = result.per_frame(), result.per_video()
    assert dict(frames.dtypes.astype(str)) == {"metric": "object", "frame": "int64", "best": "float64",
                                               "mean": "float64"}
    assert dict(videos.dtypes.astype(str)) == {"metric": "object", "video": "int64", "best": "float64",
                                               "mean": "float64"}
    assert len(frames) == 2 * 10 and len(videos) == 2 * 4                 # ssim, psnr x frames / videos
    for metric in ("ssim", "psnr"):
        s = result.summary.metrics[metric]
        mine = frames[frames.metric == metric]
        assert list(mine.frame) == list(range(10))
        assert list(mine["best"]) == s.best.per_frame and list(mine["mean"]) == s.mean_of_samples.per_frame
        mine = videos[videos.metric == metric]
        assert list(mine.video) == [0, 1, 2, 3]
        assert list(mine["best"]) == s.best.per_video and list(mine["mean"]) == s.mean_of_samples.per_video
        assert result.scores[metric]["best"] == pytest.approx(np.mean(s.best.per_video), rel=1e-12)
        low, high = result.scores[metric]["interval"]
        assert low < result.scores[metric]["best"] < high


def test_load_runs_of_a_missing_store_says_so(tmp_path):
    from vbench.errors import VBenchError
    with pytest.raises(VBenchError, match="no result store"):
        vbench.load_runs(tmp_path / "none.sqlite")
    assert not (tmp_path / "none.sqlite").exists()
