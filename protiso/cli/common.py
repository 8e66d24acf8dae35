"""What every command module shares: the typer ``app``, the ``-w`` option and ``friendly`` errors."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Callable

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
    rich_markup_mode=None,   # help texts are plain text: `protiso[ray]` must not be read as a style tag
)



def _version(value: bool) -> None:
    if value:
        from importlib import metadata

        typer.echo(f"protiso {metadata.version('protiso')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print protiso's version and exit.")] = False,
) -> None:
    """A DuckDB warehouse for the geometry of protein language model embeddings."""


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
