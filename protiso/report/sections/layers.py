"""Report section "isotropy and correlations across layers": curves against layer, all models overlaid.

Matched by default: a global curve is drawn from the rows measured on the proteins every layer of the
model has (``report_isotropy_matched.sql``, group_value 'layers'); where a layer's own proteins differ
from those, its unmatched figure is drawn as a separate dashed, labelled line, and the table ``n_rows``
gives N per layer for both. Local curves likewise: the stored residues of the proteins with stored
residues at every layer (``protiso.jobs.isotropy_local_matched``), each layer's own residues as the
labelled extra. The correlation curves come from ``correlations_matched`` (``n_pairs`` rows give N).
Without matched rows (a run before migration 0010) the plain rows are drawn, labelled unmatched. Each
point carries the ``data-*`` attributes of its row.
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
    n_rows: list[dict[str, Any]] = field(default_factory=list)     # matched rows: N per model and layer
    n_pairs: list[dict[str, Any]] = field(default_factory=list)    # correlations_matched: N per layer
    unmatched: list[str] = field(default_factory=list)             # models whose layers cover different proteins
    missing: list[Missing] = field(default_factory=list)


def layers_section(source: Source) -> LayersSection:
    raw = [r for r in source.isotropy_rows if r["embedding_set"] == "raw"]
    matched = [r for r in rows(source.wh, "report_isotropy_matched", models=source.models)
               if r["embedding_set"] == "raw" and r["group_value"] == "layers"]
    section = LayersSection([], n_rows=matched)
    for scope in ("global", "local"):
        own_rows = grouped([r for r in raw if r["scope"] == scope], ("model",))
        same = grouped([r for r in matched if r["scope"] == scope], ("model",))
        curves = sorted(k for k in {**own_rows, **same}
                        if len({r["layer"] for r in own_rows.get(k, []) + same.get(k, [])}) >= 2)
        if not curves:
            continue
        for metric, label, log in (("isoscore", "IsoScore (log scale)", True),
                                   ("effective_dims", "effective dimensions", False)):
            series = []
            for (model,) in curves:
                points = sorted(own_rows.get((model,), []), key=lambda r: r["layer"])
                mine = sorted(same.get((model,), []), key=lambda r: r["layer"])
                differ = not mine or any(r["n_points"] != r["n_own"] for r in mine)
                if mine:
                    n = mine[0]["n_proteins"] if scope == "local" else mine[0]["n_points"]
                    what = "proteins' stored residues" if scope == "local" else "proteins"
                    series.append(Series(
                        f"{model} (the same {n:,} {what} at every layer)", [r["layer"] for r in mine],
                        [r[metric] for r in mine], point_attrs=[iso_point_attrs(r, metric) for r in mine]))
                    if differ and model not in section.unmatched:
                        section.unmatched.append(model)
                if differ and points:
                    own = "residues" if scope == "local" else "proteins"
                    series.append(Series(
                        f"{model}, each layer's own {own} (unmatched)", [r["layer"] for r in points],
                        [r[metric] for r in points], point_attrs=[iso_point_attrs(r, metric) for r in points],
                        dashed=bool(mine)))
            title = f"{scope.capitalize()} {label.split(' (')[0]} by layer"
            section.charts.append({"title": title, "scope": scope, "metric": metric,
                                   "svg": line_chart(series, title=title, x_label="layer", y_label=label,
                                                     log_y=log, width=500)})
    section.charts += _correlation_charts(source, section)
    if not section.charts:
        section.missing.append(Missing.of("isotropy of two or more layers of one model", "layers", "isotropy"))
    return section


def _correlation_charts(source: Source, section: LayersSection) -> list[dict[str, Any]]:
    """Pearson r of each embedding metric with identity and score against layer (raw sets), on the pairs
    complete at every layer (``correlations_matched``; ``correlations`` on a warehouse without it)."""
    if has_relation(source.wh, "correlations_matched"):
        data = [r for r in rows(source.wh, "report_correlations_matched", models=source.models)
                if r["embedding_set"] == "raw"]
        section.n_pairs = [r for r in data if (r["metric_x"], r["metric_y"]) == ("cosine", "identity")]
        metric = "matched_pearson"
    elif has_relation(source.wh, "correlations"):
        data = [r for r in rows(source.wh, "report_correlations", models=source.models) if r["embedding_set"] == "raw"]
        metric = "pearson"
    else:
        return []
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
                if metric == "matched_pearson":
                    label += f" (the same {points[0]['n']:,} pairs at every layer)"
                attrs = [{"data-metric": metric, **{f"data-{k}": v for k, v in correlation_keys(r).items()},
                          "data-value": number_attr(r["pearson"])} for r in points]
                series.append(Series(label, [r["layer"] for r in points], [r["pearson"] for r in points],
                                     point_attrs=attrs))
            if series:
                title = f"Pearson r of {LABELS[x]} with {LABELS[y]} by layer"
                charts.append({"title": title, "scope": "pairs", "metric": f"{x}~{y}",
                               "svg": line_chart(series, title=title, x_label="layer", y_label="Pearson r",
                                                 width=500)})
    return charts
