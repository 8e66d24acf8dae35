"""The Ray engine: the embedding stage and pair-block alignment on a Ray cluster, same warehouse.

Embedding (``embed_proteins_ray``), in the driver (the process that holds the warehouse):

1. select the proteins still missing exactly as the local job does (``sql/queries/embed_pending.sql``,
   or ``ray_source_pending.sql`` for FASTA/Parquet shards), check every sequence against the
   tokenizer, and cut the list into the local job's chunks (``protiso.embed``);
2. Ray Data ``map_batches`` over a fixed actor pool (``--workers``; ``--gpus-per-worker`` GPUs and
   ``cpus_per_worker`` CPUs each; the model is loaded once per actor) runs the SAME stage function
   ``protiso.models.stage.embed_record_batch`` on one chunk per call and returns the whole result
   as one row of Arrow IPC bytes (``ray_codec``);
3. the driver commits each finished chunk as the local job does: Parquet parts under
   ``parquet/embeddings/model=…/layer=…`` (and ``residues``) plus the run's cumulative float64
   residue statistics, in ONE warehouse transaction.

Workers never touch the warehouse, so a worker killed mid-chunk leaves nothing behind: Ray restarts
the actor and re-runs the chunk, and the driver commits each chunk id at most once. If the driver
dies, uncommitted chunks are simply missing, and a rerun embeds only those.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from protiso.embed import EmbedSummary, check_options, check_sequences, parse_layers, require_proteins
from protiso.models.stage_types import CPU_BATCH_TOKENS, GPU_BATCH_TOKENS
from protiso.engines import ray_codec
from protiso.engines.ray_session import original_error, ray_session, worker_count
from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse

# The local job's chunking and commit, reused so both engines write identical catalog entries.
from protiso.embed import chunks as embed_chunks
from protiso.embed import commit_chunk
from protiso.embed import pending_groups

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
                 options: dict, threads: int) -> None:
        import torch

        from protiso.models.registry import load_model
        from protiso.models.stage import StageOptions

        if threads > 0:
            torch.set_num_threads(threads)
        self.adapter = load_model(model, device=device, weights=weights, max_residues=max_residues)
        self.options = StageOptions(**options)
        self.worker = f"{os.uname().nodename}:{os.getpid()}"

    def __call__(self, batch: pa.Table) -> pa.Table:
        from protiso.models.stage import embed_record_batch

        rows = []
        for chunk in batch.to_pylist():
            records = pa.table({name: pa.array(chunk[name], pa.string())
                                for name in ("accession", "seq_hash", "sequence")})
            options = replace(self.options, layers=tuple(chunk["layers"]))
            tick = time.perf_counter()
            result = embed_record_batch(self.adapter, records, options)
            rows.append(ray_codec.pack(chunk["chunk"], result, time.perf_counter() - tick, self.worker))
        return pa.Table.from_pylist(rows, schema=ray_codec.PACKED)


def embed_proteins_ray(
    wh: Warehouse,
    model: str = "antiberty",
    *,
    layers: str | Sequence[int] | None = None,
    residues: str | float = "none",
    device: str = "auto",
    batch_tokens: int | None = None,
    length_policy: str = "truncate",
    seed: int = 0,
    weights: str | None = None,
    max_residues: int | None = None,
    skip_invalid: bool = False,
    chunk_residues: int | None = None,
    progress: bool = True,
    adapter=None,
    source: Sequence[str | Path] | None = None,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_worker: float = 0.0,
    cpus_per_worker: float = 1.0,
) -> EmbedSummary:
    """``protiso.embed.embed_proteins`` on Ray; same options and result, plus where to run.

    ``source``: FASTA/Parquet shards to read sequences from instead of the proteins table.
    ``address``: None (a local Ray instance), ``auto`` or a cluster address. ``workers``: actors
    (default: one per ``gpus_per_worker`` GPUs, else one per ``cpus_per_worker`` CPUs).
    ``chunk_residues``: residues per chunk (default: the work split in about 4 chunks per worker).
    """
    from tqdm.auto import tqdm

    fraction = check_options(length_policy, batch_tokens, residues)
    if gpus_per_worker < 0 or cpus_per_worker < 0:
        raise ProtisoError("--gpus-per-worker and --cpus-per-worker must not be negative")
    if source is None:
        require_proteins(wh)
    if adapter is None:
        from protiso.models.registry import load_model

        # The driver only checks sequences and reads the model's metadata: CPU is enough.
        adapter = load_model(model, device="cpu", weights=weights, max_residues=max_residues)
    chosen = parse_layers(layers, adapter)
    worker_device = "cuda" if gpus_per_worker > 0 else device
    if batch_tokens is None:
        batch_tokens = GPU_BATCH_TOKENS if worker_device == "cuda" else CPU_BATCH_TOKENS

    with ray_session(address) as ray:
        n_workers = worker_count(ray, workers, cpus_per_worker, gpus_per_worker)
        shard_rejects = pa.table({"source": pa.array([], pa.string())})
        if source is None:
            pending = wh.query(wh.sql_text("embed_pending"),
                               {"model": adapter.name, "pooling": adapter.pooling, "layers": chosen})
        else:
            pending, shard_rejects = _pending_from_shards(wh, ray, source, adapter, chosen)
        rejected = check_sequences(adapter, pending, skip_invalid)
        if rejected:
            pending = pending.filter(pc.invert(pc.is_in(pending.column("accession"), pa.array(list(rejected)))))
        total = int(pc.sum(pc.utf8_length(pending.column("sequence"))).as_py() or 0)
        target = chunk_residues or min(max(total // (4 * n_workers) + 1, 2000), 200_000)
        params = {
            "model": model, "layers": chosen, "residues": str(residues), "device": device,
            "batch_tokens": batch_tokens, "chunk_residues": target, "length_policy": length_policy, "seed": seed,
            "weights": weights, "max_residues": adapter.max_residues, "skip_invalid": skip_invalid,
            "dim": adapter.dim, "num_layers": adapter.num_layers, "resolved_device": worker_device,
            "pending_proteins": pending.num_rows, "engine": "ray", "address": address, "workers": n_workers,
            "gpus_per_worker": gpus_per_worker, "cpus_per_worker": cpus_per_worker,
            "source": [str(p) for p in source] if source is not None else None,
        }
        run_id = wh.start_run("embed", params, model=adapter.name, revision=adapter.revision,
                              layer=",".join(map(str, chosen)), pooling=adapter.pooling)
        _record_rejects(wh, run_id, adapter.name, rejected, shard_rejects)
        chunks = _plan_chunks(pending, target)
        options = {"layers": tuple(chosen), "residues": fraction, "length_policy": length_policy,
                   "batch_tokens": batch_tokens, "seed": seed, "run_id": run_id}
        bar = tqdm(total=total, unit="res", unit_scale=True, desc=f"embed {adapter.name} (ray x{n_workers})",
                   file=sys.stderr, disable=not progress, smoothing=0.1)
        started = time.perf_counter()
        done_proteins = done_residues = 0
        try:
            if chunks:
                dataset = ray.data.from_arrow([table for table, _ in chunks]).map_batches(
                    EmbedWorker, batch_size=1, batch_format="pyarrow",
                    compute=ray.data.ActorPoolStrategy(size=min(n_workers, len(chunks))),
                    num_cpus=cpus_per_worker, num_gpus=gpus_per_worker or None,
                    fn_constructor_kwargs={
                        "model": model, "device": worker_device, "weights": weights, "max_residues": max_residues,
                        "options": options, "threads": int(cpus_per_worker),
                    },
                )
                sizes = {int(table.column("chunk")[0].as_py()): size for table, size in chunks}
                cumulative: dict = {}
                for row in _finished(dataset):
                    chunk = int(row["chunk"])
                    if chunk not in sizes:  # committed already (a re-delivered result): never twice
                        continue
                    result = ray_codec.unpack(row)
                    commit_chunk(wh, run_id, adapter.name, result, cumulative)
                    done_proteins += len(set(result.embeddings.column("accession").to_pylist()))
                    done_residues += result.residues_total
                    bar.update(sizes.pop(chunk))
                if sizes:
                    raise ProtisoError(f"the Ray job ended with {len(sizes)} chunks unfinished; rerun to finish them")
        except BaseException as error:
            bar.close()
            wh.finish_run(run_id, status="failed")
            cause = original_error(error)
            if cause is not error:
                raise cause from None
            raise
    bar.close()
    seconds = time.perf_counter() - started
    summary = EmbedSummary(
        run_id=run_id, model=adapter.name, revision=adapter.revision, layers=chosen, pooling=adapter.pooling,
        device=worker_device, proteins=done_proteins, residues=done_residues, seconds=seconds,
        residues_per_second=done_residues / seconds if seconds > 0 else 0.0, rejected=sorted(rejected),
    )
    wh.finish_run(run_id, status="done", params={**params, "summary": asdict(summary)})
    return summary


def _finished(dataset):
    """Rows of the finished chunks, as the workers deliver them."""
    for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=0):
        yield from block.to_pylist()


def _record_rejects(wh: Warehouse, run_id: str, model: str, rejected: dict[str, str], shard_rejects: pa.Table) -> None:
    if not rejected and shard_rejects.num_rows == 0:
        return
    with wh.commit(run_id) as tx:
        for accession, reason in rejected.items():
            tx.execute(wh.sql_text("embed_insert_reject"), [run_id, f"embed:{model}", accession, reason])
        for row in shard_rejects.to_pylist():
            tx.execute(wh.sql_text("embed_insert_reject"), [run_id, row["source"], row["accession"], row["reason"]])


def _pending_from_shards(wh: Warehouse, ray, source, adapter, chosen: list[int]) -> tuple[pa.Table, pa.Table]:
    from protiso.engines.ray_shards import read_shards

    rows, rejects = read_shards(ray, list(source))
    if rows.num_rows == 0:
        raise ProtisoError("the shards hold no usable protein sequences")
    wh.con.register("source_rows", rows)
    try:
        pending = wh.query(wh.sql_text("ray_source_pending"),
                           {"model": adapter.name, "pooling": adapter.pooling, "layers": chosen})
    finally:
        wh.con.unregister("source_rows")
    return pending, rejects


def _plan_chunks(pending: pa.Table, target: int) -> list[tuple[pa.Table, int]]:
    """(one-row chunk descriptor, residues) per chunk, cut exactly as the local job cuts them."""
    out = []
    for group_layers, rows in pending_groups(pending):
        for chunk, size in embed_chunks(rows, lambda: target):
            out.append((pa.table({
                "chunk": [len(out)],
                "layers": [list(group_layers)],
                "accession": [chunk.column("accession").to_pylist()],
                "seq_hash": [chunk.column("seq_hash").to_pylist()],
                "sequence": [chunk.column("sequence").to_pylist()],
            }, schema=CHUNK_SCHEMA), size))
    return out
