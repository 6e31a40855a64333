"""vrnn_gan: sizes, the generator (reused VRNN pieces, one latent per step, no frame fed back, skips from
the last context frame), the discriminator's shapes, the losses, the alternating GAN step, exact resume,
the sampler's noise and batch independence, the adapter and an end-to-end run."""

import functools
import json
import math

import pytest
import torch

import baseline_helpers
from baseline_helpers import (assert_same_training_state, assert_samples_do_not_depend_on_the_batch,
                              finished_run, millions, predict)
from baselines.vrnn.adapter import HierVrnn
from baselines.vrnn.config import make_config as vrnn_make_config
from baselines.vrnn.model import VRNN
from baselines.vrnn.nets import FrameEncoder, Renderer
from baselines.vrnn_gan.adapter import VrnnGanAdapter
from baselines.vrnn_gan.config import VrnnGanConfig, make_config
from baselines.vrnn_gan.model import VrnnGan
from baselines.vrnn_gan.recipe import VRNN_GAN
from baselines.loading import bundled_checkpoint
from conftest import write_suite
from vbench.adapters import MODELS, SampleRNG
from vbench.cli import main
from vbench.errors import ModelError
from vbench.train import RECIPES, Amp, TrainRequest, load_checkpoint, train

# A test size: 16x16 frames (encoder 16, 8, 4, 1), 2 context -> 3 predicted frames, batch 4.
SMALL = dict(image_size=16, channels=1, n_hid=4, max_mult=2, enc_blocks=1, n_z=3, ndf=4, n_ctx=2, n_train_fut=3,
             batch_size=4, rec_weight=1.0)
CPU_AMP = Amp(torch.device("cpu"), False, torch.bfloat16)

moving_squares = functools.partial(baseline_helpers.moving_squares, b=4, t=5, c=1, size=16)   # [B, T, C, S, S]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small(**overrides) -> VrnnGan:
    torch.manual_seed(0)
    return VrnnGan(VrnnGanConfig(**{**SMALL, **overrides}))


def jolt(model: VrnnGan) -> VrnnGan:
    """Larger weights, so that the noise visibly changes the frames (untrained nets barely react to it)."""
    baseline_helpers.jolt(model.generator, torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
    with torch.no_grad():
        model.generator.lstm.weight_ih.normal_(0, 1.0)
    return model


# ---------------------------------------------------------------------------------------------
# Sizes of the full config (counted on the meta device)


def full_model(channels=3, n_ctx=2) -> VrnnGan:
    with torch.device("meta"):
        return VrnnGan(make_config("full", channels, 64, n_ctx, 10))


def test_full_generator_reuses_the_hier_vrnn_encoder_and_renderer():
    """Encoder: hier_vrnn's exactly. Renderer without its init nets: hier_vrnn's less the latent inputs of its
    input-to-gate convolutions (3x3, to 4 * width): 10 channels at 1x1 (width 512), 512 at 8x8 (512) and 128 at
    32x32 (128); init nets: one context frame instead of two."""
    gan, g = full_model(), full_model().generator
    with torch.device("meta"):
        vrnn = VRNN(vrnn_make_config("hier", "full", "bair", 3, 64, 2, 10))
    assert millions(g.encoder) == millions(vrnn.encoder)
    latent_inputs = 9 * (10 * 4 * 512 + 512 * 4 * 512 + 128 * 4 * 128) / 1e6
    own = millions(g.renderer) - millions(g.renderer.inits)
    assert own == pytest.approx(millions(vrnn.renderer) - millions(vrnn.renderer.inits) - latent_inputs, abs=1e-9)
    assert millions(g.renderer.inits) < millions(vrnn.renderer.inits) / 2
    counts = {"encoder": millions(g.encoder), "renderer": own, "renderer init nets": millions(g.renderer.inits),
              "LSTM and its init net": millions(g.lstm) + millions(g.init), "generator": millions(g),
              "discriminator": millions(gan.discriminator)}
    print("vrnn_gan full (RGB, n_ctx 2, 64x64): " + ", ".join(f"{k} {v:.3f} M" for k, v in counts.items()))
    print(f"vrnn_gan full (grey, n_ctx 5): generator {millions(full_model(1, 5).generator):.3f} M")
    assert g.lstm.input_size == 2 * 512 + 10 and g.lstm.hidden_size == 512


def test_full_config_is_the_thesis_and_tiny_has_the_reconstruction_deviation():
    full = make_config("full", 3, 64, 2, 10)
    assert (full.rec_weight, full.n_hid, full.n_z, full.image_size, full.lr, full.d_lr, full.beta1) == \
        (0.0, 64, 10, 64, 2e-4, 2e-4, 0.5)
    tiny = make_config("tiny", 1, 64, 5, 10)
    assert (tiny.image_size, tiny.n_ctx, tiny.n_train_fut, tiny.channels) == (32, 5, 10, 1) and tiny.rec_weight > 0


def test_config_file_is_checked_strictly(tmp_path):
    path = tmp_path / "vg.yaml"
    path.write_text("base: tiny\nrec_weigth: 2\n")
    with pytest.raises(ValueError, match=r"unknown VRNN-GAN config key 'rec_weigth' \(did you mean 'rec_weight'\?\)"):
        make_config(str(path), 1, 64, 5, 10)
    path.write_text("base: tiny\nrec_weight: 0\n")
    config = make_config(str(path), 1, 64, 5, 10, {"steps": 7})
    assert (config.rec_weight, config.image_size, config.steps) == (0, 32, 7)
    assert VrnnGanConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="image_size must be a power of two >= 16"):
        VrnnGanConfig(image_size=8)


# ---------------------------------------------------------------------------------------------
# The discriminator: 2D per frame, then 3D over the stacked maps


def _shapes(module, run_it, types) -> list[tuple[int, ...]]:
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape))) for m in module.modules()
             if isinstance(m, types)]
    run_it()
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize("frames", [12, 15])
def test_discriminator_shapes_at_full_size(frames):
    d = full_model().discriminator
    with torch.device("meta"):
        clip = torch.empty(2, frames, 3, 64, 64)
        conv2d = _shapes(d, lambda: d(clip), torch.nn.Conv2d)
        conv3d = _shapes(d, lambda: d(clip), torch.nn.Conv3d)
        logits = d(clip)
    n = 2 * frames
    assert conv2d == [(n, 64, 32, 32), (n, 128, 16, 16), (n, 256, 8, 8)]                 # every frame on its own
    half = (frames + 1) // 2
    assert conv3d == [(2, 512, frames, 4, 4), (2, 512, half, 2, 2), (2, 512, (half + 1) // 2, 2, 2)]
    assert tuple(logits.shape) == (2,)


def test_discriminator_judges_frames_separately_then_over_time():
    """Per-frame 2D features do not mix videos or frames; the 3D part sees the order of the frames."""
    d = small().discriminator.eval()
    clip = moving_squares(b=2)                                                              # [2, 5, 1, 16, 16]
    assert _shapes(d, lambda: d(clip), torch.nn.Conv2d) == [(10, 4, 8, 8)]
    assert d(clip).shape == (2,)
    assert torch.allclose(d(clip[1:]), d(clip)[1:], atol=1e-6)                               # per video
    assert not torch.allclose(d(clip.flip(1)), d(clip))                                      # time order matters
    assert d(clip[:, :3]).shape == (2,)                                                      # any clip length


# ---------------------------------------------------------------------------------------------
# The generator


def test_generator_uses_the_vrnn_pieces_and_shapes():
    g = small().generator
    assert isinstance(g.encoder, FrameEncoder) and isinstance(g.renderer, Renderer)
    out = g(moving_squares(b=2, t=2), torch.randn(2, 6, 3))
    assert out.shape == (2, 6, 1, 16, 16) and 0 <= out.min() and out.max() <= 1
    with pytest.raises(ValueError, match=r"needs 2 context frames and z \[N, T, 3\]"):
        g(moving_squares(b=2, t=3), torch.randn(2, 6, 3))


def test_generated_frames_are_never_fed_back_and_one_latent_drives_each_step():
    model = jolt(small())
    g = model.generator
    calls = []
    g.encoder.register_forward_hook(lambda m, i, o: calls.append(tuple(i[0].shape)))
    context, z = moving_squares(b=2, t=2), torch.randn(2, 5, 3)
    out = model.sample(context, z)
    assert calls == [(4, 1, 16, 16)]                                     # the 2 x 2 context frames, once
    changed = z.clone()
    changed[:, 3] += 1.0
    other = model.sample(context, changed)
    assert torch.equal(out[:, :3], other[:, :3])                        # z_3 does not reach earlier frames
    assert (out[:, 3] - other[:, 3]).abs().max() > 1e-3                 # and it drives frame 3


def test_the_renderer_is_initialised_from_the_last_context_frame():
    """The skips: each renderer stage's init net reads the last context frame's embedding at its resolution;
    the other context frames enter through the LSTM's code only."""
    g = jolt(small()).generator
    seen = []
    for init in g.renderer.inits:
        init.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    context = moving_squares(b=2, t=2)
    g(context, torch.randn(2, 1, 3))
    embeddings = g.encoder(context[:, -1])                              # finest first
    assert len(seen) == 4 and all(torch.allclose(s, e) for s, e in zip(seen, reversed(embeddings)))


# ---------------------------------------------------------------------------------------------
# Losses and the step


def test_losses_are_the_standard_d_loss_and_the_non_saturating_g_loss():
    model = small(rec_weight=2.0).eval()                                 # eval: spectral norms fixed between calls
    real = moving_squares(b=3)
    fake_future = torch.rand(3, 3, 1, 16, 16)
    fake = torch.cat([real[:, :2], fake_future], 1)
    loss, logs = model.discriminator_loss(real, fake)
    d = model.discriminator
    d_real, d_fake = torch.sigmoid(d(real)), torch.sigmoid(d(fake))
    expected = -0.5 * torch.log(d_real).mean() - 0.5 * torch.log(1 - d_fake).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    assert logs["d_acc_real"] == (d_real > 0.5).float().mean().item()
    g_loss, g_logs = model.generator_loss(real[:, :2], real[:, 2:], fake_future)
    l1 = (fake_future - real[:, 2:]).abs().mean()
    adversarial = -0.5 * torch.log(torch.sigmoid(d(fake))).mean()
    assert g_logs["g_adv"] == pytest.approx(adversarial.item(), rel=1e-4)
    assert g_loss.item() == pytest.approx(g_logs["g_adv"] + 2.0 * l1.item(), rel=1e-4)
    plain, plain_logs = small(rec_weight=0.0).eval().generator_loss(real[:, :2], real[:, 2:], fake_future)
    assert plain.item() == pytest.approx(plain_logs["g_adv"]) == pytest.approx(adversarial.item(), rel=1e-4)


def test_discriminator_then_generator_steps():
    """One iteration: D steps first (on detached fakes: no gradient reaches G), then G through D (whose
    weights get no gradient and are not stepped again); the encoder belongs to G's optimiser."""
    model = small()
    optimizers = VRNN_GAN.optimizers(model)
    events = []
    for name, opt in optimizers.items():
        step = opt.step

        def spy(*args, _name=name, _step=step, **kwargs):
            events.append((_name, [p.grad for p in model.generator.parameters()],
                           [None if p.grad is None else p.grad.clone() for p in model.discriminator.parameters()]))
            return _step(*args, **kwargs)
        opt.step = spy
    logs = VRNN_GAN.train_step(model, moving_squares(), optimizers, CPU_AMP)
    (first, g_at_d, d_at_d), (second, g_at_g, d_at_g) = events
    assert (first, second) == ("discriminator", "generator")
    assert all(g is None for g in g_at_d) and all(g is not None for g in d_at_d)
    assert all(g is not None for g in g_at_g)
    assert all(torch.equal(a, b) for a, b in zip(d_at_d, d_at_g))
    assert all(p.requires_grad for p in model.discriminator.parameters())
    assert {id(p) for g in optimizers["generator"].param_groups for p in g["params"]} == \
        {id(p) for p in model.generator.parameters()} >= {id(p) for p in model.generator.encoder.parameters()}
    assert {"d_loss", "d_acc", "g_adv", "rec_l1", "g_loss"} <= set(logs)


def test_short_training_stays_finite_and_the_discriminator_is_not_saturated():
    model = small(rec_weight=0.0, d_lr=1e-3)
    optimizers = VRNN_GAN.optimizers(model)
    batch = moving_squares()
    torch.manual_seed(1)
    history = [VRNN_GAN.train_step(model, batch, optimizers, CPU_AMP) for _ in range(20)]
    acc = [h["d_acc"] for h in history]
    print("vrnn_gan, 20 steps: d_acc " + " ".join(f"{a:.2f}" for a in acc)
          + f"; d_loss {history[0]['d_loss']:.3f} -> {history[-1]['d_loss']:.3f}")
    assert all(math.isfinite(v) for h in history for v in h.values())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert 0 < sum(acc) / len(acc) < 1


# ---------------------------------------------------------------------------------------------
# Training runs, checkpoints, the adapter


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2 -> 3 SM-MNIST suite and a tiny vrnn_gan trained 2 steps on it."""
    root = tmp_path_factory.mktemp("vrnn_gan")
    suite = write_suite(root, context_frames=2, predicted_frames=3, train_context_frames=2, train_predicted_frames=3)
    config = root / "small.yaml"
    config.write_text("base: tiny\nimage_size: 16\nn_hid: 4\nndf: 4\n")
    common = dict(model="vrnn_gan", suite=str(suite), config=str(config), batch_size=4, progress=False, log_every=1)
    out = train(TrainRequest(**common, steps=2, out=root / "run"))
    return {"suite": suite, "common": common, "checkpoint": out / "model.pt"}


def test_models_and_recipes_are_registered(capsys):
    assert MODELS["vrnn_gan"] == "baselines.vrnn_gan.adapter:VrnnGanAdapter"
    assert RECIPES["vrnn_gan"] == "baselines.vrnn_gan.recipe:VRNN_GAN"
    assert main(["ls", "models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("vrnn_gan"))
    assert "prediction" in line and "trainable" in line


def test_resume_continues_exactly(trained, tmp_path):
    """4 steps straight give the same weights, optimiser states and logs as 2 steps, then 2 resumed."""
    common = trained["common"]
    straight = train(TrainRequest(**common, steps=4, out=tmp_path / "straight"))
    train(TrainRequest(**common, steps=2, out=tmp_path / "split"))
    resumed = train(TrainRequest(**common, steps=4, out=tmp_path / "split", resume=True))
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    assert set(a["optimizer"]) == {"discriminator", "generator"}
    assert_same_training_state(a, b, 4)
    logs = [[json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] for out in (straight, resumed)]
    for x, y in zip(logs[0], logs[1]):
        assert x["d_loss"] == pytest.approx(y["d_loss"], abs=1e-5) and x["g_loss"] == pytest.approx(y["g_loss"], abs=1e-5)


def test_sampler_noise_comes_from_the_sample_rng_and_not_the_batch(trained):
    model = VrnnGanAdapter(checkpoint=str(trained["checkpoint"]))
    jolt(model.model)
    assert (model.stochastic, model.resolution, model.min_context) == (True, 16, 2)
    context = moving_squares(b=4, t=2, size=64)                          # the suite's 64 px; the harness resizes
    torch.manual_seed(123)
    whole = assert_samples_do_not_depend_on_the_batch(model, context)   # [4, 3, 3, 1, 64, 64]
    torch.manual_seed(456)                                              # torch's global RNG plays no part
    assert torch.equal(whole, predict(model, context, range(4), range(3)))
    assert (whole[0, 0] - whole[0, 1]).abs().max() > 0.05               # samples differ
    assert (whole - predict(model, context, range(4), range(3), seed=8)).abs().max() > 0.05
    # sample (v, k) is the generator run on z = the SampleRNG's [T, n_z] draw of stream (v, k)
    small_context = torch.nn.functional.interpolate(context[1:2, :, 0], size=16, mode="area")[:, :, None]
    z = SampleRNG(7, [1], [2]).randn(3, model.config.n_z)[0]            # [1, T, n_z]
    direct = model.model.sample(small_context, z)                       # [1, T, 1, 16, 16]
    ours = predict(model, small_context, [1], [2])[0]
    assert torch.allclose(ours, direct, atol=1e-6)
    longer = torch.cat([moving_squares(b=4, t=1, size=64, seed=9), context], 1)   # 3 context frames: last 2 used
    assert torch.equal(predict(model, longer, range(4), range(3)), whole)
    with pytest.raises(ModelError, match="reads 2 context frames, the suite gives 1"):
        predict(model, context[:, 1:], [0], [0])


def test_runner_scores_a_trained_checkpoint(trained, tmp_path):
    record = finished_run(tmp_path / "store.sqlite", suite=str(trained["suite"]), model="vrnn_gan",
                          checkpoint=str(trained["checkpoint"]), batch_size=4)
    assert record.status == "finished" and record.manifest["num_samples"] == 3
    assert 0 < record.summary.metrics["ssim"].best.mean <= 1


def test_wrong_or_missing_checkpoint_is_named(trained, tmp_path):
    with pytest.raises(ModelError, match="vrnn_gan: checkpoint not found"):
        VrnnGanAdapter(checkpoint=str(tmp_path / "none.pt"))
    with pytest.raises(ModelError, match=r"hier_vrnn: checkpoint .* was trained as vrnn_gan, not hier_vrnn"):
        HierVrnn(checkpoint=str(trained["checkpoint"]))



def test_bundled_checkpoint_is_the_default_for_smmnist_and_refuses_colour():
    model = VrnnGanAdapter()
    assert model.bundled and model.trained_on == "smmnist-mini" and model.steps_trained == model.config.steps
    assert bundled_checkpoint("vrnn_gan").stat().st_size < 3e6 and model.config.rec_weight > 0
    out = predict(model, moving_squares(b=1, t=5, size=64), [0], [0, 1])
    assert out.shape == (1, 2, 3, 1, 64, 64)
    with pytest.raises(ModelError, match=r"reads 1-channel frames, the suite gives 3.*vbench train --model vrnn_gan"):
        predict(model, moving_squares(b=1, t=5, size=64).expand(1, 5, 3, 64, 64), [0], [0])
