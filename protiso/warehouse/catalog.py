"""protiso's own tables, views and macros: what a current warehouse holds, a check on open, and ``repair``.

The reference is what this protiso's migrations make in an empty database (built once per process),
so it follows every new migration by itself. ``check`` compares a warehouse with it and explains a
damaged catalog (a table dropped or changed outside protiso) in one line that names the remedy;
``repair`` re-creates dropped internal tables (empty), moves catalogued parts that are missing or
unreadable out of the way (to ``W/quarantine/``, never deleting a file) and uncatalogues them, saying
which rows they held, drops stored macros that shadow protiso's or DuckDB's functions (their definitions
saved in ``W/quarantine/``), and re-catalogues the parts on disk that ``parts`` no longer lists.
Every other command refuses such a warehouse in one line naming the damage and ``protiso repair``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.metrics import registry
from protiso.warehouse import contracts, layout, migrations, recovery, resources, vector_parts
from protiso.warehouse.connection import transaction
from protiso.warehouse.recovery import PARQUET_DIR

QUARANTINE_DIR = "quarantine"
# protiso's Python SQL functions (``udfs.register``, declared in the metric registry): a stored macro of one
# of these names would shadow one.
FUNCTIONS = registry.DEFAULT.function_names()
_MAGIC = b"PAR1"

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
    for folder in ("tables", "fragments", "macros", "views"):
        for name in resources.sql_files(folder):
            digest.update(f"{folder}/{name}\0{resources.sql_source(folder, name)}\0".encode())
    return digest.hexdigest()


def views_fingerprint(path: Path) -> str:
    """What the stored views depend on besides the parts: protiso's definitions and the warehouse's directory."""
    text = f"{_definitions_digest()}\0{registry.active().fingerprint()}\0{path}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


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


def damaged_parts(path: Path, con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, int, str | None, str]]:
    """Catalogued parts whose file is missing or cannot be a whole Parquet file (no ``PAR1`` at both ends):
    (part_id, table, path, rows, run_id, what is wrong). Cheap: one stat and two 4-byte reads per part."""
    out = []
    for part_id, table, relative, rows, run_id in con.execute(
            "SELECT part_id, table_name, path, rows, run_id FROM parts ORDER BY path").fetchall():
        problem = _part_problem(path / relative)
        if problem is not None:
            out.append((part_id, table, relative, rows, run_id, problem))
    return out


def _part_problem(file: Path) -> str | None:
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < 12:
                return f"truncated ({size} bytes)"
            head = handle.read(4)
            handle.seek(-4, os.SEEK_END)
            tail = handle.read(4)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror or error})"
    return None if head == tail == _MAGIC else "truncated or not Parquet"


def shadowing_functions(con: duckdb.DuckDBPyConnection, names: frozenset[str]) -> list[tuple]:
    """Stored functions and macros not made by protiso named like one of ``names`` or a built-in function."""
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    return con.execute(resources.sql_text("queries", "shadowing_functions.sql"),
                       {"db": database, "names": sorted({name.lower() for name in names})}).fetchall()


def raise_if_broken(con: duckdb.DuckDBPyConnection, path: Path, functions: frozenset[str]) -> None:
    """A one-line error naming the first damaged part or shadowing macro, and ``protiso repair``."""
    remedy = f"run `protiso repair -w {path}`"
    shadows = shadowing_functions(con, functions)
    if shadows:
        schema, name, kind = shadows[0][:3]
        raise ProtisoError(
            f"the warehouse stores {kind.replace('_', ' ')} {schema}.{name}, which shadows protiso's or DuckDB's own "
            f"function {name} that protiso calls; {remedy} (it saves its definition in {QUARANTINE_DIR}/ and drops it)")
    damaged = damaged_parts(path, con)
    if damaged:
        _, table, relative, rows, run_id, problem = damaged[0]
        more = f" (and {len(damaged) - 1} more)" if len(damaged) > 1 else ""
        raise ProtisoError(
            f"part {relative} of table {table} ({rows:,} rows of run {run_id}) is {problem}{more}; {remedy} "
            f"(it moves the part to {QUARANTINE_DIR}/, says which rows it held, and mends the catalog)")


def repair(path: Path, con: duckdb.DuckDBPyConnection, functions: frozenset[str] = frozenset()) -> list[str]:
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
    done += _drop_shadowing(path, con, functions)
    done += _quarantine_damaged(path, con)
    recovery.collect_files(path, con)  # before looking for uncatalogued parts: settle replaced ones first
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    duplicated: list[Path] = []
    with transaction(con):
        for table, files in sorted(_uncatalogued_parts(path, con).items()):
            rows = dropped = 0
            for part_id, file in files:
                twice = _duplicate_rows(con, path, table, file)
                if twice:
                    duplicated.append(file)
                    dropped += twice
                    part_id, file = _without_duplicates(con, path, table, file)
                    if file is None:
                        continue
                meta = pq.ParquetFile(file)
                run_ids = set()
                if "run_id" in meta.schema_arrow.names:
                    run_ids = set(pq.read_table(file, columns=["run_id"]).column("run_id").unique().to_pylist())
                con.execute("INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                            [part_id, table, str(file.relative_to(path)), meta.metadata.num_rows,
                             run_ids.pop() if len(run_ids) == 1 else None, now])
                rows += meta.metadata.num_rows
            twice = (f"; left out {dropped:,} rows the warehouse holds again since (their part moved to "
                     f"{QUARANTINE_DIR}/)") if dropped else ""
            done.append(f"catalogued again {len(files)} part(s) of {table} ({rows:,} rows) found on disk{twice}")
    for file in duplicated:
        _quarantine(path, str(file.relative_to(path)))
    return done


# The columns that name one row of each Parquet-backed table: a part found on disk whose rows the warehouse
# holds again (written anew after the part was uncatalogued) is catalogued without them.
KEYS = {
    "proteins": ("accession",),
    "embeddings": ("accession", "model", "layer", "embedding_set", "pooling"),
    "residues": ("accession", "model", "layer", "position"),
    "protein_go": ("accession", "go_id", "source"),
    "protein_keywords": ("accession", "keyword", "source"),
    "go_terms": ("go_id",),
    "go_graph": ("child", "parent", "relation"),
    "alignments": ("accession_a", "accession_b", "run_id"),
    "pair_metrics": ("model", "layer", "pooling", "embedding_set", "alignment_run", "accession_a", "accession_b"),
    "pair_metric_stats": ("model", "layer", "pooling", "embedding_set", "alignment_run"),
}


def _join(table: str) -> str:
    return " AND ".join(f'p."{key}" IS NOT DISTINCT FROM o."{key}"' for key in KEYS[table])


def _catalogued_files(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> list[str]:
    return [str(path / row[0]) for row in
            con.execute("SELECT path FROM parts WHERE table_name = ? ORDER BY path", [table]).fetchall()]


def _duplicate_rows(con: duckdb.DuckDBPyConnection, path: Path, table: str, file: Path) -> int:
    """Rows of ``file`` whose key a catalogued part of ``table`` holds too."""
    others = _catalogued_files(con, path, table)
    if table not in KEYS or not others:
        return 0
    return con.execute(f"SELECT count(*) FROM read_parquet(?) AS p SEMI JOIN "
                       f"read_parquet(?, union_by_name = true) AS o ON {_join(table)}", [str(file), others]
                       ).fetchall()[0][0]


def _without_duplicates(con: duckdb.DuckDBPyConnection, path: Path, table: str, file: Path
                        ) -> tuple[str, Path | None]:
    """A new part beside ``file`` with the rows no catalogued part holds (None when there are none)."""
    others = _catalogued_files(con, path, table)
    query = (f"SELECT p.* FROM read_parquet('{_literal(file)}') AS p ANTI JOIN read_parquet([{', '.join(map(_quoted, others))}], "
             f"union_by_name = true) AS o ON {_join(table)}")
    if con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0] == 0:
        return "", None
    part_id = uuid.uuid4().hex
    target = file.with_name(recovery.part_name(part_id))
    tmp = file.with_name(recovery.temp_name(part_id))
    con.execute(f"COPY ({query}) TO '{_literal(tmp)}' (FORMAT parquet, COMPRESSION zstd)")
    os.replace(tmp, target)
    return part_id, target


def _literal(value: object) -> str:
    return str(value).replace("'", "''")


def _quoted(value: str) -> str:
    return f"'{_literal(value)}'"


def _uncatalogued_parts(path: Path, con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, Path]]]:
    """Parts on disk (``W/parquet/<table>/**/part-<id>.parquet``) that ``parts`` does not list, by table."""
    known_paths = {row[0] for row in con.execute("SELECT path FROM parts").fetchall()}
    known_ids = {row[0] for row in con.execute("SELECT part_id FROM parts").fetchall()}
    out: dict[str, list[tuple[str, Path]]] = {}
    for table in parquet_tables():
        contract = set(contracts.schema(table).names)
        for file in sorted((path / PARQUET_DIR / table).rglob("part-*.parquet")):
            match = _PART.fullmatch(file.name)
            if match is None or str(file.relative_to(path)) in known_paths or match.group(1) in known_ids:
                continue
            try:
                names = set(pq.read_schema(file).names)
            except (OSError, ValueError):  # pyarrow.ArrowInvalid: a broken file is left where it is
                continue
            if contract - set(COLUMN_DEFAULTS) <= names:
                out.setdefault(table, []).append((match.group(1), file))
    return out


def _quarantine(path: Path, relative: str) -> Path:
    """Move ``W/relative`` to ``W/quarantine/relative`` (a free name), if it exists; return the new place."""
    target = path / QUARANTINE_DIR / relative
    while target.exists():
        target = target.with_name(target.name + ".again")
    if (path / relative).exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path / relative), target)
    return target


def _quarantine_damaged(path: Path, con: duckdb.DuckDBPyConnection) -> list[str]:
    done = []
    for part_id, table, relative, rows, run_id, problem in damaged_parts(path, con):
        kept = _quarantine(path, relative)
        with transaction(con):
            con.execute("DELETE FROM parts WHERE part_id = ?", [part_id])
            found = con.execute("SELECT params FROM runs WHERE run_id = ?", [run_id]).fetchall()
            if found:  # the run records what was lost from it
                params = json.loads(found[0][0] or "{}")
                params.setdefault("quarantined_parts", []).append(
                    {"part_id": part_id, "table": table, "path": relative, "rows": rows, "problem": problem})
                con.execute("UPDATE runs SET params = ? WHERE run_id = ?", [json.dumps(params), run_id])
        folders = "/".join(Path(relative).parent.parts[2:])
        where = f" in {folders}" if folders else ""
        moved = f"moved to {kept.relative_to(path)}" if kept.exists() else "nothing left to move"
        done.append(f"uncatalogued part {relative} of table {table}: {problem}, {moved}; it held {rows:,} rows of "
                    f"run {run_id}{where}; run that job again to recompute them")
    return done


def _drop_shadowing(path: Path, con: duckdb.DuckDBPyConnection, functions: frozenset[str]) -> list[str]:
    done = []
    for schema, name, kind, definition, parameters in shadowing_functions(con, functions):
        saved = path / QUARANTINE_DIR / "functions.sql"
        saved.parent.mkdir(parents=True, exist_ok=True)
        arguments = ", ".join(parameters or [])
        table = " TABLE" if kind == "table_macro" else ""
        with open(saved, "a", encoding="utf-8") as handle:
            handle.write(f"CREATE OR REPLACE MACRO {schema}.{name}({arguments}) AS{table} {definition};\n")
        con.execute(f"DROP MACRO{table} IF EXISTS {_quote(schema)}.{_quote(name)}")
        done.append(f"dropped {kind.replace('_', ' ')} {schema}.{name}, which shadowed protiso's or DuckDB's "
                    f"function {name}; its definition is saved in {saved.relative_to(path)}")
    return done


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
    if vector_parts.pending(con):
        return "given fixed-size vector parts (it has parts of protiso 0.3 or older)", False
    if recovery.dead_runs(con):
        return "updated (runs of processes that died are still marked running)", False
    if (path / PARQUET_DIR / recovery.STAGING_DIR).exists():
        return "cleaned (a killed ingest left its staging folder)", False
    return None, False
