"""The warehouse: one DuckDB file plus Parquet parts in a directory.

Layout: ``W/protiso.duckdb`` (catalog, bookkeeping, materialised results, views) and
``W/parquet/<table>/[<key>-<value>/]part-<id>.parquet``, e.g. ``parquet/embeddings/model-antiberty/layer-8/``.
Parquet-backed tables (column contracts in ``sql/tables``) are views over the parts ``parts`` lists. A part
is written first and catalogued in one transaction (``commit.py``); what a killed writer leaves is settled
at the next writable open (``recovery.py``), which also migrates and re-creates the views. A read-only
open writes nothing (several can run beside ``duckdb -readonly``); it opens for writing once first when
the stored views are stale. docs/architecture.md tells the whole story.
"""

from __future__ import annotations

import json
import os
import random
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb
import pyarrow as pa

from protiso.errors import ProtisoError, did_you_mean
from protiso.warehouse import (catalog, contracts, faults, layout, matrix_select, migrations, recovery, resources,
                               udfs, vector_parts, views)
from protiso.warehouse.commit import PARQUET_DIR, Commit, Run, _PendingPart, new_run_id, utcnow
from protiso.warehouse.connection import (LockedError, check_writable, connect, make_folder, refuse_file_in_path,
                                          transaction)
from protiso.warehouse.matrix_result import Vectors
from protiso.warehouse.views import quote

DB_FILE = "protiso.duckdb"
READERS_WAIT_S = 30.0  # a reader that finds the warehouse out of date waits this long for other readers to go


class Warehouse:
    """A protiso warehouse directory, open for reading and writing (or, ``read_only``, for reading)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, read_only: bool = False):
        self.path = path
        self.con = con
        self.read_only = read_only

    # -- opening -----------------------------------------------------------------

    @classmethod
    def create(cls, path: str | Path) -> "Warehouse":
        """Create a new, empty warehouse at ``path`` (a directory that must not hold one yet)."""
        path = Path(path).resolve()
        if (path / DB_FILE).exists():
            raise ProtisoError(f"{path} already holds a warehouse ({DB_FILE})")
        refuse_file_in_path(path)
        make_folder(path, f"{path} exists and is not a directory", "the warehouse directory ")
        return cls._open_writable(path)

    @classmethod
    def open(cls, path: str | Path, create: bool = False, read_only: bool = False) -> "Warehouse":
        """Open the warehouse at ``path``; with ``create`` make it when missing; ``read_only`` for reading only."""
        path = Path(path).resolve()
        if not (path / DB_FILE).exists():
            if create:
                return cls.create(path)
            refuse_file_in_path(path)
            raise ProtisoError(f"no warehouse at {path}{_nearby(path)}: check the path (-w), "
                               f"or create one with `protiso init -w {path}`")
        return cls._open_read_only(path) if read_only else cls._open_writable(path)

    @classmethod
    @contextmanager
    def open_or_create(cls, path: str | Path) -> Iterator["Warehouse"]:
        """Open the warehouse at ``path``, or create it; one created here is removed again when the block
        fails before anything was committed to it (a failed first ingest leaves no empty warehouse)."""
        path = Path(path).resolve()
        if (path / DB_FILE).exists():
            with cls.open(path) as wh:
                yield wh
            return
        made_dir, made_parquet = not path.exists(), not (path / PARQUET_DIR).exists()
        wh = cls.create(path)
        try:
            yield wh
        except BaseException:
            try:
                empty = wh.con.execute(wh.sql_text("warehouse_is_empty")).fetchall() == [(True,)]
            except duckdb.Error:
                empty = False
            wh.close()
            if empty:
                recovery.remove_new_warehouse(path, DB_FILE, made_dir, made_parquet)
            raise
        wh.close()

    @classmethod
    def _open_writable(cls, path: Path) -> "Warehouse":
        check_writable(path, path / DB_FILE)
        con = connect(path / DB_FILE, read_only=False)
        con.execute("SET enable_progress_bar = false")  # it would interleave with our output (and CSV on stdout)
        wh = cls(path, con)
        try:
            catalog.raise_if_damaged(con, path, before_migrations=True)
            migrations.migrate(con)
            migrations.add_metric_columns(con)
            catalog.raise_if_damaged(con, path)
            catalog.raise_if_broken(con, path, catalog.FUNCTIONS)
            recovery.collect_files(path, con)
            layout.relocate_hive_parts(path, con)
            vector_parts.fix_parts(path, con)
            recovery.mark_interrupted(con)
            wh.refresh_views()
            udfs.register(con)
        except BaseException:
            con.close()
            raise
        return wh

    @classmethod
    def _open_read_only(cls, path: Path) -> "Warehouse":
        deadline = time.monotonic() + READERS_WAIT_S
        while True:
            try:
                con = connect(path / DB_FILE, read_only=True)
            except duckdb.ConnectionException:  # this process holds it open for writing already: share that
                return cls._open_writable(path)
            try:
                needed, required = catalog.out_of_date(path, con)
                if not needed:
                    catalog.raise_if_broken(con, path, catalog.FUNCTIONS)
            except BaseException:
                con.close()
                raise
            if not needed:
                break
            con.close()
            try:
                cls._open_writable(path).close()
            except LockedError as error:
                # other readers hold it (several started at once on a fresh copy): one of them brings it up to
                # date; wait for that rather than fail
                if time.monotonic() < deadline:
                    time.sleep(random.uniform(0.05, 0.25))
                    continue
                if required:
                    raise ProtisoError(f"{path} must be {needed} before it can be read, which needs write "
                                       f"access: {error}") from None
            except ProtisoError as error:
                if required:
                    raise ProtisoError(f"{path} must be {needed} before it can be read, which needs write "
                                       f"access: {error}") from None
            con = connect(path / DB_FILE, read_only=True)
            break
        con.execute("SET enable_progress_bar = false")
        udfs.register(con)
        return cls(path, con, read_only=True)

    @classmethod
    def open_as_is(cls, path: str | Path, read_only: bool = False) -> "Warehouse":
        """Open the warehouse without the checks, clean-up and view refresh of ``open`` (``protiso sql
        --allow-internal``: a way to look at and mend a damaged one by hand); protiso's functions are
        registered where no stored macro shadows them."""
        path = Path(path).resolve()
        if not (path / DB_FILE).exists():
            raise ProtisoError(f"no warehouse at {path} (run `protiso init {path}` first)")
        if not read_only:
            check_writable(path, path / DB_FILE)
        try:
            con = connect(path / DB_FILE, read_only=read_only)
        except duckdb.ConnectionException:
            return cls._open_writable(path)
        con.execute("SET enable_progress_bar = false")
        shadowed = {name.lower() for _, name, *_ in catalog.shadowing_functions(con, catalog.FUNCTIONS)}
        udfs.register(con, skip=shadowed)
        return cls(path, con, read_only=read_only)

    @classmethod
    def repair(cls, path: str | Path) -> list[str]:
        """Repair a catalog changed outside protiso (``catalog.repair``); returns what was done, in words."""
        path = Path(path).resolve()
        if not (path / DB_FILE).exists():
            raise ProtisoError(f"no warehouse at {path}")
        check_writable(path, path / DB_FILE)
        con = connect(path / DB_FILE, read_only=False)
        try:
            done = catalog.repair(path, con, catalog.FUNCTIONS)
        finally:
            con.close()
        cls._open_writable(path).close()
        return done

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

    def vectors(self, model: str | None = None, layer: int | None = None, set: str = "raw",
                control: str = "none", accessions: Sequence[str] | str | None = None, where: str | None = None,
                pooling: str | None = None) -> Vectors:
        """The stored per-protein vectors of one model, layer, embedding ``set`` and ``control`` as ids plus
        an (N, dim) float32 matrix (``.numpy()``, ``.pandas()``, ``.polars()``, ``.torch()``), in storage order.

        ``model`` / ``layer`` / ``pooling`` may be left out when the warehouse has one; ``accessions`` (a
        list, or a file of one a line) and ``where`` (an SQL predicate over ``proteins`` columns, e.g.
        ``"organism LIKE 'Homo%'"``) narrow the proteins. Read straight from the Parquet parts
        (``protiso.warehouse.matrix_select``, ``protiso.warehouse.matrix``)."""
        return matrix_select.vectors(self, model, layer, set, control, accessions, where, pooling)

    def residues(self, accession: str, model: str | None = None, layer: int | None = None) -> Vectors:
        """The stored residue vectors of one protein, by position: ``ids`` are positions, ``residues``
        the amino acids, ``matrix`` (length, dim) float32."""
        return matrix_select.residues(self, accession, model, layer)

    def sql_text(self, name: str) -> str:
        """The text of ``sql/queries/<name>.sql``."""
        return resources.sql_text("queries", f"{name}.sql")

    def tables(self) -> list[tuple[str, str, int | None]]:
        """(name, kind, rows) for every user-facing table and view; rows is None for a user's view that no
        longer binds."""
        rows = self.con.execute(resources.sql_text("queries", "list_tables.sql")).fetchall()
        out = []
        for name, kind in rows:
            try:
                count = self.con.execute(f"SELECT count(*) FROM {quote(name)}").fetchall()[0][0]
            except duckdb.Error as error:
                if kind != "view" or name in catalog.protiso_names():
                    raise ProtisoError(f"cannot count the rows of {kind} {name}: {str(error).splitlines()[0]}") from None
                count = None  # a user's view that no longer binds (a table it read was dropped): listed, not counted
            out.append((name, kind, count))
        return out

    # -- Parquet-backed tables -------------------------------------------------------

    @staticmethod
    def parquet_tables() -> list[str]:
        return catalog.parquet_tables()

    def contract(self, table: str) -> pa.Schema:
        """The Arrow schema of a Parquet-backed table, from ``sql/tables/<table>.sql``."""
        if table not in self.parquet_tables():
            raise ProtisoError(f"{table} is not a Parquet-backed table")
        return contracts.schema(table)

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
        rows = self.con.execute(self.sql_text("parts_of_table"), [table]).fetchall()
        return [self.path / row[0] for row in rows]

    def refresh_views(self) -> None:
        """(Re)create every view and macro protiso makes (``protiso.warehouse.views.refresh_views``)."""
        self._writable()
        views.refresh_views(self.con, self.path, self.parquet_tables(), self.part_paths)

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
        self._writable()
        if resume is not None:
            self.con.execute(self.sql_text("runs_resume"), [os.getpid(), recovery.host(), run.id])
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
        recorded = None if params is None else json.dumps(params, sort_keys=True, default=str)
        self.con.execute(self.sql_text("runs_finish"), [status, utcnow(), recorded, run_id])

    @contextmanager
    def commit(self, run_id: str | None, *, run: Run | None = None, final: bool = False) -> Iterator[Commit]:
        """Collect parts and statements; make them visible in one transaction on success.

        With ``run`` (see ``Run.commit``) the run's row is written in the same transaction when it has
        none yet, and ``final`` marks the run done there too.
        """
        self._writable()
        pending = Commit(self, run_id, run, final)
        try:
            yield pending
        except BaseException:
            pending._discard()
            raise
        if not pending.parts and not pending.statements and not (run is not None and final):
            return
        con = self.con
        faults.point("commit")
        try:
            with transaction(con):
                now = utcnow()
                if run is not None and not run.recorded:
                    con.execute(*run.insert_statement("done" if final else "running"))
                elif run is not None and final:
                    con.execute(self.sql_text("runs_finish"),
                                ["done", now, json.dumps(run.params, sort_keys=True, default=str), run.id])
                for part in pending.parts:
                    con.execute(self.sql_text("parts_insert"), [part.part_id, part.table,
                                str(part.path.relative_to(self.path)), part.rows, run_id, now])
                before = self._catalogued() if pending.statements else {}
                for sql, params in pending.statements:
                    con.execute(sql, params)
                if before:  # parts the statements uncatalogue (replaced ones): their files go after the commit
                    pending._retire([before[k] for k in sorted(before.keys() - self._catalogued().keys())])
                touched = sorted({part.table for part in pending.parts + pending.retired})
                for table in touched:
                    con.execute(views.table_view_sql(con, table, self.part_paths(table)))
        except BaseException:
            pending._discard()
            raise
        faults.point("committed")
        pending._settle()
        if run is not None:
            run.recorded = True
            run.finished = run.finished or final
        if touched:
            # Dependent views (sql/views) bind to the table views by name; re-create them for safety.
            self.refresh_views()

    def _catalogued(self) -> dict[str, _PendingPart]:
        rows = self.con.execute("SELECT part_id, table_name, path, rows FROM parts").fetchall()
        return {part_id: _PendingPart(part_id, table, self.path / path, rows) for part_id, table, path, rows in rows}

    def _writable(self) -> None:
        if self.read_only:
            raise ProtisoError(f"{self.path} was opened read-only; open it for writing to change it")


def _nearby(path: Path) -> str:
    """`` (did you mean W2?)`` for a warehouse beside ``path`` with a close name, else ``""``."""
    try:
        siblings = [d.name for d in path.parent.iterdir() if (d / DB_FILE).is_file()]
    except OSError:
        return ""
    hint = did_you_mean(path.name, siblings)
    return hint.replace("mean ", f"mean {path.parent}{os.sep}") if hint else ""

