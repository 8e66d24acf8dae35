"""Numbered schema migrations (``sql/migrations/NNNN_name.sql``), each applied once in its own transaction."""

from __future__ import annotations

import duckdb

from protiso.errors import ProtisoError
from protiso.metrics import registry
from protiso.warehouse import resources
from protiso.warehouse.connection import transaction


def known() -> list[tuple[int, str]]:
    """(version, file name) of every migration this protiso ships, in order."""
    out = []
    for name in resources.sql_files("migrations"):
        out.append((int(name.split("_", 1)[0]), name))
    return out


def schema_version() -> int:
    """The schema version this protiso writes."""
    return known()[-1][0]


def applied(con: duckdb.DuckDBPyConnection) -> int:
    """The newest schema version recorded in the warehouse (0 for none)."""
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def refuse_newer(version: int) -> None:
    if version > schema_version():
        raise ProtisoError(f"this warehouse has schema version {version}, newer than this protiso understands "
                           f"({schema_version()}); upgrade protiso")


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply missing migrations; refuse a warehouse written by a newer protiso. Returns the version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    refuse_newer(max(done, default=0))
    for version, name in known():
        if version in done:
            continue
        with transaction(con):
            con.execute(resources.sql_text("migrations", name))
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    return schema_version()


def add_metric_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Add the isotropy table's metric columns of the active registry that it lacks; returns their names."""
    have = {row[0] for row in con.execute(resources.sql_text("queries", "isotropy_columns.sql")).fetchall()}
    added = [m for m in registry.active().columns() if m.name not in have]
    if added:
        with transaction(con):
            for metric in added:
                con.execute(resources.sql_text("queries", "isotropy_metric_column.sql", column=metric.name,
                                               sql_type=metric.sql_type))
    return [m.name for m in added]
