"""What every command module shares: the typer ``app``, the ``-w`` and ``-m`` options, ``friendly`` errors.

Every command is a ``ProtisoCommand``: help shows readable metavars (TEXT, INTEGER, FILE, DIR, or the
choices an option declares) and old option spellings (``ALIASES``) are still accepted without being shown.
"""

from __future__ import annotations

import functools
import typing
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Callable

import click
import typer
from typer.core import TyperCommand

from protiso.errors import ProtisoError

# Old spellings still accepted, hidden from help: old -> current.
ALIASES = {"--models": "--model"}
_TYPE_METAVARS = {"integer": "INTEGER", "int": "INTEGER", "float": "NUMBER"}


def _metavar(param: click.Parameter) -> str:
    """A readable metavar for a parameter that declares none (typer >= 0.29 describes types itself)."""
    if param.param_type_name == "argument":
        return (param.name or "value").upper()
    described = getattr(param, "type_descriptor", None)
    if described is not None:
        if described.is_choice:
            return "[" + "|".join(map(str, described.choices)) + "]"
        if described.is_path:
            return {"file": "FILE", "dir": "DIR"}.get(described.path_type, "PATH")
        annotation = described.annotation
        element = typing.get_args(annotation)[0] if described.is_list and typing.get_args(annotation) else annotation
        return _TYPE_METAVARS.get(getattr(element, "__name__", ""), "TEXT")
    kind = param.type
    if isinstance(kind, click.Choice):
        return "[" + "|".join(map(str, kind.choices)) + "]"
    if isinstance(kind, click.Path):
        return "FILE" if not kind.dir_okay else "DIR" if not kind.file_okay else "PATH"
    return _TYPE_METAVARS.get(kind.name, "TEXT")


class ProtisoCommand(TyperCommand):
    """A typer command whose help reads ``-w, --warehouse DIR`` and ``protiso init [OPTIONS] [PATH]``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.metavar is None and not getattr(param, "is_flag", False):
                param.metavar = _metavar(param)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Rename old option spellings (``--models x``, ``--models=x``) up to a ``--``."""
        end = args.index("--") if "--" in args else len(args)
        renamed = []
        for position, arg in enumerate(args):
            name, sep, value = arg.partition("=")
            renamed.append(ALIASES[name] + sep + value if position < end and name in ALIASES else arg)
        return super().parse_args(ctx, renamed)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and not getattr(param, "hidden", False):
                name = param.metavar + ("..." if param.nargs != 1 else "")
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((param.metavar + ("..." if param.nargs != 1 else ""), record[1]))
            else:
                options.append(record)
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


class ProtisoTyper(typer.Typer):
    """``app.command()`` makes a ``ProtisoCommand`` unless told otherwise."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Callable:
        return super().command(*args, cls=cls or ProtisoCommand, **kwargs)


app = ProtisoTyper(
    name="protiso",
    help="A DuckDB warehouse for the geometry of protein language model embeddings.\n\n"
    "Typical session: `protiso init -w W`, `protiso ingest FASTA -w W --model antiberty`, "
    "`protiso isotropy -w W`, `protiso align -w W`, `protiso report -w W -o report.html`, "
    "then ad hoc `protiso sql -w W \"SELECT ...\"` or the plain `duckdb W/protiso.duckdb`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,   # help texts are plain text: `protiso[ray]` must not be read as a style tag
)



def _version(value: bool) -> None:
    if value:
        typer.echo(f"protiso {metadata.version('protiso')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print protiso's version and exit.")] = False,
) -> None:
    """A DuckDB warehouse for the geometry of protein language model embeddings."""


WarehouseOpt = Annotated[Path, typer.Option(
    "--warehouse", "-w", metavar="DIR", help="Warehouse directory.", envvar="PROTISO_WAREHOUSE")]
# Commands that read several models; `--models` is the old spelling (ALIASES).
ModelsOpt = Annotated[list[str] | None, typer.Option(
    "--model", "-m", metavar="MODEL", help="Only this model: repeat (-m A -m B) or separate by commas; default: all.")]


def model_names(values: list[str] | None) -> list[str] | None:
    """Repeated and/or comma-separated option values, in order, once each; None when none were given."""
    names = [name.strip() for item in values or [] for name in item.split(",") if name.strip()]
    return list(dict.fromkeys(names)) or None


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
