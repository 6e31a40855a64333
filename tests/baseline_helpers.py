"""Helpers shared by the tests of the bundled baselines (svg, savp, vrnn, vgan, vglann)."""

from __future__ import annotations

import torch


def millions(module) -> float:
    """Parameters of `module` in millions (0 for None)."""
    return sum(p.numel() for p in module.parameters()) / 1e6 if module is not None else 0.0


def moving_squares(b: int, t: int, c: int = 1, size: int = 32, seed: int = 0) -> torch.Tensor:
    """[B, T, C, S, S] in [0, 1]: a bright 8x8 square moving with a random constant velocity over a dim noise floor."""
    g = torch.Generator().manual_seed(seed)
    video = torch.rand(b, t, c, size, size, generator=g) * 0.1
    start = torch.randint(0, size - 8, (b, 2), generator=g)
    speed = torch.randint(-2, 3, (b, 2), generator=g)
    for i in range(b):
        for k in range(t):
            y, x = ((start[i] + speed[i] * k) % (size - 8)).tolist()
            video[i, k, :, y:y + 8, x:x + 8] = 1.0
    return video


def jolt(network: torch.nn.Module, *layer_types: type) -> None:
    """Redraw the weights of `network`'s layers of `layer_types` from N(0, 0.3^2) (seed 5): briefly trained
    tiny models barely react to their noise, so tests of noise determinism first make them react."""
    torch.manual_seed(5)
    with torch.no_grad():
        for m in network.modules():
            if isinstance(m, layer_types):
                m.weight.normal_(0, 0.3)


def predict(model, context: torch.Tensor, videos, samples, num_future: int = 3, seed: int = 7) -> torch.Tensor:
    """`model`'s checked predictions of `context` with the SampleRNG of (seed, videos, samples)."""
    from vbench.adapters import SampleRNG, predict_checked
    return predict_checked(model, model.name, context, num_future, SampleRNG(seed, list(videos), list(samples)))


def assert_samples_do_not_depend_on_the_batch(model, context: torch.Tensor, samples: int = 3,
                                              atol: float = 1e-5) -> torch.Tensor:
    """Predictions of the 4 videos of `context` x `samples` samples are reproducible, and video 2 alone, or
    videos 3 and 1 with samples 1.. only, get the same frames as in the whole batch. -> the whole batch."""
    whole = predict(model, context, range(4), range(samples))
    assert torch.equal(whole, predict(model, context, range(4), range(samples)))
    assert torch.allclose(whole[2], predict(model, context[2:3], [2], range(samples))[0], atol=atol)
    later = predict(model, context[[3, 1]], [3, 1], range(1, samples))      # other videos, later samples only
    assert torch.allclose(whole[[3, 1], 1:], later, atol=atol)
    return whole


def assert_same_training_state(a: dict, b: dict, steps: int) -> None:
    """Two `last.pt` payloads (a straight run, a resumed one) hold the same step, weights and Adam moments."""
    assert a["step"] == b["step"] == steps and set(a["optimizer"]) == set(b["optimizer"])
    for key in a["state_dict"]:
        assert torch.allclose(a["state_dict"][key].float(), b["state_dict"][key].float(), atol=1e-6), key
    for name in a["optimizer"]:
        for index, state in a["optimizer"][name]["state"].items():
            assert int(state["step"]) == steps
            assert torch.allclose(state["exp_avg_sq"], b["optimizer"][name]["state"][index]["exp_avg_sq"], atol=1e-9)


def finished_run(store, **request):
    """Score a model with `vbench.runner.run(RunRequest(store=store, **request))`; -> the stored run record."""
    from vbench.runner import RunRequest, run
    from vbench.store import Store
    run_id = run(RunRequest(store=store, progress=False, **request))
    with Store(store) as s:
        return s.run(run_id)


def tiny_checkpoints(root, models: dict, batch_size: int, train_predicted_frames: int = 3) -> dict:
    """`model.pt` of each model after 2 tiny training steps on a 2 -> 3 SM-MNIST suite written in `root`
    (training clips 2 -> `train_predicted_frames`); -> {"suite": its path, key: checkpoint} for
    `models` = {key: model name}."""
    from conftest import write_suite
    from vbench.train import TrainRequest, train
    suite = write_suite(root, context_frames=2, predicted_frames=3, train_context_frames=2,
                        train_predicted_frames=train_predicted_frames)
    out = {"suite": suite}
    for key, model in models.items():
        folder = train(TrainRequest(model=model, suite=str(suite), config="tiny", steps=2, batch_size=batch_size,
                                    out=root / key, progress=False, log_every=1))
        out[key] = folder / "model.pt"
    return out
