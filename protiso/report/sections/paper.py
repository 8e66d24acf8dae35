"""Report section "How this compares with the paper": the study's printed numbers beside ours, and our choices.

Reads, never computes: the paper's correlation matrix (``protiso.report.published.CORRELATIONS``,
ProtBERT, Pearson) beside the same six correlations from the ``correlations`` view for each raw
embedding set (``report_paper_correlations.sql``), with the sign question stated; and every choice
the paper makes or leaves unstated (dataset, pair sample, alignment mode and gaps, identity
denominator, pooling, layer, precision) as the warehouse's runs recorded it (``report_paper_setup.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report import published
from protiso.report.common import Missing, Source, grouped, has_relation, rows

PAIRS = tuple(published.CORRELATIONS)  # (x, y) in the paper's order
GROUP = ("model", "layer", "pooling", "embedding_set", "alignment_run")


@dataclass
class PaperSection:
    published: list[dict[str, Any]]                                 # {"x", "y", "value"} as printed
    ours: list[dict[str, Any]] = field(default_factory=list)        # per GROUP: {"cells": {(x, y): row}, "n", keys}
    setup: list[dict[str, Any]] = field(default_factory=list)       # {"what", "ours", "run_id"}
    pairs: int = published.PAIRS
    sample_proteins: int = published.SAMPLE_PROTEINS
    citation: str = published.CITATION
    missing: list[Missing] = field(default_factory=list)


def paper_section(source: Source) -> PaperSection:
    wh = source.wh
    section = PaperSection([{"x": x, "y": y, "value": v} for (x, y), v in published.CORRELATIONS.items()])
    if has_relation(wh, "correlations"):
        data = rows(wh, "report_paper_correlations", models=source.models)
        for key, members in grouped(data, GROUP).items():
            found = {(m["metric_x"], m["metric_y"]): m for m in members}
            cells = {pair: found.get(pair) or found.get(pair[::-1]) for pair in PAIRS}
            section.ours.append({**dict(zip(GROUP, key)), "cells": cells, "n": members[0]["n"],
                                 "protbert": published.model_key(key[0]) == published.CORRELATION_MODEL})
    if not section.ours:
        section.missing.append(Missing.of("correlations of embedding distances with alignments", "alignments"))
    section.setup = rows(wh, "report_paper_setup")
    return section
