"""Report section "warehouse summary": row counts and embeddings per model and layer.

Reads ``report_counts.sql`` (whole warehouse, whatever models are selected) and ``report_models.sql``.
The runs that produced the data, with their parameters, are in the appendix (``sections.appendix``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import Missing, Source, rows


@dataclass
class SummarySection:
    counts: dict[str, int]
    models: list[dict[str, Any]]
    missing: list[Missing] = field(default_factory=list)


def summary_section(source: Source) -> SummarySection:
    wh = source.wh
    counts = rows(wh, "report_counts")[0]
    section = SummarySection(counts, rows(wh, "report_models", models=source.models))
    if not counts["proteins"]:
        section.missing.append(Missing.of("proteins", "proteins"))
    if not counts["vectors"]:
        section.missing.append(Missing.of("embeddings", "embeddings"))
    return section
