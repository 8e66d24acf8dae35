"""What a writer makes visible together: a ``Commit`` of Parquet parts and statements, and the ``Run`` it belongs to.

A ``Commit`` collects parts and SQL statements; ``Warehouse.commit`` catalogues them in one DuckDB
transaction, or deletes the parts. Each part is written as ``.tmp-<id>.parquet``, fsynced and renamed
to ``part-<id>.parquet`` beside a ``.part-<id>.pending`` marker, which goes once the commit is
decided (the rules are in ``recovery.py``). A ``Run`` is one recorded execution of a job
(``Warehouse.run``): its id, kind and parameters as they will stand in the ``runs`` table.
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

from protiso.errors import ProtisoError
from protiso.warehouse import contracts, faults
from protiso.warehouse.layout import folder_name
from protiso.warehouse.recovery import PARQUET_DIR, host, marker_name, part_name, temp_name

if TYPE_CHECKING:
    from protiso.warehouse.core import Warehouse


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

    @property
    def marker(self) -> Path:
        return self.path.with_name(marker_name(self.part_id))


@dataclass
class Commit:
    """Collects Parquet parts and statements that become visible together."""

    warehouse: Warehouse
    run_id: str | None
    run: Run | None = None
    final: bool = False
    parts: list[_PendingPart] = field(default_factory=list)
    statements: list[tuple[str, Any]] = field(default_factory=list)
    retired: list[_PendingPart] = field(default_factory=list)  # catalogued parts the statements uncatalogue

    def write_part(self, table: str, data: pa.Table | pa.RecordBatch,
                   partition: dict[str, Any] | None = None) -> Path | None:
        """Write ``data`` as a Parquet part of ``table`` (cast to its contract, vectors as fixed-size lists:
        ``contracts``). Empty data writes nothing."""
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        if data.num_rows == 0:
            return None
        data = contracts.to_part(table, self.warehouse.conform(table, data))
        part_id = uuid.uuid4().hex
        folder = self.warehouse.path / PARQUET_DIR / table
        for key, value in (partition or {}).items():
            folder = folder / folder_name(key, _safe(value))
        part = _PendingPart(part_id, table, folder / part_name(part_id), data.num_rows)
        tmp = folder / temp_name(part_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            part.marker.touch()
            self.parts.append(part)
            pq.write_table(data, tmp, row_group_size=64 * 1024, **contracts.write_options(table, data.schema))
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, part.path)
            faults.point("part")
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise ProtisoError(f"cannot write a part of {table} in {folder}: {error.strerror or error}") from None
        return part.path

    def execute(self, sql: str, params: Any = None) -> None:
        """Run ``sql`` in the commit's transaction."""
        self.statements.append((sql, params))

    def _retire(self, parts: list[_PendingPart]) -> None:
        """Mark catalogued parts the commit's statements uncatalogue: their files go once it is committed."""
        for part in parts:
            part.marker.touch()
            self.retired.append(part)

    def _settle(self) -> None:
        """After the commit: new parts stay, retired ones are deleted; the markers go."""
        for part in self.retired:
            _quietly(part.path.unlink)
        for part in self.parts + self.retired:
            _quietly(part.marker.unlink)

    def _discard(self) -> None:
        """Instead of the commit: new parts are deleted, retired ones stay; the markers go."""
        for part in self.parts:
            _quietly(part.path.unlink)
        for part in self.parts + self.retired:
            _quietly(part.marker.unlink)


def _quietly(unlink) -> None:
    """Unlink a file if there; one left behind (an unwritable folder) is settled by the next writable open."""
    try:
        unlink(missing_ok=True)
    except OSError:
        pass


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
        return (self.warehouse.sql_text("runs_insert"),
                [self.id, self.kind, self.started_at, finished, status, self.columns["model"],
                 self.columns["revision"], self.columns["layer"], self.columns["pooling"],
                 json.dumps(self.params, sort_keys=True, default=str), json.dumps(versions(), sort_keys=True),
                 os.getpid(), host()])
