import numpy as np
import pytest
import torch

from vbench.selection import best_sample, chosen_samples, summarize, video_scores


def test_per_metric_best_of_n_on_hand_made_scores():
    # 2 videos x 3 samples x 2 frames
    ssim = np.array([[[0.5, 0.7], [0.9, 0.1], [0.6, 0.6]],
                     [[0.2, 0.2], [0.3, 0.1], [0.1, 0.9]]])
    lpips = np.array([[[0.3, 0.3], [0.1, 0.2], [0.4, 0.0]],
                      [[0.5, 0.5], [0.2, 0.2], [0.9, 0.9]]])
    summary = summarize({"ssim": ssim, "lpips": lpips}, "per-metric", {})
    # ssim: video 0 means (0.6, 0.5, 0.6) -> first max is sample 0; video 1 (0.2, 0.2, 0.5) -> sample 2
    assert summary["ssim"].best.chosen_sample == [0, 2]
    assert summary["ssim"].best.per_video == pytest.approx([0.6, 0.5])
    assert summary["ssim"].best.per_frame == pytest.approx([(0.5 + 0.1) / 2, (0.7 + 0.9) / 2])
    assert summary["ssim"].best.mean == pytest.approx(0.55)
    # lpips is lower-better: video 0 means (0.3, 0.15, 0.2) -> 1; video 1 (0.5, 0.2, 0.9) -> 1
    assert summary["lpips"].best.chosen_sample == [1, 1]
    assert summary["lpips"].best.mean == pytest.approx((0.15 + 0.2) / 2)
    assert summary["ssim"].mean_of_samples.mean == pytest.approx(np.mean([0.6, 0.5, 0.6, 0.2, 0.2, 0.5]))
    assert summary["ssim"].mean_of_samples.per_frame == pytest.approx(ssim.mean(axis=(0, 1)))


def test_by_metric_reads_every_metric_off_one_sample():
    ssim = np.array([[[0.9], [0.1]]])
    psnr = np.array([[[10.0], [30.0]]])
    chosen = chosen_samples({"ssim": ssim, "psnr": psnr}, "by:ssim", {})
    assert chosen["psnr"].tolist() == [0]
    summary = summarize({"ssim": ssim, "psnr": psnr}, "by:ssim", {})
    assert summary["psnr"].best.mean == 10.0
    per_metric = summarize({"ssim": ssim, "psnr": psnr}, "per-metric", {})
    assert per_metric["psnr"].best.mean == 30.0
    with pytest.raises(ValueError):
        chosen_samples({"ssim": ssim}, "by:lpips", {})


def test_mean_mse_psnr_profile_is_psnr_of_mean_mse():
    psnr = np.array([[[10.0, 30.0]]])            # MSE 0.1 and 0.001 at data range 1
    expected = 10 * np.log10(1 / ((0.1 + 0.001) / 2))
    assert video_scores(psnr, "psnr", "mean-mse")[0, 0] == pytest.approx(expected)
    assert video_scores(psnr, "psnr", "frame")[0, 0] == pytest.approx(20.0)


def test_ties_pick_the_first_sample():
    scores = np.zeros((3, 5, 4))
    assert best_sample(scores, "ssim", None).tolist() == [0, 0, 0]
    assert best_sample(scores, "lpips", None).tolist() == [0, 0, 0]


def test_psnr_helper_matches_numpy():
    from vbench.metrics.psnr import psnr_of_mean_mse
    p = torch.tensor([[20.0, 40.0, 25.0]], dtype=torch.float64)
    mse = 10 ** (-p.numpy() / 10)
    assert psnr_of_mean_mse(p).item() == pytest.approx(10 * np.log10(1 / mse.mean()))
