"""The report's charts, drawn with matplotlib: inline SVG for the HTML page, SVG / PNG / PDF files for papers.

Every function takes numbers SQL already aggregated and returns a ``Chart``: ``{{ chart }}`` in a template
writes an inline ``<svg>`` (``role="img"``, ``<title>``); ``Chart.save(path, fmt)`` writes the same figure
as a file. Inline SVG keeps text as text, carries no prolog, namespaces or metadata, and salts element ids
per chart. Marks that show a number carry the section's ``data-*`` attributes and a tooltip, so tests
compare each with SQL. docs/architecture.md (module notes) has the drawing rules.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

import matplotlib  # only Figure objects, never pyplot: no backend or global figure state is touched
import numpy as np
from markupsafe import Markup, escape
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator


PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3",
           "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
INK = "#333333"
GRID = "#e3e3e3"
FADED = 0.25                        # opacity of bins below the minimum count
GROW = 1.8                          # how far a chart may grow beyond its drawn size to fill the page's column
MIN_WIDTH = 640                     # line charts and 2-D histograms: wide enough to fill the column at ~1.7x
DIVERGING = LinearSegmentedColormap.from_list("protiso_div", ["#3a62a0", "#f6f6f6", "#b24038"])
SEQUENTIAL = LinearSegmentedColormap.from_list("protiso_seq", ["#ecf1f8", "#19376d"])
RC = {"font.size": 8, "axes.edgecolor": "#888888", "axes.labelcolor": INK, "xtick.color": INK,
      "ytick.color": INK, "axes.grid": True, "grid.color": GRID, "grid.linewidth": 0.6, "legend.fontsize": 7,
      "legend.frameon": False, "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none",
      "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"]}
_METADATA = {"svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
             "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
             "png": {"Software": None}}


@dataclass
class Series:
    """One line: points (x, y); optional band ``lo``..``hi``; optional per-point data attributes and
    per-point counts (binned curves: bins under the chart's ``min_count`` are faded)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float | None]
    lo: Sequence[float | None] | None = None
    hi: Sequence[float | None] | None = None
    point_attrs: Sequence[dict[str, Any]] | None = None
    markers: bool = True
    dashed: bool = False
    counts: Sequence[int] | None = None
    count_attrs: Sequence[dict[str, Any]] | None = None
    line: bool = True                   # False: points only (a scatter on the same axes)


@dataclass
class Chart:
    """One figure: the matplotlib ``Figure``, its title and the data attributes of its marks (by gid)."""

    title: str
    figure: Figure
    salt: str
    marks: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)   # gid -> (attrs, tooltip)
    point_titles: dict[str, Sequence[str]] = field(default_factory=dict)        # collection gid -> one per point

    def mark(self, artist: Any, attrs: dict[str, Any] | None, tooltip: str) -> None:
        if attrs:
            gid = f"{self.salt}-m{len(self.marks)}"
            artist.set_gid(gid)
            self.marks[gid] = (attrs, tooltip)

    @cached_property
    def svg(self) -> Markup:
        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": self.salt}):
            self.figure.savefig(buffer, format="svg", metadata=_METADATA["svg"])
        return Markup(_inline(buffer.getvalue(), self))

    def __html__(self) -> str:
        return str(self.svg)

    def __str__(self) -> str:
        return str(self.svg)

    def save(self, path: Path, fmt: str) -> Path:
        """Write the figure to ``path`` as ``fmt`` (svg, png at 200 dpi, or pdf)."""
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": self.salt}):
            self.figure.savefig(path, format=fmt, dpi=200, metadata=_METADATA[fmt])
        return path


def _inline(text: str, chart: Chart) -> str:
    """matplotlib's SVG made fit to sit inside an offline HTML page (see the module docstring)."""
    text = text[text.index("<svg"):]
    text = re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)
    text = text.replace("xlink:href=", "href=")
    text = re.sub(r'<g id="(?!' + re.escape(chart.salt) + r'-)[^"]*"', "<g", text)
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', text)
    grow = f' style="max-width: {round(float(width.group(1)) * 96 / 72 * GROW)}px"' if width else ""
    text = text.replace("<svg ", f'<svg class="chart" role="img"{grow} ', 1)
    head = text.index(">") + 1
    text = text[:head] + f"<title>{escape(chart.title)}</title>" + text[head:]
    for gid, (attrs, tooltip) in chart.marks.items():
        extra = "".join(f' {escape(k)}="{escape(v)}"' for k, v in attrs.items())
        text = text.replace(f'<g id="{gid}">', f'<g id="{gid}"{extra}><title>{escape(tooltip)}</title>', 1)
    for gid, titles in chart.point_titles.items():
        text = _titled_points(text, gid, titles)
    return text


_POINT = re.compile(r"<defs>.*?</defs>|<(?:use|path)\b[^>]*/>", re.S)


def _titled_points(text: str, gid: str, titles: Sequence[str]) -> str:
    """Give each point of the collection ``gid`` (a ``<use>`` or ``<path>`` per point, in data order) its own
    ``<title>``, the hover text browsers show without any script. Left as it is if the count differs."""
    start = text.find(f'<g id="{gid}">')
    if start < 0:
        return text
    depth, end = 0, start
    for tag in re.finditer(r"<g\b|</g>", text[start:]):
        depth += 1 if tag.group(0) == "<g" else -1
        if depth == 0:
            end = start + tag.end()
            break
    body = text[start:end]
    points = [m for m in _POINT.finditer(body) if not m.group(0).startswith("<defs")]
    if len(points) != len(titles):
        return text
    out, last = [], 0
    for match, title in zip(points, titles):
        out += [body[last:match.start()], f"<g><title>{escape(title)}</title>{match.group(0)}</g>"]
        last = match.end()
    return text[:start] + "".join(out) + body[last:] + text[end:]


_COUNTER = [0]


def _chart(title: str, width: float, height: float) -> tuple[Chart, Figure]:
    _COUNTER[0] += 1
    salt = f"c{_COUNTER[0]}"
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(width / 96, height / 96), layout="constrained")
    return Chart(title, figure, salt), figure


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}"
    return f"{value:.6g}"


def _usable(y: float | None, log: bool, floor: float | None = None) -> bool:
    return y is not None and math.isfinite(y) and (not log or y > (floor or 0.0))


def _no_data(ax: Any) -> None:
    ax.text(0.5, 0.5, "no data to plot", ha="center", va="center", transform=ax.transAxes, color=INK)
    ax.set_xticks([])
    ax.set_yticks([])


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str, log_y: bool = False,
               log_x: bool = False, x_categories: Sequence[str] | None = None, width: int = 640, height: int = 320,
               y_floor: float | None = None, min_count: int | None = None) -> Chart:
    """Lines (optional markers and sd bands) on shared axes; log axes drop values <= 0 (or <= ``y_floor``).

    ``x_categories`` labels positions 0..k-1 and makes it a dot chart (categories are never joined;
    several series sit side by side). Series with ``counts`` get a lower panel of counts per x; points
    whose count is below ``min_count`` are drawn faded.
    """
    width = max(width, MIN_WIDTH)
    with matplotlib.rc_context(RC):
        binned = any(s.counts is not None for s in series)
        chart, figure = _chart(title, width, height + (70 if binned else 0))
        if binned:
            ax, axc = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
        else:
            ax, axc = figure.add_subplot(), None
        drawn = False
        offsets = _dodge(len(series)) if x_categories is not None else [0.0] * len(series)
        for i, s in enumerate(series):
            colour = PALETTE[i % len(PALETTE)]
            keep = [k for k, (x, y) in enumerate(zip(s.xs, s.ys))
                    if _usable(y, log_y, y_floor) and (not log_x or x > 0)]
            if not keep:
                continue
            drawn = True
            xs = [s.xs[k] + offsets[i] for k in keep]
            ys = [s.ys[k] for k in keep]
            solid = [s.counts is None or min_count is None or s.counts[k] >= min_count for k in keep]
            if s.lo is not None and s.hi is not None:
                band = [(x, s.lo[k], s.hi[k]) for x, k in zip(xs, keep)
                        if _usable(s.lo[k], log_y, y_floor) and _usable(s.hi[k], log_y, y_floor)]
                if band and x_categories is None:
                    ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band],
                                    color=colour, alpha=0.12, linewidth=0)
                elif band:
                    ax.vlines([b[0] for b in band], [b[1] for b in band], [b[2] for b in band], color=colour, lw=1)
            if x_categories is None and not s.line:
                ax.plot([], [], "o", color=colour, label=s.label)
            elif x_categories is None:
                style = "--" if s.dashed else "-"
                ax.plot(xs, ys, style, color=colour, lw=1.6 if all(solid) else 1.0,
                        alpha=1.0 if all(solid) else FADED, label=s.label)
                if not all(solid):  # the line again, solid where both ends have enough members
                    for a in range(len(xs) - 1):
                        if solid[a] and solid[a + 1]:
                            ax.plot(xs[a:a + 2], ys[a:a + 2], style, color=colour, lw=1.6)
            else:
                ax.plot([], [], "o", color=colour, label=s.label)
            if s.markers or x_categories is not None:
                for x, y, k, ok in zip(xs, ys, keep, solid):
                    (point,) = ax.plot([x], [y], "o", color=colour, ms=4.5 if x_categories is None else 6,
                                       alpha=1.0 if ok else FADED, zorder=3)
                    chart.mark(point, s.point_attrs[k] if s.point_attrs else None,
                               f"{s.label}: {_fmt(s.xs[k]) if x_categories is None else x_categories[int(s.xs[k])]}, "
                               f"{_fmt(s.ys[k])}")
            if axc is not None and s.counts is not None:
                width_bar = _bar_width(s.xs) / max(len(series), 1)
                for j, (x, n) in enumerate(zip(s.xs, s.counts)):
                    ok = min_count is None or n >= min_count
                    bar = axc.bar([x + (i - (len(series) - 1) / 2) * width_bar], [n], width=width_bar * 0.9,
                                  color=colour, alpha=1.0 if ok else FADED)
                    chart.mark(bar.patches[0], s.count_attrs[j] if s.count_attrs else None,
                               f"{s.label}: {_fmt(x)}, {n:,} pairs")
        if not drawn:
            _no_data(ax)
            return chart
        if log_y:
            ax.set_yscale("log")
        if log_x:
            ax.set_xscale("log")
        if x_categories is None and not log_x and all(float(x).is_integer() for s in series for x in s.xs):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # layers 1, 2, 3, never 1.5
        if x_categories is not None:
            ax.set_xticks(range(len(x_categories)), list(x_categories))
            ax.set_xlim(-0.5, len(x_categories) - 0.5)
            ax.grid(axis="x", visible=False)
        ax.set_ylabel(y_label)
        (axc or ax).set_xlabel(x_label)
        if axc is not None:
            axc.set_yscale("log")
            axc.set_ylabel("pairs")
            if min_count is not None:
                axc.axhline(min_count, color="#888888", lw=0.8, ls=":")
        if len(series) > 1:
            ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
    return chart


def _dodge(count: int) -> list[float]:
    step = 0.12 if count > 1 else 0.0
    return [(i - (count - 1) / 2) * step for i in range(count)]


def _bar_width(xs: Sequence[float]) -> float:
    gaps = [b - a for a, b in pairwise(xs) if b > a]
    return min(gaps) if gaps else 1.0


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float | None]], *,
            title: str, cell_attrs: Sequence[Sequence[dict[str, Any] | None]] | None = None,
            vmin: float = -1.0, vmax: float = 1.0, cell: int = 56, key_label: str = "correlation") -> Chart:
    """A matrix of coloured cells with their values written in (empty for None) and a colour key."""
    with matplotlib.rc_context(RC):
        label_w = 12 + 6.5 * max((len(r) for r in rows), default=4)
        chart, figure = _chart(title, label_w + cell * len(cols) + 90, cell * len(rows) + 50)
        ax = figure.add_subplot()
        norm = Normalize(vmin, vmax)
        for i, row in enumerate(rows):
            for j, col in enumerate(cols):
                value = values[i][j]
                if value is None or not math.isfinite(value):
                    ax.add_patch(Rectangle((j, i), 0.96, 0.96, facecolor="#fafafa", edgecolor=GRID))
                    continue
                patch = ax.add_patch(Rectangle((j, i), 0.96, 0.96, facecolor=DIVERGING(norm(value)), lw=0))
                chart.mark(patch, cell_attrs[i][j] if cell_attrs else None, f"{row} / {col}: {value:.3f}")
                strong = abs(value - (vmin + vmax) / 2) > 0.6 * (vmax - vmin) / 2
                ax.text(j + 0.48, i + 0.5, f"{value:.2f}", ha="center", va="center",
                        color="#ffffff" if strong else INK)
        ax.set_xlim(0, len(cols))
        ax.set_ylim(len(rows), 0)
        ax.set_xticks([j + 0.48 for j in range(len(cols))], list(cols))
        ax.set_yticks([i + 0.48 for i in range(len(rows))], list(rows))
        ax.xaxis.tick_top()
        ax.grid(False)
        ax.set_aspect("equal")
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(length=0)
        figure.colorbar(ScalarMappable(norm, DIVERGING), ax=ax, label=key_label, shrink=0.8)
    return chart


def histogram2d(cells: Sequence[tuple[int, int, int]], nx: int, ny: int, x_range: tuple[float, float],
                y_range: tuple[float, float], *, title: str, x_label: str, y_label: str,
                overlay: Series | None = None, width: int = 420, height: int = 320) -> Chart:
    """Counts of (x bin, y bin) as shaded cells (log colour scale, with its key) and a mean +- sd line.

    Bin i of nx covers ``x_range[0] + i * (x_range[1] - x_range[0]) / nx`` onwards (same for y).
    """
    width = max(width, MIN_WIDTH)
    with matplotlib.rc_context(RC):
        chart, figure = _chart(title, width, height)
        ax = figure.add_subplot()
        (x_lo, x_hi), (y_lo, y_hi) = x_range, y_range
        if x_hi <= x_lo:
            x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
        if y_hi <= y_lo:
            y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
        grid = np.full((ny, nx), np.nan)
        for ix, iy, count in cells:
            grid[iy, ix] = count
        top = max((c for _, _, c in cells), default=1)
        # one embedded image (cells as pixels), not one vector path per cell
        mesh = ax.imshow(np.ma.masked_invalid(grid), origin="lower", extent=(x_lo, x_hi, y_lo, y_hi), aspect="auto",
                         interpolation="none", cmap=SEQUENTIAL, norm=LogNorm(1, max(top, 2)))
        if overlay is not None:
            pts = [(x, y, lo, hi) for x, y, lo, hi in zip(overlay.xs, overlay.ys, overlay.lo or overlay.ys,
                                                          overlay.hi or overlay.ys) if y is not None]
            if pts:
                ax.fill_between([p[0] for p in pts], [p[2] for p in pts], [p[3] for p in pts],
                                color="#dd8452", alpha=0.25, linewidth=0)
                ax.plot([p[0] for p in pts], [p[1] for p in pts], color="#c0392b", lw=1.6)
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.grid(False)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        figure.colorbar(mesh, ax=ax, label="pairs (log scale)")
    return chart


def scatter(groups: Sequence[tuple], *, title: str, x_label: str, y_label: str, width: int = 560,
            height: int = 420) -> Chart:
    """Points coloured by group (label, xs, ys[, names]), in the order given, with a legend; ``names``
    (one per point) become each point's hover text, ``name · label``."""
    with matplotlib.rc_context(RC):
        chart, figure = _chart(title, width, height)
        ax = figure.add_subplot()
        if not any(len(group[1]) for group in groups):
            _no_data(ax)
            return chart
        size = 14 if sum(len(group[1]) for group in groups) < 2000 else 4
        for i, (label, xs, ys, *names) in enumerate(groups):
            colours = [c for c in PALETTE if c != "#8c8c8c"]  # grey is for "other" / "no annotation"
            colour = "#bbbbbb" if label in ("other", "no annotation") else colours[i % len(colours)]
            points = ax.scatter(xs, ys, s=size, color=colour, alpha=0.8, linewidths=0, label=f"{label} ({len(xs):,})")
            if names and names[0] is not None:
                gid = f"{chart.salt}-p{i}"
                points.set_gid(gid)
                chart.point_titles[gid] = [f"{name} · {label}" for name in names[0]]
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), markerscale=1.5)
    return chart
