"""The resumable embedding job: proteins in the warehouse -> embeddings, residues, residue_stats.

``embed_proteins(wh, model=...)`` selects the proteins that still lack a raw embedding for a
requested layer (``sql/queries/embed_pending.sql``), runs the embedding stage on them in chunks
and commits each chunk's Parquet parts together with the run's cumulative residue statistics
(one ``residue_stats`` row per run, model and layer, replaced in the same transaction). A kill
at any point loses at most the chunk in flight; rerunning embeds only what is missing. All
checks (model name, weights, every pending sequence against the tokenizer) happen before the
first write.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.models.stage_types import CPU_BATCH_TOKENS, GPU_BATCH_TOKENS
from protiso.warehouse import Warehouse


@dataclass
class EmbedSummary:
    """What one ``embed_proteins`` call did."""

    run_id: str
    model: str
    revision: str
    layers: list[int]
    pooling: str
    device: str
    proteins: int  # proteins embedded by this call
    residues: int  # their residues (after the length policy)
    seconds: float
    residues_per_second: float
    rejected: list[str] = field(default_factory=list)  # accessions skipped (skip_invalid)

    def render(self) -> str:
        """Plain-text summary: first line what was embedded, then the run and any rejects."""
        layers = ",".join(map(str, self.layers))
        lines = [
            f"embedded {self.proteins:,} proteins ({self.residues:,} residues) with {self.model} "
            f"at layer {layers} on {self.device} in {self.seconds:,.1f} s ({self.residues_per_second:,.0f} residues/s)",
            f"run {self.run_id}; revision {self.revision}; pooling: {self.pooling}",
        ]
        if self.rejected:
            shown = ", ".join(self.rejected[:5]) + (" ..." if len(self.rejected) > 5 else "")
            lines.append(f"rejected {len(self.rejected):,} proteins with residues {self.model} lacks "
                         f"(see the rejects table): {shown}")
        return "\n".join(lines)


def parse_layers(spec: str | Sequence[int] | None, adapter) -> list[int]:
    """``None``/``last`` -> [last]; ``all`` -> every layer; ``"4,-1"`` or ``[4, -1]`` -> those (negatives from the end).

    Range checks are the adapter's (``ModelAdapter.resolve_layers``).
    """
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "last")):
        return adapter.resolve_layers(None)
    if isinstance(spec, str) and spec.strip().lower() == "all":
        return list(range(adapter.first_layer, adapter.num_layers + 1))
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    try:
        layers = [int(item) for item in items]
    except (TypeError, ValueError):
        raise ProtisoError(f"--layers takes last, all or integers; got {spec!r}") from None
    return adapter.resolve_layers(layers)


def embed_proteins(
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
    commit_seconds: float = 60.0,
    chunk_residues: int | None = None,
    progress: bool = True,
    adapter=None,
) -> EmbedSummary:
    """Embed every protein of ``wh`` not yet embedded by ``model`` at ``layers``; see the module docstring.

    ``residues``: ``all``, ``none`` or a fraction of proteins (seeded by accession) whose per-residue
    vectors are stored; statistics always cover every residue. ``length_policy``: ``truncate`` or
    ``chunk`` (chunk and average) for sequences longer than the model's limit. ``skip_invalid``
    records sequences with residues the tokenizer lacks in ``rejects`` instead of failing.
    ``batch_tokens`` (padded tokens per forward) defaults to 2,048 on CPU and 32,768 on CUDA.
    Chunks committed at a time hold ``chunk_residues`` residues, or, by default, about
    ``commit_seconds`` of work at the measured speed. ``adapter`` reuses a loaded model.
    """
    from tqdm import tqdm

    from protiso.models.stage import StageOptions, embed_record_batch

    fraction = check_options(length_policy, batch_tokens, residues)
    require_proteins(wh)
    if adapter is None:
        from protiso.models.registry import load_model

        adapter = load_model(model, device=device, weights=weights, max_residues=max_residues)
    chosen = parse_layers(layers, adapter)
    if batch_tokens is None:
        on_gpu = getattr(getattr(adapter, "device", None), "type", "cpu") == "cuda"
        batch_tokens = GPU_BATCH_TOKENS if on_gpu else CPU_BATCH_TOKENS
    pending = wh.query(
        wh.sql_text("embed_pending"), {"model": adapter.name, "pooling": adapter.pooling, "layers": chosen}
    )
    rejected = check_sequences(adapter, pending, skip_invalid)
    if rejected:
        pending = pending.filter(pc.invert(pc.is_in(pending.column("accession"), pa.array(list(rejected)))))

    params = {
        "model": model, "layers": chosen, "residues": str(residues), "device": device,
        "batch_tokens": batch_tokens, "chunk_residues": chunk_residues, "length_policy": length_policy,
        "seed": seed, "weights": weights,
        "max_residues": adapter.max_residues, "skip_invalid": skip_invalid, "dim": adapter.dim,
        "num_layers": adapter.num_layers, "resolved_device": str(getattr(adapter, "device", "cpu")),
        "cpu_kernels": getattr(adapter, "cpu_kernels", None),
        "pending_proteins": pending.num_rows,
    }
    run_id = wh.start_run("embed", params, model=adapter.name, revision=adapter.revision,
                          layer=",".join(map(str, chosen)), pooling=adapter.pooling)
    source = f"embed:{adapter.name}"
    if rejected:
        with wh.commit(run_id) as tx:
            for accession, reason in rejected.items():
                tx.execute(wh.sql_text("embed_insert_reject"), [run_id, source, accession, reason])
    total = int(pc.sum(pc.utf8_length(pending.column("sequence"))).as_py() or 0)
    bar = tqdm(total=total, unit="res", unit_scale=True, desc=f"embed {adapter.name}", file=sys.stderr,
               disable=not progress, smoothing=0.1)
    cumulative: dict[int, object] = {}
    done_proteins = done_residues = 0
    started = time.perf_counter()
    try:
        for group_layers, rows in pending_groups(pending):
            options = StageOptions(layers=tuple(group_layers), residues=fraction, length_policy=length_policy,
                                   batch_tokens=batch_tokens, seed=seed, run_id=run_id)
            target = chunk_residues or 4000
            for chunk, chunk_size in chunks(rows, lambda: target):
                tick = time.perf_counter()
                result = embed_record_batch(adapter, chunk, options, progress=bar.update)
                bar.update(chunk_size - result.residues_total)  # residues a truncation dropped
                commit_chunk(wh, run_id, adapter.name, result, cumulative)
                done_proteins += chunk.num_rows
                done_residues += result.residues_total
                rate = result.residues_total / max(time.perf_counter() - tick, 1e-6)
                if not chunk_residues:
                    target = int(min(max(rate * commit_seconds, 2000), 2_000_000))
    except BaseException:
        bar.close()
        wh.finish_run(run_id, status="failed")
        raise
    bar.close()
    seconds = time.perf_counter() - started
    summary = EmbedSummary(
        run_id=run_id, model=adapter.name, revision=adapter.revision, layers=chosen, pooling=adapter.pooling,
        device=str(getattr(adapter, "device", "cpu")), proteins=done_proteins, residues=done_residues,
        seconds=seconds, residues_per_second=done_residues / seconds if seconds > 0 else 0.0,
        rejected=sorted(rejected),
    )
    wh.finish_run(run_id, status="done", params={**params, "summary": asdict(summary)})
    return summary


def check_options(length_policy: str, batch_tokens: int | None, residues: str | float) -> float:
    """Validate the embedding options every engine shares; returns the residue fraction kept."""
    from protiso.models.stage import LENGTH_POLICIES, parse_residues

    if length_policy not in LENGTH_POLICIES:
        raise ProtisoError(f"--length-policy must be one of {', '.join(LENGTH_POLICIES)}; got {length_policy!r}")
    if batch_tokens is not None and batch_tokens < 1:
        raise ProtisoError(f"--batch-tokens must be positive; got {batch_tokens}")
    return parse_residues(residues)


def require_proteins(wh: Warehouse, adding: int = 0) -> None:
    """Fail unless the warehouse holds (or, with ``adding`` more, will hold) a protein sequence."""
    if adding == 0 and wh.con.execute(wh.sql_text("embed_protein_count")).fetchall()[0][0] == 0:
        raise ProtisoError(f"{wh.path}: the warehouse has no protein sequences; ingest a FASTA file first")


def ingest_check(adapter, skip_invalid: bool) -> Callable[[Warehouse], None]:
    """The check ``ingest_files`` runs before committing when embedding with ``adapter`` follows.

    The ingest then fails with nothing written when there will be no protein to embed, or (unless
    ``skip_invalid``) when a protein it adds has residues the model's tokenizer lacks.
    """

    def check(wh: Warehouse) -> None:
        new = wh.query(wh.sql_text("ingest_added_sequences"))
        require_proteins(wh, adding=new.num_rows)
        check_sequences(adapter, new, skip_invalid)

    return check


def check_sequences(adapter, pending: pa.Table, skip_invalid: bool) -> dict[str, str]:
    """Accession -> reason for sequences the tokenizer lacks residues of (raises unless skip_invalid)."""
    rejected: dict[str, str] = {}
    for accession, sequence in zip(pending.column("accession").to_pylist(), pending.column("sequence").to_pylist()):
        try:
            adapter.check(accession, sequence)
        except ProtisoError as error:
            if not skip_invalid:
                raise
            rejected[accession] = str(error)
    return rejected


def pending_groups(pending: pa.Table):
    """Split pending proteins by the set of layers they lack (normally one group: all requested)."""
    if pending.num_rows == 0:
        return []
    keys = [tuple(m) for m in pending.column("missing").to_pylist()]
    out = []
    for key in sorted(set(keys)):
        mask = pa.array([k == key for k in keys])
        out.append((list(key), pending.filter(mask).select(["accession", "seq_hash", "sequence"])))
    return out


def chunks(rows: pa.Table, target):
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


def commit_chunk(wh: Warehouse, run_id: str, model: str, result, cumulative: dict) -> None:
    """Write one chunk's parts and the run's cumulative statistics in one transaction."""
    merged = {layer: cumulative[layer].merge(stats) if layer in cumulative else stats
              for layer, stats in result.stats.items()}
    embeddings = pa.Table.from_batches([result.embeddings])
    residues = pa.Table.from_batches([result.residues])
    with wh.commit(run_id) as tx:
        for layer in sorted(set(embeddings.column("layer").to_pylist())):
            partition = {"model": model, "layer": layer}
            tx.write_part("embeddings", embeddings.filter(pc.equal(embeddings.column("layer"), layer)), partition)
            if residues.num_rows:
                tx.write_part("residues", residues.filter(pc.equal(residues.column("layer"), layer)), partition)
        for layer, stats in merged.items():
            tx.execute(wh.sql_text("embed_residue_stats_upsert"),
                       [run_id, model, layer, *stats.to_flat()])
    cumulative.update(merged)
