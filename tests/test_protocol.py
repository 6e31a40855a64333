"""Only comparable numbers side by side (vbench.protocol): the real clips' FVD features are cached by
the clips themselves, the manifest fingerprints the scored data, the leaderboard ranks one standard
protocol and lists the rest apart, and exports carry what tells their rows apart."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_suite
from vbench.adapters import resolve_model
from vbench.cli import main
from vbench.data import load_test_clips
from vbench.export import to_csv, to_latex, to_markdown
from vbench.protocol import is_standard, model_code_sha256, protocol_key
from vbench.report import build_site, set_features
from vbench.report.leaderboard import leaderboard
from vbench.runner import RunRequest, build_manifest, run
from vbench.store import Store
from vbench.suite import load_suite

RES, FRAMES = 16, 10            # folder suites: 2 context + 8 predicted frames, enough for FVD


def fake_features(clips: torch.Tensor, *_, **__) -> np.ndarray:
    """I3D stand-in: a clip [T, C, H, W] -> its per-frame means [T] (real clips differ, so do these)."""
    return clips.double().mean(dim=(2, 3, 4)).numpy()                     # [N, T]


@pytest.fixture
def no_i3d(monkeypatch):
    import importlib
    fvd = importlib.import_module("vbench.metrics.fvd")      # the module (vbench.metrics.fvd is also a function)
    import vbench.runner as runner
    monkeypatch.setattr(runner, "_i3d_features", fake_features)
    monkeypatch.setattr(fvd, "features_fingerprint", lambda profile: {"embedding": "test", "profile": profile,
                                                                      "weights_sha256": "test"})


def write_videos(folder: Path, seed: int, count: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        np.save(folder / f"v{i}.npy", rng.integers(0, 256, (FRAMES, RES, RES), dtype=np.uint8))   # [T, H, W]
    return folder


def folder_suite(tmp_path: Path, name: str, data: Path, **overrides) -> Path:
    values = dict(name=name, dataset="folder", data_path=str(data), channels=1, resolution=RES, context_frames=2,
                  predicted_frames=8, num_videos=4, fvd_videos=4, fvd_trials=1, metrics=["ssim", "fvd"],
                  profiles={"ssim": "gaussian", "fvd": "tf"})
    return write_suite(tmp_path, **{**values, **overrides})


# --- 1. real-clip features are cached by the clips themselves -------------------------------------

def test_two_folder_suites_in_one_store_keep_their_own_real_features(tmp_path, no_i3d):
    a = folder_suite(tmp_path, "a", write_videos(tmp_path / "data-a", seed=1))
    b = folder_suite(tmp_path, "b", write_videos(tmp_path / "data-b", seed=2))
    shared, alone = tmp_path / "shared.sqlite", tmp_path / "alone.sqlite"
    for suite, store in ((a, shared), (b, shared), (b, alone)):
        run(RunRequest(suite=str(suite), model="copy_last", store=store, device="cpu", progress=False))
    with Store(shared) as s1, Store(alone) as s2:
        b_shared = next(r for r in s1.runs() if r.suite == "b")
        b_alone = s2.runs()[0]
        assert len(s1.feature_cache_keys()) == 2
        assert b_shared.summary.metrics["fvd"].mean == b_alone.summary.metrics["fvd"].mean
        # the report finds b's own real features, the same function deriving the key
        real, _ = set_features(s1)(b_shared)                              # [V, D]
    clips = load_test_clips(load_suite(b))
    want = fake_features(torch.from_numpy(clips[:]).float() / 255.0)
    np.testing.assert_allclose(real, want, rtol=1e-6)


# --- 2. the data fingerprint is in the manifest and the identity ----------------------------------

def _manifest(suite_path: Path):
    suite = load_suite(suite_path)
    clips = load_test_clips(suite)
    request = RunRequest(suite=str(suite_path), model="copy_last")
    return build_manifest(request, suite, resolve_model("copy_last"), 1, suite.num_videos, torch.device("cpu"),
                          clips)


def test_changed_folder_changes_fingerprint_and_identity(tmp_path):
    data = write_videos(tmp_path / "data", seed=3, count=5)
    suite = folder_suite(tmp_path, "user", data)
    manifest, identity = _manifest(suite)
    assert manifest["data"]["videos"] == 4 and len(manifest["data"]["fingerprint"]) == 64
    (data / "notes.txt").write_text("not a video")                        # not read: nothing changes
    assert _manifest(suite)[1] == identity
    video = np.load(data / "v2.npy")
    video[5, 0, 0] ^= 1                                                   # one pixel of a scored clip
    np.save(data / "v2.npy", video)
    changed, changed_identity = _manifest(suite)
    assert changed["data"]["fingerprint"] != manifest["data"]["fingerprint"] and changed_identity != identity
    np.save(data / "a0.npy", video)                                       # a new first video shifts the clips
    added, added_identity = _manifest(suite)
    assert added["data"]["fingerprint"] not in (manifest["data"]["fingerprint"], changed["data"]["fingerprint"])
    assert added_identity not in (identity, changed_identity)
    np.save(data / "v4.npy", video)                                       # after the 4 scored clips: not read
    assert _manifest(suite)[1] == added_identity


def test_fingerprint_of_generated_clips_follows_the_seed(tmp_path):
    paths = {}
    for seed in (1, 2):
        (tmp_path / str(seed)).mkdir()
        paths[seed] = write_suite(tmp_path / str(seed), seed=seed)
    one, two = (_manifest(paths[seed])[0] for seed in (1, 2))
    clips = load_test_clips(load_suite(paths[1]))                         # uint8 [V, T, 1, 64, 64]
    digests = [hashlib.sha256(np.asarray(clips[i]).tobytes()).hexdigest() for i in range(len(clips))]
    assert one["data"]["fingerprint"] == hashlib.sha256("\n".join(digests).encode()).hexdigest()
    assert two["data"]["fingerprint"] != one["data"]["fingerprint"]


def test_model_code_hash_covers_bundled_packages_and_user_files(tmp_path):
    from baselines.svg.adapter import SvgDet
    import baselines.svg
    package = Path(baselines.svg.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    assert model_code_sha256(SvgDet.__new__(SvgDet)) == digest.hexdigest()
    user = tmp_path / "mine.py"
    user.write_text("class Mine:\n    def predict(self, context, num_future, num_samples, rng):\n        pass\n")
    model = resolve_model(f"{user}:Mine")
    assert model_code_sha256(model) == hashlib.sha256(user.read_bytes()).hexdigest()
    manifest = _manifest(write_suite(tmp_path))[0]
    assert manifest["model"]["source_sha256"] == model_code_sha256(resolve_model("copy_last"))


# --- 4. protocol identity: one ranked table of standard runs, the rest apart ------------------------

@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory):
    """tiny (6 videos x 3 samples): copy_last and noisy_copy_last with the suite's settings, and copy_last
    on 3 videos (--limit) and noisy_copy_last with 2 samples (--samples)."""
    folder = tmp_path_factory.mktemp("protocol")
    suite, path = write_suite(folder), folder / "r.sqlite"
    for extra in (["--model", "copy_last"], ["--model", "noisy_copy_last", "--model-arg", "sigma=0.05"],
                  ["--model", "copy_last", "--limit", "3"],
                  ["--model", "noisy_copy_last", "--model-arg", "sigma=0.05", "--samples", "2"]):
        assert main(["run", "--suite", str(suite), *extra, "--store", str(path), "--no-progress"]) == 0
    return path


def test_leaderboard_ranks_standard_runs_and_lists_overridden_ones_apart(mixed_store, tmp_path):
    with Store(mixed_store) as store:
        runs = store.runs()
        board = leaderboard(runs, resamples=100)
        build_site(store, tmp_path, resamples=100)
    standard, limited, fewer = runs[:2], runs[2], runs[3]
    assert [is_standard(r.manifest) for r in runs] == [True, True, False, False]
    assert {row["run"].id for row in board["rows"]} == {r.id for r in standard}
    assert [row["rank"] for row in board["rows"]] == [1, 2]
    assert [row["run"].id for row in board["others"]] == [limited.id, fewer.id]
    assert all(row["rank"] is None for row in board["others"])
    assert board["others"][0]["why"] == ["non-standard: test videos 3 (suite: 6)"]
    assert board["others"][1]["why"] == ["non-standard: samples per video 2 (suite: 3)"]
    assert {c["row"]["run"].id for c in board["comparisons"]} <= {r.id for r in standard}
    html = (tmp_path / "suite-tiny.html").read_text()
    ranked = html[html.index('<table id="leaderboard"'):html.index('<table id="others"')]
    others = html[html.index('<table id="others"'):]
    others = others[:others.index("</table>")]
    assert limited.id not in ranked and fewer.id not in ranked and limited.id in others and fewer.id in others
    assert "test videos 3 (suite: 6)" in others and "Not ranked" in html
    statement = re.sub(r"\s+", " ", html[html.index('id="ranked-protocol"'):].split("</p>")[0])
    assert "Ranked by SSIM best-of-N" in statement
    assert "6 test videos" in statement and "3 samples per video" in statement
    page = (tmp_path / f"run-{limited.id}.html").read_text()
    assert "non-standard: test videos 3 (suite: 6)" in page
    assert runs[0].manifest["model"]["source_sha256"][:16] in page


def _finished_copy(store: Store, run, manifest: dict, identity: str) -> str:
    run_id = store.create_run(manifest, identity)
    store.finish(run_id, run.summary)
    return run_id


def test_runs_on_other_data_or_without_a_fingerprint_are_never_ranked_together(mixed_store, tmp_path):
    with Store(mixed_store) as source:
        base = source.runs()[0]
    changed = copy.deepcopy(base.manifest)
    changed["data"]["fingerprint"] = "0" * 64
    old = copy.deepcopy(base.manifest)
    del old["data"]
    with Store(tmp_path / "s.sqlite") as store:
        kept = _finished_copy(store, base, base.manifest, "a")
        older = _finished_copy(store, base, old, "b")
        newest = _finished_copy(store, base, changed, "c")              # the newest standard run: its data is ranked
        board = leaderboard(store.runs(), resamples=50)
        build_site(store, tmp_path / "site", resamples=50)
    assert [row["run"].id for row in board["rows"]] == [newest]
    why = {row["run"].id: row["why"] for row in board["others"]}
    assert why[kept][0].startswith("other data: fingerprint") and "data fingerprint not recorded" in why[older][0]
    assert len({protocol_key(m) for m in (base.manifest, changed, old)}) == 3
    assert "fingerprint not recorded" in (tmp_path / "site" / f"run-{_slug(older)}.html").read_text()


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def test_selection_and_profile_overrides_are_non_standard(mixed_store):
    with Store(mixed_store) as store:
        manifest = store.runs()[1].manifest
    for overrides in ({"selection": "by:psnr"}, {"profiles": {"ssim": "skimage-legacy"}}):
        other = dict(copy.deepcopy(manifest), overrides={**manifest["overrides"], **overrides})
        assert not is_standard(other) and protocol_key(other) != protocol_key(manifest)
    assert is_standard(dict(manifest, overrides={"samples": manifest["suite"]["num_samples"], "limit": None}))


# --- 5. exports tell their rows apart ------------------------------------------------------------

def test_exports_carry_run_videos_samples_arguments_and_code(mixed_store):
    with Store(mixed_store) as store:
        runs = store.runs()
    code = runs[1].manifest["model"]["source_sha256"]
    markdown = to_markdown(runs, resamples=50)
    header = [c.strip() for c in markdown.splitlines()[0].strip("|").split("|")]
    assert header[:6] == ["model", "args", "code", "run", "videos", "samples"]
    for r in runs:
        assert r.id in markdown
    line = next(x for x in markdown.splitlines() if runs[3].id in x)
    assert "sigma=0.05" in line and code[:12] in line and re.search(r"\|\s+6\s+\|\s+2\s+\|", line)
    csv = to_csv(runs)
    assert all(c in csv.splitlines()[0].split(",") for c in ("run_id", "num_videos", "num_samples", "model_args",
                                                              "code_sha256", "data_fingerprint", "overrides"))
    assert code in csv and "test videos 3 (suite: 6)" in csv
    latex = to_latex(runs, resamples=50)
    assert "\\label{tab:vbench-tiny}" in latex and "\\toprule" in latex and "\\bottomrule" in latex
    columns = re.search(r"\\begin\{tabular\}\{(\w+)\}", latex).group(1)
    assert columns == "llll" + "r" * (len(columns) - 4)                   # model, args, code, run | numbers


def test_two_torch_models_of_one_class_with_other_weights_are_told_apart():
    from vbench.protocol import model_weights_sha256

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    a, b = Tiny(), Tiny()
    assert model_weights_sha256(a) == model_weights_sha256(b)
    with torch.no_grad():
        b.scale += 1e-6
    assert model_weights_sha256(a) != model_weights_sha256(b)
    b.scale.data.copy_(a.scale.data)
    b.steps += 1                                                          # buffers count too
    assert model_weights_sha256(a) != model_weights_sha256(b)
    assert model_weights_sha256(resolve_model("copy_last")) is None       # not a torch model
