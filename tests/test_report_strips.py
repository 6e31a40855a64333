"""Sample strips: the frames the runner keeps, and the PNG filmstrips and GIFs the report makes of them."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from conftest import REPO, write_suite
from vbench.cli import main
from vbench.data import load_test_clips
from vbench.report import build_site
from vbench.report.strips import (BAR, CONTEXT_COLOUR, GIF_CONTEXT_GREY, GIF_PREDICTED_GREY, PREDICTED_COLOUR,
                                  animation, filmstrip, tile_origin, write_gif, write_png)
from vbench.runner import STRIP_RANDOM, STRIP_VIDEOS, sample_strip
from vbench.store import Store
from vbench.suite import load_suite


def _frames(rows=3, t=4, c=1, h=5, w=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(rows, t, c, h, w), dtype=np.uint8)


def _tiles_match(image: np.ndarray, frames: np.ndarray, context: int) -> None:
    r, t, c, h, w = frames.shape
    for row in range(r):
        for f in range(t):
            top, left = tile_origin(row, f, context, h, w)
            want = np.broadcast_to(frames[row, f].transpose(1, 2, 0), (h, w, 3))
            np.testing.assert_array_equal(image[top:top + h, left:left + w], want, err_msg=f"tile {row}, {f}")


def _gif_frames(path, mode):
    return [np.asarray(frame.convert(mode)) for frame in ImageSequence.Iterator(Image.open(path))]


def test_filmstrip_places_every_frame_and_marks_the_context(tmp_path):
    frames = _frames(c=1)
    image = filmstrip(frames, context=2)
    _tiles_match(image, frames, 2)
    for f, colour in enumerate([CONTEXT_COLOUR] * 2 + [PREDICTED_COLOUR] * 2):
        _, left = tile_origin(0, f, 2, 5, 6)
        assert (image[:BAR, left:left + 6] == colour).all()
    assert tile_origin(0, 2, 2, 5, 6)[1] - tile_origin(0, 1, 2, 5, 6)[1] > 6 + 2    # wider gap at the split
    write_png(frames, 2, tmp_path / "s.png")
    _tiles_match(np.asarray(Image.open(tmp_path / "s.png").convert("RGB")), frames, 2)
    colour = _frames(c=3, seed=1)
    _tiles_match(filmstrip(colour, context=1), colour, 1)
    with pytest.raises(ValueError, match="uint8"):
        filmstrip(frames.astype(np.float32), 2)


def test_grey_gif_is_exact_and_animates_over_time(tmp_path):
    frames = _frames(rows=4, t=5, c=1, h=8, w=7)
    write_gif(frames, 3, tmp_path / "a.gif")
    decoded = _gif_frames(tmp_path / "a.gif", "L")
    assert len(decoded) == 5
    for f, image in enumerate(decoded):
        np.testing.assert_array_equal(image, animation(frames, 3)[f][..., 0])
        assert (image[:BAR] == (GIF_CONTEXT_GREY if f < 3 else GIF_PREDICTED_GREY)).all()
        for row in range(4):                                             # rows side by side
            left = row * (7 + 2)
            np.testing.assert_array_equal(image[BAR + 2:, left:left + 7], frames[row, f, 0])


def test_colour_gif_stays_close(tmp_path):
    frames = (_frames(rows=2, t=3, c=3, h=8, w=8) // 64 * 64).astype(np.uint8)   # few colours
    write_gif(frames, 1, tmp_path / "c.gif")
    decoded = _gif_frames(tmp_path / "c.gif", "RGB")
    want = animation(frames, 1)
    assert len(decoded) == 3
    for got, image in zip(decoded, want):
        assert np.abs(got.astype(int) - image.astype(int)).mean() < 2.0


def test_sample_strip_keeps_truth_best_and_seeded_random_samples():
    suite = load_suite(REPO / "vbench" / "suites" / "smmnist-mini.yaml")
    rng = np.random.default_rng(0)
    ctx, t, s = suite.context_frames, suite.predicted_frames, 7
    clip = rng.integers(0, 256, size=(ctx + t, 1, 8, 8), dtype=np.uint8)
    pred = torch.rand(s, t, 1, 8, 8)                                       # [S, T, C, H, W]
    ssim = rng.uniform(size=(s, t))
    ssim[4] += 1.0                                                         # sample 4 is the best
    strip = sample_strip(clip, pred, {"ssim": ssim, "psnr": -ssim}, suite, video=2)
    labels = [r["label"] for r in strip["rows"]]
    assert labels[:2] == ["ground truth", "best by ssim"] and strip["rows"][1]["sample"] == 4
    randoms = [r["sample"] for r in strip["rows"][2:]]
    assert len(randoms) == STRIP_RANDOM and 4 not in randoms and randoms == sorted(set(randoms))
    again = sample_strip(clip, pred, {"ssim": ssim, "psnr": -ssim}, suite, video=2)
    assert [r["sample"] for r in again["rows"]] == [r["sample"] for r in strip["rows"]]   # seeded
    frames = strip["frames"]
    assert frames.dtype == np.uint8 and frames.shape == (2 + STRIP_RANDOM, ctx + t, 1, 8, 8)
    np.testing.assert_array_equal(frames[0], clip)
    for row, k in zip(frames[1:], [4, *randoms]):
        np.testing.assert_array_equal(row[:ctx], clip[:ctx])                  # context first
        np.testing.assert_array_equal(row[ctx:], (pred[k] * 255).round().to(torch.uint8).numpy())
    big = sample_strip(np.zeros((ctx + t, 3, 128, 96), np.uint8), torch.ones(1, t, 3, 128, 96), {}, suite, 0)
    assert big["frames"].shape == (2, ctx + t, 3, 64, 48)                   # shrunk; no metric: no best row
    assert [r["label"] for r in big["rows"]] == ["ground truth", "sample 0"]
    assert (big["frames"][1, ctx:] == 255).all() and (big["frames"][1, :ctx] == 0).all()


def test_run_stores_strips_and_report_draws_them(tmp_path, capsys):
    suite_path = write_suite(tmp_path)
    store_path = tmp_path / "r.sqlite"
    assert main(["run", "--suite", str(suite_path), "--model", "noisy_copy_last", "--store", str(store_path),
                 "--no-progress"]) == 0
    capsys.readouterr()
    suite = load_suite(suite_path)
    clips = np.asarray(load_test_clips(suite, None, suite.num_videos))        # uint8 [V, T, C, H, W]
    with Store(store_path) as store:
        (run,) = store.runs()
        strips = store.strips(run.id)
        _, scores = store.scores(run.id)
        build_site(store, tmp_path / "site", resamples=200)
    assert sorted(strips) == list(range(min(STRIP_VIDEOS, suite.num_videos)))
    for video, strip in strips.items():
        np.testing.assert_array_equal(strip["frames"][0], clips[video])
        best = int(scores["ssim"][video].mean(axis=1).argmax())
        assert strip["rows"][1] == {"label": "best by ssim", "sample": best}
        assert strip["context"] == suite.context_frames
    page = (tmp_path / "site" / f"run-{run.id}.html").read_text()
    for video, strip in strips.items():
        png = tmp_path / "site" / "strips" / f"{run.id}-video{video}.png"
        gif = tmp_path / "site" / "strips" / f"{run.id}-video{video}.gif"
        assert f'src="strips/{png.name}"' in page and f'src="strips/{gif.name}"' in page
        _tiles_match(np.asarray(Image.open(png).convert("RGB")), strip["frames"], strip["context"])
        decoded = _gif_frames(gif, "L")
        assert len(decoded) == strip["frames"].shape[1]
        for f, image in enumerate(decoded):
            np.testing.assert_array_equal(image, animation(strip["frames"], strip["context"])[f][..., 0])


def test_interrupted_then_resumed_run_keeps_the_same_strips(tmp_path):
    from vbench.runner import RunRequest, run
    flag = tmp_path / "crash"
    flag.touch()
    request = RunRequest(suite=str(write_suite(tmp_path)), model=f"{REPO / 'tests' / 'models_for_tests.py'}:CrashAfter",
                         model_args={"flag": str(flag), "after": 3}, store=tmp_path / "r.sqlite", batch_size=2,
                         progress=False)
    with pytest.raises(KeyboardInterrupt):
        run(request)
    with Store(request.store) as store:
        (crashed,) = store.runs()
        assert sorted(store.strips(crashed.id)) == [0, 1]                   # whole batches only
    flag.unlink()
    resumed = run(RunRequest(**{**request.__dict__, "resume": True}))
    fresh = run(RunRequest(**{**request.__dict__, "batch_size": 6}))
    with Store(request.store) as store:
        a, b = store.strips(resumed), store.strips(fresh)
    assert sorted(a) == sorted(b) == list(range(STRIP_VIDEOS))
    for video in a:
        assert a[video]["rows"] == b[video]["rows"]
        np.testing.assert_array_equal(a[video]["frames"], b[video]["frames"])
