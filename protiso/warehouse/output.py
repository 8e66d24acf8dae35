"""Run a user's SQL (``protiso sql``) and render the result for people and files: table, CSV, JSON, Parquet."""

from __future__ import annotations

import contextlib
import io
import json
import os
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse, catalog, statements

FORMATS = ("table", "csv", "json")
OUTPUT_SUFFIXES = (".parquet", ".csv", ".json")   # -o: the format by the file name


def needs_write(sql: str, allow_internal: bool = False) -> bool:
    """Whether ``sql`` changes the warehouse, so ``protiso sql`` must open it for writing (else read-only).

    Checked before the warehouse is opened: a syntax error, or (unless ``allow_internal``) a statement
    that changes protiso's own objects, is a one-line error.
    """
    if not allow_internal:
        statements.check_protected(sql, protected_names())
    return statements.writes(sql)


def protected_names() -> frozenset[str]:
    """protiso's own objects and SQL functions: what a user's SQL may not change or shadow."""
    return catalog.protiso_names() | catalog.FUNCTIONS


def run_sql(wh: Warehouse, sql: str, fmt: str = "table", output: Path | None = None,
            max_rows: int = 40, allow_internal: bool = False) -> str:
    """Run ``sql``; write ``output`` (Parquet, CSV or JSON by its extension) if given and return a summary,
    else return text in ``fmt``. Printed tables round floats to 6 significant digits; files and CSV/JSON
    text keep full precision.

    Statements that change protiso's own tables, views or macros are refused unless ``allow_internal``.
    """
    if fmt not in FORMATS:
        raise ProtisoError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if output is not None:
        if output.suffix.lower() not in OUTPUT_SUFFIXES:
            raise ProtisoError(f"{output}: -o writes {', '.join(OUTPUT_SUFFIXES)} (by the file name's extension), "
                               f"not {output.suffix or 'a file without an extension'}")
        if not output.parent.is_dir():
            raise ProtisoError(f"{output}: the folder {output.parent} does not exist; create it first")
    if not allow_internal:
        statements.check_protected(sql, protected_names())
    try:
        if wh.read_only or allow_internal:
            relation = wh.con.sql(sql)
        else:
            relation = statements.run_guarded(wh.con, sql, protected_names(), sorted(catalog.reference()))
        if relation is None:
            return ""
        if output is None and fmt == "table":
            return _table(_readable(relation), max_rows)
        result = relation.to_arrow_table()
    except Exception as error:  # duckdb.Error subclasses: parse, binder, catalog, invalid input ...
        if isinstance(error, ProtisoError):
            raise
        if wh.read_only and "read-only mode" in str(error):
            raise ProtisoError("this SQL changes the warehouse, which protiso opened read-only (its statements "
                               "looked like reads); rerun with --write") from None
        raise ProtisoError(str(error).splitlines()[0]) from None
    if output is not None:
        _write(result, output)
        return f"wrote {result.num_rows} rows to {output}"
    return _text(result, fmt)


def _text(result: pa.Table, fmt: str) -> str:
    """CSV or JSON text of ``result``, every float at full (round-trip) precision."""
    if fmt == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(_flatten_for_csv(result), sink)
        return sink.getvalue().decode()
    return json.dumps(result.to_pylist(), default=_json_value, indent=1)


def _json_value(value):
    """JSON for what ``json`` cannot write itself: DECIMAL as a number, anything else (dates, UUIDs) as text."""
    return float(value) if isinstance(value, Decimal) else str(value)


def _write(result: pa.Table, output: Path) -> None:
    """``output`` as Parquet, CSV or JSON by its extension; it appears only when complete."""
    tmp = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        if output.suffix.lower() == ".parquet":
            pq.write_table(result, tmp, compression="zstd")
        else:
            tmp.write_text(_text(result, "csv" if output.suffix.lower() == ".csv" else "json") + "\n",
                           encoding="utf-8")
        os.replace(tmp, output)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise ProtisoError(f"cannot write {output}: {error.strerror or error}") from None


def _readable(relation):
    """The relation with floating-point columns rounded to 6 significant digits, for printed tables only."""
    exprs, changed = [], False
    for name, kind in zip(relation.columns, relation.types):
        column = '"' + name.replace('"', '""') + '"'
        if str(kind) in ("DOUBLE", "FLOAT"):
            exprs.append(f"CASE WHEN {column} IS NULL OR {column} = 0 OR isinf({column}) OR isnan({column}) "
                         f"THEN {column} ELSE round({column}, (5 - floor(log10(abs({column}))))::INTEGER) END "
                         f"AS {column}")
            changed = True
        else:
            exprs.append(column)
    return relation.project(", ".join(exprs)) if changed else relation


def _table(relation, max_rows: int) -> str:
    if max_rows <= 0:
        return str(relation)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        relation.show(max_rows=max_rows)
    return buffer.getvalue().rstrip("\n")


def _flatten_for_csv(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists or structs: write them as JSON text."""
    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            columns.append(pa.array([json.dumps(v, default=_json_value) for v in column.to_pylist()], pa.string()))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
