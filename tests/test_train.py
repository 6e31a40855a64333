"""`vbench train`: checkpoints, resume, interrupts, training clips, the command line."""

import json
import os
import signal

import numpy as np
import pytest
import torch

from conftest import write_suite
from vbench.cli import main
from vbench.errors import VBenchError
from vbench.suite import load_suite
from vbench.train import TRAIN_SEED, TrainRequest, TrainingClips, load_checkpoint, train


@pytest.fixture
def suite(tmp_path):
    return write_suite(tmp_path, context_frames=2, predicted_frames=3, train_context_frames=2, train_predicted_frames=3)


def request(suite, out, **overrides) -> TrainRequest:
    return TrainRequest(**{**dict(model="svg_lp", suite=str(suite), config="tiny", steps=2, batch_size=4, out=out,
                                  progress=False), **overrides})


def test_training_writes_loadable_checkpoints_config_and_log(suite, tmp_path):
    out = train(request(suite, tmp_path / "run", steps=3, save_every=2))
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "last.pt", "log.jsonl", "model.pt"]
    last = torch.load(out / "last.pt", weights_only=True)
    model = torch.load(out / "model.pt", weights_only=True)
    assert last["step"] == model["step"] == 3 and "optimizer" in last and "optimizer" not in model
    assert last["config"]["n_ctx"] == 2 and last["config"]["n_train_fut"] == 3 and last["config"]["batch_size"] == 4
    info = json.loads((out / "config.json").read_text())
    assert info["config"] == last["config"] and info["suite"]["name"] == "tiny" and info["device"] == "cpu"
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[-1]["step"] == 3 and log[-1]["it_s"] > 0 and {"loss", "mse", "kl"} <= set(log[-1])


def test_resume_continues_exactly_where_it_stopped(suite, tmp_path):
    straight = train(request(suite, tmp_path / "straight", steps=4))
    train(request(suite, tmp_path / "split", steps=2))
    with pytest.raises(VBenchError, match="already holds a training run .* pass --resume"):
        train(request(suite, tmp_path / "split", steps=4))
    resumed = train(request(suite, tmp_path / "split", steps=4, resume=True))
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    assert a["step"] == b["step"] == 4
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key], b["state_dict"][key], atol=1e-6), key


def test_lr_drops_take_effect_from_their_step_and_resume_exactly(suite, tmp_path):
    config = tmp_path / "drops.yaml"
    config.write_text("base: tiny\nlr_drops: [[2, 1.0e-5], [3, 2.0e-6]]\n")
    straight = train(request(suite, tmp_path / "straight", steps=4, config=str(config)))
    train(request(suite, tmp_path / "split", steps=2, config=str(config)))
    resumed = train(request(suite, tmp_path / "split", steps=4, config=str(config), resume=True))
    constant = train(request(suite, tmp_path / "constant", steps=4))
    a, b, c = (load_checkpoint(out / "last.pt") for out in (straight, resumed, constant))
    assert a["optimizer"]["model"]["param_groups"][0]["lr"] == b["optimizer"]["model"]["param_groups"][0]["lr"] == 2e-6
    assert c["optimizer"]["model"]["param_groups"][0]["lr"] == 2e-3
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key], b["state_dict"][key], atol=1e-6), key
    assert any(not torch.allclose(a["state_dict"][k], c["state_dict"][k]) for k in a["state_dict"])


@pytest.mark.parametrize("model", ["vgan_cond", "vgan"])
def test_gan_resume_continues_exactly_with_both_optimizers(suite, tmp_path, model, one_torch_thread):
    """A recipe that owns its update (D step, then G step) saves and restores every optimiser."""
    straight = train(request(suite, tmp_path / "straight", model=model, steps=4, log_every=1))
    train(request(suite, tmp_path / "split", model=model, steps=2, log_every=1))
    resumed = train(request(suite, tmp_path / "split", model=model, steps=4, log_every=1, resume=True))
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    assert a["step"] == b["step"] == 4 and set(a["optimizer"]) == set(b["optimizer"]) == {"discriminator", "generator"}
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key], b["state_dict"][key], atol=1e-6), key
    for name in a["optimizer"]:
        for index, state in a["optimizer"][name]["state"].items():
            assert int(state["step"]) == 4
            assert torch.allclose(state["exp_avg_sq"], b["optimizer"][name]["state"][index]["exp_avg_sq"], atol=1e-9)
    logs = [[json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] for out in (straight, resumed)]
    assert [r["step"] for r in logs[1]] == [1, 2, 3, 4]
    for x, y in zip(logs[0], logs[1]):
        assert x["d_loss"] == pytest.approx(y["d_loss"], abs=1e-5)
        assert x["g_loss"] == pytest.approx(y["g_loss"], abs=1e-5)
        assert 0 <= x["d_acc"] <= 1


def test_resume_refuses_other_settings(suite, tmp_path):
    train(request(suite, tmp_path / "run"))
    with pytest.raises(VBenchError, match=r"different settings for batch_size \(4 there, 2 now\)"):
        train(request(suite, tmp_path / "run", steps=3, batch_size=2, resume=True))
    with pytest.raises(VBenchError, match="--resume: no .*last.pt"):
        train(request(suite, tmp_path / "elsewhere", resume=True))


def test_interrupt_saves_after_the_current_step(suite, tmp_path, monkeypatch):
    batch = TrainingClips.batch

    def interrupted(self, step, batch_size):
        if step == 1:
            os.kill(os.getpid(), signal.SIGINT)      # as Ctrl-C: the handler only sets a flag
        return batch(self, step, batch_size)

    monkeypatch.setattr(TrainingClips, "batch", interrupted)
    before = signal.getsignal(signal.SIGINT)    # the default handler, or SIG_IGN in a background job
    out = train(request(suite, tmp_path / "run", steps=50))
    assert load_checkpoint(out / "last.pt")["step"] == 2
    assert signal.getsignal(signal.SIGINT) is before


def test_training_clips_are_seeded_and_apart_from_the_test_clips():
    suite = load_suite("smmnist-mini")
    clips = TrainingClips(suite, None, seed=0, num_frames=15)
    first = clips.batch(3, 4)
    assert first.shape == (4, 15, 1, 64, 64) and first.dtype == np.uint8
    assert np.array_equal(first, clips.batch(3, 4)) and not np.array_equal(first, clips.batch(4, 4))
    assert not np.array_equal(first, TrainingClips(suite, None, seed=1, num_frames=15).batch(3, 4))
    assert TRAIN_SEED != suite.seed and len(clips.digits) == 4000


def test_unknown_model_and_unprepared_data_are_clear(suite, tmp_path):
    with pytest.raises(VBenchError, match="no training recipe for model 'svg_l'. Did you mean svg_lp"):
        train(request(suite, tmp_path / "run", model="svg_l"))
    with pytest.raises(VBenchError, match="dataset 'kth' is not prepared"):
        train(request("kth", tmp_path / "kth", config="full", data_root=str(tmp_path / "data")))


def test_cli_train_then_run(suite, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["train", "--model", "svg_fp", "--suite", str(suite), "--config", "tiny", "--steps", "2",
                 "--batch-size", "4", "--out", str(out), "--no-progress"]) == 0
    assert f"--checkpoint {out / 'model.pt'}" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["command"].startswith("vbench train --model svg_fp")
    assert main(["run", "--suite", str(suite), "--model", "svg_fp", "--checkpoint", str(out / "model.pt"),
                 "--store", str(tmp_path / "s.sqlite"), "--no-progress"]) == 0
    assert main(["train", "--model", "svg_fp", "--suite", str(suite), "--steps", "0"]) == 2


@pytest.mark.slow
def test_torchrun_training_equals_one_process_on_the_whole_batch(suite, tmp_path):
    """2 gloo processes, each on half of every batch, with gradients averaged by DDP, reach the weights of
    one process that accumulates the two halves' mean losses (svg_det: no noise, so exactly comparable)."""
    import subprocess
    import sys

    from conftest import REPO
    from baselines.svg.recipe import SVG_DET
    from vbench.adapters import resize_frames
    from test_distributed import _free_port

    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr",
                           "127.0.0.1", "--master_port", str(_free_port()), "-m", "vbench", "train", "--model",
                           "svg_det", "--suite", str(suite), "--config", "tiny", "--steps", "2", "--batch-size", "4",
                           "--out", str(out), "--no-progress"], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("checkpoints in") == 1                      # rank 0 alone speaks and writes
    ddp = load_checkpoint(out / "model.pt")
    assert ddp["step"] == 2 and json.loads((out / "config.json").read_text())["world_size"] == 2

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = SVG_DET.config_from_dict(ddp["config"], "ddp")
        torch.manual_seed(config.seed)
        model = SVG_DET.build(config).train()
        optimizer = SVG_DET.optimizer(model)
        clips = TrainingClips(load_suite(str(suite)), None, config.seed, config.n_ctx + config.n_train_fut)
        for step in range(2):
            video = resize_frames(torch.from_numpy(clips.batch(step, 4)).float() / 255.0, config.image_size)
            optimizer.zero_grad()
            for half in (video[:2], video[2:]):
                (model.training_loss(half)[0] / 2).backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    for name, value in model.named_parameters():
        assert torch.allclose(value, ddp["state_dict"][name], atol=1e-5), name
    torch.manual_seed(config.seed)
    initial = dict(SVG_DET.build(config).named_parameters())
    assert any(not torch.allclose(initial[n], v, atol=1e-4) for n, v in model.named_parameters())   # it trained


def test_gan_recipes_are_refused_under_torchrun(monkeypatch, suite, tmp_path):
    from vbench import distributed
    monkeypatch.setattr(distributed, "init_from_env", lambda device: distributed.Context(rank=0, world=2))
    with pytest.raises(VBenchError, match="owns its update .* not supported yet"):
        train(request(suite, tmp_path / "gan", model="vgan_cond"))
    with pytest.raises(VBenchError, match="batch size 3 must be divisible by the 2 processes"):
        train(request(suite, tmp_path / "odd", batch_size=3))
