"""protiso's own tables, views and macros: what a current warehouse holds, a check on open, and ``repair``.

The reference is what this protiso's migrations make in an empty database (built once per process),
so it follows every new migration by itself. ``check`` compares a warehouse with it and explains a
damaged catalog (a table dropped or changed outside protiso) in one line that names the remedy;
``repair`` re-creates dropped internal tables (empty) and re-catalogues the parts on disk that
``parts`` no longer lists.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.warehouse import layout, migrations, recovery, resources
from protiso.warehouse.connection import transaction
from protiso.warehouse.recovery import PARQUET_DIR

# What a sql/views or sql/macros file creates: kind, name, and "AS TABLE" for a table macro.
CREATED = re.compile(r"CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO)\s+(\w+)(\s*\([^)]*\)\s*AS\s+TABLE)?", re.I)
_PART = re.compile(r"part-([0-9a-f]{32})\.parquet")
_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type
FROM duckdb_columns() AS c JOIN duckdb_tables() AS t USING (database_name, schema_name, table_name)
WHERE c.database_name = current_database() AND c.schema_name = 'main' AND NOT t.temporary
ORDER BY c.table_name, c.column_index
"""


@cache
def reference() -> dict[str, tuple[tuple[str, str], ...]]:
    """Internal table -> its (column, type) pairs, as this protiso's migrations make them."""
    with duckdb.connect() as con:
        migrations.migrate(con)
        return _tables(con)


@cache
def _reference_ddl() -> dict[str, str]:
    with duckdb.connect() as con:
        migrations.migrate(con)
        return dict(con.execute("SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main'").fetchall())


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[tuple[str, str], ...]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in con.execute(_COLUMNS).fetchall():
        out.setdefault(table, []).append((column, kind))
    return {table: tuple(columns) for table, columns in out.items()}


# Columns added to a Parquet-backed table's contract after parts were written without them, with the value
# (an SQL literal) such a part's rows read as in the table's view.
COLUMN_DEFAULTS = {"control": "'none'"}


def parquet_tables() -> list[str]:
    return sorted(name[:-4] for name in resources.sql_files("tables"))


@cache
def protiso_names() -> frozenset[str]:
    """Every name protiso owns: internal tables, one view per Parquet-backed table, sql/views and sql/macros."""
    names = set(reference()) | set(parquet_tables())
    for folder in ("macros", "views"):
        for name in resources.sql_files(folder):
            names |= {obj for _, obj, _ in CREATED.findall(resources.sql_text(folder, name))}
    return frozenset(names)


@cache
def _definitions_digest() -> str:
    digest = hashlib.sha256()
    for folder in ("tables", "macros", "views"):
        for name in resources.sql_files(folder):
            digest.update(f"{folder}/{name}\0{resources.sql_text(folder, name)}\0".encode())
    return digest.hexdigest()


def views_fingerprint(path: Path) -> str:
    """What the stored views depend on besides the parts: protiso's definitions and the warehouse's directory."""
    return hashlib.sha256(f"{_definitions_digest()}\0{path}".encode()).hexdigest()[:32]


def damage(con: duckdb.DuckDBPyConnection, before_migrations: bool = False) -> str | None:
    """What is wrong with the catalog, in words, or None. ``before_migrations``: only what migrating cannot fix."""
    have = _tables(con)
    expected = reference()
    if before_migrations:
        if "schema_migrations" in have or not set(have) & set(expected):
            return None  # a current or older catalog, or a new database
        return "table schema_migrations is missing"
    missing = sorted(set(expected) - set(have))
    changed = sorted(t for t in set(expected) & set(have) if not set(expected[t]) <= set(have[t]))
    if not missing and not changed:
        return None
    words = [f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing"] if missing else []
    words += [f"table{'s' if len(changed) > 1 else ''} {', '.join(changed)} altered"] if changed else []
    return " and ".join(words)


def raise_if_damaged(con: duckdb.DuckDBPyConnection, path: Path, before_migrations: bool = False) -> None:
    problem = damage(con, before_migrations)
    if problem is not None:
        raise ProtisoError(
            f"the warehouse catalog {path / 'protiso.duckdb'} is damaged ({problem}, changed outside protiso?); "
            f"run `protiso repair -w {path}` (no data file is deleted), or restore protiso.duckdb from a backup")


def repair(path: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Re-create missing internal tables (empty), settle what killed writers left, then catalogue again the
    parts on disk that ``parts`` does not list. Returns what was done, in words."""
    done: list[str] = []
    have = _tables(con)
    ddl = _reference_ddl()
    with transaction(con):
        for table in sorted(set(reference()) - set(have)):
            con.execute(ddl[table])
            if table == "schema_migrations":
                for version, name in migrations.known():
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
                done.append("re-created table schema_migrations (all migrations recorded as applied)")
            else:
                done.append(f"re-created table {table} (empty: its rows were lost)")
        problem = damage(con)
        if problem is not None:
            raise ProtisoError(f"cannot repair {path}: {problem}; restore protiso.duckdb from a backup")
    recovery.collect_files(path, con)  # before looking for uncatalogued parts: settle replaced ones first
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with transaction(con):
        for table, files in sorted(_uncatalogued_parts(path, con).items()):
            rows = 0
            for part_id, file in files:
                meta = pq.ParquetFile(file)
                run_ids = set()
                if "run_id" in meta.schema_arrow.names:
                    run_ids = set(pq.read_table(file, columns=["run_id"]).column("run_id").unique().to_pylist())
                con.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                            [part_id, table, str(file.relative_to(path)), meta.metadata.num_rows,
                             run_ids.pop() if len(run_ids) == 1 else None, now])
                rows += meta.metadata.num_rows
            done.append(f"catalogued again {len(files)} part(s) of {table} ({rows:,} rows) found on disk")
    return done


def _uncatalogued_parts(path: Path, con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, Path]]]:
    """Parts on disk (``W/parquet/<table>/**/part-<id>.parquet``) that ``parts`` does not list, by table."""
    known_paths = {row[0] for row in con.execute("SELECT path FROM parts").fetchall()}
    known_ids = {row[0] for row in con.execute("SELECT part_id FROM parts").fetchall()}
    out: dict[str, list[tuple[str, Path]]] = {}
    for table in parquet_tables():
        contract = set(con.sql(resources.sql_text("tables", f"{table}.sql")).columns)
        for file in sorted((path / PARQUET_DIR / table).rglob("part-*.parquet")):
            match = _PART.fullmatch(file.name)
            if match is None or str(file.relative_to(path)) in known_paths or match.group(1) in known_ids:
                continue
            if contract - set(COLUMN_DEFAULTS) <= set(pq.read_schema(file).names):
                out.setdefault(table, []).append((match.group(1), file))
    return out


def out_of_date(path: Path, con: duckdb.DuckDBPyConnection) -> tuple[str | None, bool]:
    """What a writable open would bring up to date before reading, and whether reading needs it first."""
    raise_if_damaged(con, path, before_migrations=True)
    version = migrations.applied(con) if "schema_migrations" in _tables(con) else 0
    migrations.refuse_newer(version)
    if version < migrations.schema_version():
        return f"upgraded to schema version {migrations.schema_version()} (it has {version})", True
    raise_if_damaged(con, path)
    stored = con.execute("SELECT value FROM protiso_state WHERE key = 'views'").fetchall()
    if stored != [(views_fingerprint(path),)]:
        return "given fresh views (it was moved, or last written by another protiso version)", True
    if layout.hive_parts(con):
        return "given the protiso 0.2 part folders (key-value, not hive-style key=value)", False
    if recovery.dead_runs(con):
        return "updated (runs of processes that died are still marked running)", False
    if (path / PARQUET_DIR / recovery.STAGING_DIR).exists():
        return "cleaned (a killed ingest left its staging folder)", False
    return None, False
