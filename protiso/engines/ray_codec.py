"""Moving stage results through Ray Data: one finished chunk = one row of Arrow IPC bytes.

A Ray Data block is a single table, but one embedding chunk yields several: embeddings, residues
and float64 residue statistics. A worker therefore returns one row per chunk, each table as Arrow
IPC stream bytes (exact: no float conversion, no row splitting), and the driver unpacks the row
and commits the chunk as a unit. Statistics travel as float64 lists, so merging them on the
driver is the same addition the local job does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from protiso.embedding.stage_io import StageResult
from protiso.metrics.stats import SufficientStats

PACKED = pa.schema([
    ("chunk", pa.int64()),
    ("embeddings", pa.large_binary()),
    ("residues", pa.large_binary()),
    ("stats", pa.large_binary()),
    ("residues_total", pa.int64()),
    ("residues_embedded", pa.int64()),
    ("seconds", pa.float64()),
    ("worker", pa.string()),  # node id : pid that ran the chunk (diagnostics)
])
STATS = pa.schema([
    ("layer", pa.int32()),
    ("n", pa.int64()),
    ("dim", pa.int32()),
    ("sum_x", pa.list_(pa.float64())),
    ("sum_xxt", pa.list_(pa.float64())),
])


def to_ipc(data: pa.Table | pa.RecordBatch) -> bytes:
    """Arrow IPC stream bytes of ``data`` (schema kept, values bit-exact)."""
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def from_ipc(blob: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(blob)).read_all()


def stats_table(stats: dict[int, SufficientStats]) -> pa.Table:
    layers = sorted(stats)
    return pa.table({
        "layer": [int(layer) for layer in layers],
        "n": [int(stats[layer].n) for layer in layers],
        "dim": [stats[layer].dim for layer in layers],
        "sum_x": [np.asarray(stats[layer].sum_x, dtype=np.float64) for layer in layers],
        "sum_xxt": [np.asarray(stats[layer].sum_xxt, dtype=np.float64).reshape(-1) for layer in layers],
    }, schema=STATS)


def stats_from_table(table: pa.Table) -> dict[int, SufficientStats]:
    out = {}
    for row in table.to_pylist():
        out[row["layer"]] = SufficientStats.from_flat(int(row["n"]), int(row["dim"]), row["sum_x"], row["sum_xxt"])
    return out


def pack(chunk: int, result: StageResult, seconds: float, worker: str) -> dict:
    """One PACKED row holding a chunk's whole stage result."""
    return {
        "chunk": chunk,
        "embeddings": to_ipc(result.embeddings),
        "residues": to_ipc(result.residues),
        "stats": to_ipc(stats_table(result.stats)),
        "residues_total": result.residues_total,
        "residues_embedded": result.residues_embedded,
        "seconds": seconds,
        "worker": worker,
    }


def unpack(row: dict) -> StageResult:
    """The StageResult a PACKED row holds (record batches, float64 statistics)."""
    embeddings = from_ipc(row["embeddings"]).combine_chunks()
    residues = from_ipc(row["residues"]).combine_chunks()
    return StageResult(
        embeddings=_one_batch(embeddings),
        residues=_one_batch(residues),
        stats=stats_from_table(from_ipc(row["stats"])),
        residues_embedded=int(row["residues_embedded"]),
        residues_total=int(row["residues_total"]),
    )


def _one_batch(table: pa.Table) -> pa.RecordBatch:
    batches = table.to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)
