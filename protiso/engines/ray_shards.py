"""Sequences from shards (FASTA or Parquet files) instead of the warehouse's proteins table.

Each shard is parsed by one Ray task with protiso's own readers and normalisation rule, so a
shard's rows are exactly what ``protiso ingest`` would stage. Parquet shards need columns
``accession`` and ``sequence`` (``seq_hash`` is recomputed from the normalised sequence).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.sequences.fasta import read_fasta
from protiso.sequences.normalise import normalise_array, seq_hash

ROWS = pa.schema([
    ("accession", pa.string()),
    ("seq_hash", pa.string()),
    ("sequence", pa.string()),
    ("ordinal", pa.int64()),  # shard index * 2^32 + row: the first row of an accession wins
    ("reason", pa.string()),  # why the sequence was rejected (null when accepted)
    ("source", pa.string()),
])


def read_shard(path: str, index: int) -> pa.Table:
    """All records of one FASTA (.gz) or Parquet shard, normalised, with reject reasons."""
    file = Path(path)
    header_rejects = ROWS.empty_table()
    if file.suffix == ".parquet":
        try:
            table = pq.read_table(file, columns=["accession", "sequence"])
        except (OSError, pa.ArrowInvalid, KeyError) as error:
            raise ProtisoError(f"{file}: not a Parquet shard with accession and sequence columns ({error})") from None
        accessions, raw = table.column("accession").combine_chunks(), table.column("sequence").combine_chunks()
    else:
        chunks = list(read_fasta(file))
        bad = [c.batch for c in chunks if c.kind == "rejects" and c.batch.num_rows]
        if bad:  # unparsable headers: reported like rejected sequences
            bad_table = pa.Table.from_batches(bad)
            header_rejects = pa.table({
                "accession": bad_table.column("accession"), "seq_hash": pa.nulls(bad_table.num_rows, pa.string()),
                "sequence": pa.nulls(bad_table.num_rows, pa.string()),
                "ordinal": pa.array([-1] * bad_table.num_rows, pa.int64()), "reason": bad_table.column("reason"),
                "source": pa.array([str(file)] * bad_table.num_rows, pa.string()),
            }, schema=ROWS)
        parts = [c.batch for c in chunks if c.kind == "proteins"]
        proteins = pa.Table.from_batches(parts) if parts else None
        if proteins is None or proteins.num_rows == 0:
            return header_rejects
        accessions = proteins.column("accession").combine_chunks()
        raw = proteins.column("sequence").combine_chunks()
    normalised = normalise_array(raw.cast(pa.string()))
    sequences = normalised.sequences
    hashes = _md5(sequences)
    count = len(accessions)
    return pa.concat_tables([header_rejects, pa.table({
        "accession": accessions.cast(pa.string()),
        "seq_hash": hashes,
        "sequence": sequences,
        "ordinal": pa.array([(index << 32) + row for row in range(count)], pa.int64()),
        "reason": normalised.reasons,
        "source": pa.array([str(file)] * count, pa.string()),
    }, schema=ROWS)])


def _md5(sequences: pa.Array) -> pa.Array:
    return pa.array([None if s is None else seq_hash(s) for s in sequences.to_pylist()], pa.string())


def _read_batch(batch: pa.Table) -> pa.Table:
    """Ray Data UDF: a batch of (path, index) rows -> the shards' rows."""
    tables = [read_shard(path, index) for path, index in
              zip(batch.column("path").to_pylist(), batch.column("index").to_pylist())]
    return pa.concat_tables(tables) if tables else ROWS.empty_table()


def read_shards(ray: ModuleType, paths: list[str | Path]) -> tuple[pa.Table, pa.Table]:
    """(accepted rows, rejected rows) of every shard, parsed in parallel on the cluster."""
    files = [Path(p).resolve() for p in paths]
    for file in files:
        if not file.is_file():
            raise ProtisoError(f"{file}: no such shard")
    listing = pa.table({"path": [str(f) for f in files], "index": list(range(len(files)))})
    dataset = ray.data.from_arrow(listing).repartition(max(1, len(files))).map_batches(
        _read_batch, batch_size=1, batch_format="pyarrow")
    tables = ray.get(list(dataset.to_arrow_refs()))
    rows = pa.concat_tables([t.cast(ROWS) for t in tables if t.num_rows]) if tables else ROWS.empty_table()
    if rows.num_rows == 0:
        rows = ROWS.empty_table()
    accepted = pc.is_null(rows.column("reason"))
    return rows.filter(accepted), rows.filter(pc.invert(accepted))
