"""Older parts' vectors rewritten as fixed-size lists (``contracts``) at the next writable open.

Parts of ``embeddings`` and ``residues`` written before schema version 11 hold variable-length lists.
``fix_parts`` rewrites each such part under its own name: the new file is written as
``.tmp-<id>.parquet``, fsynced and renamed over ``part-<id>.parquet`` (an atomic replace, so the
catalog never changes and a reader sees the old file or the new one). A writer killed mid-way leaves
only a temp file, which ``recovery.collect_files`` deletes; the next open goes on with the parts still
to do. The values, rows, row order and other columns stay as they were. Once every part is done
``protiso_state`` says so (``vector_parts = fixed``) and later opens read no footers.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.warehouse import contracts, faults, resources
from protiso.warehouse.connection import transaction
from protiso.warehouse.recovery import temp_name

STATE = "vector_parts"
DONE = "fixed"


def pending(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's parts have not all been checked yet."""
    return con.execute(resources.sql_text("queries", "vector_parts_state.sql"), [STATE]).fetchall() != [(DONE,)]


def fix_parts(path: Path, con: duckdb.DuckDBPyConnection) -> int:
    """Rewrite the catalogued vector parts of the warehouse at ``path`` that hold variable-length lists;
    returns how many were rewritten."""
    if not pending(con):
        return 0
    rows = con.execute(resources.sql_text("queries", "vector_parts_todo.sql"), [list(contracts.VECTORS)]).fetchall()
    done = 0
    for part_id, table, relative in rows:
        file = path / relative
        try:
            kind = pq.read_schema(file).field(contracts.VECTORS[table]).type
        except (OSError, KeyError, pa.ArrowException) as error:
            raise ProtisoError(f"cannot read the part {file} to store its vectors as fixed-size lists: "
                               f"{str(error).splitlines()[0]}") from None
        if contracts.is_fixed(kind):
            continue
        rewrite(file, file.with_name(temp_name(part_id)), table)
        faults.point("vector-part")
        done += 1
    with transaction(con):
        con.execute(resources.sql_text("queries", "vector_parts_done.sql"), [STATE, DONE])
    return done


def rewrite(file: Path, tmp: Path, table: str) -> None:
    """Write ``file`` again with its vector column in the part layout, row group by row group, then replace it."""
    source = pq.ParquetFile(file)
    writer = None
    try:
        for group in range(source.num_row_groups):
            data = contracts.to_part(table, source.read_row_group(group))
            if writer is None:
                writer = pq.ParquetWriter(tmp, data.schema, **contracts.write_options(table, data.schema))
            writer.write_table(data, row_group_size=max(1, data.num_rows))
        if writer is not None:
            writer.close()
            writer = None
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, file)
    except (OSError, pa.ArrowException) as error:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise ProtisoError(f"cannot store the vectors of {file} as fixed-size lists: {error}") from None
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        raise

