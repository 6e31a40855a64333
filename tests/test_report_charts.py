"""Per-frame charts: the pure geometry behind the inline SVG curves of the run pages."""

import re

import pytest

from vbench.report.charts import (MARGIN, band_path, curve_chart, line_path, nice_ticks, scale,
                                  tick_label)


def _points(path: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", path)]


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0.61, 0.93) == [0.6, 0.7, 0.8, 0.9, 1.0]
    assert nice_ticks(12.3, 27.9) == [10, 15, 20, 25, 30]
    assert nice_ticks(0, 1) == [0, 0.25, 0.5, 0.75, 1]
    assert [tick_label(v, [0, 0.25]) for v in (0, 0.25)] == ["0.00", "0.25"]
    assert [tick_label(v, [10, 15]) for v in (10, 15)] == ["10", "15"]
    with pytest.raises(ValueError, match="lo < hi"):
        nice_ticks(1.0, 1.0)


def test_paths_and_scale():
    assert scale(5, (0, 10), (100, 0)) == 50                   # y runs backwards in SVG
    assert line_path([0, 1.5], [2, 3.25]) == "M0.00,2.00 L1.50,3.25"
    assert band_path([0, 1], [5, 6], [1, 2]) == "M0.00,1.00 L1.00,2.00 L1.00,6.00 L0.00,5.00 Z"
    with pytest.raises(ValueError):
        line_path([0, 1], [2])


def test_curve_chart_maps_frames_to_the_plot_box_and_values_upwards():
    frames = [6, 7, 8, 9]
    best, mean = [0.9, 0.8, 0.7, 0.6], [0.8, 0.7, 0.6, 0.5]
    low, high = [0.85, 0.7, 0.6, 0.45], [0.95, 0.85, 0.78, 0.7]
    c = curve_chart("SSIM", frames, best, mean, low, high, width=400, height=200)
    box = c["box"]
    assert box == {"left": MARGIN["left"], "right": 400 - MARGIN["right"], "top": MARGIN["top"],
                   "bottom": 200 - MARGIN["bottom"]}
    line = _points(c["best"])
    assert [x for x, _ in line] == pytest.approx([box["left"] + i * (box["right"] - box["left"]) / 3 for i in range(4)],
                                                abs=0.01)
    assert [y for _, y in line] == sorted(y for _, y in line)   # values fall, so y grows
    # y ticks span the data: the lowest tick on the bottom edge, the highest on the top edge
    ticks = c["yticks"]
    assert ticks[0]["pos"] == box["bottom"] and ticks[-1]["pos"] == box["top"]
    assert float(ticks[0]["label"]) <= min(low) and float(ticks[-1]["label"]) >= max(high)
    # a value maps linearly between the end ticks
    lo, hi = float(ticks[0]["label"]), float(ticks[-1]["label"])
    assert line[0][1] == pytest.approx(box["bottom"] - (0.9 - lo) / (hi - lo) * (box["bottom"] - box["top"]), abs=0.01)
    # the band: upper edge left to right, lower edge back, and the line inside it
    band = _points(c["band"])
    assert len(band) == 8 and c["band"].endswith("Z")
    upper, lower = band[:4], band[4:][::-1]
    for (x, y), (ux, uy), (lx, ly) in zip(line, upper, lower):
        assert x == ux == lx and uy <= y <= ly
    mean_line = _points(c["mean"])
    assert all(my > by for (_, my), (_, by) in zip(mean_line, line))   # mean-of-N below best-of-N
    assert [t["label"] for t in c["xticks"]] == ["6", "7", "8", "9"]


def test_curve_chart_without_band_and_degenerate_series():
    c = curve_chart("PSNR", [3], [20.0], [20.0])
    assert c["band"] is None
    (x, _), = _points(c["best"])
    assert x == pytest.approx((c["box"]["left"] + c["box"]["right"]) / 2)   # one frame: centred
    long = curve_chart("PSNR", list(range(11, 41)), [1.0] * 30, [1.0] * 30)
    assert len(long["xticks"]) <= 10 and long["xticks"][0]["label"] == "11"
    with pytest.raises(ValueError, match="same non-zero length"):
        curve_chart("x", [1, 2], [1.0], [1.0, 2.0])
