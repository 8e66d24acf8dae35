"""Report section "global embeddings in two dimensions": each model's raw per-protein vectors (highest
layer) projected on their first two principal components, coloured by one annotation.

The axes are exact: one streamed float64 pass (``StreamStats``) gives the covariance, whose two leading
eigenvectors (each signed so that its largest component is positive) are the axes; at most
``POINTS_SHOWN`` proteins are projected. Colours come from ``report_pca_labels.sql`` (``--color-by``; the
``TOP`` most frequent labels keep their colour; ``auto`` is organism when two or more are named, else
length bin). The projection is a report-time reduction; the template only draws the points.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from protiso.metrics.stream import StreamStats
from protiso.report.common import Missing, Source, rows
from protiso.report.plots import scatter
from protiso.warehouse.vectors import stack_vectors

POINTS_SHOWN = 5000
TOP = 8
BATCH_ROWS = 4096


@dataclass
class PcaSection:
    color_by: str                       # as asked
    # per model: {"model", "layer", "pooling", "vectors", "shown", "explained" (%), "svg", "color_by"}
    panels: list[dict[str, Any]]
    top: int = TOP
    missing: list[Missing] = field(default_factory=list)


def principal_axes(stats: StreamStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the two leading covariance eigenvectors (columns, sign-fixed) and their shares of the variance."""
    sufficient = stats.sufficient()
    n = sufficient.n
    mean = sufficient.sum_x / n
    scatter_ = sufficient.sum_xxt - np.outer(sufficient.sum_x, mean)
    scatter_ = (scatter_ + scatter_.T) / 2
    values, vectors = np.linalg.eigh(scatter_ / max(n - 1, 1))
    order = np.argsort(values)[::-1][:2]
    axes = vectors[:, order]
    axes *= np.where(axes[np.abs(axes).argmax(axis=0), range(axes.shape[1])] < 0, -1.0, 1.0)
    total = float(np.clip(values, 0, None).sum())
    share = np.clip(values[order], 0, None) / total if total > 0 else np.zeros(len(order))
    return mean, axes, share


def _batches(source: Source, params: dict[str, Any]):
    sql = source.wh.sql_text("report_pca_vectors")
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    cursor = source.wh.con.cursor()
    try:
        reader = cursor.sql(sql, params={k: v for k, v in params.items() if k in used}).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            points, kept = stack_vectors(batch.column("embedding"), "PCA view")
            if points is not None:
                yield [batch.column("accession")[int(i)].as_py() for i in kept], points
    finally:
        cursor.close()


def _color_by(source: Source, keys: dict[str, Any]) -> str:
    if source.color_by != "auto":
        return source.color_by
    organisms = {r["label"] for r in rows(source.wh, "report_pca_labels", color_by="organism", top=TOP, **keys)
                 if r["label"] is not None}
    return "organism" if len(organisms) >= 2 else "length_bin"


def pca_section(source: Source) -> PcaSection:
    section = PcaSection(source.color_by, [])
    for found in rows(source.wh, "report_pca_sets", models=source.models):
        if found["vectors"] < 3:
            continue
        keys = {"model": found["model"], "layer": found["layer"], "pooling": found["pooling"]}
        stats = StreamStats(int(found["dim"]))
        for _, points in _batches(source, {**keys, "limit": None}):
            stats.add(points)
        mean, axes, share = principal_axes(stats)
        color_by = _color_by(source, keys)
        labels = {r["accession"]: r["label"] for r in
                  rows(source.wh, "report_pca_labels", color_by=color_by, top=TOP, **keys)}
        projected: list[tuple[str | None, float, float]] = []
        for accessions, points in _batches(source, {**keys, "limit": POINTS_SHOWN}):
            xy = (points.astype(np.float64) - mean) @ axes
            projected += [(labels.get(a), float(x), float(y), a) for a, (x, y) in zip(accessions, xy)]
        counts = Counter(label for label, _, _, _ in projected if label is not None)
        kept = [label for label, _ in sorted(counts.items(), key=lambda c: (-c[1], c[0]))[:TOP]]
        if color_by == "length_bin":
            kept.sort(key=lambda b: int(b.split("-")[0].rstrip("+")))
        name_of = {label: label for label in kept}
        groups = []
        for name in kept + ["other", "no annotation"]:
            members = [(x, y, a) for label, x, y, a in projected
                       if name_of.get(label, "no annotation" if label is None else "other") == name]
            if members:
                groups.append((name, [m[0] for m in members], [m[1] for m in members], [m[2] for m in members]))
        title = f"PCA of {found['model']} · layer {found['layer']}, coloured by {color_by.replace('_', ' ')}"
        svg = scatter(groups, title=title, x_label=f"PC 1 ({100 * share[0]:.1f} % of variance)",
                      y_label=f"PC 2 ({100 * share[1]:.1f} % of variance)" if len(share) > 1 else "PC 2")
        section.panels.append({**keys, "vectors": stats.n, "shown": len(projected), "svg": svg,
                               "explained": [100 * float(v) for v in share], "color_by": color_by})
    if not section.panels:
        section.missing.append(Missing.of("per-protein embeddings (3 or more per model)", "embeddings"))
    return section
