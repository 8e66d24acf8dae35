"""Report section 1, warehouse summary: row counts, embeddings per model and layer, the newest runs.

Reads ``report_counts.sql`` (whole warehouse, whatever models are selected), ``report_models.sql`` and
``report_runs.sql`` (the newest ``RUNS_SHOWN`` runs, each with its parameters and versions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import RUNS_SHOWN, Missing, Source, rows


@dataclass
class SummarySection:
    counts: dict[str, int]
    models: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    missing: list[Missing] = field(default_factory=list)


def summary_section(source: Source) -> SummarySection:
    wh = source.wh
    counts = rows(wh, "report_counts")[0]
    section = SummarySection(counts, rows(wh, "report_models", models=source.models),
                             rows(wh, "report_runs", limit=RUNS_SHOWN))
    if not counts["proteins"]:
        section.missing.append(Missing.of("proteins", "proteins"))
    if not counts["vectors"]:
        section.missing.append(Missing.of("embeddings", "embeddings"))
    return section
