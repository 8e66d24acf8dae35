"""What every reader yields: Arrow record batches of a few fixed shapes, tagged by kind.

A reader turns one file into a stream of :class:`Chunk` objects. Each chunk holds one
record batch of one *kind*; the kinds and their schemas are below. ``record`` is the
1-based line number where the record starts in its file (the header line of a FASTA
record, the ``ID`` line of a flat-file entry, the row's line of a TSV), so every
staged row and every reject can be traced back to its source line.

Proteins carry the *raw* sequence; normalisation (``normalise.py``) happens in one
place, when the ingest stages the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pyarrow as pa

from protiso.warehouse import contracts

BATCH_SIZE = 20_000

RECORD = ("record", pa.int64())   # the 1-based line where the record starts in its file


def _staged(table: str, *extra: tuple[str, pa.DataType], drop: tuple[str, ...] = ()) -> pa.Schema:
    """The shape a reader yields for ``table``: its contract (``sql/tables``) without what the ingest
    adds (``source``, ``run_id`` and ``drop``), plus ``extra``."""
    kept = [f for f in contracts.schema(table) if f.name not in ("source", "run_id", *drop)]
    return pa.schema(kept + [pa.field(name, kind) for name, kind in extra])


# declared_length: the length the source states (ID line, TSV Length), checked at staging; the ingest
# derives length and seq_hash from the normalised sequence. protein_go.ontology: molecular_function |
# biological_process | cellular_component | NULL; protein_xrefs: Pfam | InterPro DR lines of flat files.
PROTEINS = _staged("proteins", ("declared_length", pa.int32()), RECORD, drop=("length", "seq_hash"))
PROTEIN_GO = _staged("protein_go", RECORD)
PROTEIN_KEYWORDS = _staged("protein_keywords", RECORD)
PROTEIN_XREFS = _staged("protein_xrefs", RECORD)
GO_TERMS = _staged("go_terms", RECORD)
GO_GRAPH = _staged("go_graph", RECORD)
REJECTS = pa.schema([
    ("record", pa.int64()),
    ("accession", pa.string()),
    ("reason", pa.string()),
])

SCHEMAS: dict[str, pa.Schema] = {
    "proteins": PROTEINS,
    "protein_go": PROTEIN_GO,
    "protein_keywords": PROTEIN_KEYWORDS,
    "protein_xrefs": PROTEIN_XREFS,
    "go_terms": GO_TERMS,
    "go_graph": GO_GRAPH,
    "rejects": REJECTS,
}

ONTOLOGY_BY_LETTER = {"F": "molecular_function", "P": "biological_process", "C": "cellular_component"}
GO_ID_PATTERN = r"GO:\d{7}"


@dataclass(frozen=True)
class Chunk:
    """One batch of one kind; ``records`` counts the input records it completes (for progress/summary)."""

    kind: str
    batch: pa.RecordBatch
    records: int = 0


class Buffer:
    """Row tuples of one kind, turned into a record batch on demand (one list append per row)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.schema = SCHEMAS[kind]
        self.rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self.rows)

    def take(self) -> pa.RecordBatch:
        columns = list(zip(*self.rows)) if self.rows else [() for _ in self.schema]
        self.rows = []
        arrays = [pa.array(column, type=field.type) for column, field in zip(columns, self.schema)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)


class Buffers:
    """A :class:`Buffer` per kind plus the count of records completed since the last flush."""

    def __init__(self, *kinds: str):
        self.by_kind = {kind: Buffer(kind) for kind in kinds}
        self.records = 0

    def add(self, kind: str, row: tuple) -> None:
        self.by_kind[kind].rows.append(row)

    def flush(self) -> Iterator[Chunk]:
        """Yield the pending rows as chunks; the first chunk carries the record count."""
        records, self.records = self.records, 0
        for buffer in self.by_kind.values():
            if len(buffer):
                yield Chunk(buffer.kind, buffer.take(), records)
                records = 0
        if records:
            yield Chunk("rejects", Buffer("rejects").take(), records)
