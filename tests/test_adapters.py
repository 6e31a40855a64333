import pytest
import torch

from conftest import REPO
from vbench.adapters import (SampleRNG, generate_checked, parse_model_args, predict_checked, repeat_per_sample,
                             resolve_model, sample_seed)
from vbench.errors import ModelError

TEST_MODELS = str(REPO / "tests" / "models_for_tests.py")


def _context(b=2, t=3, c=1, h=16):
    return torch.rand(b, t, c, h, h, generator=torch.Generator().manual_seed(0))


def test_resolve_short_name_module_path_and_file():
    assert resolve_model("copy_last").name == "copy_last"
    assert resolve_model("baselines.trivial:NoisyCopyLast", {"sigma": 0.3}).sigma == 0.3
    assert resolve_model(f"{TEST_MODELS}:Faulty", {"fault": "nan"}).fault == "nan"


def test_unknown_model_suggests_names():
    with pytest.raises(ModelError, match="unknown model 'copy_lst'. Did you mean copy_last"):
        resolve_model("copy_lst")
    with pytest.raises(ModelError, match="has no attribute 'Faulyt'. Did you mean Faulty"):
        resolve_model(f"{TEST_MODELS}:Faulyt")
    with pytest.raises(ModelError, match="file not found"):
        resolve_model("nowhere/model.py:Model")
    with pytest.raises(ModelError, match="cannot import module"):
        resolve_model("no_such_package.mod:Model")


def test_bad_constructor_arguments_are_named():
    with pytest.raises(ModelError, match=r"does not accept the arguments \['sigmaa'\]"):
        resolve_model("noisy_copy_last", {"sigmaa": 1})
    with pytest.raises(ModelError, match="constructing it failed: ValueError: sigma must be >= 0"):
        resolve_model("noisy_copy_last", {"sigma": -1})


def test_parse_model_args_types():
    assert parse_model_args(["a=1", "b=0.5", "c=true", "d=hello", "e=", "f=[1, 2]"]) == \
        {"a": 1, "b": 0.5, "c": True, "d": "hello", "e": "", "f": [1, 2]}
    with pytest.raises(ModelError, match="expected key=value"):
        parse_model_args(["novalue"])


@pytest.mark.parametrize("fault,message", [
    ("nan", r"1 NaN/Inf values"),
    ("inf", r"NaN/Inf"),
    ("shape", r"output shape \[2, 4, 5, 1, 16, 15\], expected .* \[2, 4, 5, 1, 16, 16\]"),
    ("dtype", r"dtype torch.uint8, expected a floating point"),
    ("range", r"outside the model's declared value_range \[0, 1\]"),
    ("samples", r"returned 1 samples per video, asked for 4"),
    ("raise", r"predict\(\) raised RuntimeError: CUDA out of memory"),
    ("list", r"must return a torch.Tensor, got list"),
    ("device", r"output on meta, expected on cpu"),
])
def test_every_contract_breach_names_model_videos_and_rule(fault, message):
    model = resolve_model(f"{TEST_MODELS}:Faulty", {"fault": fault})
    rng = SampleRNG(0, [10, 11], range(4))
    with pytest.raises(ModelError, match=f"model 'faulty', test videos 10..11: .*{message}"):
        predict_checked(model, "faulty", _context(), 5, rng)


class _OnGPU(torch.Tensor):
    """A CPU tensor that says it is on GPU `index`, as a model's output there does (this machine
    may have no GPU); operations on it give plain tensors."""
    index = 0
    __torch_function__ = torch._C._disabled_torch_function_impl

    @property
    def device(self) -> torch.device:
        return torch.device("cuda", self.index)


class _Generator:
    task = "generation"

    def __init__(self, index: int):
        self.index = index

    def generate(self, num_videos, rng, num_frames):
        out = torch.rand(num_videos, num_frames, 1, 16, 16).as_subclass(_OnGPU)
        out.index = self.index
        return out


def test_output_on_the_current_gpu_passes_an_unindexed_cuda_device(monkeypatch):
    """Generation suites hand models `SampleRNG(..., device=cuda)`, no index: an output on cuda:0
    (the current GPU) is where it should be; one on another GPU is not."""
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    rng = SampleRNG(0, [0, 1], [0], device=torch.device("cuda"))
    out = generate_checked(_Generator(0), "gen", 10, 1, 16, rng)
    assert out.shape == (2, 10, 1, 16, 16)
    with pytest.raises(ModelError, match="output on cuda:1, expected on cuda "):
        generate_checked(_Generator(1), "gen", 10, 1, 16, rng)


def test_value_range_and_resolution_are_converted():
    model = resolve_model(f"{TEST_MODELS}:SignedRange")
    out = predict_checked(model, "signed", _context(h=64), 4, SampleRNG(0, [0, 1], range(3)))
    assert out.shape == (2, 3, 4, 1, 64, 64)
    assert 0 <= out.min() and out.max() <= 1


def test_sample_rng_is_per_video_and_sample():
    whole = SampleRNG(7, [3, 4, 5], range(6)).randn(2)                    # [3, 6, 2]
    part = SampleRNG(7, [4], range(2, 4)).randn(2)                        # video 4, samples 2..3
    assert torch.equal(whole[1, 2:4], part[0])
    assert not torch.equal(whole[0, 0], whole[0, 1])
    assert sample_seed(7, 4, 2) != sample_seed(7, 2, 4) != sample_seed(8, 4, 2)


def test_repeat_per_sample_lines_up_with_the_rngs_flattened_draws():
    videos = torch.arange(3.0).view(3, 1, 1)                              # [B=3, 1, 1], video b holds b
    rng = SampleRNG(7, [10, 11, 12], range(4))
    rows = repeat_per_sample(videos, 4)                                   # [12, 1, 1]
    noise = rng.randn(2).flatten(0, 1)                                    # [12, 2]
    assert rows.shape == (12, 1, 1)
    for b in range(3):
        for s in range(4):
            assert rows[b * 4 + s].item() == b
            assert torch.equal(noise[b * 4 + s], SampleRNG(7, [10 + b], [s]).randn(2)[0, 0])


def test_copy_last_is_deterministic_copy():
    ctx = _context()
    out = predict_checked(resolve_model("copy_last"), "copy_last", ctx, 3, SampleRNG(0, [0, 1], [0]))
    assert torch.equal(out[:, 0, 2], ctx[:, -1])


def test_one_registry_names_every_bundled_model_its_adapter_recipe_and_task():
    """vbench.models.BUNDLED is the one list: run, train and `ls models` read it, and each entry's task
    is the one its adapter class declares, its recipe importable."""
    from vbench.adapters import MODELS, import_model_class
    from vbench.models import BUNDLED, trainable
    from vbench.train import RECIPES, load_recipe
    assert MODELS == {name: model.adapter for name, model in BUNDLED.items()}
    assert sorted(RECIPES) == trainable() and set(trainable()) < set(BUNDLED)
    for name, model in BUNDLED.items():
        assert getattr(import_model_class(model.adapter), "task", "prediction") == model.task, name
        if model.recipe:
            assert load_recipe(name) is not None


def test_ls_models_shows_task_and_whether_it_trains(capsys):
    from vbench.cli import main
    assert main(["ls", "models"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "generation" in lines["vglann"] and "trainable" in lines["vglann"]
    assert "prediction" in lines["copy_last"] and "fixed" in lines["copy_last"]
