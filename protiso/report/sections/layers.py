"""Report section 4, isotropy across layers: IsoScore and effective dimensions against layer.

Reads ``Source.isotropy_rows`` (raw embeddings); one chart per scope and metric, one line per model
with at least two layers. Each point carries the ``data-*`` attributes of its isotropy row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import Missing, Source, grouped, iso_point_attrs
from protiso.report.plots import Series, line_chart


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
    section = LayersSection(charts)
    if not charts:
        section.missing.append(Missing.of("isotropy of two or more layers of one model", "layers", "isotropy"))
    return section
