"""The views and macros protiso makes: one view per Parquet-backed table over its catalogued parts,
then ``sql/macros`` and ``sql/views``, each tagged ``protiso: <source>``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from protiso.warehouse import catalog, resources
from protiso.warehouse.catalog import COLUMN_DEFAULTS, CREATED
from protiso.warehouse.connection import transaction


def refresh_views(con: duckdb.DuckDBPyConnection, path: Path, tables: Sequence[str],
                  part_paths: Callable[[str], list[Path]]) -> None:
    """(Re)create every view: one per Parquet-backed table, then ``sql/macros`` and ``sql/views`` in name order.

    Each view and macro protiso makes carries the comment ``protiso: <source>``; ones with such a
    comment that this version no longer makes (renamed or removed since) are dropped. Views
    and macros users create themselves have no such comment and are left alone. The views'
    fingerprint is recorded with them (what a read-only open checks).
    """
    with transaction(con):
        made: set[str] = set()
        for table in tables:
            con.execute(table_view_sql(con, table, part_paths(table)))
            _mark(con, "VIEW", table, f"table {table}", made)
        for folder in ("macros", "views"):
            for name in resources.sql_files(folder):
                text = resources.sql_text(folder, name)
                con.execute(text)
                for kind, obj, as_table in CREATED.findall(text):
                    _mark(con, f"{kind.upper()}{' TABLE' if as_table else ''}", obj, f"sql/{folder}/{name}", made)
        for kind, obj in con.execute(resources.sql_text("queries", "protiso_objects.sql")).fetchall():
            if obj not in made:
                con.execute(f"DROP {kind} IF EXISTS {quote(obj)}")
        con.execute(resources.sql_text("queries", "views_fingerprint_upsert.sql"), [catalog.views_fingerprint(path)])


def _mark(con: duckdb.DuckDBPyConnection, kind: str, name: str, source: str, made: set[str]) -> None:
    con.execute(f"COMMENT ON {kind} {quote(name)} IS 'protiso: {source}'")
    made.add(name)


def table_view_sql(con: duckdb.DuckDBPyConnection, table: str, parts: Sequence[Path]) -> str:
    """The view of a Parquet-backed table over ``parts``, with the columns of its contract (``sql/tables``)."""
    paths = [str(p) for p in parts]
    shape = resources.sql_text("tables", f"{table}.sql").strip().rstrip(";")
    if not paths:
        return f'CREATE OR REPLACE VIEW "{table}" AS {shape}'
    files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
    names = [f.name for f in con.sql(shape).to_arrow_table().schema]
    columns = ", ".join(
        f'coalesce("{n}", {COLUMN_DEFAULTS[n]}) AS "{n}"' if n in COLUMN_DEFAULTS else f'"{n}"' for n in names
    )
    source = f"read_parquet([{files}], union_by_name = true)"
    # Parts older than a column of the contract lack it: the empty contract, unioned by name, declares it
    # (NULL there, or its COLUMN_DEFAULTS value).
    source = f"(FROM {source} UNION ALL BY NAME ({shape}))"
    # Select the contract's columns explicitly so that the view keeps its shape.
    return f'CREATE OR REPLACE VIEW "{table}" AS SELECT {columns} FROM {source}'


def quote(name: str) -> str:
    """``name`` as a DuckDB identifier: in double quotes, inner ones doubled."""
    return '"' + name.replace('"', '""') + '"'
