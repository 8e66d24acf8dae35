"""The whole-set isotropy scan of one embedding set, through the direct Parquet reader.

``scan_embeddings`` gives the same ``Scan`` as ``isotropy_groups.scan_set`` but reads the catalogued
parts with ``protiso.warehouse.matrix`` (threads decode row groups straight into one float32 matrix)
instead of streaming DuckDB's Arrow batches and flattening their lists: the scan of the embedding column
was most of the job's time. Statistics are added in storage order, each row group as soon as it and
all before it are read, so the float64 pass overlaps the decoding. Vectors are kept when groups or a
bootstrap need them (in RAM up to half the memory budget, else memory-mapped); otherwise the set is read
in windows of about 32 MiB (stretches of fixed-size row groups, or whole row groups of other storage),
the next while this one is folded in: two small buffers, filled again and again, not a fresh matrix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protiso import progress
from protiso.jobs.isotropy_groups import Scan, _storage
from protiso.metrics.stream import StreamStats
from protiso.warehouse import matrix

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

WINDOW_BYTES = 32 * 2**20       # vectors read at a time when they are not kept (two such windows in memory)


def scan_embeddings(wh: Warehouse, key: dict, what: str, budget: int, keep: bool, desc: str) -> Scan:
    """Scan the ``embeddings`` rows matching ``key`` (model, layer, embedding_set, pooling and, when
    given, control; a None value matches NULL) into whole-set statistics; with ``keep`` keep the vectors."""
    plan = matrix.plan(wh, "embeddings", "embedding", key, what)
    if plan.rows == 0:
        return Scan(None)
    row_bytes = plan.dim * 4
    stats = StreamStats(plan.dim)
    with progress.bar(total=plan.rows, desc=desc, unit="vector", unit_scale=True) as bar:
        if keep:
            store, tmp, storage = _storage(plan.rows, plan.dim, "float32", budget)
            try:
                def done(start: int, stop: int) -> None:
                    stats.add(store[start:stop], checked=True)
                    bar.update(stop - start)

                matrix.read(plan, store, done=done)
            except BaseException:
                if tmp is not None:
                    tmp.cleanup()
                raise
            return Scan(stats, store, plan.ids, storage, tmp)
        for _, block in matrix.windows(plan, max(1, min(budget // 8, WINDOW_BYTES) // row_bytes)):
            stats.add(block, checked=True)
            bar.update(len(block))
    return Scan(stats)
