"""The HTML report: each section's context is built from SQL results (``sql/queries/report_*.sql``)
and rendered with the Jinja templates in ``reports/`` into one self-contained file.

Sections: 1 warehouse summary, 2 isotropy table (with the study's published figures), 3 covariance
spectra, 4 layer-wise curves, 5 correlations with alignments, 6 isotropy by annotation group,
7 raw vs post-processed embeddings. A section whose data is absent renders a note naming what is
missing and the protiso command that produces it.

The file has no scripts and references nothing outside itself: CSS is inline and figures are inline
SVG (``protiso.plots``). Every number shown in a table or figure carries ``data-metric`` and
``data-value`` attributes so tests can compare it with the warehouse's SQL answer.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import jinja2

from protiso import resources
from protiso.errors import ProtisoError
from protiso.report_common import SECTIONS, format_number, iso_keys, number_attr, rows
from protiso.report_pairs import CorrelationSection, correlation_keys, correlation_section
from protiso.report_sections import (
    GroupsSection,
    IsotropySection,
    LayersSection,
    PostprocessSection,
    SpectraSection,
    SummarySection,
    groups_section,
    isotropy_section,
    layers_section,
    postprocess_section,
    spectra_section,
    summary_section,
)
from protiso.warehouse import Warehouse

__all__ = ["ReportContext", "ReportSummary", "build_context", "render", "render_report"]


@dataclass
class ReportContext:
    title: str
    generated_at: str
    warehouse: str
    version: str
    models: list[str] | None
    summary: SummarySection
    isotropy: IsotropySection
    spectra: SpectraSection
    layers: LayersSection
    correlations: CorrelationSection
    groups: GroupsSection
    postprocess: PostprocessSection


@dataclass
class ReportSummary:
    """What ``render_report`` wrote: the file, its size, the time taken and what was missing."""

    output: Path
    bytes: int
    seconds: float
    sections: dict[str, bool]           # section key -> had all of its data
    missing: list[str]                  # "what: command[; then command]" lines


def environment() -> jinja2.Environment:
    """The one Jinja environment for reports: autoescaping, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.root("reports"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = format_number
    env.filters["number_attr"] = number_attr
    env.globals["iso_keys"] = iso_keys
    env.globals["correlation_keys"] = correlation_keys
    return env


def _defang(html: str) -> str:
    """Write ``://`` in user text as ``&#58;//`` so nothing in the file reads as a fetchable address.

    The report never links anywhere; this only changes how addresses that appear in user data
    (run parameters, names) are encoded. Browsers display them unchanged.
    """
    return html.replace("://", "&#58;//")


# -- entry point ------------------------------------------------------------------------------


def build_context(wh: Warehouse, models: list[str] | None = None, title: str | None = None) -> ReportContext:
    """Run the report queries and build every section's context."""
    from protiso import __version__

    if models is not None:
        models = _check_models(wh, models)
    iso_rows = rows(wh, "report_isotropy", models=models)
    context = ReportContext(
        title=title or f"protiso report: {wh.path.name}",
        generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        warehouse=str(wh.path),
        version=__version__,
        models=models,
        summary=summary_section(wh, models),
        isotropy=isotropy_section([dict(r) for r in iso_rows]),
        spectra=spectra_section(wh, models),
        layers=layers_section(iso_rows),
        correlations=correlation_section(wh, models),
        groups=groups_section(wh, models),
        postprocess=postprocess_section(iso_rows),
    )
    where = shlex.quote(str(wh.path))
    for name in SECTIONS:
        for item in getattr(context, name).missing:
            item.commands = [c.replace("-w W", f"-w {where}") for c in item.commands]
    return context


def _check_models(wh: Warehouse, models: list[str]) -> list[str]:
    known = {r[0] for r in wh.con.execute(
        "SELECT DISTINCT model FROM embeddings UNION SELECT DISTINCT model FROM isotropy").fetchall()}
    unknown = [m for m in models if m not in known]
    if unknown:
        have = ", ".join(sorted(known)) or "none"
        raise ProtisoError(f"model(s) {', '.join(unknown)} not in the warehouse {wh.path} (it has: {have})")
    return list(dict.fromkeys(models))


def render(context: ReportContext) -> str:
    """Render ``reports/report.html`` with ``context``."""
    return _defang(environment().get_template("report.html").render(ctx=context))


def render_report(wh: Warehouse, output: str | Path, models: list[str] | None = None,
                  title: str | None = None) -> ReportSummary:
    """Write the HTML report of ``wh`` to ``output``; return what was written and what was missing."""
    started = time.perf_counter()
    output = Path(output)
    if output.is_dir():
        raise ProtisoError(f"{output} is a directory; give a file name such as report.html")
    context = build_context(wh, models, title)
    html = render(context)
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(output)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ProtisoError(f"cannot write {output}: {error.strerror}") from None
    sections = {name: not getattr(context, name).missing for name in SECTIONS}
    missing = [f"{m.what}: {'; then '.join(m.commands)}" for name in sections for m in getattr(context, name).missing]
    return ReportSummary(output, len(html.encode()), time.perf_counter() - started, sections, missing)
