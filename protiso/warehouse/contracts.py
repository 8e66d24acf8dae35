"""The Arrow shape of each Parquet-backed table, derived once from its contract in ``sql/tables``.

``schema(table)`` is the contract as DuckDB types it (vectors as ``list<float>``: what the views show).
A part stores the vector columns (``VECTORS``) as ``fixed_size_list<float not null>[d]`` instead
(``to_part``; d per part: a part holds one model and layer), uncompressed and without a dictionary
(``write_options``): bench/vectors.py measures every choice, and PLAIN floats decode fastest while zstd
saves only 6-14 %. Parquet itself has no fixed-size list: the part's Arrow schema says it, so pyarrow,
polars and pandas read fixed-size lists; DuckDB and Spark read plain lists. The other columns keep
zstd.
"""

from __future__ import annotations

from functools import cache

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.warehouse import resources

VECTORS = {"embeddings": "embedding", "residues": "vector"}   # table -> its vector column
VECTOR_COMPRESSION = "none"
COMPRESSION = "zstd"


@cache
def schema(table: str) -> pa.Schema:
    """The Arrow schema of ``sql/tables/<table>.sql`` (vectors as ``list<float>``)."""
    con = duckdb.connect()
    try:
        return con.sql(resources.sql_text("tables", f"{table}.sql")).to_arrow_table().schema
    finally:
        con.close()


def vector_type(dim: int) -> pa.DataType:
    """How a part stores vectors of length ``dim``."""
    return pa.list_(pa.field("element", pa.float32(), nullable=False), dim)


def vector_array(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """An (n, d) matrix as n vectors in the part layout (float32; no copy when it is float32 already)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), type=vector_type(matrix.shape[1]))


def is_fixed(kind: pa.DataType) -> bool:
    """Whether a stored vector column already has the part layout."""
    return pa.types.is_fixed_size_list(kind) and kind == vector_type(kind.list_size)


def fixed_vectors(column: pa.Array | pa.ChunkedArray, what: str) -> pa.Array:
    """A column of vectors (any list of numbers, NULL rows allowed) in the part layout; one whose vectors
    differ in length (no protiso writer makes such a part) stays a ``list<float>``. A NULL component is a
    one-line ``ProtisoError``."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if is_fixed(array.type) and array.offset == 0:
        return array
    dims = np.unique(pc.drop_null(pc.list_value_length(array)).to_numpy())
    values = pc.list_flatten(array)
    if values.null_count:
        raise ProtisoError(f"{what}: a vector contains NULL components")
    if len(dims) > 1:
        return array.cast(pa.list_(pa.float32()))
    dim = int(dims[0]) if len(dims) else 0
    values = values.cast(pa.float32())
    if not array.null_count:
        return pa.FixedSizeListArray.from_arrays(values, type=vector_type(dim))
    valid = array.is_valid().to_numpy(zero_copy_only=False)
    filled = np.zeros((len(array), dim), dtype=np.float32)
    if dim:
        filled[valid] = values.to_numpy(zero_copy_only=False).reshape(-1, dim)
    return pa.FixedSizeListArray.from_arrays(pa.array(filled.reshape(-1)), type=vector_type(dim),
                                             mask=pa.array(~valid))


def to_part(table: str, data: pa.Table) -> pa.Table:
    """``data`` with its vector column (if ``table`` has one) in the part layout."""
    name = VECTORS.get(table)
    if name is None or name not in data.column_names:
        return data
    column = fixed_vectors(data.column(name), f"{table}.{name}")
    return data.set_column(data.schema.get_field_index(name), pa.field(name, column.type), column)


def write_options(table: str, schema: pa.Schema) -> dict:
    """``pq.write_table`` / ``ParquetWriter`` options of a part: per-column compression; statistics only on
    columns readers filter by (not on vector components); dictionaries only on columns that are not
    floating point (or lists of it), whose values rarely repeat: trying one on millions of distinct doubles
    costs more than the rest of the write (6.4 M pair-metrics rows: 15 s -> 6 s)."""
    def floating(kind: pa.DataType) -> bool:
        while pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
            kind = kind.value_type
        return pa.types.is_floating(kind)

    vector = VECTORS.get(table)
    return {"compression": {f.name: VECTOR_COMPRESSION if f.name == vector else COMPRESSION for f in schema},
            "write_statistics": [f.name for f in schema if f.name != vector],
            "use_dictionary": [f.name for f in schema if not floating(f.type)]}
