"""Arrow list columns of vectors -> numpy (N, dim) arrays, through offsets, without per-vector Python.

``group_points`` reads a ``list<list<float>>`` array (one group of vectors per row, as produced by
``list(embedding)`` in SQL); ``stack_vectors`` reads a ``list<float>`` column (one vector per row).
Both share one rule set:

* NULL vectors are skipped (as SQL aggregates skip NULLs); a NULL or empty group gives None.
* Vectors of different lengths in one group, length-0 vectors, NULL/NaN/inf components and
  non-numeric values raise ProtisoError naming ``what``.
* Float32 and float64 values come back as they are (zero-copy when the vectors are contiguous);
  integers and decimals are converted to float64.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.metrics.isotropy import check_points


def chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def _numbers(leaf: pa.Array, what: str) -> pa.Array:
    if pa.types.is_floating(leaf.type):
        return leaf
    if pa.types.is_integer(leaf.type) or pa.types.is_decimal(leaf.type) or pa.types.is_null(leaf.type):
        return pc.cast(leaf, pa.float64())
    raise ProtisoError(f"{what}: vectors must hold numbers, got {leaf.type}")


def _offsets(arr: pa.Array) -> np.ndarray:
    if pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        return (arr.offset + np.arange(len(arr) + 1)) * size
    return arr.offsets.to_numpy()


def group_points(chunk: pa.Array, what: str) -> Iterator[np.ndarray | None]:
    """Yield one (N, dim) array per row of a list<list<number>> array, or None for NULL/empty rows."""
    if chunk.null_count == len(chunk) or (is_list(chunk.type) and pa.types.is_null(chunk.type.value_type)):
        yield from (None for _ in range(len(chunk)))  # all NULL, or only empty lists `[]`
        return
    if not is_list(chunk.type) or not is_list(chunk.type.value_type):
        raise ProtisoError(f"{what}: expected a list of vectors such as list(embedding), got {chunk.type}")
    valid = chunk.is_valid().to_numpy(zero_copy_only=False)
    outer = _offsets(chunk)
    inner_arr = chunk.values
    inner = _offsets(inner_arr)
    inner_valid = inner_arr.is_valid().to_numpy(zero_copy_only=False) if inner_arr.null_count else None
    leaf_arr = _numbers(inner_arr.values, what)
    leaf_null = (~leaf_arr.is_valid().to_numpy(zero_copy_only=False)) if leaf_arr.null_count else None
    leaf = leaf_arr.to_numpy(zero_copy_only=False)
    for row in range(len(chunk)):
        if not valid[row]:
            yield None
            continue
        first, last = int(outer[row]), int(outer[row + 1])
        keep = np.arange(first, last) if inner_valid is None else first + np.flatnonzero(inner_valid[first:last])
        if keep.size == 0:
            yield None
            continue
        starts = inner[keep]
        lengths = inner[keep + 1] - starts
        dim = int(lengths[0])
        if (lengths != dim).any():
            other = int(lengths[np.flatnonzero(lengths != dim)[0]])
            raise ProtisoError(f"{what}: vectors in one group have different lengths ({dim} and {other})")
        if dim == 0:
            raise ProtisoError(f"{what}: vectors have length 0")
        if int(starts[-1]) - int(starts[0]) == dim * (keep.size - 1):
            begin = int(starts[0])
            index: slice | np.ndarray = slice(begin, begin + dim * keep.size)
        else:
            index = (starts[:, None] + np.arange(dim)).reshape(-1)
        if leaf_null is not None and leaf_null[index].any():
            raise ProtisoError(f"{what}: a vector contains NULL components")
        yield check_points(leaf[index].reshape(keep.size, dim), what)


def stack_vectors(column: pa.Array | pa.ChunkedArray, what: str) -> tuple[np.ndarray | None, np.ndarray]:
    """A list<number> column as one (N, dim) array (NULL rows skipped) and the kept row indices."""
    parts: list[np.ndarray] = []
    kept: list[np.ndarray] = []
    base = 0
    for chunk in chunks(column):
        if len(chunk) == 0:
            continue
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        wrapped = pa.ListArray.from_arrays(pa.array([0, len(chunk)], pa.int32()), chunk)
        points = next(group_points(wrapped, what))
        if points is not None:
            parts.append(points)
            kept.append(base + np.flatnonzero(valid))
        base += len(chunk)
    if not parts:
        return None, np.zeros(0, dtype=np.int64)
    dims = {p.shape[1] for p in parts}
    if len(dims) > 1:
        raise ProtisoError(f"{what}: vectors have different lengths ({', '.join(map(str, sorted(dims)))})")
    return (parts[0] if len(parts) == 1 else np.concatenate(parts)), np.concatenate(kept)
