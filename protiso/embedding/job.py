"""The resumable embedding job: proteins in the warehouse -> embeddings, residues, residue_stats.

``embed_proteins(wh, options, runner=...)`` selects the proteins that still lack a raw embedding
for a requested layer (``sql/queries/embed_pending.sql`` over the relation ``embed_source``: the
proteins table, or the rows a runner read from shards), hands them to a runner
(``protiso.embedding.runners``) as a ``ChunkPlan``, and commits each chunk the runner returns:
its Parquet parts together with the run's cumulative residue statistics (one ``residue_stats``
row per run, model and layer, replaced in the same transaction). The job is the only writer; a
runner only computes. A kill at any point loses at most the chunks in flight; rerunning embeds
only what is missing. All checks (options, model, weights, layers: ``prepare``; every pending
sequence against the tokenizer) happen before the first write.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from protiso.embedding.options import EmbedOptions, Prepared, StageResult, prepare
from protiso.embedding.runners import ChunkPlan, LocalRunner, Runner
from protiso.errors import ProtisoError
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


def embed_proteins(wh: Warehouse, options: EmbedOptions | Prepared, *, runner: Runner | None = None,
                   progress: bool = True) -> EmbedSummary:
    """Embed every protein of ``wh`` not yet embedded by the model at the requested layers.

    ``options``: what to embed (``EmbedOptions``), or an already ``prepare``-d run (its model is
    reused). ``runner``: where chunks run (default ``LocalRunner()``); see the module docstring.
    """
    from tqdm import tqdm

    runner = runner or LocalRunner()
    prepared = options if isinstance(options, Prepared) else prepare(options, runner)
    adapter = prepared.adapter
    with runner.session():
        source = runner.source_rows()
        if source is None:
            require_proteins(wh)
        pending = _pending(wh, prepared, None if source is None else source[0])
        rejected = check_sequences(adapter, pending, prepared.options.skip_invalid)
        if rejected:
            pending = pending.filter(pc.invert(pc.is_in(pending.column("accession"), pa.array(list(rejected)))))
        plan = ChunkPlan(pending)
        target = runner.chunk_residues(plan, prepared)
        params = {**prepared.options.params(), "layers": prepared.layers, "batch_tokens": prepared.batch_tokens,
                  "chunk_residues": target, "max_residues": adapter.max_residues, "dim": adapter.dim,
                  "num_layers": adapter.num_layers, "pending_proteins": pending.num_rows,
                  **runner.params(prepared)}
        with wh.run("embed", params, model=adapter.name, revision=adapter.revision,
                    layer=",".join(map(str, prepared.layers)), pooling=adapter.pooling) as run:
            _record_rejects(run, adapter.name, rejected, None if source is None else source[1])
            desc = f"embed {adapter.name}" + (f" ({runner.engine} x{params['workers']})" if "workers" in params else "")
            bar = tqdm(total=plan.residues, unit="res", unit_scale=True, desc=desc, file=sys.stderr,
                       disable=not progress, smoothing=0.1)
            cumulative: dict[int, object] = {}
            done_proteins = done_residues = 0
            started = time.perf_counter()
            with bar:
                for chunk, result in runner.run(prepared, plan, run.id, target, bar.update):
                    commit_chunk(wh, run.id, adapter.name, result, cumulative)
                    done_proteins += chunk.rows.num_rows
                    done_residues += result.residues_total
            seconds = time.perf_counter() - started
            summary = EmbedSummary(
                run_id=run.id, model=adapter.name, revision=adapter.revision, layers=prepared.layers,
                pooling=adapter.pooling, device=params["resolved_device"], proteins=done_proteins,
                residues=done_residues, seconds=seconds,
                residues_per_second=done_residues / seconds if seconds > 0 else 0.0, rejected=sorted(rejected),
            )
            run.params["summary"] = asdict(summary)
    return summary


def _pending(wh: Warehouse, prepared: Prepared, rows: pa.Table | None) -> pa.Table:
    """The pending proteins (embed_pending.sql) of the proteins table or of ``rows`` read elsewhere."""
    con = wh.con
    if rows is None:
        con.execute(wh.sql_text("embed_source_proteins"))
    else:
        con.register("embed_source", rows)
    try:
        return wh.query(wh.sql_text("embed_pending"), {"model": prepared.adapter.name,
                                                       "pooling": prepared.adapter.pooling,
                                                       "layers": prepared.layers})
    finally:
        if rows is None:
            con.execute("DROP VIEW IF EXISTS temp.embed_source")
        else:
            con.unregister("embed_source")


def require_proteins(wh: Warehouse, adding: int = 0) -> None:
    """Fail unless the warehouse holds (or, with ``adding`` more, will hold) a protein sequence."""
    if adding == 0 and wh.con.execute(wh.sql_text("embed_protein_count")).fetchall()[0][0] == 0:
        raise ProtisoError(f"{wh.path}: the warehouse has no protein sequences; ingest a FASTA file first")


def ingest_check(prepared: Prepared) -> Callable[[Warehouse], None]:
    """The check ``ingest_files`` runs before committing when embedding ``prepared`` follows.

    The ingest then fails with nothing written when there will be no protein to embed, or (unless
    ``skip_invalid``) when a protein it adds has residues the model's tokenizer lacks.
    """

    def check(wh: Warehouse) -> None:
        new = wh.query(wh.sql_text("ingest_added_sequences"))
        require_proteins(wh, adding=new.num_rows)
        check_sequences(prepared.adapter, new, prepared.options.skip_invalid)

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


def _record_rejects(run, model: str, rejected: dict[str, str], shard_rejects: pa.Table | None) -> None:
    shard_rows = [] if shard_rejects is None else shard_rejects.to_pylist()
    if not rejected and not shard_rows:
        return
    insert = run.warehouse.sql_text("embed_insert_reject")
    with run.commit() as tx:
        for accession, reason in rejected.items():
            tx.execute(insert, [run.id, f"embed:{model}", accession, reason])
        for row in shard_rows:
            tx.execute(insert, [run.id, row["source"], row["accession"], row["reason"]])


def commit_chunk(wh: Warehouse, run_id: str, model: str, result: StageResult, cumulative: dict) -> None:
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
