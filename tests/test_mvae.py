"""mvae / mvae_gan: the product of experts, shapes, the objectives and VAE-GAN's update rules, the
closed-loop sampler, the negative ELBO, exact resume, the adapters, an end-to-end run, the sharpness measure."""

import json
import math

import pytest
import torch

from baselines.mvae.adapter import Mvae, MvaeGan
from baselines.mvae.analysis import gradient_energy, sample_sharpness
from baselines.mvae.config import FULL, MvaeConfig, make_config
from baselines.mvae.model import MVAE, posterior, product_of_experts
from baselines.loading import bundled_checkpoint
from baseline_helpers import jolt, millions, moving_squares, tiny_checkpoints
from vbench.adapters import MODELS, SampleRNG, predict_checked, resolve_model
from vbench.errors import ModelError, VBenchError
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.suite import load_suite
from vbench.train import RECIPES, Amp, TrainRequest, load_checkpoint, load_recipe, train

# Test size: 1x32x32 frames, 2 context + 3 predicted, DCGAN-32 with 4/8/16 channels, z 4, LSTMs of 8.
TINY = dict(image_size=32, nf=4, g_dim=8, z_dim=4, rnn_size=8, ndf=4, d_code=8, disc_layer=1, n_ctx=2,
            n_train_fut=3, batch_size=2)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(variant="vae", **overrides) -> MVAE:
    torch.manual_seed(0)
    return MVAE(MvaeConfig(variant=variant, **{**TINY, **overrides}))


def video(b=2, t=5, c=1, size=32, seed=0) -> torch.Tensor:
    return torch.rand(b, t, c, size, size, generator=torch.Generator().manual_seed(seed))   # [B, T, C, H, W]


def normal(*shape, seed=0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------
# The product of experts


def test_product_of_experts_matches_the_closed_form_by_hand():
    """N(0, 1) x N(1, 1) x N(4, 1/2): precision 1 + 1 + 2 = 4, mean (0 + 1 * 1 + 4 * 2) / 4 = 2.25."""
    mu, logvar = product_of_experts([torch.tensor([1.0]), torch.tensor([4.0])],
                                    [torch.tensor([0.0]), torch.tensor([math.log(0.5)])])
    assert mu.item() == pytest.approx(2.25) and logvar.exp().item() == pytest.approx(0.25)


def test_product_of_experts_is_the_normalised_product_of_the_densities():
    """log N(x; mu, var) differs from the sum of the experts' and the prior's log densities by a constant."""
    mus, logvars = [normal(3, seed=1), normal(3, seed=2)], [normal(3, seed=3), normal(3, seed=4)]
    mu, logvar = product_of_experts(mus, logvars)
    x = torch.linspace(-3, 3, 7)[:, None]                                   # [7, 1]: points per dimension

    def log_normal(x, m, lv):
        return -0.5 * (lv + math.log(2 * math.pi) + (x - m) ** 2 / lv.exp())

    zeros = torch.zeros(3)
    gap = sum(log_normal(x, m, lv) for m, lv in zip(mus + [zeros], logvars + [zeros])) - log_normal(x, mu, logvar)
    assert torch.allclose(gap, gap[:1].expand_as(gap), atol=1e-5)          # constant in x, per dimension


def test_a_missing_modality_drops_its_expert_and_an_uninformative_one_leaves_the_prior():
    experts = {"a": (normal(2, 4, seed=1), normal(2, 4, seed=2)), "b": (normal(2, 4, seed=3), normal(2, 4, seed=4))}
    only_b = posterior(experts, ("b",))
    other_a = dict(experts, a=(normal(2, 4, seed=5) * 9, normal(2, 4, seed=6)))
    for x, y in zip(only_b, posterior(other_a, ("b",))):
        assert torch.equal(x, y)                                           # a's expert plays no part
    for x, y in zip(only_b, product_of_experts([experts["b"][0]], [experts["b"][1]])):
        assert torch.equal(x, y)
    both = posterior(experts, ("a", "b"))
    assert (both[1] < only_b[1]).all()                                     # one more expert: more precise
    mu, logvar = product_of_experts([torch.zeros(3)], [torch.full((3,), 80.0)])   # an expert that knows nothing
    assert torch.allclose(mu, torch.zeros(3)) and torch.allclose(logvar, torch.zeros(3), atol=1e-6)
    with pytest.raises(ValueError, match="3 means and 2 log-variances"):
        product_of_experts([torch.zeros(1)] * 3, [torch.zeros(1)] * 2)


def test_the_mean_is_precision_weighted():
    sure, unsure = (torch.tensor([5.0]), torch.tensor([-12.0])), (torch.tensor([-5.0]), torch.tensor([12.0]))
    mu, logvar = product_of_experts([sure[0], unsure[0]], [sure[1], unsure[1]])
    assert mu.item() == pytest.approx(5.0, abs=1e-4) and logvar.item() == pytest.approx(-12.0, abs=1e-4)
    mu, _ = product_of_experts([torch.tensor([3.0]), torch.tensor([3.0])], [torch.tensor([0.0])] * 2)
    assert mu.item() == pytest.approx(2.0)                                 # (3 + 3) / (1 + 1 + 1): the prior pulls to 0


# ---------------------------------------------------------------------------------------------
# Configs, sizes and shapes


def expert_lstm_params(g: int, h: int, z: int, layers: int) -> int:
    """Counted by hand: embedding g -> h, per layer an LSTMCell(h, h) (4h x 2h weights, two 4h biases), mu and
    logvar heads h -> z."""
    return (g * h + h) + layers * (4 * h * 2 * h + 2 * 4 * h) + 2 * (h * z + z)


def test_full_config_sizes():
    for variant in ("vae", "gan"):
        config = make_config(variant, "full", "smmnist", 1, 64, 5, 10)
        with torch.device("meta"):
            model = MVAE(config)
        counts = {name: millions(getattr(model, name))
                  for name in ("encoder", "expert_a", "expert_b", "decoder", "discriminator")}
        print(f"mvae {variant} full: " + ", ".join(f"{k} {v:.3f} M" for k, v in counts.items())
              + f", total {millions(model):.3f} M")
        assert counts["expert_a"] * 1e6 == expert_lstm_params(128, 256, 64, 1)
        assert (config.z_dim, config.image_size, config.beta, config.lambda_a, config.lambda_b) == (64, 64, 1, 1, 1)
        assert (counts["discriminator"] > 0) == (variant == "gan")
    assert FULL["disc_layer"] == 2 and make_config("gan", "full", "kth", 1, 64, 10, 10).beta1 == 0.5


def test_tiny_config_is_a_few_hundred_thousand_parameters():
    for variant in ("vae", "gan"):
        model = MVAE(make_config(variant, "tiny", "smmnist-mini", 1, 64, 5, 10))
        assert 1e5 < sum(p.numel() for p in model.parameters()) < 5e5 and model.config.image_size == 32


def test_config_file_is_checked_strictly(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("base: tiny\nz_dimm: 3\n")
    with pytest.raises(ValueError, match="unknown MVAE config key 'z_dimm'.*z_dim"):
        make_config("vae", str(path), "smmnist", 1, 64, 5, 10)
    path.write_text("base: tiny\nvariant: gan\n")
    with pytest.raises(ValueError, match="does not match the model"):
        make_config("vae", str(path), "smmnist", 1, 64, 5, 10)
    with pytest.raises(ValueError, match="disc_layer must be a discriminator level, 0..2"):
        MvaeConfig(**{**TINY, "disc_layer": 3})


def test_shapes_of_experts_decoder_and_discriminator():
    model = tiny("gan")
    clip = video(b=2, t=5)
    experts = model.experts(clip)
    assert {k: [tuple(t.shape) for t in v] for k, v in experts.items()} == {"a": [(2, 4, 4)] * 2, "b": [(2, 4, 4)] * 2}
    assert model.decode(torch.zeros(3, 2, 4, 4)).shape == (3, 2, 4, 2, 1, 32, 32)
    logits, features = model.discriminator(clip[:, 0])
    assert logits.shape == (2,) and features.shape == (2, 8, 8, 8)        # level 1 of 32 px: 2 ndf at 8x8
    passes = model.gan_passes(clip)
    assert passes["z"].shape == (3, 2, 4, 4) and passes["recon"].shape == (3, 2, 4, 2, 1, 32, 32)
    assert passes["fakes"].shape == (2, 2, 4, 1, 32, 32)
    assert tiny("vae").discriminator is None


def test_the_expert_of_a_reads_the_current_frame_and_b_the_previous_one():
    model = tiny().eval()
    clip = video(t=4)
    changed = clip.clone()
    changed[:, 2] = 1 - changed[:, 2]                                      # x_2 changed
    before, after = model.experts(clip), model.experts(changed)
    same = lambda m, steps: all(torch.equal(x[:, steps], y[:, steps]) for x, y in zip(before[m], after[m]))  # noqa: E731
    assert same("a", slice(0, 1)) and not same("a", slice(1, 2))           # a at step t = 2 reads x_2
    assert same("b", slice(0, 2)) and not same("b", slice(2, 3))           # b first reads x_2 at step t = 3


# ---------------------------------------------------------------------------------------------
# Objectives


def test_vae_loss_sums_the_three_subsets_and_warms_the_kl_up():
    model = tiny(kl_warmup=10)
    clip = video()
    torch.manual_seed(1)
    loss, logs = model.vae_loss(clip)
    assert logs["beta"] == 0 and loss.item() == pytest.approx(logs["rec"], rel=1e-6)
    model.steps_done += 5
    assert model.current_beta() == 0.5
    model.steps_done += 50
    torch.manual_seed(1)
    loss, logs = model.vae_loss(clip)
    assert logs["beta"] == 1 and loss.item() == pytest.approx(logs["rec"] + logs["kl"], rel=1e-6)
    # with no pixel term left the loss is the KL of the three subsets' posteriors
    quiet = tiny(lambda_a=0.0, lambda_b=0.0)
    torch.manual_seed(1)
    passes = quiet.subset_passes(clip)
    expected = sum(-0.5 * (1 + lv - mu ** 2 - lv.exp()).sum(-1) for mu, lv in zip(passes["mu"], passes["logvar"]))
    torch.manual_seed(1)
    assert quiet.vae_loss(clip)[0].item() == pytest.approx(expected.mean().item(), rel=1e-5)


def test_training_steps_reduce_the_loss_on_a_fixed_batch():
    recipe = load_recipe("mvae")
    model = tiny(lr=1e-2)
    optimizers = recipe.optimizers(model)
    amp = Amp(torch.device("cpu"), False, torch.bfloat16)
    clip = moving_squares(b=4, t=5)
    losses = [recipe.train_step(model, clip, optimizers, amp)["loss"] for _ in range(25)]
    print("losses", [round(l) for l in losses])
    assert losses[-1] < 0.7 * losses[0] and int(model.steps_done) == 25


def test_vae_gan_update_rules_route_each_loss_to_its_network():
    """Encoder: KL + feature reconstruction (no GAN term); decoder: feature reconstruction + gamma GAN;
    D: nothing from the generator's loss."""
    def grads(gamma):
        model = tiny("gan", gamma=gamma)
        jolt(model, torch.nn.Conv2d, torch.nn.ConvTranspose2d)
        model.discriminator.requires_grad_(False)
        torch.manual_seed(3)
        loss, logs = model.generator_loss(video(), model.gan_passes(video()))
        loss.backward()
        return model, logs

    with_gan, logs = grads(5.0)
    without, _ = grads(0.0)
    assert logs["g_gan"] > 0 and all(p.grad is None for p in with_gan.discriminator.parameters())
    for name in ("encoder", "expert_a", "expert_b"):
        for p, q in zip(getattr(with_gan, name).parameters(), getattr(without, name).parameters()):
            assert torch.allclose(p.grad, q.grad, atol=1e-6), name
    decoder = [(p.grad - q.grad).abs().max() for p, q in zip(with_gan.decoder.parameters(), without.decoder.parameters())]
    assert max(decoder) > 1e-4


def test_the_pixel_term_of_the_gan_variant_is_an_option_off_at_full_size():
    def loss(pixel_weight):
        model = tiny("gan", pixel_weight=pixel_weight)
        torch.manual_seed(3)
        return model.generator_loss(video(), model.gan_passes(video()))

    (plain, plain_logs), (mixed, logs) = loss(0.0), loss(0.5)
    assert "pixel_rec" not in plain_logs and logs["pixel_rec"] > 0
    assert mixed.item() == pytest.approx(plain.item() + 0.5 * logs["pixel_rec"], rel=1e-5)
    assert make_config("gan", "full", "smmnist", 1, 64, 5, 10).pixel_weight == 0


def test_discriminator_loss_and_step_order():
    model = tiny("gan")
    recipe = load_recipe("mvae_gan")
    optimizers = recipe.optimizers(model)
    assert set(optimizers) == {"model", "discriminator"}
    d_before = [p.detach().clone() for p in model.discriminator.parameters()]
    logs = recipe.train_step(model, video(), optimizers, Amp(torch.device("cpu"), False, torch.bfloat16))
    assert {"d_loss", "d_acc", "g_loss", "feature_rec", "g_gan", "kl"} <= set(logs)
    assert any(not torch.equal(a, b) for a, b in zip(d_before, model.discriminator.parameters()))
    assert all(p.requires_grad for p in model.discriminator.parameters()) and int(model.steps_done) == 1


# ---------------------------------------------------------------------------------------------
# Sampling and the negative ELBO


def test_the_sampler_is_the_teacher_forced_model_run_on_its_own_predictions():
    """Closed loop: step k draws z from q(z | b) after expert b has read the context and the predictions
    before k, with noise[:, k]; the same computed by the training path on [context, predictions] agrees."""
    model = tiny().eval()
    jolt(model, torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
    context, noise = video(t=2), normal(2, 3, 4, seed=7)
    frames = model.generate(context, 3, noise)                             # [2, 3, 1, 32, 32]
    experts = model.experts(torch.cat([context, frames], 1))
    mu, logvar = posterior(experts, ("b",))                                # [2, 4, z]
    z = mu[:, 1:] + torch.exp(0.5 * logvar[:, 1:]) * noise                 # the 3 predicted steps
    assert torch.allclose(torch.sigmoid(model.decode(z)[:, :, 0]), frames, atol=1e-5)
    later = noise.clone()
    later[:, 1] += 1.0                                                     # only step 1's noise changes
    moved = model.generate(context, 3, later)
    assert torch.equal(moved[:, 0], frames[:, 0]) and (moved[:, 1:] - frames[:, 1:]).abs().amax((1, 2, 3, 4)).min() > 0
    with pytest.raises(ValueError, match=r"noise must be \[N, num_future, z_dim\] = \[2, 3, 4\]"):
        model.generate(context, 3, noise[:, :2])


def test_negative_elbo_is_the_conditional_bound_in_nats_per_frame():
    model = tiny().eval()
    clip, eps = video(b=3, t=5), normal(3, 3, 4, seed=2)
    nelbo = model.negative_elbo(clip, eps, n_ctx=2)
    assert nelbo.shape == (3,) and (nelbo > 0).all()
    experts = {m: (mu[:, 1:], lv[:, 1:]) for m, (mu, lv) in model.experts(clip).items()}
    (mu_ab, lv_ab), (mu_b, lv_b) = posterior(experts, ("a", "b")), posterior(experts, ("b",))
    logits = model.decode(mu_ab + torch.exp(0.5 * lv_ab) * eps)[:, :, 0]
    rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, clip[:, 2:], reduction="none").sum((2, 3, 4))
    kl = 0.5 * (lv_b - lv_ab + (lv_ab.exp() + (mu_ab - mu_b) ** 2) / lv_b.exp() - 1).sum(-1)
    assert torch.allclose(nelbo, (rec + kl).mean(1), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# Training runs, checkpoints, adapters


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """model.pt of each model after 2 tiny training steps on a 2 -> 3 SM-MNIST suite."""
    return tiny_checkpoints(tmp_path_factory.mktemp("mvae"), {"mvae": "mvae", "mvae_gan": "mvae_gan"}, batch_size=2)


def test_models_and_recipes_are_registered():
    assert MODELS["mvae"] == "baselines.mvae.adapter:Mvae" and MODELS["mvae_gan"] == "baselines.mvae.adapter:MvaeGan"
    assert RECIPES["mvae"] == "baselines.mvae.recipe:MVAE_VAE" and RECIPES["mvae_gan"] == "baselines.mvae.recipe:MVAE_GAN"


def test_checkpoint_round_trip_and_wrong_models_are_named(checkpoints, tmp_path):
    payload = torch.load(checkpoints["mvae_gan"], weights_only=True)
    assert payload["step"] == 2 and int(payload["state_dict"]["steps_done"]) == 2
    config = json.loads((checkpoints["mvae_gan"].parent / "config.json").read_text())["config"]
    assert config == payload["config"] and config["variant"] == "gan" and config["n_ctx"] == 2
    model = resolve_model("mvae_gan", {}, str(checkpoints["mvae_gan"]))
    assert (model.name, model.stochastic, model.resolution) == ("mvae_gan", True, 32)
    for key, value in model.mvae.state_dict().items():
        assert torch.equal(value, payload["state_dict"][key]), key
    with pytest.raises(ModelError, match=r"mvae: checkpoint .*mvae_gan/model.pt was trained as mvae_gan, not mvae"):
        Mvae(checkpoint=str(checkpoints["mvae_gan"]))
    with pytest.raises(ModelError, match="mvae_gan: checkpoint not found"):
        MvaeGan(checkpoint=str(tmp_path / "none.pt"))


def test_resume_continues_exactly(checkpoints, tmp_path):
    """The GAN model, both optimisers and the KL warm-up's step count: 2 steps straight equal 1, then 1 resumed."""
    common = dict(model="mvae_gan", suite=str(checkpoints["suite"]), config="tiny", batch_size=2, progress=False)
    straight = train(TrainRequest(**common, steps=2, out=tmp_path / "straight"))
    train(TrainRequest(**common, steps=1, out=tmp_path / "split"))
    resumed = train(TrainRequest(**common, steps=2, out=tmp_path / "split", resume=True))
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    assert int(b["state_dict"]["steps_done"]) == 2 and set(a["optimizer"]) == {"model", "discriminator"}
    for name in a["optimizer"]:
        for index, state in a["optimizer"][name]["state"].items():
            assert torch.equal(state["exp_avg_sq"], b["optimizer"][name]["state"][index]["exp_avg_sq"])
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key


def test_mvae_gan_can_start_from_a_trained_mvae(checkpoints):
    recipe = load_recipe("mvae_gan")
    suite = load_suite(str(checkpoints["suite"]))
    source = torch.load(checkpoints["mvae"], weights_only=True)["state_dict"]
    config = recipe.make_config("tiny", suite, {"batch_size": 2})
    assert config.init_from == "bundled" and make_config("gan", "full", "smmnist", 1, 64, 5, 10).init_from == ""
    model = recipe.build(MvaeConfig(**{**config.to_dict(), "init_from": str(checkpoints["mvae"])}))
    state = model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in source.items() if k != "steps_done")
    assert int(model.steps_done) == 0 and any(k.startswith("discriminator.") for k in state)
    with pytest.raises(VBenchError, match=r"init_from: .*mvae_gan/model.pt was trained as mvae_gan, not mvae"):
        recipe.build(MvaeConfig(**{**config.to_dict(), "init_from": str(checkpoints["mvae_gan"])}))
    with pytest.raises(VBenchError, match="does not fit this config"):
        recipe.build(MvaeConfig(**{**config.to_dict(), "z_dim": 3, "init_from": str(checkpoints["mvae"])}))
    with pytest.raises(ValueError, match="init_from is for mvae_gan"):
        MvaeConfig(**{**TINY, "init_from": "bundled"})


def _predict(model, context, videos, samples, t=3):
    return predict_checked(model, model.name, context, t, SampleRNG(7, videos, samples))


@pytest.mark.parametrize("name", ["mvae", "mvae_gan"])
def test_samples_come_from_the_sample_rng_whatever_the_batch(checkpoints, name):
    model = resolve_model(name, {}, str(checkpoints[name]))
    jolt(model.mvae, torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)
    context = video(b=4, t=2, size=64)                                     # the suite's 64 px; the harness resizes
    torch.manual_seed(0)
    whole = _predict(model, context, [0, 1, 2, 3], range(3))               # [4, 3, 3, 1, 64, 64]
    torch.manual_seed(1)                                                   # torch's global RNG plays no part
    assert torch.equal(whole, _predict(model, context, [0, 1, 2, 3], range(3)))
    alone = _predict(model, context[2:3], [2], range(3))
    later = _predict(model, context[[3, 1]], [3, 1], range(1, 3))         # other videos, samples 1..2 only
    # float rounding of batched convolutions, grown by the closed loop through the jolted weights (up to
    # ~5e-3 here), far below the difference between two samples (~1)
    assert torch.allclose(whole[2], alone[0], atol=2e-2)
    assert torch.allclose(whole[[3, 1], 1:], later, atol=2e-2)
    assert (whole[0, 0] - whole[0, 1]).abs().max() > 0.2                  # samples differ through z


def test_only_mvae_reports_a_negative_elbo_per_video_independent_of_the_batch(checkpoints):
    model = Mvae(checkpoint=str(checkpoints["mvae"]))
    clip = video(b=3, t=5, size=32)
    values = model.negative_elbo(clip[:, :2], clip[:, 2:], SampleRNG(0, [0, 1, 2], range(2)))
    assert values.shape == (3,) and torch.isfinite(values).all() and (values > 0).all()
    alone = model.negative_elbo(clip[1:2, :2], clip[1:2, 2:], SampleRNG(0, [1], range(2)))
    assert torch.allclose(alone, values[1:2], rtol=1e-5)
    assert not hasattr(MvaeGan(checkpoint=str(checkpoints["mvae_gan"])), "negative_elbo")


def test_runner_scores_both_models_and_stores_mvaes_negative_elbo(checkpoints, tmp_path):
    store = tmp_path / "store.sqlite"
    for name in ("mvae", "mvae_gan"):
        run_id = run(RunRequest(suite=str(checkpoints["suite"]), model=name, checkpoint=str(checkpoints[name]),
                                store=store, batch_size=4, progress=False))
        with Store(store) as s:
            record = s.run(run_id)
        assert record.status == "finished" and 0 < record.summary.metrics["ssim"].best.mean <= 1
        assert (record.summary.negative_elbo is not None) == (name == "mvae")


# ---------------------------------------------------------------------------------------------
# The sharpness measure


def test_gradient_energy_by_hand_and_blur_lowers_it():
    flat = torch.full((1, 8, 8), 0.3)
    step = torch.zeros(1, 8, 8)
    step[..., 4:] = 1.0                                                    # one vertical edge of height 1
    ramp = torch.zeros(1, 8, 8)
    ramp[..., 2:] = torch.tensor([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])          # the same edge over 4 pixels
    # 7 x 7 positions; the step: one column of dx = 1 -> 7 / 49; the ramp: four columns of dx = 1/4 -> 7 * 4 / 16 / 49
    energies = gradient_energy(torch.stack([flat, step, ramp]))
    assert energies.tolist() == pytest.approx([0.0, 1 / 7, 1 / 28])
    assert gradient_energy(torch.stack([step, ramp])[None]).shape == (1, 2)


def test_sample_sharpness_of_a_model_and_of_the_truth(checkpoints):
    suite = load_suite(str(checkpoints["suite"]))
    model = resolve_model("mvae", {}, str(checkpoints["mvae"]))
    result = sample_sharpness(model, suite, num_videos=2, num_samples=2)
    assert set(result) == {"samples", "truth"} and result["truth"] > 0 and result["samples"] >= 0
    copy_last = resolve_model("copy_last")
    copied = sample_sharpness(copy_last, suite, num_videos=2, num_samples=1)
    assert copied["samples"] == pytest.approx(copied["truth"], rel=0.3)    # copies of true frames: as sharp as the truth


def test_bundled_checkpoints_are_the_default_for_smmnist(tmp_path):
    for cls, name in ((Mvae, "mvae"), (MvaeGan, "mvae_gan")):
        model = cls()
        assert model.bundled and model.trained_on == "smmnist-mini" and model.steps_trained == model.config.steps
        assert bundled_checkpoint(name).stat().st_size < 3e6
        with pytest.raises(ModelError, match=rf"bundled checkpoint is for SM-MNIST suites with 5 context frames.*"
                                             rf"vbench train --model {name}"):
            _predict(model, video(b=1, t=2, size=64), [0], [0])


@pytest.mark.parametrize("name", ["mvae", "mvae_gan"])
def test_the_tiny_config_is_the_bundled_checkpoints_config(name):
    """`vbench train --model NAME --suite smmnist-mini --config tiny` (checkpoints/README.md) trains the bundled config."""
    config = load_recipe(name).make_config("tiny", load_suite("smmnist-mini"))
    saved = torch.load(bundled_checkpoint(name), weights_only=True)["config"]
    assert MvaeConfig.from_dict(saved) == config          # (keys added since the checkpoint take their defaults)


def test_bundled_mvae_gan_draws_sharper_samples_than_mvae_and_mvae_draws_distinct_ones():
    """The README's comparison on 4 test videos x 3 samples (16 x 10 there: 0.0545 against 0.0029)."""
    suite = load_suite("smmnist-mini")
    blurry, sharp = (sample_sharpness(cls(), suite, num_videos=4, num_samples=3) for cls in (Mvae, MvaeGan))
    assert sharp["samples"] > 5 * blurry["samples"] and blurry["truth"] == sharp["truth"]
    model = Mvae()
    samples = _predict(model, torch.rand(2, 5, 1, 64, 64), [0, 1], range(2), t=4)
    assert (samples[:, 0] - samples[:, 1]).abs().amax((1, 2, 3, 4)).min() > 0.01
