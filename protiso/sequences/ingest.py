"""Ingest sequence and annotation files into a warehouse, all or nothing.

1. Stage: each file's reader (``READERS``) turns it into Arrow batches, normalised, appended to Parquet
   files in the staging area (``staging.py``).
2. Set operations in DuckDB (``sql/queries/ingest_*.sql``): classify proteins, collect rejects, orient GO
   edges, de-duplicate; the rows to add are COPY'd to Parquet. Stored rows never change, except that
   empty fields get filled (their parts are rewritten in the same commit).
3. One commit: new parts, rejects and the ``runs`` row become visible in one transaction, so a failure
   leaves the warehouse as it was and rerunning the same ingest adds nothing.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from protiso.errors import ProtisoError
from protiso.sequences import READERS
from protiso.sequences.batches import BATCH_SIZE, SCHEMAS
from protiso.sequences.detect import detect_formats
from protiso.sequences.staging import Staging, temp_view
from protiso.warehouse import Run, Warehouse

PART_ROWS = 2_000_000
# DuckDB's memory cap while it de-duplicates (it spills to W/protiso.duckdb.tmp beyond this); keeps the
# whole ingest of Swiss-Prot near 1.5 GB peak RSS instead of DuckDB's default of 80 % of RAM.
INGEST_MEMORY = "1.5GB"
OUTPUT_TABLES = ("proteins", "protein_go", "protein_keywords", "protein_xrefs", "go_graph")   # new rows only; go_terms below
_STEPS = ("ingest_go_roots", "ingest_protein_status", "ingest_protein_enrich", "ingest_rejects", "ingest_graph",
          "ingest_go_terms")
_TEMP_TABLES = ("ingest_go_roots", "ingest_protein_status", "ingest_protein_enrich", "ingest_graph",
                "ingest_go_terms")
_TEMP_VIEWS = ("ingest_rejects", *(f"staged_{kind}" for kind in SCHEMAS), *(f"ingest_out_{t}" for t in OUTPUT_TABLES))
NORMALISATION = ("upper-case ASCII letters; remove whitespace and digits; strip one trailing '*'; "
                 "accept only ACDEFGHIKLMNPQRSTVWY+XUBZO; reject empty")


@dataclass
class FileSummary:
    """What one input file contributed."""

    path: str
    format: str
    records: int = 0
    proteins_added: int = 0
    proteins_unchanged: int = 0
    proteins_updated: int = 0          # stored with the same sequence; empty header fields filled from this file
    rejected: int = 0
    annotations_added: int = 0
    terms_added: int = 0
    edges_added: int = 0


@dataclass
class IngestSummary:
    """The outcome of one ``ingest_files`` call."""

    run_id: str
    files: list[FileSummary]
    notes: list[str] = field(default_factory=list)
    first_rejects: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> FileSummary:
        out = FileSummary("total", "")
        for item in self.files:
            for f in fields(FileSummary)[2:]:
                setattr(out, f.name, getattr(out, f.name) + getattr(item, f.name))
        return out

    def render(self) -> str:
        """A plain-text table of the per-file counts, notes and the first rejects."""
        heads = ("file", "format", "records", "proteins added", "unchanged", "fields filled", "rejected",
                 "annotations added",
                 "GO terms added", "GO edges added")
        rows = [[s.path, s.format] + [f"{getattr(s, f.name):,}" for f in fields(FileSummary)[2:]]
                for s in self.files + ([self.total] if len(self.files) > 1 else [])]
        widths = [max(len(str(r[i])) for r in [list(heads)] + rows) for i in range(len(heads))]
        lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(r, widths)))
                 for r in [list(heads)] + rows]
        lines += [f"note: {note}" for note in self.notes]
        if self.total.rejected:
            lines.append(f"{self.total.rejected:,} record(s) rejected, kept in table rejects "
                         f"(run_id = '{self.run_id}'); first:")
            lines += [f"  {text}" for text in self.first_rejects]
        lines.append(f"run {self.run_id} committed in {self.seconds:.1f} s")
        return "\n".join(lines)


def ingest_files(wh: Warehouse, paths: Sequence[str | Path], fmt: str | None = None, progress: bool = True,
                 batch_size: int = BATCH_SIZE,
                 check: Callable[[Warehouse], None] | None = None) -> IngestSummary:
    """Ingest ``paths`` (format ``fmt`` for all, or detected per file) into ``wh`` in one commit.

    ``check(wh)`` runs just before the commit, when the temp view ``ingest_out_proteins`` holds the
    proteins this ingest adds; an error it raises leaves the warehouse untouched.
    """
    clock = time.perf_counter()
    paths = [Path(p) for p in paths]
    formats = detect_formats(paths, fmt)
    params = {"files": [str(p.resolve()) for p in paths], "formats": formats, "format": fmt or "auto",
              "batch_size": batch_size, "normalisation": NORMALISATION}
    with wh.run("ingest", params, defer=True) as run:  # recorded in the ingest's one commit, or not at all
        return _ingest(wh, run, paths, formats, batch_size, progress, clock, check)


def _ingest(wh: Warehouse, run: Run, paths: list[Path], formats: list[str], batch_size: int, progress: bool,
            clock: float, check: Callable[[Warehouse], None] | None) -> IngestSummary:
    run_id = run.id
    summary = IngestSummary(run_id, [FileSummary(p.name, f) for p, f in zip(paths, formats)])
    replaced: list[Path] = []
    staging: Staging | None = None
    restore = _settings(wh)
    bar = tqdm(desc="ingest", unit=" rec", unit_scale=True, disable=not progress, file=sys.stderr, leave=False)
    try:
        staging = Staging(wh.path, run_id)
        for index, (path, file_format) in enumerate(zip(paths, formats)):
            bar.set_postfix_str(path.name)
            for chunk in READERS[file_format](path, batch_size):
                staging.add(chunk, path.name, index)
                summary.files[index].records += chunk.records
                bar.update(chunk.records)
            if summary.files[index].records == 0:
                raise ProtisoError(f"{path}: no {file_format} records in the file; nothing was ingested")
        bar.set_postfix_str("de-duplicating and writing")
        staging.finish(wh.con)
        replaced = _apply(wh, run, staging, summary, clock, check)
    finally:
        bar.close()
        _drop_temps(wh)
        if staging is not None:
            staging.remove()
        restore()
    for path in replaced:
        path.unlink(missing_ok=True)
    return summary


def _apply(wh: Warehouse, run: Run, staging: Staging, summary: IngestSummary, clock: float,
           check: Callable[[Warehouse], None] | None) -> list[Path]:
    """Run the set operations, then commit parts, rejects and the runs row. Returns the replaced files."""
    con = wh.con
    for step in _STEPS:
        con.execute(wh.sql_text(step))
    outputs: list[tuple[str, Path]] = []
    for table in OUTPUT_TABLES:
        out = staging.root / f"new_{table}.parquet"
        _copy(wh, f"ingest_new_{table}", out)
        temp_view(con, f"ingest_out_{table}", out)
        outputs.append((table, out))
    replaced: list[tuple[str, str]] = []      # (part_id, relative path) of parts this commit replaces
    # go_terms: the new terms, or every term again when stored ones get a namespace filled
    term_parts = _parts(wh, "go_terms")
    rewrite = bool(term_parts) and bool(con.execute(wh.sql_text("ingest_go_terms_rewrite")).fetchall()[0][0])
    _copy(wh, "ingest_new_go_terms", staging.root / "new_go_terms.parquet", {"rewrite": rewrite})
    outputs.append(("go_terms", staging.root / "new_go_terms.parquet"))
    replaced += term_parts if rewrite else []
    # proteins whose empty header fields this input fills: their parts are written again
    protein_parts = {str(wh.path / path): (part_id, path) for part_id, path in _parts(wh, "proteins")}
    if protein_parts:
        files = con.execute(wh.sql_text("ingest_protein_enrich_files"), {"paths": list(protein_parts)}).fetchall()
        for index, (filename,) in enumerate(files):
            out = staging.root / f"updated_proteins_{index}.parquet"
            _copy(wh, "ingest_protein_enriched_part", out, {"path": filename})
            outputs.append(("proteins", out))
            replaced.append(protein_parts[filename])
    _count(wh, summary)
    if check is not None:
        check(wh)
    summary.seconds = time.perf_counter() - clock
    run.params.update(summary=[asdict(s) for s in summary.files], notes=summary.notes)
    with run.commit(final=True) as tx:
        for table, out in outputs:
            _write_parts(tx, table, out, summary.run_id)
        if replaced:
            tx.execute(wh.sql_text("ingest_drop_parts"), {"part_ids": [part_id for part_id, _ in replaced]})
        tx.execute(wh.sql_text("ingest_insert_rejects"), {"run_id": summary.run_id})
    return [wh.path / path for _, path in replaced]


def _copy(wh: Warehouse, query_name: str, out: Path, params: dict | None = None) -> None:
    """COPY the result of ``sql/queries/<query_name>.sql`` to the Parquet file ``out``."""
    query = wh.sql_text(query_name).strip().rstrip(";")
    wh.con.execute(f"COPY (\n{query}\n) TO $out (FORMAT parquet, COMPRESSION zstd)",
                   {"out": str(out), **(params or {})})


def _parts(wh: Warehouse, table: str) -> list[tuple[str, str]]:
    return [tuple(row) for row in wh.con.execute(wh.sql_text("ingest_table_parts"), {"table": table}).fetchall()]


def _count(wh: Warehouse, summary: IngestSummary) -> None:
    """Fill the per-file counts, notes and first rejects from the ingest's temp tables."""
    con = wh.con
    key = {"proteins_new": "proteins_added", "proteins_unchanged": "proteins_unchanged",
           "proteins_duplicate": "proteins_unchanged", "rejected": "rejected", "annotations": "annotations_added",
           "proteins_updated": "proteins_updated", "terms": "terms_added", "edges": "edges_added"}
    for file_idx, what, n in con.execute(wh.sql_text("ingest_summary")).fetchall():
        if what in key and file_idx is not None:
            item = summary.files[file_idx]
            setattr(item, key[what], getattr(item, key[what]) + n)
    for item in summary.files:
        item.proteins_unchanged -= item.proteins_updated
    summary.notes = [row[0] for row in con.execute(wh.sql_text("ingest_notes")).fetchall()]
    summary.first_rejects = [f"{source} line {record}: {reason}" for source, record, reason in
                             con.execute(wh.sql_text("ingest_reject_sample"), {"n": 5}).fetchall()]


def _write_parts(tx, table: str, path: Path, run_id: str) -> None:
    """Write the rows of ``path`` (a COPY'd result) as parts of ``table`` of at most PART_ROWS rows."""
    source = pq.ParquetFile(path)
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in source.iter_batches(batch_size=64 * 1024):
        batch = batch.drop_columns(["file_idx"])
        if "run_id" in batch.schema.names:
            index = batch.schema.get_field_index("run_id")
            batch = batch.set_column(index, "run_id", pc.fill_null(batch.column(index).cast(pa.string()), run_id))
        else:
            batch = batch.append_column("run_id", pa.array([run_id] * batch.num_rows, pa.string()))
        pending.append(batch)
        rows += batch.num_rows
        if rows >= PART_ROWS:
            tx.write_part(table, pa.Table.from_batches(pending))
            pending, rows = [], 0
    if rows:
        tx.write_part(table, pa.Table.from_batches(pending))


def _settings(wh: Warehouse) -> Callable[[], None]:
    """Quiet DuckDB's own progress bar and cap its memory during the ingest; returns the undo."""
    con = wh.con
    saved = {name: con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
             for name in ("memory_limit", "enable_progress_bar")}
    con.execute(f"SET memory_limit = '{INGEST_MEMORY}'")
    con.execute("SET enable_progress_bar = false")

    def restore() -> None:
        # RESET gives back the default exactly; a custom limit is set again from its (rounded) text.
        con.execute("RESET memory_limit")
        if con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0] != saved["memory_limit"]:
            con.execute(f"SET memory_limit = '{saved['memory_limit']}'")
        con.execute(f"SET enable_progress_bar = {str(saved['enable_progress_bar']).lower()}")

    return restore


def _drop_temps(wh: Warehouse) -> None:
    for name in _TEMP_VIEWS:
        wh.con.execute(f"DROP VIEW IF EXISTS temp.{name}")
    for name in _TEMP_TABLES:
        wh.con.execute(f"DROP TABLE IF EXISTS temp.{name}")
