"""Report section 5, embedding distance vs. alignment similarity: do embedding distances track alignments?

Reads the ``correlations`` view (Pearson and Spearman per pair of metrics) for a table and heatmaps,
the ``similarity_bins`` view for binned mean +- sd curves, and ``sql/queries/report_pair_hist.sql``
(2-D histograms computed by SQL binning in one pass per group over the materialised ``pair_metrics``
table, so millions of pairs reduce to a few thousand cells) for density plots, and
``sql/queries/report_partial_correlations.sql`` for partial correlations of the embedding metrics with
score and identity controlling for length difference and amino-acid composition distance (defined there),
and ``partial_correlations`` (``report_partial_intervals.sql``) for the flexible length + composition partials,
the length-ratio strata and every partial's jackknife interval over proteins. Rows of a homolog-enriched
sample come per stratum and weighting; every row shows its n, its interval and the pairs left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import (
    MIN_BIN_COUNT,
    Missing,
    Source,
    grouped,
    has_relation,
    number_attr,
    rows,
)
from protiso.report.plots import Series, heatmap, histogram2d, line_chart

NX, NY = 40, 30
HEATMAPS_SHOWN = 12
HISTOGRAM_GROUPS_SHOWN = 6          # (model, layer, pooling, alignment run) groups of four panels
LABELS = {"cosine": "cosine similarity", "sq_euclidean": "squared Euclidean distance", "identity": "identity",
          "score": "alignment score", "similarity": "similarity", "normalized_score": "normalised score"}
SHORT = {"cosine": "cosine", "sq_euclidean": "sq. dist.", "identity": "identity", "score": "score",
         "similarity": "similarity", "normalized_score": "norm. score"}
ORDER = ("cosine", "sq_euclidean", "identity", "similarity", "score", "normalized_score")
EMBEDDING_METRICS = ("cosine", "sq_euclidean")
TABLE_ALIGNMENT_METRICS = ("identity", "score")  # the study's; the heatmaps show the others too
GROUP = ("model", "layer", "pooling", "embedding_set", "alignment_run", "stratum", "weighting")
PARTIAL_KEY = ("model", "layer", "pooling", "embedding_set", "alignment_run", "metric_x", "metric_y")
FLEXIBLE = "flexible length + composition"
INTERVAL_PAIRS = (("cosine", "identity"), ("cosine", "score"))


@dataclass
class CorrelationSection:
    columns: list[tuple[str, str]] = field(default_factory=list)    # (embedding metric, alignment metric)
    table: list[dict[str, Any]] = field(default_factory=list)       # per GROUP: {"cells": {(x, y): row}, "n"}
    show_pooling: bool = False
    show_run: bool = False
    show_strata: bool = False
    intervals: list[dict[str, Any]] = field(default_factory=list)   # correlations rows of INTERVAL_PAIRS
    ratio_strata: list[dict[str, Any]] = field(default_factory=list)  # {"keys", "bins": {(ratio, adj): row}}
    ratio_bins: list[str] = field(default_factory=list)
    heatmaps: list[dict[str, Any]] = field(default_factory=list)    # {"title", "svg"}
    bins: list[dict[str, Any]] = field(default_factory=list)        # {"title", "svg"} mean +- sd by identity
    histograms: list[dict[str, Any]] = field(default_factory=list)  # {"title", "svg", "pairs", keys}
    partials: list[dict[str, Any]] = field(default_factory=list)    # report_partial_correlations rows
    missing: list[Any] = field(default_factory=list)


def correlation_section(source: Source) -> CorrelationSection:
    wh, models = source.wh, source.models
    section = CorrelationSection()
    if not all(has_relation(wh, name) for name in ("pair_metrics", "correlations", "similarity_bins")):
        section.missing.append(Missing.of("the pair_metrics table and correlations views", "pip install -U protiso"))
        return section
    data = [r for r in rows(wh, "report_correlations", models=models) + rows(wh, "report_correlation_strata",
                                                                              models=models)
            if r["metric_x"] != r["metric_y"]]
    if not data:
        pairs = wh.con.execute("SELECT count(*) FROM alignments").fetchall()[0][0]
        section.missing.append(Missing.of("pair metrics of the aligned proteins' embeddings", "pair_metrics")
                               if pairs else Missing.of("aligned protein pairs", "alignments"))
        return section
    columns = set()
    top_layer: dict[str, int] = {}
    for r in data:  # heatmaps for each model's highest layer; the layers section plots correlation by layer
        top_layer[r["model"]] = max(top_layer.get(r["model"], r["layer"]), r["layer"])
    data.sort(key=lambda r: (r["model"], r["layer"], r["embedding_set"] != "raw", r["embedding_set"],
                             r["pooling"] or "", r["alignment_run"], r["stratum"] != "all", r["stratum"],
                             r["weighting"] != "unweighted"))
    for key, members in grouped(data, GROUP).items():
        cells = {}
        for m in members:
            pair = _embedding_vs_alignment(m["metric_x"], m["metric_y"])
            if pair:
                cells[pair] = m
                columns.add(pair)
        section.table.append({**dict(zip(GROUP, key)), "cells": cells, "n": members[0]["n"], "first": members[0]})
        section.intervals += [m for m in members if (m["metric_x"], m["metric_y"]) in INTERVAL_PAIRS]
        if (key[3] == "raw" and key[1] == top_layer[key[0]] and key[5] == "all" and key[6] == "unweighted"
                and len(section.heatmaps) < HEATMAPS_SHOWN):
            section.heatmaps.append(_heatmap(dict(zip(GROUP, key)), members))
    section.columns = sorted(columns, key=lambda p: tuple(_order(n) for n in p))
    section.show_pooling = len({t["pooling"] for t in section.table}) > 1
    section.show_run = len({t["alignment_run"] for t in section.table}) > 1
    section.show_strata = any(t["stratum"] != "all" or t["weighting"] != "unweighted" for t in section.table)
    section.bins = _bin_charts(rows(wh, "report_similarity_bins", models=models), section.show_run)
    section.partials = rows(wh, "report_partial_correlations", models=models)
    if has_relation(wh, "partial_correlations"):
        _add_adjusted(section, rows(wh, "report_partial_intervals", models=models))
    for group in rows(wh, "report_pair_groups", models=models)[:HISTOGRAM_GROUPS_SHOWN]:
        params = {"model": group["model"], "layer": group["layer"], "pooling": group["pooling"],
                  "run": group["alignment_run"], "nx": NX, "ny": NY,
                  **{k: v for k, v in group.items() if k.endswith(("_min", "_max"))}}
        cells = rows(wh, "report_pair_hist", **params)
        for (x, y), members in grouped(cells, ("x", "y")).items():
            section.histograms.append(_histogram(group, x, y, members))
    return section


def _add_adjusted(section: CorrelationSection, data: list[dict[str, Any]]) -> None:
    """The flexible partial (with its interval) beside each linear partial row, and the length-ratio strata."""
    overall = {tuple(r[k] for k in PARTIAL_KEY): r for r in data
               if r["stratum"] == "all" and r["weighting"] == "unweighted" and r["length_ratio"] == "all"
               and r["adjustment"] == FLEXIBLE}
    for p in section.partials:
        p["flexible"] = overall.get(tuple(p[k] for k in PARTIAL_KEY))
    bins = []
    for key, members in grouped(data, GROUP + ("metric_x", "metric_y")).items():
        if key[-2:] != ("cosine", "identity"):
            continue
        cells = {(m["length_ratio"], m["adjustment"]): m for m in members}
        bins += [m["length_ratio"] for m in members if m["length_ratio"] not in bins]
        section.ratio_strata.append({**dict(zip(GROUP + ("metric_x", "metric_y"), key)), "cells": cells})
    section.ratio_bins = bins


def partial_keys(row: dict[str, Any]) -> dict[str, Any]:
    """What identifies a partial_correlations row, as written in ``data-*`` attributes."""
    return {**correlation_keys(row), "stratum": row["stratum"], "weighting": row["weighting"],
            "ratio": row["length_ratio"], "adjustment": row["adjustment"]}


def _order(name: str) -> tuple[int, str]:
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def _embedding_vs_alignment(x: str, y: str) -> tuple[str, str] | None:
    """(embedding metric, alignment metric) for the table's columns, else None."""
    if x in EMBEDDING_METRICS and y in TABLE_ALIGNMENT_METRICS:
        return x, y
    if y in EMBEDDING_METRICS and x in TABLE_ALIGNMENT_METRICS:
        return y, x
    return None


def correlation_keys(row: dict[str, Any]) -> dict[str, Any]:
    """What identifies a correlations row, as written in ``data-*`` attributes."""
    keys = {"model": row["model"], "layer": row["layer"], "pooling": row["pooling"], "set": row["embedding_set"],
            "run": row["alignment_run"], "x": row["metric_x"], "y": row["metric_y"]}
    if row.get("stratum", "all") != "all" or row.get("weighting", "unweighted") != "unweighted":
        keys |= {"stratum": row["stratum"], "weighting": row["weighting"]}
    return keys


def _heatmap(group: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    """Pearson below the diagonal, Spearman above it."""
    names = sorted({m["metric_x"] for m in members} | {m["metric_y"] for m in members}, key=_order)
    index = {name: i for i, name in enumerate(names)}
    values: list[list[float | None]] = [[None] * len(names) for _ in names]
    attrs: list[list[dict[str, Any] | None]] = [[None] * len(names) for _ in names]
    for m in members:
        i, j = index[m["metric_x"]], index[m["metric_y"]]
        low, high = (i, j) if i > j else (j, i)
        keys = {f"data-{k}": v for k, v in correlation_keys(m).items()}
        for (r, c), method in (((low, high), "pearson"), ((high, low), "spearman")):
            values[r][c] = m[method]
            attrs[r][c] = {"data-metric": method, **keys, "data-value": number_attr(m[method])}
    title = f"{group['model']} · layer {group['layer']} · {group['embedding_set']}"
    labels = [SHORT.get(n, n) for n in names]
    return {"title": title, "svg": heatmap(labels, labels, values, cell_attrs=attrs,
                                           title=f"Correlations, {title}", cell=64)}


def _bin_charts(data: list[dict[str, Any]], show_run: bool) -> list[dict[str, Any]]:
    """Mean +- sd of each embedding metric per identity bin, one line per model (raw set, top layer)."""
    charts = []
    for metric in EMBEDDING_METRICS:
        series = []
        for key, members in grouped(data, ("model", "layer", "pooling", "alignment_run")).items():
            model, layer, pooling, run = key
            label = f"{model} · layer {layer}" + (f" · {run}" if show_run else "")
            means = [m[f"{metric}_mean"] for m in members]
            sds = [m[f"{metric}_stddev"] or 0.0 for m in members]
            attrs = [{"data-metric": f"bin_{metric}_mean", "data-model": model, "data-layer": layer,
                      "data-pooling": pooling, "data-run": run, "data-bin": m["bin"],
                      "data-value": number_attr(m[f"{metric}_mean"])} for m in members]
            counts = [{**a, "data-metric": "bin_n", "data-value": m["n"]} for a, m in zip(attrs, members)]
            series.append(Series(label, [(m["bin_low"] + m["bin_high"]) / 2 for m in members], means,
                                 lo=[a - b for a, b in zip(means, sds)], hi=[a + b for a, b in zip(means, sds)],
                                 point_attrs=attrs, counts=[m["n"] for m in members], count_attrs=counts))
        if series:
            title = f"Mean {LABELS[metric]} by identity (± 1 sd)"
            charts.append({"title": title, "svg": line_chart(series, title=title, x_label="identity (bin centre)",
                                                             y_label=LABELS[metric], width=500,
                                                             min_count=MIN_BIN_COUNT)})
    return charts


def _histogram(group: dict[str, Any], x: str, y: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    cells = [(m["bx"], m["by_"], m["pairs"]) for m in members if not m["is_line"]]
    lines = sorted((m for m in members if m["is_line"]), key=lambda m: m["bx"])
    x_min, x_max, y_min, y_max = group[f"{x}_min"], group[f"{x}_max"], group[f"{y}_min"], group[f"{y}_max"]
    width = (x_max - x_min) / NX if x_max > x_min else 0.0
    means = [m["mean_y"] for m in lines]
    sds = [m["sd_y"] or 0.0 for m in lines]
    overlay = Series("mean ± sd", [x_min + (m["bx"] + 0.5) * width for m in lines], means,
                     lo=[a - b for a, b in zip(means, sds)], hi=[a + b for a, b in zip(means, sds)], markers=False)
    title = f"{LABELS.get(y, y)} vs {LABELS.get(x, x)}: {group['model']} · layer {group['layer']}"
    svg = histogram2d(cells, NX, NY, (x_min, x_max), (y_min, y_max), title=title, x_label=LABELS.get(x, x),
                      y_label=LABELS.get(y, y), overlay=overlay)
    keys = {k: group[k] for k in ("model", "layer", "pooling", "alignment_run")}
    return {"title": title, "svg": svg, "pairs": sum(c for _, _, c in cells), "x": x, "y": y, **keys}
