"""Report section 6, isotropy by annotation group (organism, GO term, length bin).

Reads ``report_groups.sql`` (groups ranked by the size-corrected ``size_z``, with p and BH q) and
``report_group_sizes.sql`` (IsoScore against group size, with the null's band). docs/architecture.md
(module notes) has what the section shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import GROUPS_SHOWN, Missing, Source, grouped, iso_point_attrs, rows
from protiso.report.plots import Series, line_chart

KEYS = ("model", "layer", "embedding_set", "scope", "group_by", "namespace")


@dataclass
class GroupsSection:
    blocks: list[dict[str, Any]]        # per model/layer/set/scope/grouping: "tables" of (caption, rows)
    missing: list[Missing] = field(default_factory=list)


def groups_section(source: Source) -> GroupsSection:
    data = rows(source.wh, "report_groups", models=source.models, top=GROUPS_SHOWN)
    sizes = grouped(rows(source.wh, "report_group_sizes", models=source.models), KEYS)
    blocks = []
    for key, members in grouped(data, KEYS).items():
        block = dict(zip(KEYS, key))
        for name in ("groups", "corrected", "rho_plain", "rho_corrected", "smallest", "min_proteins", "significant",
                     "p_floor", "null_method", "roots"):
            block[name] = members[0][name]
        for m in members:
            se = m["size_z_se"]
            m["z_low"], m["z_high"] = ((m["size_z"] - 1.96 * se, m["size_z"] + 1.96 * se)
                                       if se is not None and m["size_z"] is not None else (None, None))
        block["chart"] = _size_chart(block, sizes.get(key, []))
        ordered = sorted(members, key=lambda m: m["rank_most"])
        if block["groups"] <= 2 * GROUPS_SHOWN:  # the query returned every group: one table
            caption = "All groups, most isotropic for their size first" if block["groups"] > 1 else "The only group"
            block["tables"] = [(caption, ordered)]
        else:
            block["tables"] = [
                (f"The {GROUPS_SHOWN} most isotropic for their size", [m for m in ordered if m["rank_most"] <= GROUPS_SHOWN]),
                (f"The {GROUPS_SHOWN} least isotropic for their size",
                 sorted([m for m in members if m["rank_least"] <= GROUPS_SHOWN], key=lambda m: m["rank_least"])),
            ]
        blocks.append(block)
    section = GroupsSection(blocks)
    if not blocks:
        section.missing.append(Missing.of("isotropy per annotation group", "groups"))
    return section


def _size_chart(block: dict[str, Any], points: list[dict[str, Any]]):
    """Group IsoScore against size (proteins, log scale) with the null's mean and 95 % band."""
    if len(points) < 2:
        return None
    what = block["group_by"].replace("_", " ") + (f" ({block['namespace'].replace('_', ' ')})"
                                                  if block["namespace"] else "")
    title = f"{block['model']} layer {block['layer']} {block['scope']}: IsoScore of each {what} by size"
    nulls = [p for p in points if p["null_mean"] is not None]
    series = []
    if nulls:
        label = f"random groups ({block['null_method'] or 'size'} null): mean, 95 % band"
        series.append(Series(label, [p["size"] for p in nulls], [p["null_mean"] for p in nulls],
                             lo=[p["null_low"] for p in nulls], hi=[p["null_high"] for p in nulls], markers=False,
                             dashed=True))
    keys = {"model": block["model"], "layer": block["layer"], "embedding_set": block["embedding_set"],
            "scope": block["scope"], "group_by": block["group_by"]}
    series.append(Series(f"groups ({len(points):,})", [p["size"] for p in points], [p["isoscore"] for p in points],
                         point_attrs=[iso_point_attrs({**keys, **p}, "isoscore") for p in points], line=False))
    return line_chart(series, title=title, x_label="group size (proteins)", y_label="IsoScore", log_x=True,
                      width=560)
