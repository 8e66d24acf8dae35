"""Which proteins an embedding run embeds: every pending one, or the ones the user chose.

With ``EmbedOptions.accessions`` / ``where`` / ``sample`` (``protiso embed --accessions --where --sample
--seed``) the candidates are the proteins with a sequence that are listed and match the predicate (one SQL
boolean expression over ``proteins`` plus ``go_ids`` and ``keywords``); ``--sample N`` keeps the N with
the smallest ``md5('<seed>:' || accession)``, so samples nest and do not depend on what is embedded; of
those the job embeds the ones still missing. Unknown listed accessions are counted; an empty selection is
an error. The run records the selection (``Selection``). docs/architecture.md (module notes) has more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from protiso.errors import ProtisoError

if TYPE_CHECKING:
    from protiso.embedding.options import Prepared
    from protiso.warehouse import Warehouse

@dataclass
class Selection:
    """The proteins a chosen run drew, and how they were chosen (recorded as ``params.selection``)."""

    accessions: str | None  # the --accessions file, or "N listed"
    listed: int | None  # distinct accessions listed
    where: str | None
    sample: int | None
    seed: int
    candidates: int  # proteins matching accessions and where, before sampling
    drawn: int  # of which the sample kept (= candidates without --sample)
    unknown: int = 0  # listed accessions no protein has
    unknown_first: list[str] = field(default_factory=list)  # the first 20 of them, sorted
    pending: int = 0  # drawn proteins still lacking an embedding (set by the job)

    def describe(self) -> str:
        parts = []
        if self.accessions is not None:
            parts.append(f"--accessions {self.accessions}")
        if self.where is not None:
            parts.append(f"--where {self.where!r}")
        if self.sample is not None:
            parts.append(f"--sample {self.sample} --seed {self.seed}")
        return " ".join(parts)

    def render(self) -> str:
        line = (f"chose {self.drawn:,} of {self.candidates:,} matching proteins ({self.describe()}); "
                f"{self.drawn - self.pending:,} already embedded (or rejected earlier), {self.pending:,} to embed")
        if self.unknown:
            shown = ", ".join(self.unknown_first[:5]) + (" ..." if self.unknown > 5 else "")
            line += f"\n{self.unknown:,} listed accessions are not in the warehouse: {shown}"
        return line

    def params(self) -> dict:
        return {"accessions": self.accessions, "listed": self.listed, "where": self.where, "sample": self.sample,
                "seed": self.seed, "candidates": self.candidates, "drawn": self.drawn, "pending": self.pending,
                "unknown": self.unknown, "unknown_first": self.unknown_first}


def select_source(wh: Warehouse, prepared: Prepared) -> Selection:
    """Draw the chosen proteins and define the temp view ``embed_source`` over them.

    Leaves the temp table ``embed_selected`` and the relation ``embed_accessions``; ``drop_selection``
    removes them. Raises a ProtisoError (nothing written) for a bad predicate or an empty selection.
    """
    options = prepared.options
    listed = prepared.accessions
    wh.con.register("embed_accessions", pa.table({"accession": pa.array(listed or [], pa.string())}))
    what = Selection(
        accessions=options.accessions if isinstance(options.accessions, str) or options.accessions is None
        else f"{len(listed)} listed", listed=None if listed is None else len(listed), where=options.where,
        sample=options.sample, seed=options.seed, candidates=0, drawn=0)
    sql = _selection_sql(wh.sql_text("embed_select"), options.where)
    try:
        try:
            wh.con.execute(sql, {"listed": listed is not None, "sample": options.sample, "seed": options.seed})
        except duckdb.Error as error:
            subject = f"--where {options.where!r}" if options.where else "the proteins table"
            raise ProtisoError(f"cannot select proteins with {subject}: {str(error).splitlines()[0]}") from None
        what.drawn, what.candidates = wh.con.execute(wh.sql_text("embed_selected_counts")).fetchall()[0]
        if listed is not None:
            unknown = wh.query(wh.sql_text("embed_unknown_accessions")).column("accession").to_pylist()
            what.unknown, what.unknown_first = len(unknown), unknown[:20]
        if what.drawn == 0:
            unknown = (f" ({what.unknown:,} of the {what.listed:,} listed accessions are not in the warehouse, "
                       f"e.g. {what.unknown_first[0]!r})") if what.unknown else ""
            raise ProtisoError(f"{wh.path}: no protein with a sequence matches {what.describe()}{unknown}")
        wh.con.execute(wh.sql_text("embed_source_selected"))
    except BaseException:
        drop_selection(wh)
        raise
    return what


def drop_selection(wh: Warehouse) -> None:
    """Remove what ``select_source`` left on the connection."""
    wh.con.execute("DROP VIEW IF EXISTS temp.embed_source")
    wh.con.execute("DROP TABLE IF EXISTS temp.embed_selected")
    wh.con.unregister("embed_accessions")


def _selection_sql(text: str, where: str | None) -> str:
    """embed_select.sql with the predicate in place and only the helper columns it names."""
    lines = [line for line in text.splitlines()
             if not line.rstrip().endswith("-- helper")
             or (where is not None and re.search(rf"\b{_helper_name(line)}\b", where))]
    return "\n".join(lines).replace("/*WHERE*/ TRUE", f"({where})" if where else "TRUE")


def _helper_name(line: str) -> str:
    return line.rstrip()[: -len("-- helper")].split()[-1]
