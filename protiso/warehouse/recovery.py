"""What a writable open finishes after a writer died (kill -9, a crash, a power cut): its files and its runs.

Clean-up deletes temporary files, the staging folder and parts whose ``.pending`` marker survived while
the catalog does not list them, never anything else; a ``running`` run of this host whose process is gone
is marked ``interrupted``. docs/architecture.md (module notes) has the naming rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path

import duckdb

from protiso.warehouse.connection import alive
from protiso.warehouse.resources import sql_text

PARQUET_DIR = "parquet"
STAGING_DIR = "_staging"
_TEMP = re.compile(r"\.tmp-[0-9a-f]{32}\.parquet")
_MARKER = re.compile(r"\.part-([0-9a-f]{32})\.pending")


def part_name(part_id: str) -> str:
    return f"part-{part_id}.parquet"


def temp_name(part_id: str) -> str:
    return f".tmp-{part_id}.parquet"


def marker_name(part_id: str) -> str:
    return f".part-{part_id}.pending"


def collect_files(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    """Delete what dead writers left under ``W/parquet`` (see the module docstring); nothing else."""
    root = path / PARQUET_DIR
    if not root.is_dir():
        return
    shutil.rmtree(root / STAGING_DIR, ignore_errors=True)
    catalogued: set[str] | None = None
    for folder, _, names in os.walk(root):
        for name in names:
            file = Path(folder) / name
            if _TEMP.fullmatch(name):
                _unlink(file)
                continue
            marked = _MARKER.fullmatch(name)
            if marked is None:
                continue
            if catalogued is None:
                catalogued = {row[0] for row in con.execute("SELECT path FROM parts").fetchall()}
            part = file.with_name(part_name(marked.group(1)))
            if str(part.relative_to(path)) not in catalogued:
                _unlink(part)
            _unlink(file)


def _unlink(file: Path) -> None:
    try:
        file.unlink(missing_ok=True)
    except OSError:  # an unwritable folder: leave it for an open that can write
        pass


def host() -> str:
    return socket.gethostname()


def dead_runs(con: duckdb.DuckDBPyConnection) -> list[str]:
    """``running`` runs of this host whose writer process is gone."""
    rows = con.execute(sql_text("queries", "runs_running_here.sql"), [host()]).fetchall()
    return [run_id for run_id, pid in rows if pid != os.getpid() and not alive(pid)]


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Mark the dead runs ``interrupted``, recording the parts and rows each had committed. Returns their ids."""
    dead = dead_runs(con)
    for run_id in dead:
        parts, rows, last = con.execute(sql_text("queries", "parts_of_run.sql"), [run_id]).fetchall()[0]
        note = {"interrupted": {"committed_parts": parts, "committed_rows": int(rows), "last_commit": last}}
        con.execute(sql_text("queries", "runs_interrupted.sql"), [json.dumps(note), run_id])
    return dead


def remove_new_warehouse(path: Path, db_file: str, made_dir: bool, made_parquet: bool) -> None:
    """Remove the files of a warehouse just created and never committed to (a failed first ingest)."""
    for name in (db_file, f"{db_file}.wal"):
        (path / name).unlink(missing_ok=True)
    shutil.rmtree(path / f"{db_file}.tmp", ignore_errors=True)  # DuckDB's spill folder
    if made_parquet:
        shutil.rmtree(path / PARQUET_DIR, ignore_errors=True)
    if made_dir:
        try:
            path.rmdir()
        except OSError:  # something else was put there meanwhile
            pass
