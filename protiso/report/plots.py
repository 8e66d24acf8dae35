"""Small, dependency-free inline SVG charts for reports: line charts (linear or log y), heatmaps and
2-D histograms with an overlaid mean +- sd line.

Every function takes numbers that SQL already aggregated and returns ``Markup`` (an ``<svg>``
element with ``role="img"`` and a ``<title>``) to embed directly in HTML. All text is escaped.
There are no scripts, no external references and no ``xmlns`` URL (HTML5 does not need one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from markupsafe import Markup, escape

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
           "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
INK = "#333"
GRID = "#e3e3e3"
AXIS = "#888"


@dataclass
class Series:
    """One line: points (x, y); optional band ``lo``..``hi``; optional per-point data attributes."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    lo: Sequence[float | None] | None = None
    hi: Sequence[float | None] | None = None
    point_attrs: Sequence[dict[str, Any]] | None = None
    markers: bool = True
    dashed: bool = False


@dataclass
class _Frame:
    width: int
    height: int
    left: int = 64
    right: int = 16
    top: int = 14
    bottom: int = 46
    parts: list[str] = field(default_factory=list)

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def _fmt(value: float) -> str:
    """Compact tick label."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return f"{value:.6g}"


def _attrs(attrs: dict[str, Any]) -> str:
    return "".join(f' {escape(key)}="{escape(value)}"' for key, value in attrs.items())


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick positions (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    base = 10 ** math.floor(math.log10(raw))
    step = next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(lo: float, hi: float) -> list[float]:
    """Decade ticks within [lo, hi]; with 1-2 and 5 steps when the range spans under two decades."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    mults = (1,) if last - first > 2 else (1, 2, 5)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in mults]
    ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
    if len(ticks) < 3:  # a narrow range: round linear steps read better
        ticks = [t for t in nice_ticks(lo, hi, 4) if t > 0]
    return ticks or [lo, hi]


class _Scale:
    def __init__(self, lo: float, hi: float, start: float, stop: float, log: bool = False):
        if log:
            lo, hi = math.log10(lo), math.log10(hi)
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi, self.start, self.stop, self.log = lo, hi, start, stop, log

    def __call__(self, value: float) -> float:
        if self.log:
            value = math.log10(value)
        return self.start + (value - self.lo) / (self.hi - self.lo) * (self.stop - self.start)


def _svg(frame: _Frame, title: str, body: list[str]) -> Markup:
    head = (f'<svg class="chart" role="img" viewBox="0 0 {frame.width} {frame.height}" '
            f'width="{frame.width}" height="{frame.height}" font-size="11">'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def _axes(frame: _Frame, xs: _Scale, ys: _Scale, x_ticks: list[tuple[float, str]],
          y_ticks: list[tuple[float, str]], x_label: str, y_label: str) -> list[str]:
    out = []
    x0, x1 = frame.left, frame.left + frame.plot_w
    y0, y1 = frame.top + frame.plot_h, frame.top
    for value, label in y_ticks:
        y = ys(value)
        out.append(f'<line x1="{x0}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 3.5:.1f}" text-anchor="end" fill="{INK}">{escape(label)}</text>')
    for value, label in x_ticks:
        x = xs(value)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y0 + 4}" stroke="{AXIS}"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    out.append(f'<rect x="{x0}" y="{y1}" width="{frame.plot_w:.1f}" height="{frame.plot_h:.1f}" '
               f'fill="none" stroke="{AXIS}"/>')
    out.append(f'<text x="{x0 + frame.plot_w / 2:.1f}" y="{frame.height - 8}" text-anchor="middle" '
               f'fill="{INK}">{escape(x_label)}</text>')
    cy = frame.top + frame.plot_h / 2
    out.append(f'<text transform="translate(14 {cy:.1f}) rotate(-90)" text-anchor="middle" '
               f'fill="{INK}">{escape(y_label)}</text>')
    return out


def _legend(frame: _Frame, labels: list[str], x: float) -> list[str]:
    out = []
    for i, label in enumerate(labels):
        y = frame.top + 8 + i * 16
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x:.1f}" y="{y - 5}" width="12" height="3" fill="{colour}"/>')
        out.append(f'<text x="{x + 17:.1f}" y="{y:.1f}" fill="{INK}">{escape(label)}</text>')
    return out


def _keep_points(s: Series, keep: list[int]) -> Series:
    """``s`` restricted to the points at indices ``keep``."""
    def pick(values: Sequence[Any] | None) -> list[Any] | None:
        return None if values is None else [values[k] for k in keep]

    return Series(s.label, pick(s.xs) or [], pick(s.ys) or [], pick(s.lo), pick(s.hi), pick(s.point_attrs),
                  s.markers, s.dashed)


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str, log_y: bool = False,
               log_x: bool = False, x_categories: Sequence[str] | None = None, width: int = 640, height: int = 320,
               y_floor: float | None = None) -> Markup:
    """Lines (with optional markers and sd bands) on shared axes; log axes drop values <= 0.

    ``x_categories`` labels x positions 0..k-1 instead of numeric ticks. ``y_floor`` clips the
    log axis from below (e.g. 1e-8 for eigenvalues that are numerically zero).
    """
    legend_w = 0 if len(series) < 2 else min(220, 24 + 6.5 * max(len(s.label) for s in series))
    frame = _Frame(width, height, right=16 + int(legend_w))

    def usable(y: float | None) -> bool:
        return y is not None and math.isfinite(y) and (not log_y or y > (y_floor or 0.0))

    if log_x:
        series = [_keep_points(s, [k for k, x in enumerate(s.xs) if x > 0]) for s in series]
    xs_all = [x for s in series for x, y in zip(s.xs, s.ys) if usable(y)]
    ys_all = [y for s in series for y in s.ys if usable(y)]
    for s in series:
        for band in (s.lo, s.hi):
            ys_all += [y for y in (band or []) if usable(y)]
    if not xs_all:
        return _svg(frame, title, [f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
                                   f'fill="{INK}">no data to plot</text>'])
    x_lo, x_hi = min(xs_all), max(xs_all)
    if x_categories is not None:
        x_lo, x_hi = -0.5, len(x_categories) - 0.5
    y_lo, y_hi = min(ys_all), max(ys_all)
    if not log_y:
        pad = (y_hi - y_lo) * 0.05 or abs(y_hi) * 0.05 or 1.0
        y_lo, y_hi = y_lo - pad, y_hi + pad
    else:
        y_lo, y_hi = y_lo / 1.3, y_hi * 1.3
    xs = _Scale(x_lo, x_hi, frame.left + 8, frame.left + frame.plot_w - 8, log=log_x)
    ys = _Scale(y_lo, y_hi, frame.top + frame.plot_h, frame.top, log=log_y)
    if x_categories is not None:
        x_ticks = [(float(i), c) for i, c in enumerate(x_categories)]
    elif log_x:
        x_ticks = [(t, _fmt(t)) for t in log_ticks(x_lo, x_hi)]
    else:
        x_ticks = [(t, _fmt(t)) for t in nice_ticks(x_lo, x_hi, 6)]
    y_tick_values = log_ticks(y_lo, y_hi) if log_y else nice_ticks(y_lo, y_hi, 5)
    body = _axes(frame, xs, ys, x_ticks, [(t, _fmt(t)) for t in y_tick_values], x_label, y_label)
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        if s.lo is not None and s.hi is not None:
            pts = [(x, lo, hi) for x, lo, hi in zip(s.xs, s.lo, s.hi) if usable(lo) and usable(hi)]
            if pts:
                upper = " ".join(f"{xs(x):.1f},{ys(hi):.1f}" for x, _, hi in pts)
                lower = " ".join(f"{xs(x):.1f},{ys(lo):.1f}" for x, lo, _ in reversed(pts))
                body.append(f'<polygon points="{upper} {lower}" fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        pts = [(x, y, k) for k, (x, y) in enumerate(zip(s.xs, s.ys)) if usable(y)]
        path = " ".join(f"{xs(x):.1f},{ys(y):.1f}" for x, y, _ in pts)
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>')
        if s.markers:
            for x, y, k in pts:
                extra = _attrs(s.point_attrs[k]) if s.point_attrs else ""
                body.append(f'<circle cx="{xs(x):.1f}" cy="{ys(y):.1f}" r="3" fill="{colour}"{extra}>'
                            f"<title>{escape(s.label)}: {escape(_fmt(x))}, {escape(_fmt(y))}</title></circle>")
    if legend_w:
        body += _legend(frame, [s.label for s in series], frame.left + frame.plot_w + 14)
    return _svg(frame, title, body)


def _diverging(value: float, vmin: float, vmax: float) -> str:
    """Blue (low) - white - red (high) colour for ``value`` in [vmin, vmax]."""
    t = max(-1.0, min(1.0, (2 * (value - vmin) / (vmax - vmin)) - 1))
    low, mid, high = (58, 98, 160), (246, 246, 246), (178, 64, 56)
    end = high if t > 0 else low
    a = abs(t)
    rgb = [round(m + (e - m) * a) for m, e in zip(mid, end)]
    return "#%02x%02x%02x" % tuple(rgb)


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float | None]], *,
            title: str, cell_attrs: Sequence[Sequence[dict[str, Any] | None]] | None = None,
            vmin: float = -1.0, vmax: float = 1.0, cell: int = 56) -> Markup:
    """A matrix of coloured cells with their values written in; empty cells for None."""
    label_w = 12 + 6.5 * max((len(r) for r in rows), default=4)
    label_h = 22
    frame = _Frame(int(label_w + cell * len(cols) + 12), int(label_h + cell * len(rows) + 10),
                   left=int(label_w), top=label_h)
    body = []
    for j, col in enumerate(cols):
        body.append(f'<text x="{frame.left + (j + 0.5) * cell:.1f}" y="{label_h - 7}" text-anchor="middle" '
                    f'fill="{INK}">{escape(col)}</text>')
    for i, row in enumerate(rows):
        y = frame.top + i * cell
        body.append(f'<text x="{frame.left - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end" '
                    f'fill="{INK}">{escape(row)}</text>')
        for j in range(len(cols)):
            value = values[i][j]
            x = frame.left + j * cell
            if value is None or not math.isfinite(value):
                body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#fafafa" '
                            f'stroke="{GRID}"/>')
                continue
            fill = _diverging(value, vmin, vmax)
            text_fill = "#fff" if abs(value - (vmin + vmax) / 2) > 0.6 * (vmax - vmin) / 2 else INK
            extra = _attrs(cell_attrs[i][j] or {}) if cell_attrs else ""
            body.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}"{extra}>'
                        f"<title>{escape(row)} / {escape(col)}: {value:.3f}</title></rect>")
            body.append(f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 3:.1f}" text-anchor="middle" '
                        f'fill="{text_fill}">{value:.2f}</text>')
    return _svg(frame, title, body)


def _sequential(t: float) -> str:
    """Light grey-blue (t=0) to dark blue (t=1)."""
    low, high = (236, 241, 248), (25, 55, 109)
    rgb = [round(a + (b - a) * max(0.0, min(1.0, t))) for a, b in zip(low, high)]
    return "#%02x%02x%02x" % tuple(rgb)


def histogram2d(cells: Sequence[tuple[int, int, int]], nx: int, ny: int, x_range: tuple[float, float],
                y_range: tuple[float, float], *, title: str, x_label: str, y_label: str,
                overlay: Series | None = None, width: int = 420, height: int = 320) -> Markup:
    """Counts of (x bin, y bin) as shaded rectangles (log colour scale), with a mean +- sd line over them.

    Bin i of nx covers ``x_range[0] + i * (x_range[1] - x_range[0]) / nx`` onwards (same for y).
    """
    frame = _Frame(width, height, right=56)
    (x_lo, x_hi), (y_lo, y_hi) = x_range, y_range
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    xs = _Scale(x_lo, x_hi, frame.left, frame.left + frame.plot_w)
    ys = _Scale(y_lo, y_hi, frame.top + frame.plot_h, frame.top)
    body = _axes(frame, xs, ys, [(t, _fmt(t)) for t in nice_ticks(x_lo, x_hi, 5)],
                 [(t, _fmt(t)) for t in nice_ticks(y_lo, y_hi, 5)], x_label, y_label)
    top = max((c for _, _, c in cells), default=1)
    bw, bh = frame.plot_w / nx, frame.plot_h / ny
    for ix, iy, count in cells:
        t = math.log1p(count) / math.log1p(top) if top > 0 else 0.0
        x = frame.left + ix * bw
        y = frame.top + frame.plot_h - (iy + 1) * bh
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw + 0.3:.1f}" height="{bh + 0.3:.1f}" '
                    f'fill="{_sequential(0.08 + 0.92 * t)}"/>')
    if overlay is not None:
        def clip(v: float) -> float:
            return min(max(v, y_lo), y_hi)

        pts = [(x, clip(y), clip(lo), clip(hi)) for x, y, lo, hi in
               zip(overlay.xs, overlay.ys, overlay.lo or overlay.ys, overlay.hi or overlay.ys) if y is not None]
        if pts:
            band = " ".join(f"{xs(x):.1f},{ys(hi):.1f}" for x, _, _, hi in pts) + " " + " ".join(
                f"{xs(x):.1f},{ys(lo):.1f}" for x, _, lo, _ in reversed(pts))
            body.append(f'<polygon points="{band}" fill="#dd8452" fill-opacity="0.22" stroke="none"/>')
            line = " ".join(f"{xs(x):.1f},{ys(y):.1f}" for x, y, _, _ in pts)
            body.append(f'<polyline points="{line}" fill="none" stroke="#c0392b" stroke-width="1.8"/>')
    # colour key: light = few pairs, dark = many (log scale)
    kx = frame.left + frame.plot_w + 14
    for k in range(20):
        y = frame.top + frame.plot_h - (k + 1) * frame.plot_h / 20
        body.append(f'<rect x="{kx}" y="{y:.1f}" width="10" height="{frame.plot_h / 20 + 0.3:.1f}" '
                    f'fill="{_sequential(0.08 + 0.92 * k / 19)}"/>')
    body.append(f'<text x="{kx + 14}" y="{frame.top + 8}" fill="{INK}">{escape(_fmt(top))}</text>')
    body.append(f'<text x="{kx + 14}" y="{frame.top + frame.plot_h}" fill="{INK}">1</text>')
    return _svg(frame, title, body)
