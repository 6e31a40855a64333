"""VGAN / VGAN-cond: sizes against the spec, shapes, the two-stream composition, the losses, the
alternating GAN step, a short stable training run, the adapters and an end-to-end run."""

import functools
import json
import math

import pytest
import torch
import yaml

from baselines.vgan.adapter import Vgan, VganCond, bundled_checkpoint
from baselines.vgan.config import VganConfig, make_config
from baselines.vgan.model import VGAN, from_net, to_net
from baselines.vgan.recipe import VGAN_COND, VGAN_UNCOND
import baseline_helpers
from baseline_helpers import millions
from conftest import REPO, write_suite
from vbench.adapters import MODELS, SampleRNG, predict_checked, resolve_model
from vbench.errors import ModelError, VBenchError
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.train import Amp, TrainRequest, load_checkpoint, train

# The spec's tiny setup (baselines.md §6, "Tiny config"): 16x32x32 videos, z 16, streams 64 -> 32 -> 16,
# D 8 -> 16 -> 32, batch 4. Grey frames here (SM-MNIST); the spec's 3 channels in the shape test.
TINY = dict(image_size=32, ngf=16, ndf=8, batch_size=4)
TINY_UNCOND = dict(TINY, variant="uncond", z_dim=16, mask_l1=0.1, channels=1)
TINY_COND = dict(TINY, variant="cond", z_dim=0, mask_l1=0.0, first_frame_l1=10.0, channels=1)

moving_squares = functools.partial(baseline_helpers.moving_squares, b=4, t=16, c=1)   # [B, T, C, S, S], this file's defaults


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(variant="uncond", **overrides) -> VGAN:
    torch.manual_seed(0)
    return VGAN(VganConfig(**{**(TINY_UNCOND if variant == "uncond" else TINY_COND), **overrides}))




# ---------------------------------------------------------------------------------------------
# Sizes and shapes of the paper-size configs (baselines.md §6.1, §6.2; counted on the meta device)

SPEC_COUNTS = {   # variant: {network: millions}, the spec's analytic counts
    "uncond": {"generator": 16.3, "foreground": 12.7, "background": 3.6, "discriminator": 11.1},
    "cond": {"generator": 68.0, "discriminator": 44.0},
}


def _stream_counts(model: VGAN) -> dict[str, float]:
    s = model.generator.streams
    return {"generator": millions(model.generator), "discriminator": millions(model.discriminator),
            "foreground": sum(millions(m) for m in (s.fg_seed, s.foreground, s.fg_head, s.mask_head)),
            "background": sum(millions(m) for m in (s.bg_seed, s.background, s.bg_head))}


@pytest.mark.parametrize("variant", ["uncond", "cond"])
def test_full_config_parameter_counts_match_the_spec(variant):
    with torch.device("meta"):
        model = VGAN(make_config(variant, "full", 3))
    counts = _stream_counts(model)
    if variant == "cond":
        counts["encoder"] = millions(model.generator.encoder)
    print(f"vgan {variant}: " + ", ".join(f"{k} {v:.3f} M" for k, v in counts.items()))
    for name, expected in SPEC_COUNTS[variant].items():
        # the spec rounds to 0.1 M (uncond) and to 1 M (cond); it counts weights only, we also have biases
        assert counts[name] == pytest.approx(expected, abs=0.06 if variant == "uncond" else 0.5), name


def test_full_configs_follow_the_spec():
    uncond, cond = make_config("uncond", "full", 3), make_config("cond", "full", 3)
    assert (uncond.image_size, uncond.frames, uncond.z_dim) == (64, 32, 100)
    assert (uncond.mask_l1, uncond.first_frame_l1) == (0.1, 0)
    assert (cond.z_dim, cond.mask_l1, cond.first_frame_l1) == (0, 0, 10.0)
    for c in (uncond, cond):
        assert (c.lr, c.beta1, c.init_std) == (2e-4, 0.5, 0.01)
    assert (uncond.batch_size, cond.batch_size) == (64, 32)


def _output_shapes(module: torch.nn.Module, run) -> list[tuple[int, ...]]:
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in module.modules() if isinstance(m, (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.Tanh,
                                                         torch.nn.Sigmoid))]
    run()
    for h in hooks:
        h.remove()
    return shapes


def test_full_size_layer_shapes_match_the_spec_tables():
    with torch.device("meta"):
        model = VGAN(make_config("uncond", "full", 3))
        cond = VGAN(make_config("cond", "full", 3))
        z, frame = torch.empty(2, 100), torch.empty(2, 3, 64, 64)
        video = torch.empty(2, 3, 32, 64, 64)
        fg = _output_shapes(model.generator.streams.foreground, lambda: model.generator(z))
        bg = _output_shapes(model.generator.streams.background, lambda: model.generator(z))
        parts = model.generator(z)
        d = _output_shapes(model.discriminator, lambda: model.discriminator(video))
        logits = model.discriminator(video)
        enc = _output_shapes(cond.generator.encoder, lambda: cond.generator(frame))
        cfg = _output_shapes(cond.generator.streams.foreground, lambda: cond.generator(frame))
        cbg = _output_shapes(cond.generator.streams.background, lambda: cond.generator(frame))
        cparts = cond.generator(frame)
        cd = _output_shapes(cond.discriminator, lambda: cond.discriminator(video))
    assert tuple(model.generator.streams.fg_seed(z[:, :, None, None, None]).shape[1:]) == (512, 2, 4, 4)
    assert fg == [(256, 4, 8, 8), (128, 8, 16, 16), (64, 16, 32, 32)]
    assert tuple(model.generator.streams.bg_seed(z[:, :, None, None]).shape[1:]) == (512, 4, 4)
    assert bg == [(256, 8, 8), (128, 16, 16), (64, 32, 32)]
    assert tuple(parts["video"].shape) == tuple(parts["foreground"].shape) == (2, 3, 32, 64, 64)
    assert tuple(parts["mask"].shape) == (2, 1, 32, 64, 64) and tuple(parts["background"].shape) == (2, 3, 64, 64)
    assert d == [(64, 16, 32, 32), (128, 8, 16, 16), (256, 4, 8, 8), (512, 2, 4, 4)] and tuple(logits.shape) == (2, 2)
    assert enc == [(128, 32, 32), (256, 16, 16), (512, 8, 8), (1024, 4, 4)]
    assert cfg == [(512, 4, 8, 8), (256, 8, 16, 16), (128, 16, 32, 32)]
    assert cbg == [(512, 8, 8), (256, 16, 16), (128, 32, 32)]
    assert tuple(cparts["video"].shape) == (2, 3, 32, 64, 64)
    assert cd == [(128, 16, 32, 32), (256, 8, 16, 16), (512, 4, 8, 8), (1024, 2, 4, 4)]


def test_config_file_is_checked_strictly(tmp_path):
    path = tmp_path / "vgan.yaml"
    path.write_text("base: tiny\nmask_ll: 0.2\n")
    with pytest.raises(ValueError, match=r"unknown VGAN config key 'mask_ll' \(did you mean 'mask_l1'\?\)"):
        make_config("uncond", str(path), 1)
    path.write_text("base: tiny\nz_dim: 4\n")
    config = make_config("cond", str(path), 1, {"steps": 7})
    assert (config.z_dim, config.image_size, config.frames, config.steps, config.first_frame_l1) == (4, 32, 16, 7, 10.0)
    with pytest.raises(ValueError, match="image_size must be a power of two"):
        VganConfig(image_size=48)


# ---------------------------------------------------------------------------------------------
# Tiny networks: shapes, composition, losses


def test_tiny_shapes_and_the_two_stream_composition():
    model = tiny("uncond", channels=3)
    parts = model.generator(torch.randn(4, 16))
    v, f, m, b = parts["video"], parts["foreground"], parts["mask"], parts["background"]
    assert v.shape == f.shape == (4, 3, 16, 32, 32) and m.shape == (4, 1, 16, 32, 32) and b.shape == (4, 3, 32, 32)
    assert 0 <= m.min() and m.max() <= 1 and v.abs().max() <= 1
    assert torch.allclose(v, m * f + (1 - m) * b[:, :, None].expand_as(f), atol=1e-6)
    assert model.discriminator(v).shape == (4, 2)
    with torch.no_grad():
        model.generator.streams.mask_head[0].bias.fill_(-100.0)      # m = 0: the video is the background
    still = model.generator(torch.randn(4, 16))
    assert still["mask"].max() < 1e-30
    assert torch.equal(still["video"], still["background"][:, :, None].expand_as(still["video"]))
    assert torch.equal(still["video"][:, :, :1].expand_as(still["video"]), still["video"])   # constant over time


def test_conditional_generator_shapes():
    model = tiny("cond")
    assert model.generator.encoder(torch.rand(2, 1, 32, 32)).shape == (2, 64, 4, 4)
    parts = model.generator(torch.rand(2, 1, 32, 32) * 2 - 1)
    assert parts["video"].shape == (2, 1, 16, 32, 32) and parts["background"].shape == (2, 1, 32, 32)
    video = model.eval().continue_frame(torch.rand(2, 1, 32, 32))
    assert video.shape == (2, 16, 1, 32, 32) and 0 <= video.min() and video.max() <= 1
    noisy = tiny("cond", z_dim=3).eval()
    with pytest.raises(ValueError, match=r"noise must be \[N, z_dim\] = \[2, 3\]"):
        noisy.continue_frame(torch.rand(2, 1, 32, 32))
    frame = torch.rand(2, 1, 32, 32)
    a, b = noisy.continue_frame(frame, torch.randn(2, 3)), noisy.continue_frame(frame, torch.randn(2, 3))
    assert a.shape == (2, 16, 1, 32, 32) and not torch.equal(a, b)          # the noise enters


def test_conversions_round_trip():
    video = torch.rand(2, 5, 3, 8, 8)
    net = to_net(video)
    assert net.shape == (2, 3, 5, 8, 8) and net.min() >= -1 and net.max() <= 1
    assert torch.allclose(from_net(net), video, atol=1e-6)


def test_mask_sparsity_penalty_and_first_frame_term():
    """G's loss = CE(D(G), real) + 0.1 * mean|m| (uncond) or + 10 * mean|G(x)_0 - x| (cond); the penalty's
    gradient on the mask is 0.1 / numel (Torch's size-averaged L1Penalty)."""
    model = tiny("uncond")
    inputs = {"z": torch.randn(4, 16)}
    parts = model.generator(inputs["z"])
    loss, logs = model.generator_loss(parts, inputs)
    free, _ = tiny("uncond", mask_l1=0.0).generator_loss(parts, inputs)   # same D weights (same seed)
    assert loss.item() == pytest.approx(free.item() + 0.1 * parts["mask"].mean().item(), rel=1e-5)
    assert logs["mask_mean"] == pytest.approx(parts["mask"].mean().item())
    mask = parts["mask"].detach().requires_grad_()
    grad, = torch.autograd.grad(model.generator_loss({**parts, "mask": mask}, inputs)[0], mask)
    assert torch.allclose(grad, torch.full_like(mask, 0.1 / mask.numel()))

    cond = tiny("cond")
    real = to_net(moving_squares(b=2))
    inputs = cond.draw_inputs(real)
    assert torch.equal(inputs["image"], real[:, :, 0]) and inputs["noise"] is None
    parts = cond.generate_parts(inputs)
    loss, logs = cond.generator_loss(parts, inputs)
    l1 = (parts["video"][:, :, 0] - real[:, :, 0]).abs().mean().item()
    assert logs["first_l1"] == pytest.approx(l1, rel=1e-5)
    assert loss.item() == pytest.approx(logs["g_adv"] + 10 * l1, rel=1e-5)


def test_discriminator_loss_is_two_way_cross_entropy():
    model = tiny("uncond")
    real, fake = to_net(moving_squares(b=3)), torch.rand(3, 1, 16, 32, 32) * 2 - 1
    loss, logs = model.discriminator_loss(real, fake)
    lr_, lf = model.discriminator(real), model.discriminator(fake)     # train mode: batch statistics again
    expected = -torch.log_softmax(lr_, 1)[:, 1].mean() - torch.log_softmax(lf, 1)[:, 0].mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert logs["d_acc_real"] == (lr_.argmax(1) == 1).float().mean().item()


def test_generator_and_discriminator_alternate():
    """One iteration: D steps first (on detached fakes: no gradient reaches G), then G (through D, whose
    weights get no gradient and are not stepped again)."""
    model = tiny("uncond")
    optimizers = VGAN_UNCOND.optimizers(model)
    events = []
    for name, opt in optimizers.items():
        step = opt.step

        def spy(*args, _name=name, _step=step, **kwargs):
            g_grad = [p.grad for p in model.generator.parameters()]
            d_grad = [None if p.grad is None else p.grad.clone() for p in model.discriminator.parameters()]
            events.append((_name, g_grad, d_grad))
            return _step(*args, **kwargs)
        opt.step = spy
    d_before = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    VGAN_UNCOND.train_step(model, moving_squares(), optimizers, Amp(torch.device("cpu"), False, torch.bfloat16))
    (first, g_at_d, d_at_d), (second, g_at_g, d_at_g) = events
    assert (first, second) == ("discriminator", "generator")
    assert all(g is None for g in g_at_d) and all(g is not None for g in d_at_d)       # fakes were detached
    assert all(g is not None for g in g_at_g)
    assert all(torch.equal(a, b) for a, b in zip(d_at_d, d_at_g))                     # G's pass left D's alone
    d_after = model.discriminator.state_dict()
    assert any(not torch.equal(d_before[k], d_after[k]) for k in d_before if k.endswith("weight"))
    assert all(p.requires_grad for p in model.discriminator.parameters())
    assert set(optimizers) == {"discriminator", "generator"}
    assert {id(p) for g in optimizers["generator"].param_groups for p in g["params"]} == \
        {id(p) for p in model.generator.parameters()}


@pytest.mark.parametrize("variant", ["uncond", "cond"])
def test_tiny_gan_training_stays_finite_and_the_discriminator_is_not_saturated(variant):
    model = tiny(variant)
    recipe = VGAN_UNCOND if variant == "uncond" else VGAN_COND
    optimizers = recipe.optimizers(model)
    amp = Amp(torch.device("cpu"), False, torch.bfloat16)
    batch = moving_squares(b=4)
    torch.manual_seed(1)
    history = [recipe.train_step(model, batch, optimizers, amp) for _ in range(30)]
    acc = [h["d_acc"] for h in history]
    print(f"vgan {variant}, 30 steps: d_acc " + " ".join(f"{a:.2f}" for a in acc)
          + f"\n d_loss {history[0]['d_loss']:.3f} -> {history[-1]['d_loss']:.3f}"
          + f", g_adv {history[0]['g_adv']:.3f} -> {history[-1]['g_adv']:.3f}")
    assert all(math.isfinite(v) for h in history for v in h.values())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert 0 < sum(acc[-10:]) / 10 < 1, acc                     # neither side has won outright
    assert 0 < sum(acc) / len(acc) < 1
    if variant == "cond":
        assert history[-1]["first_l1"] < history[0]["first_l1"]     # the L1 term pulls frame 0 to the input


# ---------------------------------------------------------------------------------------------
# Adapters and checkpoints


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """model.pt of vgan_cond, vgan_cond with noise (z_dim 3) and vgan after 2 tiny training steps."""
    root = tmp_path_factory.mktemp("vgan")
    suite = write_suite(root, context_frames=2, predicted_frames=3, train_context_frames=2, train_predicted_frames=3)
    noisy = root / "noisy.yaml"
    noisy.write_text("base: tiny\nz_dim: 3\n")
    out = {"suite": suite}
    for key, model, config in (("cond", "vgan_cond", "tiny"), ("noisy", "vgan_cond", str(noisy)),
                               ("uncond", "vgan", "tiny")):
        folder = train(TrainRequest(model=model, suite=str(suite), config=config, steps=2, batch_size=4,
                                    out=root / key, progress=False))
        out[key] = folder / "model.pt"
    return out


def test_models_are_registered():
    assert MODELS["vgan"] == "baselines.vgan.adapter:Vgan"
    assert MODELS["vgan_cond"] == "baselines.vgan.adapter:VganCond"


def test_checkpoint_round_trip_with_weights_only(checkpoints):
    payload = torch.load(checkpoints["cond"], weights_only=True)
    assert payload["format"] == "vbench-train-v1" and payload["step"] == 2 and payload["model"] == "vgan_cond"
    config = json.loads((checkpoints["cond"].parent / "config.json").read_text())["config"]
    assert config == payload["config"] and config["image_size"] == 32 and config["variant"] == "cond"
    last = torch.load(checkpoints["cond"].parent / "last.pt", weights_only=True)
    assert set(last["optimizer"]) == {"discriminator", "generator"}
    model = resolve_model("vgan_cond", {}, str(checkpoints["cond"]))
    assert (model.name, model.stochastic, model.resolution, model.min_context) == ("vgan_cond", False, 32, 1)
    for key, value in model.vgan.state_dict().items():
        assert torch.equal(value, payload["state_dict"][key]), key
    assert resolve_model("vgan_cond", {}, str(checkpoints["noisy"])).stochastic is True


def test_wrong_variant_or_missing_checkpoint_is_named(checkpoints, tmp_path):
    with pytest.raises(ModelError, match=r"vgan_cond: checkpoint .*uncond/model.pt was trained as vgan, not vgan_cond"):
        VganCond(checkpoint=str(checkpoints["uncond"]))
    with pytest.raises(ModelError, match="vgan_cond: checkpoint not found"):
        VganCond(checkpoint=str(tmp_path / "none.pt"))
    with pytest.raises(ModelError, match=r"vgan: checkpoint .*cond/model.pt was trained as vgan_cond, not vgan"):
        Vgan(checkpoint=str(checkpoints["cond"]))
    with pytest.raises(ModelError, match="batchnorm must be one of"):
        VganCond(checkpoint=str(checkpoints["cond"]), batchnorm="train")


def _jolt(model):
    """Larger random weights, so that different noise gives clearly different frames (2 training steps do not)."""
    baseline_helpers.jolt(model.vgan.generator, torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    return model


def _predict(model, context, videos, samples, num_future=3):
    return predict_checked(model, model.name, context, num_future, SampleRNG(7, videos, samples))


def test_conditional_predictions_are_deterministic_and_independent_of_the_batch(checkpoints):
    model = _jolt(VganCond(checkpoint=str(checkpoints["cond"])))
    context = moving_squares(b=4, t=2, size=64)                          # the suite's 64 px; the harness resizes
    whole = _predict(model, context, [0, 1, 2, 3], [0])                  # [4, 1, 3, 1, 64, 64]
    assert whole.shape == (4, 1, 3, 1, 64, 64)
    assert torch.equal(whole, _predict(model, context, [0, 1, 2, 3], [0]))
    # atol 1e-4: the jolted weights amplify float rounding, which depends on the batch's kernel choice
    assert torch.allclose(whole[2], _predict(model, context[2:3], [2], [5])[0], atol=1e-4)
    assert not torch.allclose(_predict(model, context[:, :1], [0, 1, 2, 3], [0]), whole)   # reads the last frame
    longer = _predict(model, context, [0, 1, 2, 3], [0], num_future=20)  # 15 frames per chunk: two chunks
    assert longer.shape == (4, 1, 20, 1, 64, 64) and torch.allclose(longer[:, :, :3], whole, atol=1e-4)


def test_noisy_conditional_samples_are_reproducible_and_independent_of_the_batch(checkpoints):
    model = _jolt(VganCond(checkpoint=str(checkpoints["noisy"])))
    context = moving_squares(b=4, t=2, size=64)
    whole = _predict(model, context, [0, 1, 2, 3], range(4))             # [4, 4, 3, 1, 64, 64]
    assert torch.equal(whole, _predict(model, context, [0, 1, 2, 3], range(4)))
    alone = _predict(model, context[2:3], [2], range(4))
    later = _predict(model, context[[3, 1]], [3, 1], range(2, 4))        # other videos, samples 2..3 only
    assert torch.allclose(whole[2], alone[0], atol=1e-4)
    assert torch.allclose(whole[[3, 1], 2:], later, atol=1e-4)
    assert (whole[0, 0] - whole[0, 1]).abs().max() > 0.05               # samples differ


def test_unconditional_generation_hook(checkpoints):
    model = _jolt(Vgan(checkpoint=str(checkpoints["uncond"])))
    videos = model.generate(3, SampleRNG(7, [0, 1, 2], [0]))
    assert videos.shape == (3, 16, 1, 32, 32) and 0 <= videos.min() and videos.max() <= 1
    assert torch.equal(videos, model.generate(3, SampleRNG(7, [0, 1, 2], [0])))
    assert torch.allclose(videos[1:2, :4], model.generate(1, SampleRNG(7, [1], [0]), num_frames=4), atol=1e-4)
    assert (videos[0] - videos[1]).abs().max() > 0.05
    with pytest.raises(ModelError, match="the model generates 16 frames, asked for 17"):
        model.generate(1, SampleRNG(7, [0], [0]), num_frames=17)
    with pytest.raises(ModelError, match="vgan is an unconditional generator"):
        _predict(model, moving_squares(b=1, t=2), [0], [0])


def test_runner_scores_vgan_cond_on_a_tiny_suite(checkpoints, tmp_path):
    store = tmp_path / "store.sqlite"
    run_id = run(RunRequest(suite=str(checkpoints["suite"]), model="vgan_cond", checkpoint=str(checkpoints["cond"]),
                            store=store, batch_size=4, progress=False))
    with Store(store) as s:
        record = s.run(run_id)
    assert record.status == "finished" and record.manifest["num_samples"] == 1
    assert 0 < record.summary.metrics["ssim"].best.mean <= 1


def test_runner_scores_vgan_on_a_tiny_generation_suite(checkpoints, tmp_path):
    """FVD / KVD per trial of 3 generated against 3 real 10-frame clips (the model makes 16 frames at 32 px)."""
    data = yaml.safe_load((REPO / "vbench" / "suites" / "smmnist-mini-gen.yaml").read_text())
    data.update(name="tinygen", num_videos=3, fvd_videos=3, num_samples=2, fvd_trials=2, predicted_frames=10,
                train_predicted_frames=10)
    suite = tmp_path / "gen.yaml"
    suite.write_text(yaml.safe_dump(data))
    store = tmp_path / "store.sqlite"
    run_id = run(RunRequest(suite=str(suite), model="vgan", checkpoint=str(checkpoints["uncond"]), store=store,
                            batch_size=2, progress=False))
    with Store(store) as s:
        record = s.run(run_id)
    assert record.status == "finished" and record.manifest["num_samples"] == 2
    fvd = record.summary.metrics["fvd"]
    assert len(fvd.trials) == 2 and fvd.videos == 3 and fvd.trials[0] != fvd.trials[1]
    with pytest.raises(ModelError, match=r"'vgan' is unconditional.*generation suite"):
        run(RunRequest(suite=str(checkpoints["suite"]), model="vgan", checkpoint=str(checkpoints["uncond"]),
                       store=store, progress=False))


def test_a_non_finite_generator_loss_after_the_discriminator_step_keeps_the_last_checkpoint(checkpoints, monkeypatch):
    """D has stepped when G's loss turns out NaN: the half-done iteration is not saved over last.pt."""
    out = checkpoints["cond"].parent
    before = load_checkpoint(out / "last.pt")
    generator_loss = VGAN.generator_loss

    def broken(self, parts, inputs):
        loss, logs = generator_loss(self, parts, inputs)
        return loss * float("nan"), logs

    monkeypatch.setattr(VGAN, "generator_loss", broken)
    with pytest.raises(VBenchError, match=r"train vgan_cond: g_loss is nan at step 2; stopped \(last good checkpoint"):
        train(TrainRequest(model="vgan_cond", suite=str(checkpoints["suite"]), config="tiny", steps=4, batch_size=4,
                           out=out, resume=True, progress=False))
    after = load_checkpoint(out / "last.pt")
    assert after["step"] == 2
    assert all(torch.equal(before["state_dict"][k], after["state_dict"][k]) for k in before["state_dict"])


def test_bundled_checkpoint_is_the_default_for_grey_suites_and_refuses_colour(tmp_path):
    suite = write_suite(tmp_path, num_videos=2, num_samples=2, context_frames=3)
    store = tmp_path / "store.sqlite"
    run_id = run(RunRequest(suite=str(suite), model="vgan_cond", store=store, progress=False))
    with Store(store) as s:
        record = s.run(run_id)
    assert record.status == "finished" and record.manifest["num_samples"] == 1
    model = VganCond()
    assert model.bundled and model.trained_on == "smmnist-mini" and model.steps_trained == 4000
    assert bundled_checkpoint("vgan_cond").stat().st_size < 5e6
    generator = Vgan()
    assert generator.bundled and generator.trained_on == "smmnist-mini-gen" and generator.steps_trained == 4000
    assert generator.generate(2, SampleRNG(0, [0, 1], [0]), 16).shape == (2, 16, 1, 32, 32)
    with pytest.raises(ModelError, match=r"reads 1-channel frames, the suite gives 3.*vbench train --model vgan_cond"):
        _predict(model, moving_squares(b=1, t=2, size=64).expand(1, 2, 3, 64, 64), [0], [0])
