"""Runners: where chunks of proteins are turned into Arrow batches of vectors.

The embedding job (``protiso.embedding.job``) plans, commits and records; a runner only computes.
It receives the job's ``ChunkPlan`` (the pending proteins, cut into chunks at a size the runner
chooses) and yields ``(chunk, StageResult)`` for every chunk exactly once, in any order. Every
runner calls the same pure stage function, ``protiso.embedding.stage.embed_record_batch``, so
the rows do not depend on where they were computed.

* ``LocalRunner`` (``--engine local``): this process, chunks sized to about ``commit_seconds``
  of work at the measured speed;
* ``protiso.engines.ray_embed.RayRunner`` (``--engine ray``): Ray Data actors, chunks planned
  up front (about four per worker).
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.embedding.stage import embed_record_batch
from protiso.embedding.stage_io import StageResult

if TYPE_CHECKING:
    from protiso.embedding.options import Prepared

FIRST_CHUNK_RESIDUES = 4000  # the local runner's first chunk, before it has measured its speed


@dataclass(frozen=True)
class Chunk:
    """Proteins committed together: ``rows`` (accession, seq_hash, sequence) lacking ``layers``."""

    index: int
    layers: tuple[int, ...]
    rows: pa.Table
    residues: int


class ChunkPlan:
    """The pending proteins, grouped by the layers they lack, cut into chunks on request."""

    def __init__(self, pending: pa.Table) -> None:
        self.groups = _pending_groups(pending)
        self.proteins = pending.num_rows
        self.residues = int(pc.sum(pc.utf8_length(pending.column("sequence"))).as_py() or 0) if pending.num_rows else 0

    def chunks(self, target: Callable[[], int]) -> Iterator[Chunk]:
        """Chunks of about ``target()`` residues (read before each cut), never splitting identical sequences."""
        index = 0
        for layers, rows in self.groups:
            for table, size in _cut(rows, target):
                yield Chunk(index, tuple(layers), table, size)
                index += 1


class Runner(ABC):
    """Where the stage runs. Subclasses say where models load and how chunks are sized."""

    engine: str

    def check(self) -> None:
        """Fail on options that make no sense for this runner (before anything is written)."""

    def driver_device(self, device: str) -> str:
        """Where the job's own copy of the model loads (it checks sequences and reads metadata)."""
        return device

    def worker_device(self, device: str, adapter) -> str:
        """``cuda`` or ``cpu``: where the stage runs (chooses the default token budget)."""
        return getattr(getattr(adapter, "device", None), "type", "cpu")

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Resources held for one run (a Ray connection); nothing locally."""
        yield

    def source_rows(self) -> tuple[pa.Table, pa.Table] | None:
        """(rows, rejects) of sequences read elsewhere than the proteins table (Ray shards), or None."""
        return None

    def chunk_residues(self, plan: ChunkPlan, prepared: Prepared) -> int | None:
        """Residues per chunk, or None when the runner adapts chunk sizes as it goes."""
        return prepared.options.chunk_residues

    def params(self, prepared: Prepared) -> dict[str, Any]:
        """Where the run executed, as recorded in its parameters."""
        return {"resolved_device": str(getattr(prepared.adapter, "device", "cpu")),
                "cpu_kernels": getattr(prepared.adapter, "cpu_kernels", None)}

    @abstractmethod
    def run(self, prepared: Prepared, plan: ChunkPlan, run_id: str, target: int | None,
            progress: Callable[[int], None]) -> Iterator[tuple[Chunk, StageResult]]:
        """Embed every chunk of ``plan``; ``progress`` is told residues done."""


class LocalRunner(Runner):
    """The stage in this process, with the job's model."""

    engine = "local"

    def run(self, prepared: Prepared, plan: ChunkPlan, run_id: str, target: int | None,
            progress: Callable[[int], None]) -> Iterator[tuple[Chunk, StageResult]]:
        size = [target or FIRST_CHUNK_RESIDUES]
        for chunk in plan.chunks(lambda: size[0]):
            tick = time.perf_counter()
            result = embed_record_batch(prepared.adapter, chunk.rows, prepared.stage_options(run_id, chunk.layers),
                                        progress=progress)
            progress(chunk.residues - result.residues_total)  # residues a truncation dropped
            yield chunk, result
            if target is None:  # about commit_seconds of work per chunk at the measured speed
                rate = result.residues_total / max(time.perf_counter() - tick, 1e-6)
                size[0] = int(min(max(rate * prepared.options.commit_seconds, 2000), 2_000_000))


def _pending_groups(pending: pa.Table) -> list[tuple[list[int], pa.Table]]:
    """Split pending proteins by the set of layers they lack (normally one group: all requested)."""
    if pending.num_rows == 0:
        return []
    keys = [tuple(m) for m in pending.column("missing").to_pylist()]
    out = []
    for key in sorted(set(keys)):
        mask = pa.array([k == key for k in keys])
        out.append((list(key), pending.filter(mask).select(["accession", "seq_hash", "sequence"])))
    return out


def _cut(rows: pa.Table, target: Callable[[], int]) -> Iterator[tuple[pa.Table, int]]:
    """(slice, residues) of about ``target()`` residues that never split a run of identical seq_hash."""
    lengths = np.asarray(pc.utf8_length(rows.column("sequence")).to_numpy(zero_copy_only=False), dtype=np.int64)
    hashes = rows.column("seq_hash").to_pylist()
    start, size = 0, 0
    for index in range(rows.num_rows):
        size += int(lengths[index])
        last = index + 1 == rows.num_rows
        if last or (size >= target() and hashes[index + 1] != hashes[index]):
            yield rows.slice(start, index + 1 - start).combine_chunks(), size
            start, size = index + 1, 0
