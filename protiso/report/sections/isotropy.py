"""Report section 2, isotropy of each model and layer, beside the study's published figures.

Reads the newest isotropy row over all points per model, layer, embedding set and scope
(``Source.isotropy_rows``) and attaches the matching published figure (``protiso.report.published``),
which is labelled as published, never mixed with the warehouse's own numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report import published
from protiso.report.common import Missing, Source


@dataclass
class IsotropySection:
    rows: list[dict[str, Any]]          # newest isotropy row per model/layer/set/scope, + "published"
    has_ci: bool                        # some row has a bootstrap confidence interval
    figures: tuple[published.PublishedFigure, ...]
    citation: str
    missing: list[Missing] = field(default_factory=list)


def isotropy_section(source: Source) -> IsotropySection:
    iso_rows = [dict(r) for r in source.isotropy_rows]
    for row in iso_rows:
        row["published"] = published.for_model(row["model"], row["scope"])
    has_ci = any(row["isoscore_ci_low"] is not None for row in iso_rows)
    section = IsotropySection(iso_rows, has_ci, published.FIGURES, published.CITATION)
    scopes = {row["scope"] for row in iso_rows}
    if "global" not in scopes:
        section.missing.append(Missing.of("global isotropy (per-protein vectors)", "isotropy"))
    if "local" not in scopes:
        section.missing.append(Missing.of("local isotropy (per-residue vectors, from the residue statistics "
                                                  "that embedding records)", "embeddings", "isotropy"))
    return section
