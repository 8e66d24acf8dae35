"""`protiso init`, `sql`, `tables`, `repair`: the warehouse itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from protiso.cli.common import WarehouseOpt, app, friendly
from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse
from protiso.warehouse.output import needs_write, run_sql

# -- warehouse --------------------------------------------------------------------------


@app.command()
@friendly
def init(
    warehouse: Annotated[Optional[Path], typer.Option(
        "--warehouse", "-w", metavar="DIR", help="Directory for the new warehouse.")] = None,
    path: Annotated[Optional[Path], typer.Argument(hidden=True, help="The old spelling of -w.")] = None,
) -> None:
    """Create an empty warehouse (a DuckDB file plus Parquet parts) in the directory -w names."""

    if (warehouse is None) == (path is None):
        raise ProtisoError("give the new warehouse's directory once: protiso init -w DIR")
    with Warehouse.create(warehouse or path) as wh:
        typer.echo(f"created warehouse {wh.path} ({wh.db_file.name})")


@app.command()
@friendly
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (DuckDB dialect).")],
    warehouse: WarehouseOpt,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="[table|csv|json]",
        help="table (floats shown to 6 significant digits), csv or json (full precision).")] = "table",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="FILE",
        help="Write the result to this file: .parquet, .csv or .json (by the extension), full precision.")] = None,
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format (0 = all).")] = 40,
    write: Annotated[bool, typer.Option(
        "--write", help="Open the warehouse for writing even though the SQL looks like it only reads "
        "(e.g. CALL or PRAGMA that change it).")] = False,
    allow_internal: Annotated[bool, typer.Option(
        "--allow-internal", help="Run statements that change protiso's own tables, views or macros (runs, parts, "
        "proteins, ...), refused by default; the warehouse is opened as it is, without protiso's checks, so that a "
        "damaged one can be looked at; `protiso repair` mends what they break.")] = False,
) -> None:
    """Run SQL against the warehouse and print the result (or write it with -o FILE.parquet|.csv|.json).

    Statements that write run in one transaction, committed only if they left protiso's own tables, views and
    functions as they were (whatever their spelling, and through IMPORT DATABASE, ATTACH or macros alike);
    otherwise nothing is changed.

    SQL that only reads opens the warehouse read-only, so several can run at once (and beside `duckdb -readonly`);
    SQL that changes something (CREATE, INSERT, UPDATE, DELETE, DROP, ALTER, COPY ... FROM) opens it for writing.
    """
    read_only = not (write or needs_write(query, allow_internal))
    opened = Warehouse.open_as_is(warehouse, read_only) if allow_internal else Warehouse.open(warehouse, read_only=read_only)
    with opened as wh:
        typer.echo(run_sql(wh, query, fmt, output, max_rows, allow_internal=allow_internal))


@app.command()
@friendly
def tables(warehouse: WarehouseOpt) -> None:
    """List the warehouse's tables and views with their row counts (opens it read-only); a view of yours that no longer binds shows (broken)."""

    with Warehouse.open(warehouse, read_only=True) as wh:
        rows = wh.tables()
    width = max((len(name) for name, _, _ in rows), default=4)
    for name, kind, count in rows:
        typer.echo(f"{name:<{width}}  {kind:<5}  {'(broken)' if count is None else format(count, ','):>12}")


@app.command()
@friendly
def repair(warehouse: WarehouseOpt) -> None:
    """Mend a catalog changed outside protiso: re-create dropped internal tables (empty), move catalogued parts that
    are missing or unreadable to W/quarantine/ and uncatalogue them (saying which rows they held), drop stored macros
    that shadow protiso's or DuckDB's functions (definitions saved in W/quarantine/functions.sql), and catalogue
    again the Parquet parts on disk that `parts` no longer lists. No data file is deleted.
    """
    done = Warehouse.repair(warehouse)
    typer.echo("\n".join(done) if done else "nothing to repair")
