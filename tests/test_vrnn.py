"""hier_vrnn / vrnn_1l: sizes against the spec, shapes, the objective, the dense top-down connection,
sampling, the per-video negative ELBO, the adapters and an end-to-end run."""

import json
import math

import pytest
import torch

from baselines.vrnn.adapter import HierVrnn, Vrnn1L, bundled_checkpoint
from baselines.vrnn.config import FULL, VrnnConfig, make_config
from baselines.vrnn.model import NLL_CONSTANT, VRNN, kl_gaussians, kl_sample, torch_draw
from baselines.vrnn.nets import ResBlock
from baseline_helpers import millions, tiny_checkpoints
from conftest import write_suite
from vbench.adapters import MODELS, SampleRNG, predict_checked, resolve_model, to_model_frames
from vbench.errors import ModelError
from vbench.data import load_test_clips
from vbench.report.leaderboard import columns_of
from vbench.runner import ELBO_DRAWS, ELBO_STREAM, RunRequest, run
from vbench.suite import load_suite
from vbench.store import Store
from vbench.train import RECIPES

# The spec's tiny setup (baselines.md §5.4): 3x32x32 frames, n_ctx 2, 3 predicted steps, n_hid 8, n_z 4,
# batch 2; latents 1-4-16 fed by encoder levels 4, 3 and 1.
TINY = dict(image_size=32, channels=3, n_hid=8, n_z=4, n_ctx=2, n_train_fut=3, batch_size=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(variant="hier", **overrides) -> VRNN:
    torch.manual_seed(0)
    return VRNN(VrnnConfig(variant=variant, **{**TINY, **overrides}))


def video(b=2, t=5, c=3, size=32, seed=0) -> torch.Tensor:
    return torch.rand(b, t, c, size, size, generator=torch.Generator().manual_seed(seed))   # [B, T, C, H, W]


def fixed_draw(n, seed=0):
    return torch_draw(n, torch.zeros(()), torch.Generator().manual_seed(seed))



def jolt(model: VRNN, seed=5) -> VRNN:
    """Non-zero last layers and larger weights, so that latents and noise visibly change the outputs."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                m.weight.normal_(0, 0.3)
            elif isinstance(m, torch.nn.GroupNorm):
                m.weight.normal_(1, 0.3)
    return model


# ---------------------------------------------------------------------------------------------
# Parameter counts of the paper-size configs (baselines.md §5.1 table, "my analytic count")

def components(model: VRNN) -> dict[str, float]:
    inits = lambda levels: sum(millions(level.init) for level in levels)   # noqa: E731
    return {"encoder": millions(model.encoder),
            "renderer": millions(model.renderer) - millions(model.renderer.inits),
            "renderer init nets": millions(model.renderer.inits),
            "prior": millions(model.prior) - inits(model.prior),
            "posterior": millions(model.posterior) - inits(model.posterior),
            "prior and posterior init nets": inits(model.prior) + inits(model.posterior),
            "total": millions(model)}


def full_model(variant, dataset, channels, n_ctx) -> VRNN:
    with torch.device("meta"):          # sizes only: no memory, no initialisation cost
        return VRNN(make_config(variant, "full", dataset, channels, 64, n_ctx, 10))


SPEC_COUNTS = {"encoder": 27.7, "renderer": 84.3, "renderer init nets": 7.0, "prior": 40.1, "posterior": 40.2,
               "prior and posterior init nets": 8.7, "total": 208.0}


def test_full_hier_vrnn_parameter_counts_match_the_spec():
    counts = components(full_model("hier", "bair", 3, 2))                 # RGB, n_ctx 2
    print("hier_vrnn bair (RGB, n_ctx 2): " + ", ".join(f"{k} {v:.3f} M" for k, v in counts.items()))
    for name, expected in SPEC_COUNTS.items():
        assert counts[name] == pytest.approx(expected, abs=0.06 if name != "total" else 0.2), name
    grey5 = millions(full_model("hier", "smmnist", 1, 5))                # "with 1 channel and n_ctx = 5 it is ~261 M"
    print(f"hier_vrnn smmnist (grey, n_ctx 5): total {grey5:.3f} M")
    assert grey5 == pytest.approx(261, abs=0.5)


def test_full_vrnn_1l_parameter_count_and_a_block_counted_by_hand():
    counts = components(full_model("1l", "bair", 3, 2))
    print("vrnn_1l bair (RGB, n_ctx 2): " + ", ".join(f"{k} {v:.3f} M" for k, v in counts.items()))
    hier = components(full_model("hier", "bair", 3, 2))
    assert counts["encoder"] == hier["encoder"] and counts["renderer init nets"] == hier["renderer init nets"]
    assert counts["prior"] < hier["prior"] / 2 and counts["total"] < hier["total"]   # the spec gives no 1L count
    # ResBlock(256 -> 512) by hand: conv3x3 256->256 with bias, GN(4, 256), conv3x3 256->512 no bias,
    # GN(4, 512), 1x1 shortcut 256->512 no bias.
    by_hand = 9 * 256 * 256 + 256 + 2 * 256 + 9 * 256 * 512 + 2 * 512 + 256 * 512
    assert by_hand == 1_902_336 == sum(p.numel() for p in ResBlock(256, 512).parameters())


def test_full_configs_follow_the_spec():
    bair = make_config("hier", "full", "bair", 3, 64, 2, 10)
    assert (bair.n_hid, bair.n_z, bair.latent_sizes, bair.rec_loss, bair.prior_topdown) == (64, 10, (1, 8, 32), "l1", False)
    assert (bair.lr, bair.weight_decay, bair.batch_size, bair.beta, bair.n_ctx, bair.n_train_fut) == (1e-4, 1e-4, 16, 1.0, 2, 10)
    assert bair.beta_warmup == 20 * 2704 and bair.steps == 500 * 2704
    model = full_model("hier", "bair", 3, 2)
    assert model.widths == [64, 128, 256, 512, 512, 512] and model.z_channels == {1: 10, 8: 512, 32: 128}
    assert [m.hid for m in model.renderer.lstms] == [512, 512, 512, 256, 128, 64]
    assert make_config("hier", "full", "smmnist", 1, 64, 5, 10).rec_loss == "bce"
    assert make_config("1l", "full", "bair", 3, 64, 2, 10).latent_sizes == (1,)
    assert set(FULL) >= {"smmnist", "smmnist-mini", "bair", "cityscapes"}
    with pytest.raises(ValueError, match="no paper-size VRNN config for dataset 'kth'"):
        make_config("hier", "full", "kth", 1, 64, 10, 10)
    with pytest.raises(ValueError, match="variant 1l has the single latent_sizes"):
        VrnnConfig(variant="1l", latent_sizes=(1, 8))
    with pytest.raises(ValueError, match="latent_sizes must start at 1"):
        VrnnConfig(latent_sizes=(1, 6))


def test_config_file_is_checked_strictly(tmp_path):
    path = tmp_path / "vrnn.yaml"
    path.write_text("base: tiny\nn_hidd: 3\n")
    with pytest.raises(ValueError, match=r"unknown VRNN config key 'n_hidd' \(did you mean 'n_hid'\?\)"):
        make_config("hier", str(path), "smmnist-mini", 1, 64, 5, 10)
    path.write_text("base: tiny\nprior_topdown: true\nrec_loss: l2\n")
    config = make_config("hier", str(path), "smmnist-mini", 1, 64, 5, 10, {"steps": 7})
    assert (config.prior_topdown, config.rec_loss, config.image_size, config.steps, config.n_ctx) == (True, "l2", 32, 7, 5)
    assert VrnnConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


# ---------------------------------------------------------------------------------------------
# Shapes and the objective


def test_encoder_latent_and_renderer_shapes():
    model = tiny().eval()
    clip = video()
    embs = model.embed(clip)
    assert {r: tuple(e.shape[2:]) for r, e in embs.items()} == {32: (8, 32, 32), 16: (16, 16, 16), 8: (32, 8, 8),
                                                                   4: (64, 4, 4), 1: (64, 1, 1)}
    states = model._init_states(embs, 2, posterior=True)
    prev = {r: e[:, 1] for r, e in embs.items()}
    cur = {r: e[:, 2] for r, e in embs.items()}
    zs, stats = model.latent_step(prev, cur, states, fixed_draw(2))
    assert {r: tuple(z.shape) for r, z in zs.items()} == {1: (2, 4, 1, 1), 4: (2, 64, 4, 4), 16: (2, 16, 16, 16)}
    assert all(s["mu_q"].shape == s["logvar_p"].shape == s["z"].shape for s in stats)
    logits, _ = model.renderer(prev[1], zs, states["renderer"])
    assert logits.shape == (2, 3, 32, 32)
    one = tiny("1l").eval()
    assert one.z_channels == {1: 4} and len(one.prior) == len(one.posterior) == 1


def test_kl_starts_near_zero_and_last_layers_are_zero_initialised():
    model = tiny()
    for level in list(model.prior) + list(model.posterior):
        assert torch.equal(level.out_norm.weight, torch.zeros_like(level.out_norm.weight))
        assert 0 < level.out_norm.bias.abs().max() < 1e-2
    with torch.no_grad():
        _, kl = model._elbo_terms(video(), 2, fixed_draw(2), analytic_kl=True)
    assert (kl >= 0).all() and (kl < 0.1).all()                         # summed over 3 steps and ~5,000 latents


@pytest.mark.parametrize("variant", ["hier", "1l"])
def test_training_steps_reduce_the_loss_on_a_fixed_batch(variant):
    model = tiny(variant, beta_warmup=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = video()
    losses = []
    for _ in range(5):
        torch.manual_seed(1)      # the same posterior noise each step, so only the weights change
        loss, logs = model.training_loss(batch)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(logs["loss"])
    assert losses[-1] < losses[0], losses
    assert int(model.steps_done) == 5


def test_loss_scaling_and_beta_warmup():
    """loss = sum over frames and pixels of the reconstruction + beta * MC KL (means over the batch);
    beta rises linearly over `beta_warmup` steps (the spec's tiny setup: 2), counted in a saved buffer."""
    model = tiny(beta=0.5, beta_warmup=2, rec_loss="bce")
    batch = video(t=5)
    betas = []
    for _ in range(3):
        torch.manual_seed(3)
        loss, logs = model.training_loss(batch)
        betas.append(logs["beta"])
        assert loss.item() == pytest.approx(3 * (logs["rec"] + logs["beta"] * logs["kl"]), rel=1e-5)
    assert betas == [0.0, 0.25, 0.5]
    assert int(model.state_dict()["steps_done"]) == 3
    with torch.no_grad():
        torch.manual_seed(3)
        _, frozen = model.training_loss(batch)
    assert int(model.steps_done) == 3 and frozen["beta"] == 0.5      # no step counted without gradients
    with pytest.raises(ValueError, match="more than the 2 context frames"):
        model.training_loss(batch[:, :2])


def test_monte_carlo_kl_matches_the_analytic_kl_in_expectation():
    g = torch.Generator().manual_seed(0)
    mu_q, mu_p = torch.randn(6, generator=g), torch.randn(6, generator=g)
    lv_q, lv_p = torch.randn(6, generator=g) * 0.5, torch.randn(6, generator=g) * 0.5
    eps = torch.randn(400_000, 6, generator=g)
    mc = kl_sample(eps, mu_q, lv_q, mu_p, lv_p).mean(0)
    analytic = kl_gaussians(mu_q, lv_q, mu_p, lv_p)
    reference = torch.distributions.kl_divergence(torch.distributions.Normal(mu_q, (0.5 * lv_q).exp()),
                                                  torch.distributions.Normal(mu_p, (0.5 * lv_p).exp()))
    assert torch.allclose(analytic, reference, atol=1e-5)
    assert torch.allclose(mc, analytic, atol=0.02), (mc, analytic)


def _level_stats(model: VRNN, z1_shift: float):
    """Stats of every level at one posterior step, with the 1x1 sample shifted by z1_shift."""
    clip = video(seed=2)
    embs = model.embed(clip)
    states = model._init_states(embs, 2, posterior=True)
    prev = {r: e[:, 1] for r, e in embs.items()}
    cur = {r: e[:, 2] for r, e in embs.items()}
    base = fixed_draw(2)
    calls = []

    def draw(shape):
        eps = base(shape)
        calls.append(shape)
        return eps + z1_shift if len(calls) == 1 else eps      # the first draw is the 1x1 level's
    return model.latent_step(prev, cur, states, draw)[1]


@pytest.mark.parametrize("prior_topdown", [False, True])
def test_posterior_reads_the_coarser_samples_and_the_prior_only_with_prior_topdown(prior_topdown):
    model = jolt(tiny(prior_topdown=prior_topdown)).eval()
    with torch.no_grad():
        a, b = _level_stats(model, 0.0), _level_stats(model, 3.0)
    assert not torch.allclose(a[0]["z"], b[0]["z"])                     # the 1x1 sample moved
    assert torch.equal(a[0]["mu_q"], b[0]["mu_q"])                      # its own distribution did not
    for level in (1, 2):                                                # 4x4 and 16x16 read the coarser samples
        assert (a[level]["mu_q"] - b[level]["mu_q"]).abs().max() > 1e-3
        moved = (a[level]["mu_p"] - b[level]["mu_p"]).abs().max()
        assert (moved > 1e-3) if prior_topdown else (moved == 0)
    assert model.prior[1].topdown == (4 if prior_topdown else 0) and model.posterior[2].topdown == 4 + 64


# ---------------------------------------------------------------------------------------------
# Sampling


def test_stepwise_sampler_matches_a_full_rerun_with_the_same_latents():
    model = jolt(tiny()).eval()
    context = video(t=2)
    frames, latents = model.generate(context, 4, fixed_draw(2), return_latents=True)   # [2, 4, 3, 32, 32]
    assert frames.shape == (2, 4, 3, 32, 32) and 0 <= frames.min() and frames.max() <= 1
    rerun = model.render(torch.cat([context, frames], 1), latents)
    assert torch.allclose(rerun, frames, atol=1e-5)


def test_generation_noise_scale_and_mean():
    model = jolt(tiny()).eval()
    context = video(t=2)
    out = model.generate(context, 3, fixed_draw(2))
    assert torch.equal(out, model.generate(context, 3, fixed_draw(2)))
    assert (out - model.generate(context, 3, fixed_draw(2, seed=1))).abs().max() > 1e-3
    mean_a = model.generate(context, 3, fixed_draw(2), use_mean=True)
    mean_b = model.generate(context, 3, fixed_draw(2, seed=1), use_mean=True)
    assert torch.equal(mean_a, mean_b)
    assert torch.allclose(model.generate(context, 3, fixed_draw(2), scale_var=0.0), mean_a)
    with pytest.raises(ValueError, match="exactly 2 context frames, got 3"):
        model.generate(video(t=3), 3, fixed_draw(2))


def test_negative_elbo_is_per_video_in_nats_per_frame():
    model = tiny(rec_loss="bce").eval()
    clip = video(b=3, t=5, c=3)
    nelbo = model.negative_elbo(clip, fixed_draw(3))
    assert nelbo.shape == (3,) and torch.isfinite(nelbo).all()
    rec, kl = model._elbo_terms(clip, 2, fixed_draw(3), analytic_kl=True)
    assert torch.allclose(nelbo, (rec + kl) / 3)                        # bce: no constant
    assert (kl >= 0).all() and (nelbo > 0).all()                        # Bernoulli NLL > 0
    l1 = tiny(rec_loss="l1").eval()
    rec, kl = l1._elbo_terms(clip, 2, fixed_draw(3), analytic_kl=True)
    assert torch.allclose(l1.negative_elbo(clip, fixed_draw(3)), (rec + kl) / 3 + math.log(2) * 3 * 32 * 32)
    assert NLL_CONSTANT["l2"] == pytest.approx(0.5 * math.log(math.pi))


# ---------------------------------------------------------------------------------------------
# Adapters and checkpoints


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """model.pt of each variant after 2 tiny training steps on a 2 -> 3 SM-MNIST suite."""
    return tiny_checkpoints(tmp_path_factory.mktemp("vrnn"), {"hier_vrnn": "hier_vrnn", "vrnn_1l": "vrnn_1l"},
                            batch_size=4)


def test_models_and_recipes_are_registered():
    assert MODELS["hier_vrnn"] == "baselines.vrnn.adapter:HierVrnn" and MODELS["vrnn_1l"] == "baselines.vrnn.adapter:Vrnn1L"
    assert RECIPES["hier_vrnn"] == "baselines.vrnn.recipe:HIER_VRNN" and RECIPES["vrnn_1l"] == "baselines.vrnn.recipe:VRNN_1L"


def test_checkpoint_round_trip_with_weights_only(checkpoints):
    payload = torch.load(checkpoints["hier_vrnn"], weights_only=True)
    assert payload["format"] == "vbench-train-v1" and payload["step"] == 2
    assert int(payload["state_dict"]["steps_done"]) == 2                 # beta warm-up resumes where it stopped
    config = json.loads((checkpoints["hier_vrnn"].parent / "config.json").read_text())["config"]
    assert config == payload["config"] and config["image_size"] == 32 and config["latent_sizes"] == [1, 4, 16]
    model = resolve_model("hier_vrnn", {}, str(checkpoints["hier_vrnn"]))
    assert (model.name, model.stochastic, model.resolution, model.min_context) == ("hier_vrnn", True, 32, 2)
    for key, value in model.vrnn.state_dict().items():
        assert torch.equal(value, payload["state_dict"][key]), key


def test_missing_or_wrong_checkpoint_is_named(checkpoints, tmp_path):
    if not bundled_checkpoint("vrnn_1l").exists():
        with pytest.raises(ModelError, match=r"vrnn_1l: needs --checkpoint .*vbench train --model vrnn_1l"):
            Vrnn1L()
    with pytest.raises(ModelError, match=r"vrnn_1l: checkpoint .*hier_vrnn/model.pt was trained as hier_vrnn, not vrnn_1l"):
        Vrnn1L(checkpoint=str(checkpoints["hier_vrnn"]))
    with pytest.raises(ModelError, match="hier_vrnn: checkpoint not found"):
        HierVrnn(checkpoint=str(tmp_path / "none.pt"))
    with pytest.raises(ModelError, match="scale_var must be a number >= 0"):
        HierVrnn(checkpoint=str(checkpoints["hier_vrnn"]), scale_var=-1)


def _predict(model, context, videos, samples, t=3):
    return predict_checked(model, model.name, context, t, SampleRNG(7, videos, samples))


def test_sampling_is_reproducible_and_independent_of_the_batch(checkpoints):
    model = HierVrnn(checkpoint=str(checkpoints["hier_vrnn"]))
    jolt(model.vrnn)
    context = video(b=4, t=2, c=1, size=64)                               # the suite's 64 px; the harness resizes
    whole = _predict(model, context, [0, 1, 2, 3], range(3))            # [4, 3, 3, 1, 64, 64]
    assert torch.equal(whole, _predict(model, context, [0, 1, 2, 3], range(3)))
    alone = _predict(model, context[2:3], [2], range(3))
    later = _predict(model, context[[3, 1]], [3, 1], range(1, 3))       # other videos, samples 1..2 only
    assert torch.allclose(whole[2], alone[0], atol=1e-5)
    assert torch.allclose(whole[[3, 1], 1:], later, atol=1e-5)
    assert (whole[0, 0] - whole[0, 1]).abs().max() > 0.05               # samples differ
    longer = torch.cat([video(b=4, t=1, c=1, size=64, seed=9), context], 1)   # 3 context frames: the last 2 are used
    assert torch.equal(_predict(model, longer, [0, 1, 2, 3], range(3)), whole)
    with pytest.raises(ModelError, match="reads 2 context frames, the suite gives 1"):
        _predict(model, context[:, 1:], [0, 1, 2, 3], range(1))


def test_adapter_negative_elbo_is_per_video_and_independent_of_the_batch(checkpoints):
    model = HierVrnn(checkpoint=str(checkpoints["hier_vrnn"]))
    clip = video(b=3, t=5, c=1, size=model.resolution)                 # the harness converts to the model's size
    values = model.negative_elbo(clip[:, :2], clip[:, 2:], SampleRNG(0, [0, 1, 2], range(2)))
    assert values.shape == (3,) and torch.isfinite(values).all() and (values > 0).all()   # bce, nats per frame
    alone = model.negative_elbo(clip[1:2, :2], clip[1:2, 2:], SampleRNG(0, [1], range(2)))
    assert torch.allclose(alone, values[1:2], rtol=1e-5)


def test_runner_scores_both_models_on_a_tiny_suite(checkpoints, tmp_path):
    store = tmp_path / "store.sqlite"
    for name in ("hier_vrnn", "vrnn_1l"):
        run_id = run(RunRequest(suite=str(checkpoints["suite"]), model=name, checkpoint=str(checkpoints[name]),
                                store=store, batch_size=4, progress=False))
        with Store(store) as s:
            record = s.run(run_id)
        assert record.status == "finished" and record.manifest["num_samples"] == 3
        assert 0 < record.summary.metrics["ssim"].best.mean <= 1
        elbo = record.summary.negative_elbo
        assert len(elbo.per_video) == record.summary.num_videos and elbo.draws == ELBO_DRAWS
        # the stored value is the model's own negative ELBO of the true future, from the ELBO streams
        suite = load_suite(str(checkpoints["suite"]))
        clip = torch.from_numpy(load_test_clips(suite)[[1]]).float() / 255.0        # [1, T, C, H, W]
        model = resolve_model(name, {}, str(checkpoints[name]))
        direct = model.negative_elbo(to_model_frames(model, clip[:, :suite.context_frames]),
                                     to_model_frames(model, clip[:, suite.context_frames:]),
                                     SampleRNG(suite.seed, [1], range(ELBO_STREAM, ELBO_STREAM + ELBO_DRAWS)))
        assert elbo.per_video[1] == pytest.approx(float(direct[0]), rel=1e-5)
    with Store(store) as s:
        assert "−ELBO" in [c["label"] for c in columns_of(s.runs())]


def test_bundled_checkpoint_is_the_default_for_smmnist_and_refuses_other_suites(tmp_path):
    suite = write_suite(tmp_path, num_videos=2, num_samples=2)
    store = tmp_path / "store.sqlite"
    run_id = run(RunRequest(suite=str(suite), model="hier_vrnn", store=store, progress=False))
    with Store(store) as s:
        assert s.run(run_id).status == "finished"
    model = HierVrnn()
    assert model.bundled and model.trained_on == "smmnist-mini" and model.steps_trained == model.config.steps
    assert bundled_checkpoint("hier_vrnn").stat().st_size < 2e6 and model.config.rec_loss == "bce"
    with pytest.raises(ModelError, match=r"the model reads 1-channel frames, the suite gives 3.*vbench train --model hier_vrnn"):
        _predict(model, video(b=1, t=5, c=3, size=64), [0], [0])
    with pytest.raises(ModelError, match=r"bundled checkpoint is for SM-MNIST suites with 5 context frames, this suite "
                                         r"gives 10.*vbench train"):
        _predict(model, video(b=1, t=10, c=1, size=64), [0], [0])


def test_a_non_finite_elbo_fails_the_run_with_the_model_named(checkpoints, tmp_path, monkeypatch):
    monkeypatch.setattr(HierVrnn, "negative_elbo", lambda self, context, future, rng: torch.full((len(context),), math.nan))
    with pytest.raises(ModelError, match=r"model 'hier_vrnn': negative_elbo must return 4 finite values"):
        run(RunRequest(suite=str(checkpoints["suite"]), model="hier_vrnn", checkpoint=str(checkpoints["hier_vrnn"]),
                       store=tmp_path / "s.sqlite", batch_size=4, progress=False))
