"""The ``embedding_stats`` rows (migration 0006): float64 statistics of the global vectors of each set,
written in the same commit as the vectors they describe::

    with staging(wh), wh.commit(run_id) as tx:
        tx.write_part("embeddings", table, ...)
        stats.stage(wh, tx, run_id)

docs/architecture.md (module notes) has which rows are replaced and why ``staging`` comes first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.metrics.stream import StreamStats
from protiso.warehouse.vectors import stack_vectors

if TYPE_CHECKING:
    from protiso.warehouse.commit import Commit
    from protiso.warehouse.core import Warehouse

STAGED = "protiso_staged_embedding_stats"
KEYS = ("model", "layer", "pooling", "embedding_set", "control")


def _doubles(values: list[np.ndarray]) -> pa.ListArray:
    sizes = np.array([0] + [len(v) for v in values], dtype=np.int64)
    flat = np.concatenate(values) if values else np.zeros(0)
    return pa.LargeListArray.from_arrays(pa.array(np.cumsum(sizes)), pa.array(flat, pa.float64()))


class EmbeddingStats:
    """Running statistics of embeddings rows, one ``StreamStats`` (and a row count) per set."""

    def __init__(self) -> None:
        self.sets: dict[tuple, StreamStats | None] = {}
        self.rows: dict[tuple, int] = {}

    def add(self, table: pa.Table | pa.RecordBatch, what: str = "embeddings") -> EmbeddingStats:
        """Accumulate the ``embedding`` column of ``table``, by its model, layer, pooling and set."""
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if table.num_rows == 0:
            return self
        if "control" not in table.column_names:  # rows written without a control are real ones
            table = table.append_column("control", pa.array(["none"] * table.num_rows, pa.string()))
        keys = table.select(list(KEYS)).group_by(list(KEYS), use_threads=False).aggregate([]).to_pylist()
        for item in keys:
            key = tuple(item[k] for k in KEYS)
            part = table if len(keys) == 1 else table.filter(_matches(table, item))
            self.rows[key] = self.rows.get(key, 0) + part.num_rows
            points, _ = stack_vectors(part.column("embedding"), what)
            stats = self.sets.get(key)
            if points is not None:
                if stats is None:
                    stats = self.sets[key] = StreamStats(points.shape[1], allow_zero=True)
                stats.add(points, checked=True)
            else:
                self.sets.setdefault(key, None)
        return self

    def set(self, key: tuple, stats: StreamStats, rows: int) -> EmbeddingStats:
        """Use ``stats`` (e.g. a whole-set scan) as the statistics of ``key``."""
        self.sets[key] = stats
        self.rows[key] = rows
        return self

    def table(self, run_id: str) -> pa.Table:
        """The ``embedding_stats`` rows (sets whose rows held no vector are left out)."""
        items = [(key, stats) for key, stats in self.sets.items() if stats is not None and stats.n > 0]
        columns = [stats.columns() for _, stats in items]
        return pa.table({
            "run_id": pa.array([run_id] * len(items), pa.string()),
            "model": pa.array([k[0] for k, _ in items], pa.string()),
            "layer": pa.array([k[1] for k, _ in items], pa.int32()),
            "pooling": pa.array([k[2] for k, _ in items], pa.string()),
            "embedding_set": pa.array([k[3] for k, _ in items], pa.string()),
            "control": pa.array([k[4] or "none" for k, _ in items], pa.string()),
            "rows": pa.array([self.rows[k] for k, _ in items], pa.int64()),
            "n": pa.array([c["n"] for c in columns], pa.int64()),
            "dim": pa.array([c["dim"] for c in columns], pa.int32()),
            "sum_x": _doubles([c["sum_x"] for c in columns]),
            "sum_xxt": _doubles([c["sum_xxt"] for c in columns]),
            "n_unit": pa.array([c["n_unit"] for c in columns], pa.int64()),
            "sum_unit": _doubles([c["sum_unit"] for c in columns]),
            "sum_unit_sq": pa.array([c["sum_unit_sq"] for c in columns], pa.float64()),
        })

    def stage(self, wh: Warehouse, tx: Commit, run_id: str, replace: bool = False) -> None:
        """Add to ``tx`` the statements that store these statistics (inside ``staging(wh)``)."""
        table = self.table(run_id)
        if table.num_rows == 0:
            return
        wh.con.register(STAGED, table)
        tx.execute(wh.sql_text("embedding_stats_delete"), {"replace": replace})
        tx.execute(wh.sql_text("embedding_stats_insert"))


def _matches(table: pa.Table, item: dict) -> pa.Array:
    mask = None
    for k in KEYS:
        column = table.column(k)
        part = pc.is_null(column) if item[k] is None else pc.fill_null(pc.equal(column, item[k]), False)
        mask = part if mask is None else pc.and_(mask, part)
    return mask


@contextmanager
def staging(wh: Warehouse) -> Iterator[None]:
    """Keep the rows ``EmbeddingStats.stage`` registers until the commit entered inside this has run."""
    try:
        yield
    finally:
        wh.con.unregister(STAGED)          # a no-op when nothing was staged
