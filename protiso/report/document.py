"""The report document: build every registered section's context, render ``reports/report.html``,
write the file.

``build_context`` runs each ``sections.REGISTRY`` builder once over one ``Source`` and rewrites the
``-w W`` of every "missing" command to name this warehouse. ``render`` uses the one Jinja environment
(autoescaping, ``StrictUndefined``) and then encodes ``://`` in the output so nothing reads as a
fetchable address. ``render_report`` writes through a temporary file, so a failed render leaves no
partial report.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from protiso.errors import ProtisoError
from protiso.report.common import Source, format_number, iso_keys, number_attr
from protiso.report.sections import REGISTRY, SECTIONS
from protiso.report.sections.correlations import correlation_keys
from protiso.warehouse import Warehouse, resources

__all__ = ["ReportContext", "ReportSummary", "build_context", "environment", "render", "render_report"]


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
    source = Source(wh, models)
    context = ReportContext(
        title=title or f"protiso report: {wh.path.name}",
        generated_at=datetime.now().strftime("%Y-%m-%d %H:%M"),
        warehouse=str(wh.path),
        version=__version__,
        models=models,
        sections={section.key: section.build(source) for section in REGISTRY},
    )
    where = shlex.quote(str(wh.path))
    for data in context.sections.values():
        for item in data.missing:
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
    """Render ``reports/report.html`` with ``context``, its sections in REGISTRY order."""
    return _defang(environment().get_template("report.html").render(ctx=context, sections=REGISTRY))


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
    sections = {name: not context.sections[name].missing for name in SECTIONS}
    missing = [f"{m.what}: {'; then '.join(m.commands)}"
               for name in SECTIONS for m in context.sections[name].missing]
    return ReportSummary(output, len(html.encode()), time.perf_counter() - started, sections, missing)
