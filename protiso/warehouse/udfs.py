"""Every Python SQL function, registered in one place on every connection protiso opens.

Isotropy functions take ``vectors``, a list of equal-length float vectors such as
``list(embedding)`` in a GROUP BY, and compute in float64::

    isoscore(vectors)               DOUBLE    IsoScore (Rudman et al. 2022), = reference IsoScore==2.0.1
    isoscore_star(vectors, zeta)    DOUBLE    IsoScore*, scale-free: (1 - zeta) C + zeta (tr C / dim) I
    isoscore_star_fixed(vectors, zeta) DOUBLE IsoScore* as the IsoScore package: (1 - zeta) C + zeta I
    effective_dims(vectors)         DOUBLE    participation ratio = IsoScore * (dim - 1) + 1
    mean_pairwise_cosine(vectors)   DOUBLE    mean cosine over all pairs i != j, exact in O(N dim)
    eigen_spectrum(vectors)         DOUBLE[]  covariance eigenvalues, descending, summing to 1 (length dim)

    SELECT model, layer, isoscore(list(embedding)) FROM embeddings GROUP BY ALL;

They are vectorised Arrow UDFs: each call receives a batch of groups and reads the nested lists
through their Arrow offsets as one (N, dim) numpy array per group (zero-copy when the vectors are
contiguous; see protiso.warehouse.vectors), so no Python code runs per vector. FLOAT and DOUBLE vectors are both accepted as
they are (``vectors`` is declared ANY, because a DOUBLE[][] parameter would make DuckDB copy every
FLOAT[][] group into doubles first); anything else is rejected with an error.

NULL rules (the same for every function):

* ``vectors`` NULL, empty, or with fewer than 2 non-NULL vectors -> NULL.
* NULL vectors inside the list are skipped, as SQL aggregates skip NULLs.
* Zero variance -> NULL (IsoScore undefined; the scale-free ``isoscore_star`` too, its target is zero);
  ``isoscore_star_fixed`` is NULL only if the shrunk covariance is zero. ``mean_pairwise_cosine`` needs no variance but a zero vector is an error.
* ``zeta`` NULL -> NULL; zeta outside [0, 1] -> error.
* Errors (the query fails with a one-line message): vectors of different lengths in one group,
  NULL, NaN or infinite components, vectors of length 0, non-numeric input.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.metrics.cosine import mean_pairwise_cosine
from protiso.metrics.isotropy import effective_dims, eigen_spectrum, isoscore, isoscore_star, isoscore_star_fixed
from protiso.warehouse.vectors import chunks, group_points

DOUBLE = duckdb.sqltypes.DOUBLE
DOUBLE_LIST = duckdb.sqltypes.DuckDBPyType("DOUBLE[]")


def _vectors_udf(name: str, metric: Callable[[np.ndarray], object], result: pa.DataType) -> Callable:
    def udf(vectors: pa.ChunkedArray) -> pa.Array:
        out = []
        for chunk in chunks(vectors):
            for points in group_points(chunk, name):
                out.append(None if points is None else metric(points))
        return pa.array(out, type=result)

    udf.__name__ = name
    return udf


def _spectrum(points: np.ndarray) -> list[float] | None:
    values = eigen_spectrum(points)
    return None if values is None else values.tolist()


def _shrunk_udf(name: str, metric: Callable[[np.ndarray, float], float | None]) -> Callable:
    def udf(vectors: pa.ChunkedArray, zeta: pa.ChunkedArray) -> pa.Array:
        try:
            zetas = pc.cast(zeta, pa.float64()).to_pylist()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise ProtisoError(f"{name}: zeta must be a number, got {zeta.type}") from None
        out = []
        row = 0
        for chunk in chunks(vectors):
            for points in group_points(chunk, name):
                z = zetas[row]
                row += 1
                out.append(None if points is None or z is None else metric(points, z))
        return pa.array(out, type=pa.float64())

    udf.__name__ = name
    return udf


def register(con: duckdb.DuckDBPyConnection, skip: set[str] = frozenset()) -> None:
    """Register protiso's Python UDFs on ``con`` (idempotent: existing ones are replaced), but those in ``skip``.

    A stored macro of the same name (made in the plain shell) makes this a one-line error naming
    ``protiso repair``, which saves and drops it."""
    functions: list[tuple[str, Callable, object]] = [
        ("isoscore", _vectors_udf("isoscore", isoscore, pa.float64()), DOUBLE),
        ("effective_dims", _vectors_udf("effective_dims", effective_dims, pa.float64()), DOUBLE),
        ("mean_pairwise_cosine", _vectors_udf("mean_pairwise_cosine", mean_pairwise_cosine, pa.float64()), DOUBLE),
        ("eigen_spectrum", _vectors_udf("eigen_spectrum", _spectrum, pa.list_(pa.float64())), DOUBLE_LIST),
        ("isoscore_star", _shrunk_udf("isoscore_star", isoscore_star), DOUBLE),
        ("isoscore_star_fixed", _shrunk_udf("isoscore_star_fixed", isoscore_star_fixed), DOUBLE),
    ]
    for name, function, returns in functions:
        if name in skip:
            continue
        try:
            con.remove_function(name)
        except (duckdb.InvalidInputException, duckdb.CatalogException):
            pass
        # parameters=None declares every argument ANY (see the module docstring); zeta is cast in Python.
        try:
            con.create_function(name, function, None, returns, type="arrow", null_handling="special",
                                side_effects=False)
        except duckdb.CatalogException:
            raise ProtisoError(f"the warehouse stores a macro named {name}, which shadows protiso's function {name}; "
                               "run `protiso repair` on it (it saves the macro's definition and drops it)") from None
