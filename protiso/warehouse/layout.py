"""Folder names of Parquet parts: ``key-value``, never hive-style ``key=value``.

Parts of a partitioned table live in folders such as ``embeddings/model-antiberty/layer-8/``. protiso 0.1
wrote ``model=antiberty/layer=8``, which pyarrow and pandas read as partition columns clashing with the
columns every file holds. ``relocate_hive_parts`` renames an older warehouse's parts at its next writable
open, crash-safe with the markers of ``protiso.warehouse.recovery`` (hard links, one catalog transaction,
no data copied). docs/architecture.md (module notes) has the crash cases.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from protiso.errors import ProtisoError
from protiso.warehouse import resources
from protiso.warehouse.connection import transaction
from protiso.warehouse.recovery import PARQUET_DIR, marker_name

_HIVE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def folder_name(key: str, value: str) -> str:
    """The folder of one partition value (``value`` already safe as a path component)."""
    return f"{key}-{value}"


def unhive(relative: str) -> str:
    """``parquet/embeddings/model=x/layer=8/part-….parquet`` -> ``…/model-x/layer-8/part-….parquet``."""
    parts = relative.split("/")
    return "/".join(_HIVE.sub(r"\1-\2", p) if i < len(parts) - 1 else p for i, p in enumerate(parts))


def hive_parts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(part_id, path) of catalogued parts still in hive-style folders."""
    return con.execute(resources.sql_text("queries", "parts_hive.sql")).fetchall()


def relocate_hive_parts(path: Path, con: duckdb.DuckDBPyConnection) -> int:
    """Rename hive-style part folders of the warehouse at ``path``; returns the parts moved."""
    todo = [(part_id, old, unhive(old)) for part_id, old in hive_parts(con) if unhive(old) != old]
    if not todo:
        return 0
    markers: list[Path] = []
    try:
        for part_id, old, new in todo:
            source, target = path / old, path / new
            target.parent.mkdir(parents=True, exist_ok=True)
            for file in (source, target):
                marker = file.with_name(marker_name(part_id))
                marker.touch()
                markers.append(marker)
            if target.exists() and not target.samefile(source):
                target.unlink()
            if not target.exists():
                os.link(source, target)
    except OSError as error:
        raise ProtisoError(f"cannot rename the part folders of {path / PARQUET_DIR} (protiso 0.2 layout): "
                           f"{error.strerror or error}") from None
    with transaction(con):
        con.executemany(resources.sql_text("queries", "parts_move.sql"), [[new, pid] for pid, _, new in todo])
    for _, old, _ in todo:
        (path / old).unlink(missing_ok=True)
    for marker in markers:
        marker.unlink(missing_ok=True)
    for _, old, _ in todo:
        _remove_empty(path / old, path / PARQUET_DIR)
    return len(todo)


def _remove_empty(file: Path, root: Path) -> None:
    folder = file.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
