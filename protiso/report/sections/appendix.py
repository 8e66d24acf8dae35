"""Report appendix, last on the page: every run that produced the warehouse's data, with its parameters.

Reads ``report_runs.sql`` (the newest ``RUNS_SHOWN`` runs, each with its kind, status, model, revision,
layer, pooling, parameters as JSON and software versions) and the total from ``report_counts.sql``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import RUNS_SHOWN, Missing, Source, rows


@dataclass
class AppendixSection:
    runs: list[dict[str, Any]]
    total: int
    missing: list[Missing] = field(default_factory=list)


def appendix_section(source: Source) -> AppendixSection:
    total = rows(source.wh, "report_counts")[0]["runs"]
    section = AppendixSection(rows(source.wh, "report_runs", limit=RUNS_SHOWN), total)
    if not section.runs:
        section.missing.append(Missing.of("runs (every ingest, embedding or metric run records one)", "proteins"))
    return section
