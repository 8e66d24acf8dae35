"""Numbered schema migrations (``sql/migrations/NNNN_name.sql``), each applied once in its own transaction."""

from __future__ import annotations

import duckdb

from protiso.errors import ProtisoError
from protiso.warehouse import resources


def known() -> list[tuple[int, str]]:
    """(version, file name) of every migration this protiso ships, in order."""
    out = []
    for name in resources.sql_files("migrations"):
        out.append((int(name.split("_", 1)[0]), name))
    return out


def schema_version() -> int:
    """The schema version this protiso writes."""
    return known()[-1][0]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply missing migrations; refuse a warehouse written by a newer protiso. Returns the version."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    newest = schema_version()
    if applied and max(applied) > newest:
        raise ProtisoError(
            f"this warehouse has schema version {max(applied)}, newer than this protiso understands "
            f"({newest}); upgrade protiso"
        )
    for version, name in known():
        if version in applied:
            continue
        con.execute("BEGIN")
        try:
            con.execute(resources.sql_text("migrations", name))
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return newest
