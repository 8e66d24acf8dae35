"""Report section 6, isotropy by annotation group (organism, GO term, length bin).

Reads ``report_groups.sql``: per model, layer, set, scope and grouping, the groups ranked by the
size-corrected ``size_z`` (a group's IsoScore against random groups of the same number of proteins from
the same set, with the random groups' mean and 95 % interval; ``protiso.metrics.size_null`` says why this
statistic), sizes in proteins (true-path GO membership), GO terms ranked within each namespace
(biological_process, molecular_function, cellular_component: one block each), the run's minimum, and the
Spearman correlation of group size with plain IsoScore and with size_z, so a reader sees how much of a
plain ranking was sample size. Rows of older runs without size_z rank by IsoScore (``corrected`` false).
When there are more than ``2 * GROUPS_SHOWN`` groups the section shows the ``GROUPS_SHOWN`` most and
least isotropic; otherwise all of them in one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report.common import GROUPS_SHOWN, Missing, Source, grouped, rows


@dataclass
class GroupsSection:
    blocks: list[dict[str, Any]]        # per model/layer/set/scope/grouping: "tables" of (caption, rows)
    missing: list[Missing] = field(default_factory=list)


def groups_section(source: Source) -> GroupsSection:
    data = rows(source.wh, "report_groups", models=source.models, top=GROUPS_SHOWN)
    blocks = []
    keys = ("model", "layer", "embedding_set", "scope", "group_by", "namespace")
    for key, members in grouped(data, keys).items():
        block = dict(zip(keys, key))
        for name in ("groups", "corrected", "rho_plain", "rho_corrected", "smallest", "min_proteins"):
            block[name] = members[0][name]
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
