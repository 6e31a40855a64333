import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import yaml

from conftest import REPO, write_suite
from vbench.errors import SuiteError
from vbench.suite import builtin_suites, load_suite, parse_suite


def test_builtin_suites_load_and_match_the_protocols():
    assert set(builtin_suites()) >= {"smmnist-mini", "smmnist", "kth", "bair", "bair-fvd", "cityscapes",
                                    "smmnist-mini-gen", "bair-gen", "kth-gen"}
    bair = load_suite("bair")
    assert (bair.context_frames, bair.predicted_frames, bair.num_videos, bair.num_samples) == (2, 28, 256, 100)
    assert (bair.resolution, bair.channels) == (64, 3)
    mini = load_suite("smmnist-mini")
    assert (mini.context_frames, mini.predicted_frames, mini.num_videos, mini.num_samples) == (5, 10, 64, 10)
    kth = load_suite("kth")
    assert (kth.context_frames, kth.predicted_frames, kth.channels) == (10, 30, 1)
    fvd = load_suite("bair-fvd")
    assert (fvd.context_frames + fvd.predicted_frames, fvd.fvd_trials, fvd.metrics) == (16, 4, ("fvd",))
    assert load_suite("cityscapes").resolution == 128
    assert load_suite("smmnist").predicted_frames == 20


def test_profiles_are_explicit_for_every_metric():
    suite = load_suite("smmnist-mini")
    assert suite.profiles == {"ssim": "gaussian", "psnr": "frame", "lpips": "alex-v0.1", "fvd": "tf"}


def test_psnr_channel_mean_profile_scores_each_channel(tmp_path):
    import torch
    from vbench.metrics import frame_metric, psnr
    suite = load_suite(write_suite(tmp_path, profiles={"psnr": "channel-mean"}))
    assert suite.profiles["psnr"] == "channel-mean"
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(4, 3, 8, 8, generator=g), torch.rand(4, 3, 8, 8, generator=g)
    pred[:, 0] = (target[:, 0] + 0.01).clamp(max=1)     # channels of very different error
    score = frame_metric("psnr", suite.profiles["psnr"])
    assert torch.equal(score(pred, target), psnr(pred, target, per_channel=True))
    assert not torch.allclose(score(pred, target), frame_metric("psnr", "frame")(pred, target))


def _base():
    return yaml.safe_load((REPO / "vbench" / "suites" / "smmnist-mini.yaml").read_text())


def test_unknown_key_names_key_and_file(tmp_path):
    path = write_suite(tmp_path, num_sample=3)
    with pytest.raises(SuiteError, match=r"tiny\.yaml.*unknown key 'num_sample' \(did you mean 'num_samples'\?\)"):
        load_suite(path)


def test_missing_key_names_key_and_file(tmp_path):
    data = _base()
    del data["context_frames"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SuiteError, match=r"broken\.yaml: missing key 'context_frames'"):
        load_suite(path)


@pytest.mark.parametrize("key,value,message", [
    ("num_videos", "64", "must be an integer"),
    ("num_videos", 0, "at least 1"),
    ("channels", 2, "1 \\(grey\\) or 3"),
    ("metrics", ["ssim", "fid"], "unknown metric fid"),
    ("metrics", [], "non-empty list"),
    ("profiles", {"ssim": "uniform"}, "unknown ssim profile 'uniform'"),
    ("selection", "by:fvd", "per-frame metrics"),
    ("selection", "best", "'per-metric' or 'by:<metric>'"),
    ("fvd_frames", "all", "must be one of"),
    ("fvd_videos", 1000, "never padded"),
    ("fvd_trials", 50, "exceeds num_samples"),
    ("task", "dreaming", "must be one of"),
])
def test_bad_values_are_errors_naming_the_key(tmp_path, key, value, message):
    data = _base()
    data[key] = value
    with pytest.raises(SuiteError, match=f"x.yaml: key '{key}': .*{message}"):
        parse_suite(data, source="x.yaml")


def test_fvd_needs_ten_frames():
    data = _base()
    data.update(context_frames=2, predicted_frames=5)
    with pytest.raises(SuiteError, match="at least 10 frames"):
        parse_suite(data, source="x.yaml")


def test_not_yaml_and_not_mapping(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SuiteError, match="bad.yaml: not valid YAML"):
        load_suite(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(SuiteError, match="must be a YAML mapping"):
        load_suite(bad)


def test_unsafe_yaml_is_refused(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SuiteError, match="not valid YAML"):
        load_suite(evil)


def test_unknown_suite_name_suggests():
    with pytest.raises(SuiteError, match="Did you mean smmnist-mini"):
        load_suite("smmnist-mimi")


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True),
                    st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3),
                    st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(yaml.safe_load((REPO / "vbench" / "suites" / "kth.yaml").read_text()))
                                       + ["unknown", "test_list", "clip_stride", "data_path"]),
                       _VALUES, max_size=6))
def test_any_mutation_of_a_suite_is_a_suite_or_a_suite_error(changes):
    """Fuzzing the loader: whatever values a suite file holds, the answer is a Suite or a SuiteError."""
    data = yaml.safe_load((REPO / "vbench" / "suites" / "kth.yaml").read_text())
    data.update(changes)
    try:
        suite = parse_suite(data, source="fuzz.yaml")
    except SuiteError as exc:
        assert "fuzz.yaml" in str(exc)
    else:
        assert suite.total_frames == suite.context_frames + suite.predicted_frames >= 2
        assert set(suite.profiles) <= {"ssim", "psnr", "lpips", "fvd"}
