"""SAVP family (`savp_det`, `savp_vae`, `savp_gan`, `savp`): sizes against the cited figures, layer shapes, the
transformation heads against independent references, schedules, losses, the spec's tiny checks (§4.6), a
short stable training, checkpoints, resume, noise determinism and the harness end to end."""

import functools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from baselines.savp.adapter import Savp, SavpDet, SavpGan, SavpVae
from baselines.savp.config import DATASETS, SavpConfig, make_config
from baselines.savp.model import SAVP, cosine_distance, kl_standard, random_window
from baselines.savp.nets import apply_cdna, apply_dna, apply_flows, identity_kernel, pad_symmetric
from baselines.savp.recipe import SAVP as SAVP_RECIPE
from baselines.savp.recipe import SAVP_DET, SAVP_GAN, SAVP_VAE
from baselines.loading import bundled_checkpoint
import baseline_helpers
from baseline_helpers import millions, tiny_checkpoints
from vbench.adapters import MODELS, SampleRNG, predict_checked, resolve_model
from vbench.errors import ModelError, VBenchError
from vbench.runner import RunRequest, run
from vbench.store import Store
from vbench.train import RECIPES, Amp, TrainRequest, load_checkpoint, set_learning_rate, train

RECIPE_OF = {"det": SAVP_DET, "vae": SAVP_VAE, "gan": SAVP_GAN, "savp": SAVP_RECIPE}
ADAPTERS = {"det": SavpDet, "vae": SavpVae, "gan": SavpGan, "savp": Savp}
NAMES = {"det": "savp_det", "vae": "savp_vae", "gan": "savp_gan", "savp": "savp"}

# The spec's tiny setup (baselines.md §4.6): 3x32x32, n_ctx 2, sequence 6, ngf 8, nef 8, ndf 8, nz 4, CDNA K = 2
# of 5x5, clip_length 4, batch 2, the SAVP loss weights; scheduled sampling k small so both input paths run.
SAVP_WEIGHTS = dict(l1_weight=100.0, kl_weight=1.0, gan_weight=0.1, vae_gan_weight=0.1, vae_gan_fm_weight=10.0)
TINY = dict(image_size=32, channels=3, n_ctx=2, n_train_fut=4, ngf=8, nef=8, ndf=8, nz=4, num_transformed=2,
            kernel_size=5, clip_length=4, batch_size=2, lr=1e-3, d_lr=2e-4, schedule_sampling_k=2.0,
            kl_anneal_start=0, kl_anneal_end=0, lr_decay_start=100, lr_decay_end=200)
VARIANT_WEIGHTS = {"det": dict(nz=0, l1_weight=1.0), "vae": dict(l1_weight=1.0, kl_weight=1e-3),
                   "gan": dict(l1_weight=100.0, gan_weight=0.1, gan_fm_weight=10.0), "savp": SAVP_WEIGHTS}
AMP = Amp(torch.device("cpu"), False, torch.bfloat16)

moving_squares = functools.partial(baseline_helpers.moving_squares, b=2, t=6, c=3)   # [B, T, C, S, S], this file's defaults


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_config(variant="savp", **overrides) -> SavpConfig:
    return SavpConfig(**{**TINY, "variant": variant, **VARIANT_WEIGHTS[variant], **overrides})


def tiny(variant="savp", **overrides) -> SAVP:
    torch.manual_seed(0)
    return SAVP(tiny_config(variant, **overrides))




# ---------------------------------------------------------------------------------------------
# Paper-size configs: parameter counts and shapes

def _counts(model: SAVP) -> dict[str, float]:
    return {"generator": millions(model.generator), "encoder": millions(model.encoder),
            "gan_discriminator": millions(model.gan_discriminator),
            "vae_gan_discriminator": millions(model.vae_gan_discriminator), "total": millions(model)}


# The spec's only figures (§8.2, [S], Gao et al. 2021): SAVP 17.6 M, SAVP-VAE 7.3 M parameters. They match the
# nz = 8 configurations (BAIR's, the released default); with KTH's nz = 32 the counts are 18.5 M and 8.2 M.
CITED = {("bair", "savp"): 17.6, ("bair", "vae"): 7.3}


@pytest.mark.parametrize("dataset,channels,n_ctx", [("bair", 3, 2), ("kth", 1, 10)])
def test_full_config_parameter_counts(dataset, channels, n_ctx):
    """savp holds every network of the family; savp_vae is its generator and encoder, savp_gan adds the GAN
    discriminator (the same shapes: the variants differ in their losses), savp_det has no latent input."""
    det = SAVP(make_config("det", "full", dataset, channels, 64, n_ctx, 10))
    full = SAVP(make_config("savp", "full", dataset, channels, 64, n_ctx, 10))
    parts = _counts(full)
    counts = {"det": millions(det), "vae": parts["generator"] + parts["encoder"],
              "gan": parts["generator"] + parts["encoder"] + parts["gan_discriminator"], "savp": parts["total"]}
    print(f"savp {dataset}: " + ", ".join(f"{k} {v:.3f} M" for k, v in parts.items())
          + "\n  totals: " + ", ".join(f"{NAMES[v]} {n:.3f} M" for v, n in counts.items()))
    for (cited_dataset, variant), expected in CITED.items():
        if cited_dataset == dataset:
            assert counts[variant] == pytest.approx(expected, abs=0.06), variant
    assert parts["gan_discriminator"] == parts["vae_gan_discriminator"] > 5.0
    assert det.encoder is None and det.gan_discriminator is None and counts["det"] < parts["generator"]
    gan = make_config("gan", "full", dataset, channels, 64, n_ctx, 10)
    assert (gan.nz, gan.gan_weight > 0, gan.vae_gan_weight) == (full.config.nz, True, 0)   # same networks as counted


def test_full_configs_follow_the_spec_table():
    bair = {v: make_config(v, "full", "bair", 3, 64, 2, 10) for v in ("det", "vae", "gan", "savp")}
    kth = {v: make_config(v, "full", "kth", 1, 64, 10, 10) for v in ("det", "vae", "gan", "savp")}
    rows = {v: (c.nz, c.l1_weight, c.kl_weight, c.gan_weight, c.vae_gan_weight, c.gan_fm_weight, c.vae_gan_fm_weight,
                c.lr, c.beta1, c.batch_size) for v, c in bair.items()}
    assert all(c.d_lr == c.lr for c in bair.values())                  # one lr for G and D in the paper
    assert rows == {"det": (0, 1, 0, 0, 0, 0, 0, 1e-3, 0.9, 32), "vae": (8, 1, 1e-3, 0, 0, 0, 0, 1e-3, 0.9, 32),
                    "gan": (8, 100, 0, 0.1, 0, 10, 0, 2e-4, 0.5, 16), "savp": (8, 100, 1.0, 0.1, 0.1, 0, 10, 2e-4, 0.5, 16)}
    assert (kth["vae"].nz, kth["vae"].kl_weight, kth["savp"].kl_weight, kth["savp"].sequence_length) == (32, 1e-5, 0.01, 20)
    assert (bair["savp"].n_ctx, bair["savp"].sequence_length) == (2, 12)
    c = bair["savp"]
    assert (c.ngf, c.nef, c.ndf, c.clip_length, c.num_transformed, c.kernel_size, c.transformation) == (32, 64, 32, 10, 4, 5, "cdna")
    assert (c.steps, c.kl_anneal_start, c.kl_anneal_end, c.lr_decay_start, c.lr_decay_end, c.schedule_sampling_k) == \
        (300_000, 50_000, 100_000, 200_000, 300_000, 900.0)
    assert c.recon_pass == "posterior"                                  # the released savp_gan behaviour
    assert DATASETS["smmnist-mini"] == DATASETS["bair"]                 # SM-MNIST: BAIR's values (a choice)
    with pytest.raises(ValueError, match="no paper-size SAVP config for dataset 'cityscapes'"):
        make_config("savp", "full", "cityscapes", 3, 128, 2, 10)
    with pytest.raises(ValueError, match=r"image_size must be one of \(32, 64\)"):
        make_config("savp", "full", "bair", 3, 128, 2, 10)


def test_tiny_config_for_smmnist_mini():
    c = make_config("savp", "tiny", "smmnist-mini", 1, 64, 5, 10)
    assert (c.image_size, c.ngf, c.nef, c.ndf, c.nz, c.num_transformed, c.clip_length) == (32, 8, 8, 8, 4, 2, 4)
    assert (c.n_ctx, c.n_train_fut, c.channels) == (5, 5, 1)           # at most 5 predicted frames (CPU time)
    assert SAVP_RECIPE.clip_frames(c) == 10
    assert (c.l1_weight, c.kl_weight, c.gan_weight, c.vae_gan_weight, c.vae_gan_fm_weight) == (100, 1.0, 0.1, 0.1, 10)
    assert 0 < c.kl_anneal_start < c.kl_anneal_end < c.lr_decay_start < c.lr_decay_end == c.steps
    assert make_config("det", "tiny", "smmnist-mini", 1, 64, 5, 10).nz == 0
    longer = make_config("savp", "tiny", "smmnist-mini", 1, 64, 5, 10, {"steps": 5 * c.steps})
    assert longer.steps == 5 * c.steps and longer.lr_decay_end == c.lr_decay_end   # --steps leaves the schedules


def test_config_file_and_values_are_checked(tmp_path):
    path = tmp_path / "savp.yaml"
    path.write_text("base: tiny\nclip_lenght: 5\n")
    with pytest.raises(ValueError, match=r"unknown SAVP config key 'clip_lenght' \(did you mean 'clip_length'\?\)"):
        make_config("savp", str(path), "smmnist-mini", 1, 64, 5, 10)
    path.write_text("base: tiny\ntransformation: dna\nrecon_pass: prior\n")
    config = make_config("gan", str(path), "smmnist-mini", 1, 64, 5, 10, {"steps": 7})
    assert (config.transformation, config.recon_pass, config.steps, config.variant) == ("dna", "prior", 7, "gan")
    path.write_text("base: tiny\nvariant: savp\n")
    with pytest.raises(ValueError, match=r"variant 'savp' does not match the model \(savp_vae\)"):
        make_config("vae", str(path), "smmnist-mini", 1, 64, 5, 10)
    with pytest.raises(ValueError, match="nz must be 0 for det"):
        SavpConfig(variant="det", nz=8)
    with pytest.raises(ValueError, match="nz must be 0 for det and >= 1"):
        SavpConfig(variant="vae", nz=0)
    with pytest.raises(ValueError, match=r"must cover clip_length"):
        tiny_config("savp", n_ctx=2, n_train_fut=2)
    with pytest.raises(ValueError, match="transformation must be one of"):
        tiny_config("savp", transformation="stp")


def _relu_shapes(module, run) -> list[tuple[int, ...]]:
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in module.modules() if isinstance(m, torch.nn.ReLU)]
    run()
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize("size", [64, 32])
def test_generator_levels_and_discriminator_shapes(size):
    """Encoder 32/64/128 at 32/16/8 px, decoder 64/32/32 at 16/32/64 px (64 px; spec §4.2); at 32 px two levels.
    The video discriminator's last map is 8 ndf x 4 x 8 x 8 for a 10-frame 64 px clip (spec §4.4)."""
    config = make_config("gan", "full", "bair", 3, size, 2, 10)
    model = SAVP(config).eval()
    image = torch.rand(1, 3, size, size)
    with torch.no_grad():
        shapes = _relu_shapes(model.generator, lambda: model.generator(image, image, torch.randn(1, 8), None))
        _, features = model.gan_discriminator(torch.rand(1, 3, 10, size, size))
    levels = shapes[:2 * len(model.generator.enc_convs)]                 # encoder and decoder levels, in order
    if size == 64:
        assert levels == [(32, 32, 32), (64, 16, 16), (128, 8, 8), (64, 16, 16), (32, 32, 32), (32, 64, 64)]
        assert tuple(features[-1].shape[1:]) == (256, 4, 8, 8)
        assert model.generator.cdna.in_features == 128 * 8 * 8 and model.generator.cdna.out_features == 4 * 25
    else:
        assert levels == [(32, 16, 16), (64, 8, 8), (32, 16, 16), (32, 32, 32)]
        assert tuple(features[-1].shape[1:]) == (256, 4, 4, 4)
    assert model.generator.has_lstm == ([True, True, True, True, True, False] if size == 64 else [True, True, True, False])
    assert len(features) == 7


# ---------------------------------------------------------------------------------------------
# Transformations against independent references


def test_symmetric_padding_matches_numpy():
    x = torch.rand(2, 3, 6, 7)
    ours = pad_symmetric(x, 2)
    reference = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="symmetric")
    assert torch.equal(ours, torch.from_numpy(reference))


def test_cdna_is_a_per_sample_correlation_over_the_symmetric_padding():
    g = torch.Generator().manual_seed(0)
    image, kernels = torch.rand(2, 3, 9, 9, generator=g), torch.rand(2, 4, 5, 5, generator=g)
    out = apply_cdna(image, kernels)                                    # [2, 4, 3, 9, 9]
    padded = torch.from_numpy(np.pad(image.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="symmetric"))
    for n in range(2):
        for k in range(4):
            expected = F.conv2d(padded[n][:, None], kernels[n, k][None, None])[:, 0]   # [3, 9, 9]
            assert torch.allclose(out[n, k], expected, atol=1e-5)
    identity = identity_kernel(5).expand(2, 1, 5, 5)
    assert torch.allclose(apply_cdna(image, identity)[:, 0], image)
    # DNA with the same kernel at every pixel is CDNA
    per_pixel = kernels.flatten(2)[..., None, None].expand(2, 4, 25, 9, 9)
    assert torch.allclose(apply_dna(image, per_pixel), out, atol=1e-5)


def test_flow_warps_bilinearly():
    image = torch.rand(1, 2, 8, 8)
    zero = torch.zeros(1, 3, 2, 8, 8)
    assert torch.allclose(apply_flows(image, zero), image[:, None].expand(1, 3, 2, 8, 8), atol=1e-6)
    shift = torch.zeros(1, 1, 2, 8, 8)
    shift[:, :, 0] = 1.0                                                # dx = 1: output(x) = image(x + 1)
    assert torch.allclose(apply_flows(image, shift)[0, 0, :, :, :-1], image[0, :, :, 1:], atol=1e-6)
    half = torch.zeros(1, 1, 2, 8, 8)
    half[:, :, 1] = 0.5                                                 # dy = 1/2: mean of rows y and y + 1
    assert torch.allclose(apply_flows(image, half)[0, 0, :, :-1], (image[0, :, :-1] + image[0, :, 1:]) / 2, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Schedules and losses


def test_schedules_follow_the_spec():
    model = tiny("savp", **{k: getattr(make_config("savp", "full", "bair", 3, 64, 2, 10), k) for k in
                            ("schedule_sampling_k", "kl_anneal_start", "kl_anneal_end", "lr_decay_start", "lr_decay_end")})
    assert model.p_ground_truth(0) == pytest.approx(900 / 901)
    assert model.p_ground_truth(9000) == pytest.approx(900 / (900 + math.exp(10)))
    assert model.p_ground_truth(12_300) > 0.001 and model.p_ground_truth(12_400) == 0.0    # floor near 12.3k
    assert [model.kl_scale(s) for s in (0, 50_000, 75_000, 100_000, 200_000)] == [0, 0, 0.5, 1, 1]
    assert [model.config.lr_scale(s) for s in (0, 200_000, 250_000, 300_000, 400_000)] == [1, 1, 0.5, 0, 0]
    assert tiny("det", schedule_sampling_k=0).p_ground_truth(0) == 0.0                      # k = 0: autoregressive


def test_kl_and_feature_matching_formulas():
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3, 4), torch.ones(3, 4))
    assert torch.allclose(kl_standard(mu, logvar), torch.distributions.kl_divergence(q, p), atol=1e-5)
    a, b = torch.randn(2, 5, 3, 4, 4), torch.randn(2, 5, 3, 4, 4)
    na, nb = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    expected = (1 - (na * nb).sum(1)).mean()                            # 1/2 |u - v|^2 = 1 - cos for unit u, v
    assert cosine_distance(a, b).item() == pytest.approx(expected.item(), rel=1e-5)
    assert cosine_distance(a, 3 * a).item() == pytest.approx(0.0, abs=1e-6)


def test_random_windows_are_consecutive_frames():
    frames = torch.arange(7.0)[None, :, None, None, None].expand(5, 7, 1, 2, 2)
    clip = random_window(frames, 4)                                     # [5, 1, 4, 2, 2]
    assert clip.shape == (5, 1, 4, 2, 2)
    starts = clip[:, 0, 0, 0, 0]
    assert torch.equal(clip[:, 0, :, 0, 0], starts[:, None] + torch.arange(4.0)) and starts.max() <= 3


def test_generator_loss_is_the_weighted_sum_of_its_terms():
    model = tiny("savp", kl_weight=0.5)
    video = moving_squares()
    torch.manual_seed(1)
    passes = model.forward_passes(video, step=0)
    loss, logs = model.generator_loss(video, passes, step=0)
    assert set(passes) >= {"posterior", "prior", "mu", "logvar"}
    l1 = (passes["posterior"]["frames"] - video[:, 1:]).abs().mean().item()    # L1 on the posterior pass
    assert logs["l1"] == pytest.approx(l1, rel=1e-5)
    expected = 100 * l1 + 0.5 * logs["kl"] + 0.1 * logs["g_gan"] + 0.1 * logs["g_vae_gan"] + 10 * logs["fm_vae_gan"]
    assert loss.item() == pytest.approx(expected, rel=1e-5) and "fm_gan" not in logs
    kl = kl_standard(passes["mu"], passes["logvar"]).sum(-1).mean().item()      # summed over nz, mean over steps, batch
    assert logs["kl"] == pytest.approx(kl, rel=1e-5)


def test_gan_variant_trains_the_encoder_by_l1_on_the_posterior_pass():
    """The released savp_gan (default): the posterior pass feeds L1, so the encoder gets gradients with no KL;
    recon_pass=prior puts L1 on the prior pass."""
    for recon_pass in ("posterior", "prior"):
        model = tiny("gan", recon_pass=recon_pass)
        video = moving_squares()
        passes = model.forward_passes(video, step=0)
        assert set(passes) >= ({"posterior", "prior"} if recon_pass == "posterior" else {"prior"})
        _, logs = model.generator_loss(video, passes, step=0)
        assert logs["l1"] == pytest.approx((passes[recon_pass]["frames"] - video[:, 1:]).abs().mean().item(), rel=1e-5)
        assert "kl_weight" in logs and logs["kl_weight"] == 0


def test_context_latents_of_the_prior_pass_come_from_the_posterior():
    model = tiny("savp", n_ctx=3, n_train_fut=3)
    video = moving_squares(t=6)
    seen = []
    forward = model.generator.forward
    model.generator.forward = lambda image, first, z, state: seen.append(z) or forward(image, first, z, state)
    model.forward_passes(video, step=0)
    post, prior = seen[:5], seen[5:]                                    # 5 steps per pass, posterior pass first
    assert torch.equal(post[0], prior[0]) and torch.equal(post[1], prior[1])      # n_ctx - 1 = 2 observed transitions
    assert not any(torch.equal(a, b) for a, b in zip(post[2:], prior[2:]))


def test_scheduled_sampling_feeds_predictions_or_truth():
    """After the context, step t reads x_t where the mask says so, else the previous prediction: garbage in the
    true frames after the context reaches the output only through the ground-truth path."""
    model = tiny("det").eval()
    video = moving_squares(t=6)
    garbage = video.clone()
    garbage[:, 2:] = torch.rand_like(garbage[:, 2:])
    truth = torch.ones(2, 5, dtype=torch.bool)
    closed = torch.zeros(2, 5, dtype=torch.bool)
    closed[:, :2] = True                                                # n_ctx = 2
    with torch.no_grad():
        a, b = model.unroll(video, None, closed)["frames"], model.unroll(garbage, None, closed)["frames"]
        c, d = model.unroll(video, None, truth)["frames"], model.unroll(garbage, None, truth)["frames"]
    assert torch.equal(a, b)                                            # autoregressive: the true frames are unread
    assert torch.equal(c[:, :2], d[:, :2]) and not torch.allclose(c[:, 2:], d[:, 2:])
    mask = model.ground_truth_mask(64, 5, 0.5, "cpu")                   # both paths are drawn
    assert mask[:, :2].all() and 0 < mask[:, 2:].float().mean() < 1


# ---------------------------------------------------------------------------------------------
# The spec's tiny checks (§4.6)


def _step(model, variant, video, steps=1):
    """`steps` training steps as `vbench train` runs them: this step's lr, then the recipe's update."""
    recipe = RECIPE_OF[variant]
    optimizers = recipe.optimizers(model)
    history = []
    for _ in range(steps):
        set_learning_rate(optimizers, recipe.learning_rate(model.config, int(model.steps_done)))
        history.append(recipe.train_step(model, video, optimizers, AMP))
    return history, optimizers


def test_spec_tiny_checks_masks_kernels_range_and_both_discriminators_learn():
    model = tiny("savp")
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    video = moving_squares(b=2, t=6)
    history, _ = _step(model, "savp", video, steps=3)
    assert int(model.steps_done) == 3
    assert all(math.isfinite(v) for h in history for v in h.values())
    trained = model.state_dict()
    for name in ("gan_discriminator", "vae_gan_discriminator"):         # both were stepped
        assert any(not torch.equal(initial[k], trained[k]) for k in initial if k.startswith(name) and "original" in k)

    model.zero_grad(set_to_none=True)
    passes = model.forward_passes(video, step=3)
    d_loss, logs = model.discriminator_loss(video, passes)
    d_loss.backward()
    for name in ("gan_discriminator", "vae_gan_discriminator"):         # both get gradients from the D loss
        params = list(getattr(model, name).parameters())
        assert params and all(p.grad is not None and p.grad.abs().sum() > 0 for p in params), name
    assert all(p.grad is None for p in model.generator_parameters())   # the fakes were detached
    assert {"d_gan_acc", "d_vae_gan_acc", "d_acc"} <= set(logs)

    with torch.no_grad():
        passes = model.eval().forward_passes(video, step=0)
    for name in ("posterior", "prior"):
        out = passes[name]
        assert out["frames"].shape == (2, 5, 3, 32, 32)
        assert 0 <= out["frames"].min() and out["frames"].max() <= 1
        assert out["masks"].shape == (2, 5, 5, 1, 32, 32)                          # K + 3 = 5 candidates
        assert torch.allclose(out["masks"].sum(2), torch.ones(2, 5, 1, 32, 32), atol=1e-5)
        assert out["kernels"].shape == (2, 5, 2, 5, 5) and out["kernels"].min() > 0
        assert torch.allclose(out["kernels"].sum((-2, -1)), torch.ones(2, 5, 2), atol=1e-5)


@pytest.mark.parametrize("variant,extra", [("savp", dict(transformation="dna")), ("savp", dict(transformation="flow")),
                                           ("det", {}), ("vae", {}), ("gan", {})],
                         ids=["dna", "flow", "nz0-det", "vae", "gan"])
def test_every_head_and_variant_runs_a_step(variant, extra):
    model = tiny(variant, **extra)
    history, optimizers = _step(model, variant, moving_squares(b=2, t=6))
    assert all(math.isfinite(v) for v in history[0].values())
    assert set(optimizers) == ({"generator"} if variant in ("det", "vae") else {"generator", "discriminator"})
    if extra.get("transformation") == "flow":
        assert history[0]["tv"] > 0
    if extra.get("transformation") == "dna":
        with torch.no_grad():
            kernels = model.eval().forward_passes(moving_squares(), 0)["prior"]["kernels"]   # [B, S, K, 25, H, W]
        assert torch.allclose(kernels.sum(3), torch.ones_like(kernels.sum(3)), atol=1e-5)
    if variant == "det":
        assert model.encoder is None and "kl" not in history[0]


def test_learning_rate_and_step_counter_follow_the_schedule():
    model = tiny("vae", lr_decay_start=1, lr_decay_end=3)
    history, optimizers = _step(model, "vae", moving_squares(), steps=3)
    assert [h["lr"] for h in history] == pytest.approx([1e-3, 1e-3, 0.5e-3])
    assert int(model.steps_done) == 3 and "steps_done" in model.state_dict()
    gan = tiny("gan", lr_decay_start=1, lr_decay_end=3)
    _, optimizers = _step(gan, "gan", moving_squares(), steps=3)      # the lr of step 2: half of each base lr
    assert [optimizers[n].param_groups[0]["lr"] for n in ("generator", "discriminator")] == pytest.approx([0.5e-3, 1e-4])
    with pytest.raises(VBenchError, match="discriminator"):           # an optimiser the schedule does not name
        set_learning_rate(optimizers, {"generator": 1e-3})


# ---------------------------------------------------------------------------------------------
# Short training: the loss falls, the GAN stays stable


def test_a_short_tiny_training_reduces_the_l1_loss():
    model = tiny("det", channels=1)
    video = moving_squares(b=4, t=6, c=1)
    history, _ = _step(model, "det", video, steps=12)
    l1 = [h["l1"] for h in history]
    print("savp_det tiny, 12 steps on one batch: l1 " + " ".join(f"{v:.4f}" for v in l1))
    assert sum(l1[-3:]) / 3 < 0.8 * sum(l1[:3]) / 3, l1


def test_the_discriminators_learn_to_separate_real_from_generated_windows():
    """Against a frozen generator, D steps alone drive the ranked accuracy (share of (real, fake) pairs that D
    orders correctly; 0.5 = chance) towards 1 and the LSGAN loss down: the discriminators can learn, so an
    unsaturated discriminator in the joint game below means the generator keeps up, not an inert D."""
    model = tiny("savp", channels=1)
    video = moving_squares(b=4, t=6, c=1)
    with torch.no_grad():
        passes = model.forward_passes(video, step=0)
    optimizer = SAVP_RECIPE.optimizers(model)["discriminator"]
    torch.manual_seed(2)
    history = []
    for _ in range(20):
        loss, logs = model.discriminator_loss(video, passes)
        AMP.step(loss, optimizer, "d_loss")
        history.append(logs)
    print("D alone: ranked " + " ".join(f"{h['d_ranked']:.2f}" for h in history))
    assert sum(h["d_ranked"] for h in history[-5:]) / 5 > 0.9
    assert history[-1]["d_loss"] < 0.5 * history[0]["d_loss"]


def test_tiny_gan_training_is_finite_and_the_discriminators_are_not_saturated():
    """12 steps of savp on moving squares (fresh clips each step): nothing becomes NaN, and the discriminators
    neither win outright (ranked accuracy stuck at 1, thresholded accuracy at 1) nor are always wrong."""
    model = tiny("savp", channels=1)
    optimizers = SAVP_RECIPE.optimizers(model)
    torch.manual_seed(1)
    history = [SAVP_RECIPE.train_step(model, moving_squares(b=2, t=6, c=1, seed=s), optimizers, AMP) for s in range(12)]
    print("savp tiny, 12 steps: d_acc " + " ".join(f"{h['d_acc']:.2f}" for h in history)
          + "\n ranked " + " ".join(f"{h['d_ranked']:.2f}" for h in history)
          + f"\n l1 {history[0]['l1']:.4f} -> {history[-1]['l1']:.4f}")
    assert all(math.isfinite(v) for h in history for v in h.values())
    assert all(torch.isfinite(p).all() for p in model.parameters())
    for key in ("d_acc", "d_ranked", "d_gan_ranked", "d_vae_gan_ranked"):
        mean = sum(h[key] for h in history) / len(history)
        assert 0 < mean < 1, (key, [h[key] for h in history])
    assert sum(h["d_acc"] for h in history[-4:]) / 4 < 1


# ---------------------------------------------------------------------------------------------
# Checkpoints, adapters, the harness


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """model.pt of each variant after 2 tiny training steps on a 2 -> 4 SM-MNIST suite (test: 2 -> 3)."""
    return tiny_checkpoints(tmp_path_factory.mktemp("savp"), {v: NAMES[v] for v in ("det", "vae", "gan", "savp")},
                            batch_size=2, train_predicted_frames=4)


def test_models_and_recipes_are_registered():
    for variant, cls in ADAPTERS.items():
        assert MODELS[NAMES[variant]] == f"baselines.savp.adapter:{cls.__name__}"
    assert RECIPES["savp"] == "baselines.savp.recipe:SAVP" and RECIPES["savp_det"] == "baselines.savp.recipe:SAVP_DET"


def test_checkpoint_round_trip_with_weights_only(checkpoints):
    payload = torch.load(checkpoints["savp"], weights_only=True)
    assert payload["format"] == "vbench-train-v1" and payload["step"] == 2 and payload["model"] == "savp"
    assert int(payload["state_dict"]["steps_done"]) == 2
    info = json.loads((checkpoints["savp"].parent / "config.json").read_text())
    assert info["config"] == payload["config"] and info["config"]["image_size"] == 32 and info["config"]["n_ctx"] == 2
    last = torch.load(checkpoints["savp"].parent / "last.pt", weights_only=True)
    assert set(last["optimizer"]) == {"discriminator", "generator"}
    log = [json.loads(line) for line in (checkpoints["savp"].parent / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2] and {"d_loss", "d_acc", "g_loss", "l1", "kl", "p_gt"} <= set(log[-1])
    model = resolve_model("savp", {}, str(checkpoints["savp"]))
    assert (model.name, model.stochastic, model.resolution, model.min_context) == ("savp", True, 32, 2)
    for key, value in model.savp.state_dict().items():
        assert torch.equal(value, payload["state_dict"][key]), key
    assert resolve_model("savp_det", {}, str(checkpoints["det"])).stochastic is False


def test_wrong_variant_or_missing_checkpoint_is_named(checkpoints, tmp_path):
    with pytest.raises(ModelError, match=r"savp_gan: checkpoint .*savp/model.pt was trained as savp, not savp_gan"):
        SavpGan(checkpoint=str(checkpoints["savp"]))
    with pytest.raises(ModelError, match="savp_vae: checkpoint not found"):
        SavpVae(checkpoint=str(tmp_path / "none.pt"))


def test_resume_continues_exactly(checkpoints, tmp_path):
    """A GAN variant, both optimisers and the step counter: 2 steps straight equal 1 step, then 1 resumed."""
    common = dict(model="savp", suite=str(checkpoints["suite"]), config="tiny", batch_size=2, progress=False, log_every=1)
    straight = train(TrainRequest(**common, steps=2, out=tmp_path / "straight"))
    train(TrainRequest(**common, steps=1, out=tmp_path / "split"))
    resumed = train(TrainRequest(**common, steps=2, out=tmp_path / "split", resume=True))
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    assert int(a["state_dict"]["steps_done"]) == int(b["state_dict"]["steps_done"]) == 2
    assert set(a["optimizer"]) == {"generator", "discriminator"}
    for name in a["optimizer"]:
        for index, state in a["optimizer"][name]["state"].items():
            assert torch.allclose(state["exp_avg_sq"], b["optimizer"][name]["state"][index]["exp_avg_sq"], atol=1e-9)
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key].float(), b["state_dict"][key].float(), atol=1e-6), key


def _jolt(model):
    """Larger random weights, so that different noise gives clearly different frames (2 training steps do not)."""
    baseline_helpers.jolt(model.savp.generator, torch.nn.Linear, torch.nn.Conv2d)
    return model


def _predict(model, context, videos, samples, num_future=3):
    return predict_checked(model, model.name, context, num_future, SampleRNG(7, videos, samples))


def test_sampling_is_reproducible_and_independent_of_the_batch(checkpoints):
    model = _jolt(Savp(checkpoint=str(checkpoints["savp"])))
    context = moving_squares(b=4, t=2, c=1, size=64)                    # the suite's 64 px; the harness resizes
    whole = _predict(model, context, [0, 1, 2, 3], range(4))            # [4, 4, 3, 1, 64, 64]
    assert whole.shape == (4, 4, 3, 1, 64, 64)
    assert torch.equal(whole, _predict(model, context, [0, 1, 2, 3], range(4)))
    alone = _predict(model, context[2:3], [2], range(4))
    later = _predict(model, context[[3, 1]], [3, 1], range(2, 4))       # other videos, samples 2..3 only
    assert torch.allclose(whole[2], alone[0], atol=1e-5)
    assert torch.allclose(whole[[3, 1], 2:], later, atol=1e-5)
    assert (whole[0, 0] - whole[0, 1]).abs().max() > 0.05              # samples differ
    three = moving_squares(b=4, t=3, c=1, size=64)                      # more context: the last n_ctx = 2 frames
    assert torch.equal(_predict(model, three, [0, 1, 2, 3], [0]), _predict(model, three[:, 1:], [0, 1, 2, 3], [0]))


def test_det_is_deterministic_and_refuses_short_context(checkpoints):
    model = SavpDet(checkpoint=str(checkpoints["det"]))
    context = moving_squares(b=2, t=2, c=1, size=64)
    first = _predict(model, context, [0, 1], [0])
    assert torch.equal(first, _predict(model, context, [0, 1], [5]))
    with pytest.raises(ModelError, match=r"savp_det .*reads 2 context frames, the suite gives 1"):
        _predict(model, context[:, :1], [0, 1], [0])
    with pytest.raises(ModelError, match=r"reads 1-channel frames, the suite gives 3.*vbench train --model savp_det"):
        _predict(model, context.expand(2, 2, 3, 64, 64), [0, 1], [0])


def test_runner_scores_best_of_three_through_the_harness(checkpoints, tmp_path):
    store = tmp_path / "store.sqlite"
    for variant in ("savp", "det"):
        run_id = run(RunRequest(suite=str(checkpoints["suite"]), model=NAMES[variant],
                                checkpoint=str(checkpoints[variant]), store=store, batch_size=4, progress=False))
        with Store(store) as s:
            record = s.run(run_id)
        assert record.status == "finished"
        assert record.manifest["num_samples"] == (3 if variant == "savp" else 1)
        assert 0 < record.summary.metrics["ssim"].best.mean <= 1


@pytest.mark.parametrize("variant", ["det", "vae", "gan", "savp"])
def test_bundled_checkpoint_is_the_default_for_smmnist_mini(variant):
    if not bundled_checkpoint(NAMES[variant]).is_file():
        pytest.fail(f"the bundled checkpoint {bundled_checkpoint(NAMES[variant])} is missing")
    model = ADAPTERS[variant]()
    assert model.bundled and model.trained_on == "smmnist-mini" and model.steps_trained > 0
    assert (model.config.n_ctx, model.config.channels, model.resolution) == (5, 1, 32)
    assert bundled_checkpoint(NAMES[variant]).stat().st_size < 5e6
    out = _predict(model, moving_squares(b=1, t=5, c=1, size=64), [0], [0, 1], num_future=10)
    assert out.shape == (1, 2, 10, 1, 64, 64)
    with pytest.raises(ModelError, match=r"bundled checkpoint is for SM-MNIST suites with 5 context frames"):
        _predict(model, moving_squares(b=1, t=10, c=1, size=64), [0], [0])
