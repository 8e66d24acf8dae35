"""The `protiso` command line: thin typer commands over the library.

Each command parses its options, makes one library call, prints, and turns a
ProtisoError into a one-line message with exit code 2. torch and the model code are
imported inside commands, so `protiso --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from protiso.errors import ProtisoError

app = typer.Typer(
    name="protiso",
    help="A DuckDB warehouse for the geometry of protein language model embeddings.\n\n"
    "Typical session: `protiso init W`, `protiso ingest FASTA -w W --model antiberty`, "
    "`protiso isotropy -w W`, `protiso align -w W`, `protiso report -w W -o report.html`, "
    "then ad hoc `protiso sql -w W \"SELECT ...\"` or the plain `duckdb W/protiso.duckdb`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WarehouseOpt = Annotated[Path, typer.Option("--warehouse", "-w", help="Warehouse directory.", envvar="PROTISO_WAREHOUSE")]


def friendly(command: Callable) -> Callable:
    """Turn library errors into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProtisoError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing uncommitted was kept", err=True)
            raise typer.Exit(130) from None

    return wrapper


# -- warehouse --------------------------------------------------------------------------


@app.command()
@friendly
def init(path: Annotated[Path, typer.Argument(help="Directory for the new warehouse.")]) -> None:
    """Create an empty warehouse (a DuckDB file plus Parquet parts) in PATH."""
    from protiso.warehouse import Warehouse

    with Warehouse.create(path) as wh:
        typer.echo(f"created warehouse {wh.path} ({wh.db_file.name})")


@app.command()
@friendly
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (DuckDB dialect).")],
    warehouse: WarehouseOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to this .parquet file.")] = None,
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format (0 = all).")] = 40,
) -> None:
    """Run SQL against the warehouse and print the result (or write Parquet with -o)."""
    from protiso.export import run_sql
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        typer.echo(run_sql(wh, query, fmt, output, max_rows))


@app.command()
@friendly
def tables(warehouse: WarehouseOpt) -> None:
    """List the warehouse's tables and views with their row counts."""
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        rows = wh.tables()
    width = max((len(name) for name, _, _ in rows), default=4)
    for name, kind, count in rows:
        typer.echo(f"{name:<{width}}  {kind:<5}  {count:>12,}")


# -- commands added per area below (keep each block separate) --------------------------------


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
