"""Every Python SQL function, registered in one place on every connection protiso opens: one per metric of
the registry (``protiso.metrics.registry``) that declares a function on points (isoscore, isoscore_star,
isoscore_star_fixed, effective_dims, mean_pairwise_cosine, eigen_spectrum), e.g.
``SELECT model, layer, isoscore(list(embedding)) FROM embeddings GROUP BY ALL``.

Vectorised Arrow UDFs: each call receives a batch of groups and reads the nested lists through their Arrow
offsets as one (N, dim) numpy array per group (``protiso.warehouse.vectors``), computing in float64. FLOAT
and DOUBLE vectors are both accepted as they are (``vectors`` is declared ANY). NULL rules (the same for
every function): fewer than 2 non-NULL vectors, zero variance or a NULL parameter -> NULL; NULL vectors are
skipped; mixed lengths, NULL/NaN/infinite components, length 0, non-numeric input -> a one-line error.
docs/sql.md lists the functions and rules in full.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.metrics import registry
from protiso.metrics.registry import Metric
from protiso.warehouse.vectors import chunks, group_points

ARROW_TYPES = {"DOUBLE": pa.float64(), "INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE[]": pa.list_(pa.float64())}


def _parameter(name: str, param: str, values: pa.ChunkedArray) -> list:
    try:
        return pc.cast(values, pa.float64()).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ProtisoError(f"{name}: {param} must be a number, got {values.type}") from None


def _udf(metric: Metric) -> Callable:
    """The Arrow UDF of ``metric``: its function on points per group of vectors, its parameters (numbers) after."""
    name, function, result = metric.udf, metric.on_points, ARROW_TYPES[metric.sql_type]

    def compute(vectors: pa.ChunkedArray, args: tuple) -> pa.Array:
        params = [_parameter(name, p, a) for p, a in zip(metric.params, args)]
        out = []
        row = 0
        for chunk in chunks(vectors):
            for points in group_points(chunk, name):
                given = [values[row] for values in params]
                row += 1
                value = None if points is None or None in given else function(points, *given)
                out.append(value.tolist() if isinstance(value, np.ndarray) else value)
        return pa.array(out, type=result)

    # DuckDB reads the number of arguments from the signature: one function per arity.
    if len(metric.params) == 0:
        def udf(vectors: pa.ChunkedArray) -> pa.Array:
            return compute(vectors, ())
    elif len(metric.params) == 1:
        def udf(vectors: pa.ChunkedArray, first: pa.ChunkedArray) -> pa.Array:
            return compute(vectors, (first,))
    elif len(metric.params) == 2:
        def udf(vectors: pa.ChunkedArray, first: pa.ChunkedArray, second: pa.ChunkedArray) -> pa.Array:
            return compute(vectors, (first, second))
    else:
        raise ProtisoError(f"metric {metric.name}: an SQL function takes at most 2 parameters besides the vectors")
    udf.__name__ = name
    return udf


def register(con: duckdb.DuckDBPyConnection, skip: set[str] = frozenset()) -> None:
    """Register protiso's Python UDFs on ``con`` (idempotent: existing ones are replaced), but those in ``skip``.

    A stored macro of the same name (made in the plain shell) makes this a one-line error naming
    ``protiso repair``, which saves and drops it."""
    for metric in registry.active().functions():
        name = metric.udf
        if name in skip:
            continue
        try:
            con.remove_function(name)
        except (duckdb.InvalidInputException, duckdb.CatalogException):
            pass
        # parameters=None declares every argument ANY (see the module docstring); parameters are cast in Python.
        try:
            con.create_function(name, _udf(metric), None, duckdb.sqltypes.DuckDBPyType(metric.sql_type),
                                type="arrow", null_handling="special", side_effects=False)
        except duckdb.CatalogException:
            raise ProtisoError(f"the warehouse stores a macro named {name}, which shadows protiso's function {name}; "
                               "run `protiso repair` on it (it saves the macro's definition and drops it)") from None
