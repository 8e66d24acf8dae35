"""Report section "isotropy and correlations across layers": curves against layer, all models overlaid.

Reads ``Source.isotropy_rows`` (raw embeddings; one chart per scope and metric: IsoScore, effective
dimensions) and ``report_correlations.sql`` (raw embeddings; one chart per embedding metric vs.
alignment metric of the study: Pearson r against layer), one line per model (and pooling / alignment
run when there are several) with at least two layers. Each point carries the ``data-*`` attributes of
its isotropy or correlations row. This replaces one correlation heatmap per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import (
    Missing,
    Source,
    grouped,
    has_relation,
    iso_point_attrs,
    number_attr,
    rows,
)
from protiso.report.plots import Series, line_chart
from protiso.report.sections.correlations import (
    EMBEDDING_METRICS,
    LABELS,
    TABLE_ALIGNMENT_METRICS,
    correlation_keys,
)


@dataclass
class LayersSection:
    charts: list[dict[str, Any]]        # {"title", "scope", "metric", "svg"} per scope and metric
    missing: list[Missing] = field(default_factory=list)


def layers_section(source: Source) -> LayersSection:
    raw = [r for r in source.isotropy_rows if r["embedding_set"] == "raw"]
    charts = []
    for scope in ("global", "local"):
        by_model = grouped([r for r in raw if r["scope"] == scope], ("model",))
        by_model = {k: v for k, v in by_model.items() if len({r["layer"] for r in v}) >= 2}
        if not by_model:
            continue
        for metric, label, log in (("isoscore", "IsoScore (log scale)", True),
                                   ("effective_dims", "effective dimensions", False)):
            series = []
            for (model,), points in by_model.items():
                points = sorted(points, key=lambda r: r["layer"])
                series.append(Series(
                    model, [r["layer"] for r in points], [r[metric] for r in points],
                    point_attrs=[iso_point_attrs(r, metric) for r in points]))
            title = f"{scope.capitalize()} {label.split(' (')[0]} by layer"
            charts.append({"title": title, "scope": scope, "metric": metric,
                           "svg": line_chart(series, title=title, x_label="layer", y_label=label, log_y=log,
                                             width=500)})
    charts += _correlation_charts(source)
    section = LayersSection(charts)
    if not charts:
        section.missing.append(Missing.of("isotropy of two or more layers of one model", "layers", "isotropy"))
    return section


def _correlation_charts(source: Source) -> list[dict[str, Any]]:
    """Pearson r of each embedding metric with identity and score against layer (raw sets)."""
    if not has_relation(source.wh, "correlations"):
        return []
    data = [r for r in rows(source.wh, "report_correlations", models=source.models) if r["embedding_set"] == "raw"]
    several = len({(r["pooling"], r["alignment_run"]) for r in data}) > 1
    charts = []
    for x in EMBEDDING_METRICS:
        for y in TABLE_ALIGNMENT_METRICS:
            found = [r for r in data if {r["metric_x"], r["metric_y"]} == {x, y}]
            series = []
            for (model, pooling, run), points in grouped(found, ("model", "pooling", "alignment_run")).items():
                points = sorted(points, key=lambda r: r["layer"])
                if len({r["layer"] for r in points}) < 2:
                    continue
                label = model + (f" · {pooling} · {run}" if several else "")
                attrs = [{"data-metric": "pearson", **{f"data-{k}": v for k, v in correlation_keys(r).items()},
                          "data-value": number_attr(r["pearson"])} for r in points]
                series.append(Series(label, [r["layer"] for r in points], [r["pearson"] for r in points],
                                     point_attrs=attrs))
            if series:
                title = f"Pearson r of {LABELS[x]} with {LABELS[y]} by layer"
                charts.append({"title": title, "scope": "pairs", "metric": f"{x}~{y}",
                               "svg": line_chart(series, title=title, x_label="layer", y_label="Pearson r",
                                                 width=500)})
    return charts
