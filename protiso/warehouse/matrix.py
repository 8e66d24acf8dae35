"""Stored vectors as one float32 matrix: ``Warehouse.vectors`` and ``Warehouse.residues``.

The catalogued Parquet parts of ``embeddings`` (or ``residues``) are read directly, not through DuckDB:
a first pass reads only the accessions and the key columns that row-group statistics do not settle
(skipping row groups they rule out), so the result's size is known; then threads fill one preallocated
``(N, dim)`` float32 matrix (or a caller's array, e.g. a memory map): PLAIN fixed-size parts straight
from the file (``plain_pages``) in stretches of 32 MiB, anything else row group by row group, decoded by
pyarrow in small batches. No Python lists, no second copy: the peak is the matrix plus a few batches. Rows come
in storage order (parts in catalogue order, rows in file order), the order the SQL views give.
A NULL vector, NaN, infinity or vectors of different lengths are a one-line ``ProtisoError`` naming
the protein; a ``control`` column absent from older parts reads as ``'none'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.warehouse import contracts, plain_pages

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

BATCH_BYTES = 2 * 2**20          # decoded vector bytes per batch a thread holds at a time (small: the pool keeps them)
BUFFER_BYTES = 2**20             # bytes read from a file at a time
STRETCH_BYTES = 32 * 2**20       # vectors of a PLAIN row group one thread reads at a time (and ``done`` reports)
_ANY = object()                  # a key that is not filtered


def threads() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class _Task:
    path: Path
    group: int
    rows: np.ndarray | None      # selected row indices within the row group; None = rows first .. first + count
    start: int                   # first row of the output it fills
    count: int
    first: int = 0               # with ``rows`` None: the row group's first row it reads


@dataclass
class Plan:
    """What a read will fill: tasks in output order, the ids, and the vectors' dimension."""

    tasks: list[_Task]
    ids: pa.Array
    extra: dict[str, pa.Array]
    dim: int | None
    column: str
    what: str

    @property
    def rows(self) -> int:
        return len(self.ids)


def _matches(stats, value) -> bool:
    """Whether a row group whose column statistics are ``stats`` may hold ``value``."""
    if value is None or stats is None or not stats.has_min_max:
        return True
    try:
        return stats.min <= value <= stats.max
    except TypeError:
        return True


def _pinned(row_group: pq.RowGroupMetaData, leaf: int | None, name: str, value: Any) -> bool | None:
    """Whether every row of ``row_group`` has ``value`` in column ``name`` by its statistics alone (True),
    none has (None: the row group is skipped), or the column must be read (False)."""
    default = "none" if name == "control" else None            # what NULL (or an absent column) reads as
    if leaf is None:
        return True if value == default else None
    stats = row_group.column(leaf).statistics
    if stats is None or not stats.has_null_count:
        return False
    if stats.null_count == row_group.num_rows:
        return True if value == default else None
    return bool(stats.null_count == 0 and stats.has_min_max and stats.min == stats.max == value)


def _key_mask(table: pa.Table, filters: dict[str, Any], accessions: pa.Array | None) -> pa.Array | None:
    mask = None
    for name, value in filters.items():
        if name in table.column_names:
            column = table.column(name)
            if name == "control":
                column = pc.fill_null(column, "none")
            test = pc.is_null(column) if value is None else pc.fill_null(pc.equal(column, value), False)
        else:                                  # a column older parts lack: NULL ('none' for control)
            default = "none" if name == "control" else None
            test = pa.array(np.full(table.num_rows, value == default))
        mask = test if mask is None else pc.and_(mask, test)
    if accessions is not None:
        test = pc.is_in(table.column("accession"), value_set=accessions)
        mask = test if mask is None else pc.and_(mask, test)
    return mask


def plan(wh: Warehouse, table: str, column: str, filters: dict[str, Any], what: str,
         accessions: pa.Array | None = None, extra: Sequence[str] = ()) -> Plan:
    """Which rows of ``table``'s parts match ``filters`` (column -> value; None matches NULL) and
    ``accessions`` (None = all); the result keeps ``accession`` (or ``extra`` columns) per row."""
    paths = wh.part_paths(table)
    keys = sorted(set(filters) | {"accession", *extra})

    def part(path: Path) -> list[tuple[int, pa.Table, np.ndarray | None]]:
        try:
            meta = pq.ParquetFile(path)
        except (OSError, pa.ArrowException) as error:
            raise ProtisoError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
        leaves = {meta.metadata.schema.column(i).path: i for i in range(meta.metadata.num_columns)}
        out = []
        for group in range(meta.num_row_groups):
            row_group = meta.metadata.row_group(group)
            if any(not _matches(row_group.column(leaves[name]).statistics, value)   # control: NULL reads 'none'
                   for name, value in filters.items() if name in leaves and name != "control"):
                continue
            pinned = {name: _pinned(row_group, leaves.get(name), name, value) for name, value in filters.items()}
            if None in pinned.values():
                continue
            tested = {name: value for name, value in filters.items() if not pinned[name]}   # the rest hold for all rows
            cols = [name for name in keys if name in meta.schema_arrow.names      # the ids, and what is tested
                    and (name in tested or name not in filters or name in extra or name == "accession")]
            data = meta.read_row_group(group, columns=cols, use_threads=False)
            mask = _key_mask(data, tested, accessions)
            if mask is None:
                out.append((group, data, None))
                continue
            rows = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
            if rows.size == 0:
                continue
            if rows.size == data.num_rows:
                out.append((group, data, None))
            else:
                out.append((group, data.take(pa.array(rows)), rows))
        return out

    with ThreadPoolExecutor(threads()) as pool:
        found = list(pool.map(part, paths))
    tasks, id_parts, start = [], {name: [] for name in ("accession", *extra)}, 0
    for path, groups in zip(paths, found):
        for group, data, rows in groups:
            tasks.append(_Task(path, group, rows, start, data.num_rows))
            start += data.num_rows
            for name in id_parts:
                id_parts[name].append(data.column(name))
    joined = {name: (pa.chunked_array([c for col in cols for c in col.chunks], cols[0].type).combine_chunks()
                     if cols else pa.array([], pa.string())) for name, cols in id_parts.items()}
    ids = joined.pop("accession")
    out = Plan(tasks, ids, joined, None, column, what)
    if tasks:
        out.dim = _dimension(tasks[0], column, what)
    return out


def _dimension(task: _Task, column: str, what: str) -> int:
    """The length of the first selected vector (reading only the first pages of its row group)."""
    meta = pq.ParquetFile(task.path, pre_buffer=False, buffer_size=2**20)
    kind = meta.schema_arrow.field(column).type
    if pa.types.is_fixed_size_list(kind):
        return kind.list_size
    row = 0 if task.rows is None else int(task.rows[0])
    array = next(meta.iter_batches(batch_size=row + 1, row_groups=[task.group], columns=[column],
                                   use_threads=False)).column(0)
    value = array[row]
    if not value.is_valid:
        raise ProtisoError(f"{what}: a stored vector is NULL")
    dim = len(value.values)
    if dim == 0:
        raise ProtisoError(f"{what}: vectors have length 0")
    return dim


def _block(array: pa.Array, take: np.ndarray | None, dim: int, what: str, name: Callable[[int], str]) -> np.ndarray:
    """The selected rows (``take``; None = all) of one batch of vectors as an (n, dim) array (a view where
    the storage allows)."""
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        selected = valid if take is None else valid[take]
        if not selected.all():
            raise ProtisoError(f"{what}: the stored vector of {name(int(np.flatnonzero(~selected)[0]))} is NULL")
    n = len(array)
    if pa.types.is_fixed_size_list(array.type):
        if array.type.list_size != dim:
            raise ProtisoError(f"{what}: vectors have different lengths ({dim} and {array.type.list_size})")
        offsets, contiguous = array.offset * dim + np.arange(n + 1) * dim, True
    else:
        offsets = array.offsets.to_numpy()
        lengths = np.diff(offsets)
        contiguous = bool((lengths == dim).all())
        if not contiguous:
            wrong = lengths != dim if take is None else lengths[take] != dim
            if wrong.any():
                k = int(np.flatnonzero(wrong)[0])
                other = int((lengths if take is None else lengths[take])[k])
                raise ProtisoError(f"{what}: vectors have different lengths ({dim} and {other}, {name(k)})")
    values = array.values
    if not pa.types.is_floating(values.type):
        if not (pa.types.is_integer(values.type) or pa.types.is_decimal(values.type)):
            raise ProtisoError(f"{what}: vectors must hold numbers, got {values.type}")
        values = pc.cast(values, pa.float64())
    flat = values.to_numpy(zero_copy_only=False)
    if contiguous:
        block = flat[int(offsets[0]):int(offsets[0]) + n * dim].reshape(n, dim)
        return block if take is None else block[take]
    starts = offsets[:-1] if take is None else offsets[take]
    return flat[(starts[:, None] + np.arange(dim)).reshape(-1)].reshape(-1, dim)


def _finite(target: np.ndarray, plan: Plan, start: int) -> None:
    """A one-line error naming the first protein of ``target`` (output rows from ``start``) with NaN or inf."""
    step = max(1, BATCH_BYTES // max(1, target.itemsize * target.shape[1]))
    for at in range(0, len(target), step):
        rows = target[at:at + step]
        if not np.isfinite(rows).all():
            bad = at + int(np.flatnonzero(~np.isfinite(rows).all(axis=1))[0])
            raise ProtisoError(f"{plan.what}: the vector of {plan.ids[start + bad]} contains NaN or infinity")


def _leaf(meta: pq.ParquetFile, plan: Plan) -> int | None:
    """The column index of the part's float components when its vectors are fixed-size lists of
    ``plan.dim`` (what ``plain_pages`` can read), else None."""
    kind = meta.schema_arrow.field(plan.column).type
    if not contracts.is_fixed(kind) or kind.list_size != plan.dim:
        return None
    leaf = f"{plan.column}.list.element"
    return next((i for i in range(meta.metadata.num_columns) if meta.metadata.schema.column(i).path == leaf), None)


def _plain(task: _Task, plan: Plan, out: np.ndarray, meta: pq.ParquetFile) -> bool:
    """A row group (or stretch) of fixed-size float32 vectors stored PLAIN, read straight into ``out``."""
    index = None if task.rows is not None or out.dtype != np.float32 else _leaf(meta, plan)
    target = out[task.start:task.start + task.count]
    return index is not None and plain_pages.fill(task.path, meta.metadata, task.group, index, target, task.first)


def _fill(task: _Task, plan: Plan, out: np.ndarray, check: bool) -> None:
    """Decode one row group's vectors into ``out[task.start:task.start + task.count]``."""
    dim = plan.dim
    meta = pq.ParquetFile(task.path, pre_buffer=False, buffer_size=BUFFER_BYTES)   # pages streamed, not the chunk
    if _plain(task, plan, out, meta):
        if check:
            _finite(out[task.start:task.start + task.count], plan, task.start)
        return
    first, filled = 0, task.start      # row of the row group the batch starts at; output row it fills
    if task.rows is None and (task.first or task.count != meta.metadata.row_group(task.group).num_rows):
        task = _Task(task.path, task.group, np.arange(task.first, task.first + task.count), task.start, task.count)
    for batch in meta.iter_batches(batch_size=max(256, BATCH_BYTES // (4 * dim)), row_groups=[task.group],
                                   columns=[plan.column], use_threads=False):
        array = batch.column(0)
        take = None
        if task.rows is not None:
            lo, hi = np.searchsorted(task.rows, [first, first + len(array)])
            take = task.rows[lo:hi] - first
        first += len(array)
        if take is not None and take.size == 0:
            continue
        at = filled
        block = _block(array, take, dim, plan.what, lambda k: str(plan.ids[at + k]))
        target = out[filled:filled + len(block)]
        np.copyto(target, block, casting="same_kind")
        if check:
            _finite(target, plan, filled)
        filled += len(block)
    if filled != task.start + task.count:
        raise ProtisoError(f"{plan.what}: {task.path.name} changed while it was read")


def read(plan: Plan, out: np.ndarray | None = None, check: bool = True,
         done: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Fill ``out`` (default: a new float32 matrix) with the plan's vectors, row groups in parallel;
    ``done(start, stop)`` is called in output order as each stretch of rows is complete."""
    if out is None:
        out = np.empty((plan.rows, plan.dim or 0), dtype=np.float32)
    if plan.rows == 0:
        return out
    plan = replace(plan, tasks=_stretches(plan, max(1, STRETCH_BYTES // (4 * max(1, plan.dim or 1)))))
    with ThreadPoolExecutor(threads()) as pool:
        futures = [pool.submit(_fill, task, plan, out, check) for task in plan.tasks]
        try:
            for task, future in zip(plan.tasks, futures):
                future.result()
                if done is not None:
                    done(task.start, task.start + task.count)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return out


def _plain_chunk(task: _Task, plan: Plan) -> bool:
    """Whether ``task``'s row group stores the plan's vectors as PLAIN-readable fixed-size floats."""
    meta = pq.ParquetFile(task.path)
    index = _leaf(meta, plan)
    return index is not None and plain_pages.plain_chunk(meta.metadata, task.group, index)


def _stretches(plan: Plan, max_rows: int) -> list[_Task]:
    """The plan's tasks with every whole row group of a PLAIN fixed-size part cut into stretches of at
    most ``max_rows`` rows (``plain_pages`` starts each at its page); other row groups stay whole."""
    out = []
    for t in plan.tasks:
        if t.rows is None and t.count > max_rows and _plain_chunk(t, plan):
            out += [_Task(t.path, t.group, None, t.start + k, min(max_rows, t.count - k), t.first + k)
                    for k in range(0, t.count, max_rows)]
        else:
            out.append(t)
    return out


def windows(plan: Plan, max_rows: int, check: bool = True) -> Iterator[tuple[int, np.ndarray]]:
    """The plan's vectors as consecutive blocks of at most ``max_rows`` rows (whole row groups, or stretches
    of a PLAIN fixed-size one; a larger row group of another storage is one block): (first row, block).
    Two buffers: the next block is read while the caller uses this one."""
    plan = replace(plan, tasks=_stretches(plan, max_rows))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(plan.tasks):
        j, rows = i, 0
        while j < len(plan.tasks) and (j == i or rows + plan.tasks[j].count <= max_rows):
            rows += plan.tasks[j].count
            j += 1
        spans.append((i, j))
        i = j
    if not spans:
        return
    size = max(sum(t.count for t in plan.tasks[a:b]) for a, b in spans)
    buffers = [np.empty((size, plan.dim), dtype=np.float32) for _ in range(min(2, len(spans)))]

    def load(k: int) -> tuple[int, np.ndarray]:
        a, b = spans[k]
        base = plan.tasks[a].start
        rows = sum(t.count for t in plan.tasks[a:b])
        part = Plan([_Task(t.path, t.group, t.rows, t.start - base, t.count, t.first) for t in plan.tasks[a:b]],
                    plan.ids[base:base + rows], {}, plan.dim, plan.column, plan.what)
        return base, read(part, buffers[k % 2][:rows], check)

    with ThreadPoolExecutor(1) as ahead:
        future = ahead.submit(load, 0)
        for k in range(len(spans)):
            base, block = future.result()
            if k + 1 < len(spans):
                future = ahead.submit(load, k + 1)
            yield base, block
