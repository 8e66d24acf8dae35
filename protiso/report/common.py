"""What every report section shares: its inputs, running report queries, "missing" notes, number formatting.

A section builder receives a ``Source`` (the warehouse, the selected models and the query results more
than one section reads) and only reads: it runs ``sql/queries/report_*.sql`` through ``rows`` and
reshapes the answers; it never computes a metric. Data a section needs but the warehouse lacks becomes
a ``Missing`` note naming the protiso command(s) that produce it (``COMMANDS``).

Every number the report shows is written twice: as text (``format_number``) and at full precision in a
``data-value`` attribute (``number_attr``), beside ``data-*`` keys that identify it (``iso_keys``,
``iso_point_attrs``), so that tests can compare each one with the warehouse's SQL answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from protiso.metrics.isotropy import DEFAULT_ZETA  # IsoScore* shrinkage of rows read from statistics
from protiso.report.options import ReportOptions
from protiso.warehouse import Warehouse

# The command that produces each kind of data, named in "missing" notes.
COMMANDS = {
    "proteins": "protiso ingest FASTA -w W",
    "embeddings": "protiso embed -w W --model MODEL",          # `ingest FASTA --model` when no proteins yet
    "layers": "protiso embed -w W --model MODEL --layers all",
    "isotropy": "protiso isotropy -w W",
    "groups": "protiso isotropy -w W --by organism --by go_term",
    "alignments": "protiso align -w W",
    "pair_metrics": "protiso pair-metrics -w W",
    "postprocess": "protiso postprocess -w W --method whiten",
}
RUNS_SHOWN = 100
GROUPS_SHOWN = 8
MIN_BIN_COUNT = 30                   # binned curves fade bins with fewer pairs than this (stated in captions)


@dataclass
class Missing:
    """Something a section needs that the warehouse lacks, and the commands that produce it, in order."""

    what: str
    commands: list[str]

    @classmethod
    def of(cls, what: str, *steps: str) -> Missing:
        """``steps`` are COMMANDS keys (or literal commands)."""
        return cls(what, [COMMANDS.get(step, step) for step in steps])


@dataclass
class Source:
    """What a section builder reads: the warehouse, the selected models (None = all) and shared results."""

    wh: Warehouse
    models: list[str] | None
    color_by: str = ReportOptions.color_by  # the PCA view's annotation (options.check_color_by)

    @cached_property
    def isotropy_rows(self) -> list[dict[str, Any]]:
        """``report_isotropy.sql`` (newest row over all points per model, layer, set and scope), run once
        for sections 2, 4 and 7. Builders that add keys to a row copy it first.

        Each row has ``origin``: ``isotropy`` (the table ``protiso isotropy`` fills) or, for a set that
        has no such row yet (a warehouse just embedded), ``embedding_stats`` / ``residue_stats``: the
        same figures read through the SQL macros over the statistics the embedding job stored
        (``report_isotropy_from_stats.sql``). Sections say which rows came from there."""
        found = [{**r, "origin": "isotropy"} for r in rows(self.wh, "report_isotropy", models=self.models)]
        if not has_function(self.wh, "embedding_stats_isotropy"):
            return found
        have = {(r["model"], r["layer"], r["embedding_set"], r["scope"]) for r in found}
        extra = [r for r in rows(self.wh, "report_isotropy_from_stats", models=self.models, zeta=DEFAULT_ZETA)
                 if (r["model"], r["layer"], r["embedding_set"], r["scope"]) not in have]
        if not extra:
            return found
        order = {"raw": 0}
        return sorted(found + extra, key=lambda r: (r["model"], order.get(r["embedding_set"], 1), r["embedding_set"],
                                                    r["scope"], r["layer"]))


def rows(wh: Warehouse, name: str, **params: Any) -> list[dict[str, Any]]:
    """Run ``sql/queries/<name>.sql`` with the ``$name`` parameters it uses; rows as dicts."""
    sql = wh.sql_text(name)
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return wh.query(sql, {k: v for k, v in params.items() if k in used}).to_pylist()


def _scalar(wh: Warehouse, sql: str, params: list[Any]) -> Any:
    # fetchall: DuckDB 2 keeps a connection busy until an execute() result is read to the end.
    return wh.con.execute(sql, params).fetchall()[0][0]


def has_relation(wh: Warehouse, name: str) -> bool:
    return bool(_scalar(wh, wh.sql_text("report_has_relation"), [name]))


def has_function(wh: Warehouse, name: str) -> bool:
    return bool(_scalar(wh, wh.sql_text("report_has_function"), [name]))


def grouped(data: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[tuple, list[dict[str, Any]]]:
    """Rows grouped by ``keys`` in first-seen order (queries already sort them)."""
    out: dict[tuple, list[dict[str, Any]]] = {}
    for row in data:
        out.setdefault(tuple(row[k] for k in keys), []).append(row)
    return out


def iso_keys(row: dict[str, Any]) -> dict[str, Any]:
    """What identifies an isotropy row, as written in ``data-*`` attributes."""
    return {"model": row["model"], "layer": row["layer"], "set": row["embedding_set"], "scope": row["scope"],
            "group-by": row["group_by"], "group": row["group_value"]}


def iso_point_attrs(row: dict[str, Any], metric: str) -> dict[str, Any]:
    """Data attributes of an isotropy number drawn in a chart (as the template's ``num`` macro writes them)."""
    keys = {f"data-{key}": value for key, value in iso_keys(row).items()}
    return {"data-metric": metric, **keys, "data-value": number_attr(row[metric])}


def number_attr(value: Any) -> str:
    """A number as written in ``data-value``: full precision, ``null`` for NULL."""
    if value is None:
        return "null"
    return repr(float(value)) if isinstance(value, float) else str(value)


def format_number(value: Any, style: str = "sig4") -> str:
    """How numbers are shown: ``count`` (1,234), ``sig4`` (4 significant digits), ``fixedN`` (N decimals)."""
    if value is None:
        return "–"
    if style == "count":
        return f"{int(value):,}"
    if style.startswith("fixed"):
        return f"{float(value):.{int(style[5:])}f}"
    if style.startswith("sig"):
        text = f"{float(value):.{int(style[3:])}g}"
        return text.replace("e-0", "e-").replace("e+0", "e+")
    raise ValueError(style)
