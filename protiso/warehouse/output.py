"""Run a user's SQL (``protiso sql``) and render the result for people and files: table, CSV, JSON, Parquet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse, catalog, statements

FORMATS = ("table", "csv", "json")


def needs_write(sql: str, allow_internal: bool = False) -> bool:
    """Whether ``sql`` changes the warehouse, so ``protiso sql`` must open it for writing (else read-only).

    Checked before the warehouse is opened: a syntax error, or (unless ``allow_internal``) a statement
    that changes protiso's own objects, is a one-line error.
    """
    if not allow_internal:
        statements.check_protected(sql, catalog.protiso_names())
    return statements.writes(sql)


def run_sql(wh: Warehouse, sql: str, fmt: str = "table", output: Path | None = None,
            max_rows: int = 40, allow_internal: bool = False) -> str:
    """Run ``sql``; write Parquet to ``output`` if given (returns a summary), else return text in ``fmt``.

    Statements that change protiso's own tables, views or macros are refused unless ``allow_internal``.
    """
    if fmt not in FORMATS:
        raise ProtisoError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if output is not None:
        if output.suffix != ".parquet":
            raise ProtisoError(f"{output}: -o writes Parquet; give a file name ending in .parquet")
        if not output.parent.is_dir():
            raise ProtisoError(f"{output}: the folder {output.parent} does not exist; create it first")
    if not allow_internal:
        statements.check_protected(sql, catalog.protiso_names())
    try:
        relation = wh.con.sql(sql)
        if relation is None:
            return ""
        if output is None and fmt == "table":
            return relation.__str__() if max_rows <= 0 else _table(relation, max_rows)
        result = relation.to_arrow_table()
    except Exception as error:  # duckdb.Error subclasses: parse, binder, catalog, invalid input ...
        if isinstance(error, ProtisoError):
            raise
        if wh.read_only and "read-only mode" in str(error):
            raise ProtisoError("this SQL changes the warehouse, which protiso opened read-only (its statements "
                               "looked like reads); rerun with --write") from None
        raise ProtisoError(str(error).splitlines()[0]) from None
    if output is not None:
        try:
            pq.write_table(result, output, compression="zstd")
        except OSError as error:
            raise ProtisoError(f"cannot write {output}: {error.strerror or error}") from None
        return f"wrote {result.num_rows} rows to {output}"
    if fmt == "csv":
        sink = io.BytesIO()
        pacsv.write_csv(_flatten_for_csv(result), sink)
        return sink.getvalue().decode()
    return json.dumps(result.to_pylist(), default=str, indent=1)


def _table(relation, max_rows: int) -> str:
    import contextlib

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        relation.show(max_rows=max_rows)
    return buffer.getvalue().rstrip("\n")


def _flatten_for_csv(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists or structs: write them as JSON text."""
    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            columns.append(pa.array([json.dumps(v) for v in column.to_pylist()], pa.string()))
        else:
            columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
