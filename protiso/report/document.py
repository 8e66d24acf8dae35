"""The report document: build every registered section's context, render ``reports/report.html``,
write the file.

``build_context`` runs each ``sections.REGISTRY`` builder once over one ``Source`` and rewrites the
``-w W`` of every "missing" command to name this warehouse. ``render`` uses the one Jinja environment
(autoescaping, ``StrictUndefined``) and then encodes ``://`` in the output so nothing reads as a
fetchable address. ``render_report`` writes through a temporary file, so a failed render leaves no
partial report. ``write_figures`` (``protiso report --figures DIR``) saves every chart of the built
context as its own SVG, PNG or PDF file, named by section and title, drawn by the same matplotlib
figure as the inline SVG.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from protiso import progress
from protiso.errors import ProtisoError, did_you_mean
from protiso.options import changed
from protiso.progress import shown
from protiso.report.common import (
    MIN_BIN_COUNT,
    Source,
    format_number,
    iso_keys,
    number_attr,
)
from protiso.report.missing import fit_to_state, missing_lines
from protiso.report.options import FORMATS, ReportOptions, check_color_by
from protiso.report.plots import Chart
from protiso.report.sections import REGISTRY, SECTIONS
from protiso.report.sections.correlations import correlation_keys, partial_keys
from protiso.version import __version__
from protiso.warehouse import Warehouse, resources
from protiso.warehouse.connection import make_folder

__all__ = ["ReportContext", "ReportSummary", "build_context", "charts", "environment", "render", "render_report",
           "write_figures"]


@dataclass
class ReportContext:
    """What ``reports/report.html`` renders (as ``ctx``)."""

    title: str
    generated_at: str
    warehouse: str
    version: str
    models: list[str] | None
    sections: dict[str, Any]            # section key -> its context, in REGISTRY order


@dataclass
class ReportSummary:
    """What ``render_report`` wrote: the file, its size, the time taken and what was missing."""

    output: Path
    bytes: int
    seconds: float
    sections: dict[str, bool]           # section key -> had all of its data
    missing: list[str]                  # "what: command[; then command]" lines
    figures: list[Path] = dataclasses.field(default_factory=list)   # files written by --figures
    missing_groups: list[str] = dataclasses.field(default_factory=list)  # the same, one line per command chain


def environment() -> jinja2.Environment:
    """The one Jinja environment for reports: autoescaping, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.root("reports"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,     # a partial's last line ends as it would inline
    )
    env.filters["number"] = format_number
    env.filters["number_attr"] = number_attr
    env.globals["iso_keys"] = iso_keys
    env.globals["correlation_keys"] = correlation_keys
    env.globals["partial_keys"] = partial_keys
    env.globals["min_bin_count"] = MIN_BIN_COUNT
    return env


def _defang(html: str) -> str:
    """Write ``://`` in user text as ``&#58;//`` so nothing in the file reads as a fetchable address.

    The report never links anywhere; this only changes how addresses that appear in user data
    (run parameters, names) are encoded. Browsers display them unchanged.
    """
    return html.replace("://", "&#58;//")


# -- entry point ------------------------------------------------------------------------------


def build_context(wh: Warehouse, models: list[str] | None = None, title: str | None = None,
                  color_by: str = ReportOptions.color_by) -> ReportContext:
    """Run the report queries and build every section's context (``color_by``: the PCA view's annotation)."""
    if models is not None:
        models = _check_models(wh, models)
    source = Source(wh, models, check_color_by(color_by))
    context = ReportContext(
        title=title or f"protiso report: {wh.path.name}",
        generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        warehouse=str(wh.path),
        version=__version__,
        models=models,
        sections={section.key: section.build(source)
                  for section in progress.bar(REGISTRY, desc="report sections", unit="section")},
    )
    fit_to_state(wh, [item for data in context.sections.values() for item in data.missing])
    where = shlex.quote(str(wh.path))
    for data in context.sections.values():
        for item in data.missing:
            item.commands = [c.replace("-w W", f"-w {where}") for c in item.commands]
    return context


def _check_models(wh: Warehouse, models: list[str]) -> list[str]:
    known = {r[0] for r in wh.con.execute(wh.sql_text("report_known_models")).fetchall()}
    unknown = [m for m in models if m not in known]
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        raise ProtisoError(f"model(s) {', '.join(unknown)} not in the warehouse {wh.path}"
                           f"{did_you_mean(unknown[0], known)} (it has: {have})")
    return list(dict.fromkeys(models))


def render(context: ReportContext) -> str:
    """Render ``reports/report.html`` with ``context``, its sections in REGISTRY order."""
    return _defang(environment().get_template("report.html").render(ctx=context, sections=REGISTRY))


def charts(context: ReportContext) -> list[tuple[str, Chart]]:
    """Every chart of the context, in page order, with its section key."""
    found: list[tuple[str, Chart]] = []

    def walk(key: str, value: Any) -> None:
        if isinstance(value, Chart):
            found.append((key, value))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for item in dataclasses.fields(value):
                walk(key, getattr(value, item.name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(key, item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(key, item)

    for section in REGISTRY:
        walk(section.key, context.sections[section.key])
    return found


def figure_slug(title: str) -> str:
    """A file name part from a chart's title: lower-case letters, digits and single hyphens; a negative
    number keeps its sign as ``minus`` (``layer -1`` -> ``layer-minus1``, not ``layer-1``)."""
    text = re.sub(r"(?<![\w.])[-\u2212](?=\d)", " minus", title.lower().replace("·", " "))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80].rstrip("-") or "figure"


def write_figures(context: ReportContext, folder: str | Path, fmt: str = ReportOptions.figure_format) -> list[Path]:
    """Save every chart of ``context`` in ``folder`` (created) as ``NN-SECTION-TITLE.FMT``; the paths written."""
    if fmt not in FORMATS:
        raise ProtisoError(f"--figure-format {fmt!r}: use one of {', '.join(FORMATS)}")
    folder = Path(folder)
    make_folder(folder, f"{folder} is a file; --figures takes a folder", "")
    written = []
    for number, (key, chart) in enumerate(progress.bar(charts(context), desc=f"report figures ({fmt})",
                                                       unit="figure"), start=1):
        path = folder / f"{number:02d}-{key}-{figure_slug(chart.title)}.{fmt}"
        try:
            written.append(chart.save(path, fmt))
        except OSError as error:
            raise ProtisoError(f"cannot write {path}: {error.strerror}") from None
    return written


def render_report(wh: Warehouse, options: ReportOptions | str | Path, *, progress: bool = True,
                  **changes) -> ReportSummary:
    """Write the HTML report of ``wh`` (``ReportOptions``; an output path alone means its defaults, with
    keyword ``changes`` to its fields); return what was written and what was missing. ``progress``: bars on
    stderr (sections, figures) when it is a terminal."""
    if not isinstance(options, ReportOptions):
        options = ReportOptions(options)
    options = changed(ReportOptions, options, changes).check()
    with shown(progress):
        return _render_report(wh, options)


def _render_report(wh: Warehouse, options: ReportOptions) -> ReportSummary:
    started = time.perf_counter()
    output, figures, figure_format = options.output, options.figures, options.figure_format
    models = list(options.models) if options.models else None
    context = build_context(wh, models, options.title, options.color_by)
    for _, chart in progress.bar(charts(context), desc="report figures (inline SVG)", unit="figure"):
        chart.svg                                  # drawn once here (cached), with progress
    html = render(context)
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(output)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ProtisoError(f"cannot write {output}: {error.strerror}") from None
    sections = {name: not context.sections[name].missing for name in SECTIONS}
    missing = [f"{m.what}: {'; then '.join(m.commands)}"
               for name in SECTIONS for m in context.sections[name].missing]
    written = write_figures(context, figures, figure_format) if figures is not None else []
    groups = missing_lines([m for name in SECTIONS for m in context.sections[name].missing])
    return ReportSummary(output, len(html.encode()), time.perf_counter() - started, sections, missing, written,
                         groups)
