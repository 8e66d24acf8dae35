"""Report sections 1-4, 6 and 7 (summary, isotropy, spectra, layers, groups, post-processing).

Each ``*_section`` function runs its ``sql/queries/report_*.sql`` queries and returns a dataclass
context for ``reports/report.html``; figures are inline SVG from ``protiso.plots``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from protiso import published
from protiso.plots import Series, line_chart
from protiso.report_common import GROUPS_SHOWN, RUNS_SHOWN, Missing, grouped, has_function, iso_keys, number_attr, rows
from protiso.warehouse import Warehouse


@dataclass
class SummarySection:
    counts: dict[str, int]
    models: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    missing: list[Missing] = field(default_factory=list)


@dataclass
class IsotropySection:
    rows: list[dict[str, Any]]          # newest isotropy row per model/layer/set/scope, + "published"
    has_ci: bool                        # some row has a bootstrap confidence interval
    figures: tuple[published.PublishedFigure, ...]
    citation: str
    missing: list[Missing] = field(default_factory=list)


@dataclass
class SpectraSection:
    panels: list[dict[str, Any]]        # per scope: {"scope", "eigen_svg", "cumulative_svg", "summary" rows}
    missing: list[Missing] = field(default_factory=list)


@dataclass
class LayersSection:
    charts: list[dict[str, Any]]        # {"title", "svg"} per scope and metric
    missing: list[Missing] = field(default_factory=list)


@dataclass
class GroupsSection:
    blocks: list[dict[str, Any]]        # per model/layer/set/scope/grouping: "tables" of (caption, rows)
    missing: list[Missing] = field(default_factory=list)


@dataclass
class PostprocessSection:
    sets: list[str]
    rows: list[dict[str, Any]]          # per model/layer/scope: {"by_set": {set: isotropy row}}
    chart: Any
    missing: list[Missing] = field(default_factory=list)


def summary_section(wh: Warehouse, models: list[str] | None) -> SummarySection:
    counts = rows(wh, "report_counts")[0]
    section = SummarySection(counts, rows(wh, "report_models", models=models),
                             rows(wh, "report_runs", limit=RUNS_SHOWN))
    if not counts["proteins"]:
        section.missing.append(Missing.of("proteins", "proteins"))
    if not counts["vectors"]:
        section.missing.append(Missing.of("embeddings", "embeddings"))
    return section


def isotropy_section(iso_rows: list[dict[str, Any]]) -> IsotropySection:
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


def spectra_section(wh: Warehouse, models: list[str] | None) -> SpectraSection:
    section = SpectraSection([])
    if has_function(wh, "eigen_spectrum"):
        data = rows(wh, "report_spectrum", models=models)
        spectra = {key: ([p["eigenvalue"] for p in points],
                         {"cumulative": [p["cumulative"] for p in points],
                          **{f"dims_{q}": points[0][f"dims_{q}"] for q in (50, 90, 99)}})
                   for key, points in grouped(data, ("model", "layer")).items()}
        if spectra:
            section.panels.append(_spectrum_panel("global", spectra))
        else:
            section.missing.append(Missing.of("per-protein embeddings (2 or more per model)", "embeddings"))
    else:
        section.missing.append(Missing.of("the eigen_spectrum SQL function", "pip install -U protiso"))
    local = _local_spectra(wh, models)
    if local:
        section.panels.append(_spectrum_panel("local", local))
    else:
        section.missing.append(Missing.of("residue statistics (local scope), recorded when embedding", "embeddings"))
    return section


def _local_spectra(wh: Warehouse, models: list[str] | None) -> dict[tuple, tuple[list[float], dict[str, Any]]]:
    """Spectra of the merged residue statistics: eigenvalues need numpy (``protiso.metrics``), not SQL."""
    from protiso.metrics.stats import SufficientStats

    table = wh.query(wh.sql_text("report_residue_stats"), {"models": models})
    merged: dict[tuple, SufficientStats] = {}
    for i in range(table.num_rows):
        model, layer = table["model"][i].as_py(), table["layer"][i].as_py()
        dim, n = table["dim"][i].as_py(), table["n"][i].as_py()
        stats = SufficientStats(dim, n, table["sum_x"][i].values.to_numpy(), table["sum_xxt"][i].values.to_numpy())
        merged[(model, layer)] = merged[(model, layer)].merge(stats) if (model, layer) in merged else stats
    out = {}
    for key, stats in merged.items():
        values = stats.eigen_spectrum()
        if values is None:
            continue
        cumulative = np.cumsum(values)
        firsts = {f"dims_{p}": int(np.searchsorted(cumulative, p / 100)) + 1 for p in (50, 90, 99)}
        out[key] = (values.tolist(), {"cumulative": cumulative.tolist(), **firsts})
    return out


def _spectrum_panel(scope: str, spectra: dict[tuple, tuple[list[float], dict[str, Any]]]) -> dict[str, Any]:
    """Two charts (eigenvalues, cumulative share) and a summary table for one scope."""
    series_v, series_c, summary = [], [], []
    for (model, layer), (values, info) in spectra.items():
        label = f"{model} · layer {layer}"
        ks = list(range(1, len(values) + 1))
        cumulative = info["cumulative"]
        series_v.append(Series(label, ks, values, markers=False))
        series_c.append(Series(label, ks, cumulative, markers=False))
        summary.append({"model": model, "layer": layer, "scope": scope, "dim": len(values),
                        "dims_50": info["dims_50"], "dims_90": info["dims_90"], "dims_99": info["dims_99"]})
    where = "per-protein" if scope == "global" else "per-residue"
    values_svg = line_chart(series_v, title=f"Covariance eigenvalue spectra, {where} vectors",
                            x_label="component (log scale)", y_label="share of variance (log scale)",
                            log_y=True, log_x=True, y_floor=1e-12, width=500)
    cumulative_svg = line_chart(series_c, title=f"Cumulative explained variance, {where} vectors",
                                x_label="components (log scale)", y_label="cumulative share of variance",
                                log_x=True, width=500)
    return {"scope": scope, "eigen_svg": values_svg, "cumulative_svg": cumulative_svg, "summary": summary}


def layers_section(iso_rows: list[dict[str, Any]]) -> LayersSection:
    raw = [r for r in iso_rows if r["embedding_set"] == "raw"]
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
                    point_attrs=[_attrs(r, metric) for r in points]))
            title = f"{scope.capitalize()} {label.split(' (')[0]} by layer"
            charts.append({"title": title, "scope": scope, "metric": metric,
                           "svg": line_chart(series, title=title, x_label="layer", y_label=label, log_y=log,
                                             width=500)})
    section = LayersSection(charts)
    if not charts:
        section.missing.append(Missing.of("isotropy of two or more layers of one model", "layers", "isotropy"))
    return section


def groups_section(wh: Warehouse, models: list[str] | None) -> GroupsSection:
    data = rows(wh, "report_groups", models=models, top=GROUPS_SHOWN)
    blocks = []
    keys = ("model", "layer", "embedding_set", "scope", "group_by")
    for key, members in grouped(data, keys).items():
        block = dict(zip(keys, key))
        block["groups"] = members[0]["groups"]
        ordered = sorted(members, key=lambda m: m["rank_most"])
        if block["groups"] <= 2 * GROUPS_SHOWN:  # the query returned every group: one table
            caption = "All groups, most isotropic first" if block["groups"] > 1 else "The only group"
            block["tables"] = [(caption, ordered)]
        else:
            block["tables"] = [
                (f"The {GROUPS_SHOWN} most isotropic", [m for m in ordered if m["rank_most"] <= GROUPS_SHOWN]),
                (f"The {GROUPS_SHOWN} least isotropic",
                 sorted([m for m in members if m["rank_least"] <= GROUPS_SHOWN], key=lambda m: m["rank_least"])),
            ]
        blocks.append(block)
    section = GroupsSection(blocks)
    if not blocks:
        section.missing.append(Missing.of("isotropy per annotation group", "groups"))
    return section


def postprocess_section(iso_rows: list[dict[str, Any]]) -> PostprocessSection:
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
                             point_attrs=[_attrs(r, "isoscore") for _, r in present]))
    chart = line_chart(series, title="IsoScore of raw and post-processed embeddings", x_label="embedding set",
                       y_label="IsoScore (log scale)", log_y=True, x_categories=used)
    return PostprocessSection(used, table, chart)


def _attrs(row: dict[str, Any], metric: str) -> dict[str, Any]:
    """Data attributes of an isotropy number drawn in a chart (as the template's ``num`` macro writes them)."""
    keys = {f"data-{key}": value for key, value in iso_keys(row).items()}
    return {"data-metric": metric, **keys, "data-value": number_attr(row[metric])}
