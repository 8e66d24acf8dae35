"""What a writer makes visible together: a ``Commit`` of Parquet parts and statements, and the ``Run`` it belongs to.

A ``Commit`` collects parts (written, fsynced and renamed before the transaction) and SQL
statements; ``Warehouse.commit`` catalogues them in one DuckDB transaction, or deletes the parts.
A ``Run`` is one recorded execution of a job (``Warehouse.run``): its id, kind and parameters as
they will stand in the ``runs`` table.
"""

from __future__ import annotations

import json
import os
import platform
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from protiso.warehouse.core import Warehouse

PARQUET_DIR = "parquet"


def utcnow() -> datetime:
    """The current UTC time as a naive timestamp: what every protiso timestamp column holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def versions() -> dict[str, str]:
    """Versions of protiso and of the libraries that shape its numbers."""
    out = {"python": platform.python_version()}
    for dist in ("protiso", "duckdb", "pyarrow", "numpy", "torch", "transformers", "biopython", "parasail"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _safe(value: Any) -> str:
    """A partition value that is safe as one path component."""
    text = str(value)
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "_"


@dataclass
class _PendingPart:
    part_id: str
    table: str
    path: Path
    rows: int


@dataclass
class Commit:
    """Collects Parquet parts and statements that become visible together."""

    warehouse: Warehouse
    run_id: str | None
    run: Run | None = None
    final: bool = False
    parts: list[_PendingPart] = field(default_factory=list)
    statements: list[tuple[str, Any]] = field(default_factory=list)

    def write_part(self, table: str, data: pa.Table | pa.RecordBatch,
                   partition: dict[str, Any] | None = None) -> Path | None:
        """Write ``data`` as a zstd Parquet part of ``table`` (cast to its contract). Empty data writes nothing."""
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if data.num_rows == 0:
            return None
        data = self.warehouse.conform(table, data)
        part_id = uuid.uuid4().hex
        folder = self.warehouse.path / PARQUET_DIR / table
        for key, value in (partition or {}).items():
            folder = folder / f"{key}={_safe(value)}"
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"part-{part_id}.parquet"
        tmp = folder / f".tmp-{part_id}.parquet"
        pq.write_table(data, tmp, compression="zstd", row_group_size=64 * 1024)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        self.parts.append(_PendingPart(part_id, table, final, data.num_rows))
        return final

    def execute(self, sql: str, params: Any = None) -> None:
        """Run ``sql`` in the commit's transaction."""
        self.statements.append((sql, params))

    def _discard(self) -> None:
        for part in self.parts:
            part.path.unlink(missing_ok=True)


def new_run_id(kind: str) -> str:
    """``<kind>-<UTC time>-<8 hex>``: sortable by start and unique."""
    return f"{kind}-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass
class Run:
    """One recorded run (``Warehouse.run``): its id, kind and parameters as they will be recorded."""

    warehouse: Warehouse
    id: str
    kind: str
    params: dict[str, Any]
    columns: dict[str, Any]
    started_at: datetime
    recorded: bool = False  # its runs row exists
    finished: bool = False  # marked done

    def commit(self, final: bool = False):
        """``Warehouse.commit`` for this run; ``final`` also marks the run done in that transaction."""
        return self.warehouse.commit(self.id, run=self, final=final)

    def insert_statement(self, status: str) -> tuple[str, list[Any]]:
        finished = utcnow() if status == "done" else None
        return ("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self.id, self.kind, self.started_at, finished, status, self.columns["model"],
                 self.columns["revision"], self.columns["layer"], self.columns["pooling"],
                 json.dumps(self.params, sort_keys=True, default=str), json.dumps(versions(), sort_keys=True)])
