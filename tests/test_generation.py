"""Generation suites (`task: generation`): unconditional models scored by FVD / KVD against real clips."""

import numpy as np
import pytest
import yaml

from conftest import REPO
from vbench.errors import ModelError, SuiteError
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.suite import load_suite, parse_suite

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


def _gen_suite_data(**overrides):
    data = yaml.safe_load((REPO / "vbench" / "suites" / "smmnist-mini-gen.yaml").read_text())
    data.update(overrides)
    return data


def _write(tmp_path, **overrides):
    """A small smmnist-mini-gen: 6 real clips of 10 frames, 2 trials."""
    data = _gen_suite_data(name="tinygen", num_videos=6, fvd_videos=6, num_samples=2, fvd_trials=2,
                           predicted_frames=10, train_predicted_frames=10)
    data.update(overrides)
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _summary(store, run_id):
    with Store(store) as s:
        return s.run(run_id).summary


def test_builtin_generation_suites_parse():
    for name in ("smmnist-mini-gen", "bair-gen", "kth-gen"):
        suite = load_suite(name)
        assert suite.task == "generation" and suite.context_frames == 0
        assert set(suite.metrics) <= {"fvd", "kvd"} and suite.fvd_trials == suite.num_samples


@pytest.mark.parametrize("overrides, message", [
    (dict(context_frames=2), r"context_frames.*must be 0 in a generation suite"),
    (dict(train_context_frames=1), r"train_context_frames.*must be 0"),
    (dict(metrics=["ssim", "fvd"], profiles={"ssim": "gaussian", "fvd": "tf"}), r"generation suite scores sets only"),
    (dict(fvd_frames="context+predicted"), r"must be 'predicted' in a generation suite"),
    (dict(fvd_trials=2), r"fvd_trials.*must equal num_samples \(4\)"),
    (dict(truth={"k": 20}), r"truth.*a generation suite has none"),
    (dict(task="dreaming"), r"task.*must be one of prediction, generation"),
])
def test_bad_generation_suites_are_refused_naming_the_key(overrides, message):
    with pytest.raises(SuiteError, match=message):
        parse_suite(_gen_suite_data(**overrides), "gen.yaml")


def test_prediction_suite_still_needs_context():
    data = yaml.safe_load((REPO / "vbench" / "suites" / "smmnist-mini.yaml").read_text())
    with pytest.raises(SuiteError, match=r"context_frames.*at least 1"):
        parse_suite({**data, "context_frames": 0}, "pred.yaml")


def test_generation_run_scores_fvd_and_kvd_per_trial_independent_of_batch_size(tmp_path):
    suite, store = _write(tmp_path), tmp_path / "r.sqlite"
    a = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, batch_size=4,
                       progress=False))
    b = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, batch_size=6,
                       progress=False))
    sa, sb = _summary(store, a), _summary(store, b)
    assert sa.metrics == sb.metrics
    fvd, kvd = sa.metrics["fvd"], sa.metrics["kvd"]
    assert len(fvd.trials) == 2 and fvd.videos == 6 and len(kvd.trials) == 2
    assert fvd.trials[0] != fvd.trials[1]                 # each trial is a fresh set of videos
    assert fvd.mean == pytest.approx(np.mean(fvd.trials)) and fvd.std > 0
    assert set(sa.metrics) == {"fvd", "kvd"}


def test_a_generator_of_true_clips_beats_a_noise_generator(tmp_path):
    """FVD ranks generators: the bundled smmnist_simulator (true clips from the training digits) against noise."""
    suite, store = _write(tmp_path, num_videos=8, fvd_videos=8), tmp_path / "r.sqlite"
    noise = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, progress=False))
    true = run(RunRequest(suite=str(suite), model="smmnist_simulator", store=store, progress=False))
    noise_fvd = _summary(store, noise).metrics["fvd"].mean
    true_fvd = _summary(store, true).metrics["fvd"].mean
    assert true_fvd < noise_fvd / 5, (true_fvd, noise_fvd)


def test_generation_run_resumes_to_the_same_numbers(tmp_path):
    from vbench.runner import _draw
    suite, store = _write(tmp_path, num_videos=4, fvd_videos=4, num_samples=1, fvd_trials=1), tmp_path / "r.sqlite"
    full = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, batch_size=2,
                          progress=False))
    calls = {"n": 0}

    def crash_on_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return _draw(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("vbench.runner._draw", crash_on_second_batch)
        with pytest.raises(KeyboardInterrupt):
            run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, batch_size=2,
                           progress=False))
    resumed = run(RunRequest(suite=str(suite), model=f"{TEST_MODELS}:NoiseGenerator", store=store, batch_size=3,
                             resume=True, progress=False))
    assert _summary(store, full).metrics == _summary(store, resumed).metrics


def test_task_mismatches_are_clear_model_errors(tmp_path):
    gen = _write(tmp_path)
    with pytest.raises(ModelError, match=r"'copy_last' has no generate\(num_videos, rng, num_frames\).*generation suite"):
        run(RunRequest(suite=str(gen), model="copy_last", store=tmp_path / "r.sqlite", progress=False))
    with pytest.raises(ModelError, match=r"'noise_generator' is unconditional.*smmnist-mini-gen"):
        run(RunRequest(suite="smmnist-mini", model=f"{TEST_MODELS}:NoiseGenerator", store=tmp_path / "r.sqlite",
                       progress=False))


def test_a_generator_breaking_the_contract_is_named(tmp_path):
    gen = _write(tmp_path)
    with pytest.raises(ModelError, match=r"model 'noise_generator'.*output shape \[6, 10, 3, 32, 32\], "
                                         r"expected \[N, T, C, H, W\] = \[6, 10, 1, 32, 32\]"):
        run(RunRequest(suite=str(gen), model=f"{TEST_MODELS}:NoiseGenerator", model_args={"channels": 3},
                       store=tmp_path / "r.sqlite", batch_size=6, progress=False))


def test_vbench_train_of_an_unconditional_model_points_to_the_generation_suite(tmp_path, capsys):
    from vbench.cli import main
    args = ["train", "--model", "vgan", "--config", "tiny", "--steps", "1", "--batch-size", "2", "--no-progress"]
    assert main([*args, "--suite", "smmnist-mini", "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "unconditional generator: score it on a generation suite" in out
    assert f"vbench run --suite smmnist-mini-gen --model vgan --checkpoint {tmp_path / 'a' / 'model.pt'}" in out
    assert main([*args, "--suite", "smmnist-mini-gen", "--out", str(tmp_path / "b")]) == 0
    assert "vbench run --suite smmnist-mini-gen --model vgan" in capsys.readouterr().out
