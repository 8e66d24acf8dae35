"""The vectors of one set scanned once, and isotropy per group of them (``protiso isotropy --by``).

``scan_set`` streams a query's ``(accession, vector)`` rows from DuckDB in Arrow record batches into
``StreamStats`` (whole-set statistics in one float64 pass); when groups or a bootstrap need the
vectors again it also keeps them, as they are stored (float32), in RAM when they take at most half the
memory budget and in a memory-mapped temporary file otherwise (deleted on ``close``).

``group_members`` turns a grouping into sorted row indices per group: organism and length bin from
``protein_groups``, GO terms by the true-path rule expanded here on integer codes (a row's direct
terms and ``go_ancestors()``), which gives the same rows as ``protein_groups('go_term')`` several times
faster at Swiss-Prot scale; plus the pairs of groups that share most members (``group_relations``).
``grouped_rows`` measures every group through ``protiso.metrics.grouped.group_moments``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from protiso import progress
from protiso.jobs.budget import format_bytes
from protiso.metrics import registry as metric_registry
from protiso.metrics.grouped import group_moments
from protiso.metrics.stream import StreamStats
from protiso.warehouse.vectors import stack_vectors

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

BATCH_ROWS = 8192
_EXPAND_ROWS = 1_000_000     # direct annotations expanded to their ancestors at a time


@dataclass
class Scan:
    """What ``scan_set`` read: whole-set statistics and, when kept, the vectors and their accessions."""

    stats: StreamStats | None
    points: np.ndarray | None = None
    accessions: pa.Array | None = None
    storage: str = "not kept"
    _tmp: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def close(self) -> None:
        self.points = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def scan_set(wh: Warehouse, sql: str, params: dict, what: str, capacity: int, budget: int, keep: bool,
             desc: str) -> Scan:
    """Stream ``sql`` (columns accession, vector) into statistics; with ``keep`` also keep the vectors."""
    stats: StreamStats | None = None
    store: np.ndarray | None = None
    tmp: tempfile.TemporaryDirectory | None = None
    storage, filled, names = "not kept", 0, []
    cursor = wh.con.cursor()  # its own connection: the caller may query meanwhile
    try:
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        with tqdm(total=capacity, desc=desc, unit="vector", unit_scale=True, disable=progress.disable()) as bar:
            for batch in reader:
                bar.update(batch.num_rows)
                points, kept = stack_vectors(batch.column("vector"), what)
                if points is None:
                    continue
                if stats is None:
                    stats = StreamStats(points.shape[1])
                    if keep:
                        store, tmp, storage = _storage(capacity, points.shape[1], points.dtype, budget)
                stats.add(points, checked=True)
                if keep:
                    store[filled:filled + len(points)] = points
                    filled += len(points)
                    names.append(batch.column("accession").take(pa.array(kept)))
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    finally:
        cursor.close()
    if not keep or stats is None:
        return Scan(stats)
    accessions = pa.concat_arrays([c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in names])
    return Scan(stats, store[:filled], accessions, storage, tmp)


def _storage(capacity: int, dim: int, dtype: np.dtype, budget: int):
    size = capacity * dim * np.dtype(dtype).itemsize
    if size <= budget // 2:
        return np.empty((capacity, dim), dtype=dtype), None, f"in memory ({format_bytes(size)})"
    tmp = tempfile.TemporaryDirectory(prefix="protiso-vectors-")
    store = np.lib.format.open_memmap(str(Path(tmp.name) / "vectors.npy"), mode="w+", dtype=dtype,
                                      shape=(capacity, dim))
    return store, tmp, f"memory-mapped file ({format_bytes(size)}, over half the budget)"


@dataclass
class Groups:
    """Groups of one grouping among a scan's rows: names, sorted row indices, related pairs (indices)."""

    names: list[str]
    members: list[np.ndarray]
    relations: list[tuple[int, int]]


def group_members(wh: Warehouse, accessions: pa.Array, group_by: str, min_points: int) -> Groups:
    """Every group of ``group_by`` with at least ``min_points`` of the rows whose accessions are given."""
    index = pa.table({"accession": accessions, "idx": pa.array(np.arange(len(accessions), dtype=np.int32))})
    cursor = wh.con.cursor()
    try:
        cursor.register("protiso_row_index", index)
        params = {"group_by": group_by}
        pairs = cursor.sql(wh.sql_text("isotropy_group_pairs"), params=params).to_arrow_table()
        closure = cursor.sql(wh.sql_text("isotropy_group_closure"), params=params).to_arrow_table()
        related = cursor.sql(wh.sql_text("isotropy_group_relations"), params=params).fetchall()
    finally:
        cursor.close()
    idx = pairs.column("idx").to_numpy().astype(np.int64)
    values = pairs.column("group_value").combine_chunks()
    count = max(len(accessions), 1)
    if closure.num_rows:
        terms = pc.unique(closure.column("ancestor")).sort()
        code = _codes(values, terms)
        key = _true_path(idx, code, _codes(closure.column("group_value"), terms),
                         _codes(closure.column("ancestor"), terms), len(terms), count)
    else:
        terms = pc.unique(values).sort()
        key = _codes(values, terms) * count + idx
    key.sort()                                     # group-major, rows ascending within a group
    if len(key):
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]
    code, idx = key // count, (key % count).astype(np.int32)
    sizes = np.bincount(code, minlength=len(terms))
    ends = np.cumsum(sizes)
    names = terms.to_pylist()
    keep = [g for g in range(len(terms)) if sizes[g] >= min_points]
    members = [idx[ends[g] - sizes[g]:ends[g]] for g in keep]
    position = {names[g]: k for k, g in enumerate(keep)}
    relations = [(position[a], position[b]) for a, b in related if a in position and b in position]
    return Groups([names[g] for g in keep], members, relations)


def _codes(values: pa.Array | pa.ChunkedArray, terms: pa.Array) -> np.ndarray:
    return pc.index_in(values, value_set=terms).to_numpy(zero_copy_only=False).astype(np.int64)


def _true_path(idx: np.ndarray, code: np.ndarray, source: np.ndarray, target: np.ndarray, n_terms: int,
               count: int) -> np.ndarray:
    """Keys ``ancestor * count + row`` (unsorted, with repeats) of (row, direct term) pairs, given the
    (term, ancestor) pairs of the true-path closure."""
    order = np.argsort(source, kind="stable")
    ancestors = target[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(source, minlength=n_terms))])
    sizes = offsets[code + 1] - offsets[code]
    key = np.empty(int(sizes.sum()), dtype=np.int64)
    filled = 0
    for start in range(0, len(idx), _EXPAND_ROWS):
        rows, terms, counts = idx[start:start + _EXPAND_ROWS], code[start:start + _EXPAND_ROWS], \
            sizes[start:start + _EXPAND_ROWS]
        total = int(counts.sum())
        begin = np.repeat(offsets[terms] - (np.cumsum(counts) - counts), counts)
        key[filled:filled + total] = ancestors[np.arange(total) + begin] * count + np.repeat(rows, counts)
        filled += total
    return key


def plan_memory(count: int, dim: int, budget: int, vectors_in_memory: int) -> tuple[int, int]:
    """(rows per float64 chunk, dim x dim matrices) that fit the budget beside the vectors kept in RAM."""
    left = max(budget - vectors_in_memory - 40 * count, budget // 8)
    chunk = int(min(8192, max(256, left // 8 // (16 * dim))))
    return chunk, max(2, int((left - chunk * dim * 16) // (8 * dim * dim)))


def grouped_rows(scan: Scan, groups: Groups, make_row: Callable, budget: int, desc: str,
                 bootstrap: bool) -> list[dict]:
    """One row per group (``make_row(group_value, moments, points or None)``), measured in one plan."""
    in_memory = 0 if scan._tmp is not None else scan.points.nbytes
    chunk, matrices = plan_memory(len(scan.points), scan.points.shape[1], budget, in_memory)
    rows: list[dict] = []
    with tqdm(total=len(groups.members), desc=desc, unit="group", disable=progress.disable()) as bar:
        for g, moments in group_moments(scan.points, groups.members, groups.relations,
                                        whole=scan.stats.sufficient(), chunk_rows=chunk,
                                        max_matrices=matrices, progress=bar.update, target=True,
                                        spectrum=metric_registry.active().grouped_needs("eigenvalues")):
            points = np.asarray(scan.points[groups.members[g]]) if bootstrap else None
            rows.append(make_row(groups.names[g], moments, points))
    rows.sort(key=lambda r: r["group_value"])
    return rows
