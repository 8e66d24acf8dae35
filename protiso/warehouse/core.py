"""The warehouse: one DuckDB file plus zstd Parquet parts in a directory.

Layout::

    W/protiso.duckdb                 catalog, bookkeeping, materialised results, views
    W/parquet/<table>/[k=v/]part-<uuid>.parquet

Parquet-backed tables (their column contract is ``sql/tables/<table>.sql``) are views
over ``read_parquet([absolute paths])``; the ``parts`` table lists the files that belong
to the warehouse. A part is written to disk first and catalogued in one DuckDB
transaction, together with whatever else its writer records; files that never made it
into the catalog (a kill -9 between the two steps) are deleted at the next open. Views
are re-created on every open, so a moved warehouse repairs itself when protiso opens it.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from protiso.errors import ProtisoError
from protiso.warehouse import resources
from protiso.warehouse.commit import PARQUET_DIR, Commit, Run, new_run_id, utcnow

DB_FILE = "protiso.duckdb"
# The DuckDB CLI users install today (duckdb-cli 1.5.x) must read what we write.
STORAGE_VERSION = "v1.5.0"
# What a sql/views or sql/macros file creates: kind, name, and "AS TABLE" for a table macro.
CREATED = re.compile(r"CREATE\s+OR\s+REPLACE\s+(VIEW|MACRO)\s+(\w+)(\s*\([^)]*\)\s*AS\s+TABLE)?", re.I)


class Warehouse:
    """A protiso warehouse directory, open for reading and writing."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection):
        self.path = path
        self.con = con

    # -- opening -----------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path) -> "Warehouse":
        """Create a new, empty warehouse at ``path`` (a directory that must not hold one yet)."""
        path = Path(path).resolve()
        if (path / DB_FILE).exists():
            raise ProtisoError(f"{path} already holds a warehouse ({DB_FILE})")
        if path.exists() and not path.is_dir():
            raise ProtisoError(f"{path} exists and is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        return cls._connect(path)

    @classmethod
    def open(cls, path: str | Path, create: bool = False) -> "Warehouse":
        """Open the warehouse at ``path``; with ``create`` make it when missing."""
        path = Path(path).resolve()
        if not (path / DB_FILE).exists():
            if create:
                return cls.create(path)
            raise ProtisoError(f"no warehouse at {path} (run `protiso init {path}` first)")
        return cls._connect(path)

    @classmethod
    def _connect(cls, path: Path) -> "Warehouse":
        try:
            con = duckdb.connect(str(path / DB_FILE), config={"storage_compatibility_version": STORAGE_VERSION})
        except duckdb.IOException as error:
            raise ProtisoError(f"cannot open {path / DB_FILE}: {error}".splitlines()[0]) from None
        # DuckDB's own progress bar would interleave with our output (and corrupt CSV on stdout).
        con.execute("SET enable_progress_bar = false")
        wh = cls(path, con)
        try:
            from protiso.warehouse import migrations

            migrations.migrate(con)
            wh._collect_garbage()
            wh.refresh_views()
            from protiso.warehouse import udfs

            udfs.register(con)
        except BaseException:
            con.close()
            raise
        return wh

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------

    @property
    def db_file(self) -> Path:
        return self.path / DB_FILE

    def query(self, sql: str, params: Any = None) -> pa.Table:
        """Run ``sql`` and return the result as an Arrow table."""
        # DuckDB 2 has Arrow export on relations only (con.execute results lost fetch_arrow_table).
        relation = self.con.sql(sql, params=params)
        return relation.to_arrow_table() if relation is not None else pa.table({})

    def sql_text(self, name: str) -> str:
        """The text of ``sql/queries/<name>.sql``."""
        return resources.sql_text("queries", f"{name}.sql")

    def tables(self) -> list[tuple[str, str, int]]:
        """(name, kind, rows) for every user-facing table and view."""
        rows = self.con.execute(resources.sql_text("queries", "list_tables.sql")).fetchall()
        out = []
        for name, kind in rows:
            count = self.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            out.append((name, kind, count))
        return out

    # -- Parquet-backed tables -------------------------------------------------------

    @staticmethod
    def parquet_tables() -> list[str]:
        return sorted(name[:-4] for name in resources.sql_files("tables"))

    def contract(self, table: str) -> pa.Schema:
        """The Arrow schema of a Parquet-backed table, from ``sql/tables/<table>.sql``."""
        if table not in self.parquet_tables():
            raise ProtisoError(f"{table} is not a Parquet-backed table")
        return self.con.sql(resources.sql_text("tables", f"{table}.sql")).to_arrow_table().schema

    def conform(self, table: str, data: pa.Table) -> pa.Table:
        """Select and cast ``data``'s columns to the contract of ``table``; absent columns become NULL."""
        schema = self.contract(table)
        extra = set(data.column_names) - set(schema.names)
        if extra:
            raise ProtisoError(f"columns {sorted(extra)} are not part of table {table}")
        columns = []
        for fld in schema:
            if fld.name in data.column_names:
                columns.append(data.column(fld.name).cast(fld.type))
            else:
                columns.append(pa.nulls(data.num_rows, fld.type))
        return pa.Table.from_arrays(columns, schema=schema)

    def part_paths(self, table: str) -> list[Path]:
        rows = self.con.execute(
            "SELECT path FROM parts WHERE table_name = ? ORDER BY committed_at, part_id", [table]
        ).fetchall()
        return [self.path / row[0] for row in rows]

    def refresh_views(self) -> None:
        """(Re)create every view: one per Parquet-backed table, then ``sql/views/*.sql`` in name order.

        Each view and macro protiso makes carries the comment ``protiso: <source>``; ones with such a
        comment that this version no longer makes (renamed or removed since) are dropped. Views
        and macros users create themselves have no such comment and are left alone.
        """
        self.con.execute("BEGIN")
        try:
            made: set[str] = set()
            for table in self.parquet_tables():
                self.con.execute(self._table_view_sql(table))
                self._mark("VIEW", table, f"table {table}", made)
            for folder in ("macros", "views"):
                for name in resources.sql_files(folder):
                    text = resources.sql_text(folder, name)
                    self.con.execute(text)
                    for kind, obj, as_table in CREATED.findall(text):
                        self._mark(f"{kind.upper()}{' TABLE' if as_table else ''}", obj, f"sql/{folder}/{name}", made)
            for kind, obj in self.con.execute(self.sql_text("protiso_objects")).fetchall():
                if obj not in made:
                    self.con.execute(f'DROP {kind} IF EXISTS "{obj}"')
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _mark(self, kind: str, name: str, source: str, made: set[str]) -> None:
        self.con.execute(f"COMMENT ON {kind} \"{name}\" IS 'protiso: {source}'")
        made.add(name)

    def _table_view_sql(self, table: str) -> str:
        paths = [str(p) for p in self.part_paths(table)]
        shape = resources.sql_text("tables", f"{table}.sql").strip().rstrip(";")
        if not paths:
            return f'CREATE OR REPLACE VIEW "{table}" AS {shape}'
        files = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        columns = ", ".join(
            f'"{f.name}"' for f in self.con.sql(shape).to_arrow_table().schema
        )
        # Select the contract's columns explicitly so that the view keeps its shape.
        return (
            f'CREATE OR REPLACE VIEW "{table}" AS SELECT {columns} '
            f"FROM read_parquet([{files}], union_by_name = true)"
        )

    def _collect_garbage(self) -> None:
        """Delete Parquet files that no committed part references (left by a killed writer)."""
        root = self.path / PARQUET_DIR
        if not root.exists():
            return
        known = {str(self.path / row[0]) for row in self.con.execute("SELECT path FROM parts").fetchall()}
        for file in root.rglob("*.parquet"):
            if str(file) not in known:
                file.unlink(missing_ok=True)

    # -- writing -----------------------------------------------------------------

    @contextmanager
    def run(self, kind: str, params: dict[str, Any], *, model: str | None = None, revision: str | None = None,
            layer: str | int | None = None, pooling: str | None = None, defer: bool = False,
            resume: str | None = None) -> Iterator[Run]:
        """Record one run of a job: its ``runs`` row, marked ``failed`` on any exception, ``done`` on success.

        ``run.params`` may be updated inside the block; the final parameters are written when it ends.
        ``defer``: write no row until the run's first commit (``run.commit()``), so a job that fails
        before committing leaves no trace (ingest's all-or-nothing rule); ``run.commit(final=True)``
        writes the row as ``done`` in that same transaction. ``resume``: continue an earlier run.
        """
        run = Run(self, resume or new_run_id(kind), kind, dict(params),
                  {"model": model, "revision": revision, "layer": None if layer is None else str(layer),
                   "pooling": pooling}, utcnow())
        if resume is not None:
            self.con.execute("UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = ?", [run.id])
            run.recorded = True
        elif not defer:
            self.con.execute(*run.insert_statement("running"))
            run.recorded = True
        try:
            yield run
        except BaseException:
            if run.recorded and not run.finished:
                self._finish_run(run.id, "failed", None)
            raise
        if not run.finished:
            if run.recorded:
                self._finish_run(run.id, "done", run.params)
            else:
                self.con.execute(*run.insert_statement("done"))
            run.recorded = run.finished = True

    def _finish_run(self, run_id: str, status: str, params: dict[str, Any] | None) -> None:
        if params is None:
            self.con.execute("UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                             [status, utcnow(), run_id])
        else:
            self.con.execute("UPDATE runs SET status = ?, finished_at = ?, params = ? WHERE run_id = ?",
                             [status, utcnow(), json.dumps(params, sort_keys=True, default=str), run_id])

    @contextmanager
    def commit(self, run_id: str | None, *, run: Run | None = None, final: bool = False) -> Iterator[Commit]:
        """Collect parts and statements; make them visible in one transaction on success.

        With ``run`` (see ``Run.commit``) the run's row is written in the same transaction when it has
        none yet, and ``final`` marks the run done there too.
        """
        pending = Commit(self, run_id, run, final)
        try:
            yield pending
        except BaseException:
            pending._discard()
            raise
        if not pending.parts and not pending.statements and not (run is not None and final):
            return
        con = self.con
        con.execute("BEGIN")
        try:
            now = utcnow()
            if run is not None and not run.recorded:
                con.execute(*run.insert_statement("done" if final else "running"))
            elif run is not None and final:
                con.execute("UPDATE runs SET status = 'done', finished_at = ?, params = ? WHERE run_id = ?",
                            [now, json.dumps(run.params, sort_keys=True, default=str), run.id])
            for part in pending.parts:
                con.execute(
                    "INSERT INTO parts VALUES (?, ?, ?, ?, ?, ?)",
                    [part.part_id, part.table, str(part.path.relative_to(self.path)), part.rows, run_id, now],
                )
            for sql, params in pending.statements:
                con.execute(sql, params)
            touched = sorted({part.table for part in pending.parts})
            for table in touched:
                con.execute(self._table_view_sql(table))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            pending._discard()
            raise
        if run is not None:
            run.recorded = True
            run.finished = run.finished or final
        if touched:
            # Dependent views (sql/views) bind to the table views by name; re-create them for safety.
            self.refresh_views()
