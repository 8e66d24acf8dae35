"""The staging area of one ingest: reader batches as Parquet under ``W/parquet/_staging/<run_id>/``.

Every chunk a reader yields is appended to ``<kind>.parquet`` with its ``source`` (file name) and
``file_idx`` (position on the command line). Protein batches are normalised on the way in
(``normalise.py``); rejected sequences go to the ``rejects`` file. DuckDB then sees each file as a
temporary view ``staged_<kind>`` (connection-local, never stored in the database file).

The staging folder is ``W/parquet/_staging``: a finished or failed ingest removes its part, and the
next writable open removes whatever a killed ingest left there (``protiso.warehouse.recovery``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.sequences.batches import SCHEMAS, Chunk
from protiso.sequences.normalise import normalise_array
from protiso.warehouse.recovery import PARQUET_DIR, STAGING_DIR


def staged_schema(kind: str) -> pa.Schema:
    schema = SCHEMAS[kind]
    if kind == "proteins":
        schema = schema.remove(schema.get_field_index("declared_length"))
    return schema.append(pa.field("source", pa.string())).append(pa.field("file_idx", pa.int32()))


def _with_origin(batch: pa.RecordBatch, kind: str, source: str, file_idx: int) -> pa.RecordBatch:
    n = batch.num_rows
    arrays = [batch.column(name) for name in staged_schema(kind).names[:-2]]
    arrays += [pa.repeat(pa.scalar(source, pa.string()), n), pa.repeat(pa.scalar(file_idx, pa.int32()), n)]
    return pa.RecordBatch.from_arrays(arrays, schema=staged_schema(kind))


def check_proteins(batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """Normalise a proteins batch: (accepted rows with clean sequences, rejects batch)."""
    norm = normalise_array(batch.column("sequence"))
    reasons = norm.reasons
    declared = batch.column("declared_length")
    if declared.null_count < len(declared):
        lengths = pc.utf8_length(norm.sequences)
        differs = pc.fill_null(pc.and_(pc.is_null(reasons), pc.not_equal(declared, lengths)), False)
        if pc.any(differs).as_py():
            texts = reasons.to_pylist()
            for i in pc.indices_nonzero(differs).to_pylist():
                texts[i] = (f"declared length {declared[i].as_py()} differs from the sequence length "
                            f"{lengths[i].as_py()}")
            reasons = pa.array(texts, pa.string())
    ok = pc.is_null(reasons)
    clean = batch.set_column(batch.schema.get_field_index("sequence"), "sequence", norm.sequences)
    bad = pc.invert(ok)
    rejects = pa.RecordBatch.from_arrays(
        [pc.filter(batch.column("record"), bad), pc.filter(batch.column("accession"), bad), pc.filter(reasons, bad)],
        schema=SCHEMAS["rejects"],
    )
    return clean.filter(ok), rejects


class Staging:
    """Parquet writers for the staged kinds of one ingest."""

    def __init__(self, warehouse_path: Path, run_id: str):
        self.base = warehouse_path / PARQUET_DIR / STAGING_DIR
        self.root = self.base / run_id
        try:
            self.root.mkdir(parents=True)
        except OSError as error:
            raise ProtisoError(f"cannot stage the ingest in {self.root}: {error.strerror or error}") from None
        self.writers: dict[str, pq.ParquetWriter] = {}

    def path(self, kind: str) -> Path:
        return self.root / f"{kind}.parquet"

    def _write(self, kind: str, batch: pa.RecordBatch, source: str, file_idx: int) -> None:
        if batch.num_rows == 0:
            return
        writer = self.writers.get(kind)
        if writer is None:
            writer = pq.ParquetWriter(self.path(kind), staged_schema(kind), compression="snappy")
            self.writers[kind] = writer
        writer.write_batch(_with_origin(batch, kind, source, file_idx))

    def add(self, chunk: Chunk, source: str, file_idx: int) -> None:
        """Stage one reader chunk (normalising proteins)."""
        if chunk.kind == "proteins":
            accepted, rejects = check_proteins(chunk.batch)
            self._write("proteins", accepted, source, file_idx)
            self._write("rejects", rejects, source, file_idx)
        else:
            self._write(chunk.kind, chunk.batch, source, file_idx)

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        """Close the files and expose each kind as temp view ``staged_<kind>`` on ``con``."""
        for writer in self.writers.values():
            writer.close()
        for kind in SCHEMAS:
            if kind not in self.writers:
                pq.write_table(staged_schema(kind).empty_table(), self.path(kind))
            temp_view(con, f"staged_{kind}", self.path(kind))

    def remove(self) -> None:
        for writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - already closed or half-written; the folder goes anyway
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.base.rmdir()
        except OSError:
            pass


def temp_view(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> None:
    """Create the connection-local view ``name`` over the Parquet file ``path`` (views take no parameters)."""
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet({literal})")
