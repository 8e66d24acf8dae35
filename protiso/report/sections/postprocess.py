"""Report section 7, raw vs. post-processed embeddings: isotropy of each embedding set side by side.

Reads ``Source.isotropy_rows``; a model, layer and scope appears when it has isotropy rows of two or
more embedding sets (raw first, then the others by name), in a table and one IsoScore chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import Missing, Source, grouped, iso_point_attrs
from protiso.report.plots import Series, line_chart


@dataclass
class PostprocessSection:
    sets: list[str]
    rows: list[dict[str, Any]]          # per model/layer/scope: {"by_set": {set: isotropy row}}
    chart: Any
    missing: list[Missing] = field(default_factory=list)


def postprocess_section(source: Source) -> PostprocessSection:
    iso_rows = source.isotropy_rows
    sets = sorted({r["embedding_set"] for r in iso_rows}, key=lambda s: (s != "raw", s))
    table = []
    for (model, layer, scope), members in grouped(iso_rows, ("model", "layer", "scope")).items():
        by_set = {m["embedding_set"]: m for m in members}
        if len(by_set) >= 2:
            table.append({"model": model, "layer": layer, "scope": scope, "by_set": by_set})
    if not table:
        return PostprocessSection([], [], None, [Missing.of("post-processed embedding sets with isotropy",
                                                            "postprocess", "isotropy")])
    used = [s for s in sets if any(s in row["by_set"] for row in table)]
    series = []
    for row in table:
        present = [(i, row["by_set"][s]) for i, s in enumerate(used) if s in row["by_set"]]
        series.append(Series(f'{row["model"]} · layer {row["layer"]} · {row["scope"]}',
                             [i for i, _ in present], [r["isoscore"] for _, r in present],
                             point_attrs=[iso_point_attrs(r, "isoscore") for _, r in present]))
    chart = line_chart(series, title="IsoScore of raw and post-processed embeddings", x_label="embedding set",
                       y_label="IsoScore (log scale)", log_y=True, x_categories=used)
    return PostprocessSection(used, table, chart)
