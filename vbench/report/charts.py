"""Per-frame curves as inline SVG: pure geometry here, drawing in templates/_chart.html.

The line charts of the SVG and SAVP papers: x = frame index of the predicted frame, y = the metric;
best-of-N as a solid line inside its 95% band over test videos, mean-of-N dashed. Everything is
computed in SVG user units (the viewBox), so a page works offline and scales with its width.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

WIDTH, HEIGHT = 380, 240
MARGIN = {"left": 58, "right": 14, "top": 30, "bottom": 42}


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) from <= lo to >= hi."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"nice_ticks needs finite lo < hi, got {lo}, {hi}")
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def tick_label(value: float, ticks: Sequence[float]) -> str:
    """A tick value with as many decimals as the tick step needs (0.25 -> 2, 5 -> 0)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = next(d for d in range(13) if abs(round(step, d) - step) <= step * 1e-6 or d == 12)
    return f"{value:.{digits}f}"


def scale(value: float, domain: tuple[float, float], span: tuple[float, float]) -> float:
    """Linear map of `value` from `domain` onto `span` (span may run backwards, as SVG's y does)."""
    (d0, d1), (s0, s1) = domain, span
    return s0 + (value - d0) * (s1 - s0) / (d1 - d0)


def _point(x: float, y: float) -> str:
    return f"{x:.2f},{y:.2f}"


def line_path(xs: Sequence[float], ys: Sequence[float]) -> str:
    """SVG path data through the points: 'M x0,y0 L x1,y1 ...'."""
    if len(xs) != len(ys) or not xs:
        raise ValueError(f"line_path needs equally many x and y values, got {len(xs)} and {len(ys)}")
    return "M" + " L".join(_point(x, y) for x, y in zip(xs, ys))


def band_path(xs: Sequence[float], lows: Sequence[float], highs: Sequence[float]) -> str:
    """Closed SVG path of the area between two curves: along `highs`, back along `lows`."""
    if not len(xs) == len(lows) == len(highs) or not xs:
        raise ValueError("band_path needs equally many x, low and high values")
    upper = [_point(x, y) for x, y in zip(xs, highs)]
    lower = [_point(x, y) for x, y in zip(reversed(xs), reversed(lows))]
    return "M" + " L".join(upper + lower) + " Z"


def _x_ticks(frames: Sequence[int]) -> list[int]:
    every = next(k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if len(frames) / k <= 10)
    return [f for f in frames if (f - frames[0]) % every == 0]


def curve_chart(title: str, frames: Sequence[int], best: Sequence[float], mean: Sequence[float],
                low: Sequence[float] | None = None, high: Sequence[float] | None = None,
                width: int = WIDTH, height: int = HEIGHT,
                labels: tuple[str, str] = ("best-of-N", "mean-of-N")) -> dict[str, Any]:
    """Geometry of one per-frame chart: paths, ticks and plot box in SVG units (a plain dict).

    frames [T] (x), best [T] (solid line), mean [T] (dashed), low/high [T] (band around best; None: no band).
    labels: the legend's names of the solid and the dashed line.
    """
    t = len(frames)
    if not t or len(best) != t or len(mean) != t or (low is None) != (high is None) \
            or (low is not None and (len(low) != t or len(high) != t)):
        raise ValueError("curve_chart needs frames, best, mean (and low, high) of the same non-zero length")
    box = {"left": MARGIN["left"], "right": width - MARGIN["right"],
           "top": MARGIN["top"], "bottom": height - MARGIN["bottom"]}
    values = [*best, *mean, *(low or []), *(high or [])]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-12:                                  # a flat curve: give it some room
        pad = max(abs(lo) * 0.05, 1e-3)
        lo, hi = lo - pad, hi + pad
    yticks = nice_ticks(lo, hi)
    y_domain = (yticks[0], yticks[-1])
    x_domain = (frames[0], frames[-1]) if t > 1 else (frames[0] - 0.5, frames[0] + 0.5)

    def x(f: float) -> float:
        return scale(f, x_domain, (box["left"], box["right"]))

    def y(v: float) -> float:
        return scale(v, y_domain, (box["bottom"], box["top"]))        # SVG y grows downwards

    xs = [x(f) for f in frames]
    return {
        "width": width, "height": height, "title": title, "box": box, "labels": list(labels),
        "best": line_path(xs, [y(v) for v in best]),
        "mean": line_path(xs, [y(v) for v in mean]),
        "band": band_path(xs, [y(v) for v in low], [y(v) for v in high]) if low is not None else None,
        "points": [{"x": round(px, 2), "y": round(y(v), 2), "frame": f, "value": v}
                   for px, f, v in zip(xs, frames, best)],
        "xticks": [{"pos": round(x(f), 2), "label": str(f)} for f in _x_ticks(frames)],
        "yticks": [{"pos": round(y(v), 2), "label": tick_label(v, yticks)} for v in yticks],
    }
