"""The embedding stage on a Ray cluster: ``RayRunner``, a runner for ``protiso.embedding.job``.

The job (in the driver, which holds the warehouse) plans, commits and records as with the local runner;
this runner plans the chunks up front, runs ``protiso.embedding.stage.embed_record_batch`` on them through
Ray Data ``map_batches`` over a fixed actor pool (one model load per actor; results as Arrow IPC bytes,
``ray_codec``) and yields each finished chunk once. Workers never touch the warehouse: a killed worker's
chunk is re-run, a killed driver's uncommitted chunks are embedded by the rerun. ``source``: FASTA /
Parquet shards read on the cluster (``ray_shards``) instead of the warehouse's proteins.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from protiso.embedding.options import Prepared
from protiso.embedding.runners import Chunk, ChunkPlan, Runner
from protiso.embedding.stage import embed_record_batch
from protiso.embedding.stage_io import StageOptions, StageResult
from protiso.engines import ray_codec
from protiso.engines.ray_session import original_error, ray_session, worker_count
from protiso.engines.ray_shards import read_shards
from protiso.errors import ProtisoError
from protiso.models.registry import load_model

CHUNK_SCHEMA = pa.schema([
    ("chunk", pa.int64()),
    ("layers", pa.list_(pa.int32())),
    ("accession", pa.list_(pa.string())),
    ("seq_hash", pa.list_(pa.string())),
    ("sequence", pa.list_(pa.string())),
])


class EmbedWorker:
    """A Ray Data actor: loads the model once, then embeds one chunk per row of each batch."""

    def __init__(self, model: str, device: str, weights: str | None, max_residues: int | None,
                 options: dict, threads: int, init_seed: int | None = None) -> None:
        # lazy: a Ray actor sets torch's threads before loading its model
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self.adapter = load_model(model, device=device, weights=weights, max_residues=max_residues,
                                  init_seed=init_seed)
        self.options = StageOptions(**options)
        self.worker = f"{os.uname().nodename}:{os.getpid()}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = []
        for chunk in batch.to_pylist():
            records = pa.table({name: pa.array(chunk[name], pa.string())
                                for name in ("accession", "seq_hash", "sequence")})
            options = replace(self.options, layers=tuple(chunk["layers"]))
            tick = time.perf_counter()
            result = embed_record_batch(self.adapter, records, options)
            rows.append(ray_codec.pack(chunk["chunk"], result, time.perf_counter() - tick, self.worker))
        return pa.Table.from_pylist(rows, schema=ray_codec.PACKED)


class RayRunner(Runner):
    """Chunks on Ray Data actors. ``address``: None (a local Ray instance), ``auto`` or a cluster address.

    ``workers``: actors (default: one per ``gpus_per_worker`` GPUs, else one per ``cpus_per_worker``
    CPUs). ``source``: shards to read sequences from instead of the proteins table.
    """

    engine = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, gpus_per_worker: float = 0.0,
                 cpus_per_worker: float = 1.0, source: Sequence[str | Path] | None = None) -> None:
        self.address, self.workers = address, workers
        self.gpus_per_worker, self.cpus_per_worker = gpus_per_worker, cpus_per_worker
        self.source = None if source is None else [str(p) for p in source]
        self._ray = None
        self._n_workers = 0

    def check(self) -> None:
        if self.gpus_per_worker < 0 or self.cpus_per_worker < 0:
            raise ProtisoError("--gpus-per-worker and --cpus-per-worker must not be negative")
        if self.workers is not None and self.workers < 1:
            raise ProtisoError(f"--workers must be at least 1; got {self.workers}")

    def driver_device(self, device: str) -> str:
        return "cpu"  # the driver only checks sequences and reads the model's metadata

    def worker_device(self, device: str, adapter) -> str:
        return "cuda" if self.gpus_per_worker > 0 else device

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with ray_session(self.address) as ray:
            self._ray = ray
            self._n_workers = worker_count(ray, self.workers, self.cpus_per_worker, self.gpus_per_worker)
            try:
                yield
            finally:
                self._ray = None

    def source_rows(self) -> tuple[pa.Table, pa.Table] | None:
        if self.source is None:
            return None
        rows, rejects = read_shards(self._ray, self.source)
        if rows.num_rows == 0:
            raise ProtisoError("the shards hold no usable protein sequences")
        return rows, rejects

    def chunk_residues(self, plan: ChunkPlan, prepared: Prepared) -> int:
        return prepared.options.chunk_residues or min(max(plan.residues // (4 * self._n_workers) + 1, 2000), 200_000)

    def params(self, prepared: Prepared) -> dict[str, Any]:
        return {"resolved_device": self.worker_device(prepared.options.device, prepared.adapter),
                "engine": "ray", "address": self.address, "workers": self._n_workers,
                "gpus_per_worker": self.gpus_per_worker, "cpus_per_worker": self.cpus_per_worker,
                "source": self.source}

    def run(self, prepared: Prepared, plan: ChunkPlan, run_id: str, target: int | None,
            progress: Callable[[int], None]) -> Iterator[tuple[Chunk, StageResult]]:
        ray = self._ray
        chunks = {chunk.index: chunk for chunk in plan.chunks(lambda: target)}
        if not chunks:
            return
        stage = prepared.stage_options(run_id)
        options = {"layers": stage.layers, "residues": stage.residues, "length_policy": stage.length_policy,
                   "batch_tokens": stage.batch_tokens, "seed": stage.seed, "run_id": run_id,
                   "control": stage.control}
        dataset = ray.data.from_arrow([_descriptor(chunk) for chunk in chunks.values()]).map_batches(
            EmbedWorker, batch_size=1, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=min(self._n_workers, len(chunks))),
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker or None,
            fn_constructor_kwargs={
                "model": prepared.options.model, "device": self.worker_device(prepared.options.device, None),
                "weights": prepared.options.weights, "max_residues": prepared.options.max_residues,
                "options": options, "threads": int(self.cpus_per_worker), "init_seed": prepared.init_seed,
            },
        )
        try:
            for row in _finished(dataset):
                chunk = chunks.pop(int(row["chunk"]), None)
                if chunk is None:  # committed already (a re-delivered result): never twice
                    continue
                yield chunk, ray_codec.unpack(row)
                progress(chunk.residues)
        except Exception as error:
            cause = original_error(error)
            if cause is not error:
                raise cause from None
            raise
        if chunks:
            raise ProtisoError(f"the Ray job ended with {len(chunks)} chunks unfinished; rerun to finish them")


def _descriptor(chunk: Chunk) -> pa.Table:
    """One-row table that carries a chunk to a worker."""
    return pa.table({
        "chunk": [chunk.index],
        "layers": [list(chunk.layers)],
        "accession": [chunk.rows.column("accession").to_pylist()],
        "seq_hash": [chunk.rows.column("seq_hash").to_pylist()],
        "sequence": [chunk.rows.column("sequence").to_pylist()],
    }, schema=CHUNK_SCHEMA)


def _finished(dataset):
    """Rows of the finished chunks, as the workers deliver them."""
    for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
        yield from block.to_pylist()
