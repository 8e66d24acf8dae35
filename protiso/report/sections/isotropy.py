"""Report section 2, isotropy of each model and layer, beside the study's published figures.

Reads the newest isotropy row per model, layer, embedding set and scope (``Source.isotropy_rows``; rows
from the embedding job's statistics are marked by ``origin``) and attaches the published figure, labelled
as such; its metric columns are those the metric registry reports (``protiso.metrics.registry``). Models
compared side by side are also shown on the proteins every model has (group_value
'models'), each row with its N. Local isotropy shows both definitions from ``local_isotropy``; the
study's "about 14 effective dimensions per amino acid" sits beside ``per_protein`` rows only, at the
model's last layer and full width. docs/architecture.md (module notes) has the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.metrics import registry as metric_registry
from protiso.metrics.registry import Metric
from protiso.report import published
from protiso.report.common import Missing, Source, has_relation, rows


@dataclass
class IsotropySection:
    rows: list[dict[str, Any]]          # newest isotropy row per model/layer/set/scope, + "published"
    has_ci: bool                        # some row has a bootstrap confidence interval
    figures: tuple[published.PublishedFigure, ...]
    citation: str
    local: list[dict[str, Any]] = field(default_factory=list)   # local_isotropy rows, + "published"
    local_figure: published.PublishedFigure | None = None
    matched: list[dict[str, Any]] = field(default_factory=list)  # rows on the proteins every model has
    matched_differs: bool = False                                # some set's own proteins differ from those
    from_stats: list[str] = field(default_factory=list)         # origins of rows not from protiso isotropy
    columns: list[Metric] = field(default_factory=list)         # the metric columns (registry's ``reported``)
    missing: list[Missing] = field(default_factory=list)


def local_definitions(source: Source) -> list[dict[str, Any]]:
    """Newest ``local_isotropy`` row per model, layer and definition, each with ``published``: the study's
    per-amino-acid figure where it applies (per-protein definition, last layer, full width), else None."""
    figure = published.local_figure()
    out = []
    for row in rows(source.wh, "report_local_isotropy", models=source.models):
        if row["last_layer"] is None:
            row["last_layer"] = published.model_layers(row["model"])
        row["published"] = figure if (row["definition"] == "per_protein" and row["layer"] == row["last_layer"]
                                      and row["global_dim"] is not None and row["dim"] == row["global_dim"]) else None
        out.append(row)
    return out


def isotropy_section(source: Source) -> IsotropySection:
    iso_rows = [dict(r) for r in source.isotropy_rows]
    for row in iso_rows:
        row["published"] = published.for_model(row["model"], row["scope"])
    has_ci = any(row["isoscore_ci_low"] is not None for row in iso_rows)
    section = IsotropySection(iso_rows, has_ci, published.FIGURES, published.CITATION)
    section.columns = metric_registry.active().reported()
    section.from_stats = sorted({row["origin"] for row in iso_rows if row["origin"] != "isotropy"})
    section.matched = [r for r in rows(source.wh, "report_isotropy_matched", models=source.models)
                       if r["group_value"] == "models"]
    section.matched_differs = any(r["n_points"] != r["n_own"] for r in section.matched)
    if has_relation(source.wh, "local_isotropy"):
        section.local = local_definitions(source)
    section.local_figure = published.local_figure()
    scopes = {row["scope"] for row in iso_rows}
    if "global" not in scopes:
        section.missing.append(Missing.of("global isotropy (per-protein vectors)", "isotropy"))
    if "local" not in scopes:
        section.missing.append(Missing.of("local isotropy (per-residue vectors, from the residue statistics "
                                                  "that embedding records)", "embeddings", "isotropy"))
    return section
