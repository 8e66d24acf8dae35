"""Report section 3, covariance spectra: eigenvalues and cumulative share of variance, per scope.

Both scopes are read, never computed here, by one query, ``report_spectrum.sql``, as ``protiso isotropy``
stored them (``protiso.metrics.spectra``): global spectra (per-protein vectors of each model's highest
raw layer) in ``global_spectra`` from one streamed scan of the set, local spectra (per-residue vectors)
in ``local_spectra`` from the merged residue statistics. One row per scope, model, layer and
component k with its share of variance, the running total and the components that hold 50 / 90 / 99 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import Missing, Source, grouped, rows
from protiso.report.plots import Series, line_chart


@dataclass
class SpectraSection:
    panels: list[dict[str, Any]]        # per scope: {"scope", "eigen_svg", "cumulative_svg", "summary" rows}
    missing: list[Missing] = field(default_factory=list)


def spectra_section(source: Source) -> SpectraSection:
    wh, models = source.wh, source.models
    section = SpectraSection([])
    data = rows(wh, "report_spectrum", models=models)
    global_, local = ([row for row in data if row["scope"] == scope] for scope in ("global", "local"))
    if global_:
        section.panels.append(_spectrum_panel("global", global_))
    elif rows(wh, "report_counts")[0]["vectors"]:
        section.missing.append(Missing.of("global covariance spectra, stored from the per-protein vectors",
                                          "isotropy"))
    else:
        section.missing.append(Missing.of("per-protein embeddings (2 or more per model)", "embeddings"))
    if local:
        section.panels.append(_spectrum_panel("local", local))
    elif rows(wh, "report_residue_stats", models=models)[0]["rows"]:
        section.missing.append(Missing.of("local covariance spectra, stored from the residue statistics",
                                          "isotropy"))
    else:
        section.missing.append(Missing.of("residue statistics (local scope), recorded when embedding",
                                          "embeddings", "isotropy"))
    return section


def _spectrum_panel(scope: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    """Two charts (eigenvalues, cumulative share) and a summary table for one scope's query rows."""
    series_v, series_c, summary = [], [], []
    for (model, layer), points in grouped(data, ("model", "layer")).items():
        label = f"{model} · layer {layer}"
        ks = [p["k"] for p in points]
        series_v.append(Series(label, ks, [p["eigenvalue"] for p in points], markers=False))
        series_c.append(Series(label, ks, [p["cumulative"] for p in points], markers=False))
        summary.append({"model": model, "layer": layer, "scope": scope, "dim": len(points),
                        **{f"dims_{q}": points[0][f"dims_{q}"] for q in (50, 90, 99)}})
    where = "per-protein" if scope == "global" else "per-residue"
    values_svg = line_chart(series_v, title=f"Covariance eigenvalue spectra, {where} vectors",
                            x_label="component (log scale)", y_label="share of variance (log scale)",
                            log_y=True, log_x=True, y_floor=1e-12, width=500)
    cumulative_svg = line_chart(series_c, title=f"Cumulative explained variance, {where} vectors",
                                x_label="components (log scale)", y_label="cumulative share of variance",
                                log_x=True, width=500)
    return {"scope": scope, "eigen_svg": values_svg, "cumulative_svg": cumulative_svg, "summary": summary}
