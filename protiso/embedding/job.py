"""The resumable embedding job: proteins in the warehouse -> embeddings, residues, residue_stats.

``embed_proteins(wh, options, runner=...)`` selects the proteins still lacking a raw embedding for a
requested layer (``embed_pending.sql`` over ``embed_source``: all proteins, a user's selection, or a
runner's shards), leaves out what ``--long skip`` skips, hands the rest to a runner as a ``ChunkPlan`` and
commits each chunk it returns with the run's cumulative residue and embedding statistics. The job is the
only writer; a kill loses at most the chunks in flight, and a rerun embeds only what is missing. Every
check happens before the first write.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from protiso.embedding.controls import record_shuffles, shuffled_pending, with_control
from protiso.embedding.lengths import LONG_REJECT_SOURCE, LongProteins
from protiso.embedding.options import EmbedOptions, Prepared, prepare
from protiso.embedding.runners import ChunkPlan, LocalRunner, Runner
from protiso.embedding.select import Selection, drop_selection, select_source
from protiso.embedding.stage_io import StageResult
from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse
from protiso.warehouse.embedding_stats import EmbeddingStats, staging


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
    long: LongProteins | None = None  # what the length rule did (None: the model has no limit)
    selection: Selection | None = None  # the proteins the user chose (None: every pending one)
    control: str = "none"  # none | shuffled | random-init (protiso.embedding.controls)
    seed: int = 0  # the control's seed

    def render(self) -> str:
        """Plain-text summary: first line what was embedded, then the run, the selection, long
        proteins and any rejects."""
        layers = ",".join(map(str, self.layers))
        control = "" if self.control == "none" else f" ({self.control} control, seed {self.seed})"
        lines = [
            f"embedded {self.proteins:,} proteins ({self.residues:,} residues) with {self.model}{control} "
            f"at layer {layers} on {self.device} in {self.seconds:,.1f} s ({self.residues_per_second:,.0f} residues/s)",
            f"run {self.run_id}; revision {self.revision}; pooling: {self.pooling}",
        ]
        if self.selection is not None:
            lines.append(self.selection.render())
        long_line = None if self.long is None else self.long.render(self.model)
        if long_line:
            lines.append(long_line)
        if self.rejected:
            shown = ", ".join(self.rejected[:5]) + (" ..." if len(self.rejected) > 5 else "")
            lines.append(f"rejected {len(self.rejected):,} proteins with residues {self.model} lacks "
                         f"(see the rejects table): {shown}")
        return "\n".join(lines)


def embed_proteins(wh: Warehouse, options: EmbedOptions | Prepared, *, runner: Runner | None = None,
                   progress: bool = True) -> EmbedSummary:
    """Embed every protein of ``wh`` (or of the user's selection: ``options.accessions``, ``where``,
    ``sample``) not yet embedded by the model at the requested layers.

    ``options``: what to embed (``EmbedOptions``), or an already ``prepare``-d run (its model is
    reused). ``runner``: where chunks run (default ``LocalRunner()``); see the module docstring.
    """
    runner = runner or LocalRunner()
    prepared = options if isinstance(options, Prepared) else prepare(options, runner)
    adapter = prepared.adapter
    with runner.session():
        source = runner.source_rows()
        if source is None:
            require_proteins(wh)
        elif prepared.options.chosen:
            raise ProtisoError("--accessions, --where and --sample choose among the warehouse's proteins; "
                               "they cannot be combined with a runner that reads shards")
        pending, selection = _pending(wh, prepared, None if source is None else source[0])
        rejected = check_sequences(adapter, pending, prepared.options.skip_invalid)
        if rejected:
            pending = _without(pending, list(rejected))
        lengths = pc.utf8_length(pending.column("sequence")).to_pylist()
        long = LongProteins.count(lengths, adapter.max_residues, prepared.options.length_policy)
        skipped = _too_long(pending, lengths, adapter.max_residues, prepared.options.length_policy)
        if skipped:
            pending = _without(pending, list(skipped))
        control = prepared.options.control
        shuffles = None
        if control == "shuffled":
            pending, shuffles = shuffled_pending(pending, prepared.options.seed)
        plan = ChunkPlan(pending)
        target = runner.chunk_residues(plan, prepared)
        params = {**prepared.options.params(), "layers": prepared.layers, "batch_tokens": prepared.batch_tokens,
                  "chunk_residues": target, "max_residues": adapter.max_residues, "dim": adapter.dim,
                  "num_layers": adapter.num_layers, "pending_proteins": pending.num_rows,
                  "long": long.params(), **runner.params(prepared)}
        if selection is not None:
            params["selection"] = selection.params()
        with wh.run("embed", params, model=adapter.name, revision=adapter.revision,
                    layer=",".join(map(str, prepared.layers)), pooling=adapter.pooling) as run:
            _record_rejects(run, f"embed:{adapter.name}", rejected, None if source is None else source[1])
            _record_rejects(run, LONG_REJECT_SOURCE.format(model=adapter.name), skipped, None)
            if shuffles is not None and shuffles.num_rows:
                record_shuffles(run, shuffles)
            desc = f"embed {adapter.name}" + (f" ({runner.engine} x{params['workers']})" if "workers" in params else "")
            bar = tqdm(total=plan.residues, unit="res", unit_scale=True, desc=desc, file=sys.stderr,
                       disable=not progress, smoothing=0.1)
            cumulative: dict[int, object] = {}
            global_stats = EmbeddingStats()
            done_proteins = done_residues = 0
            started = time.perf_counter()
            with bar:
                for chunk, result in runner.run(prepared, plan, run.id, target, bar.update):
                    commit_chunk(wh, run.id, adapter.name, result, cumulative, global_stats, control)
                    done_proteins += chunk.rows.num_rows
                    done_residues += result.residues_total
            seconds = time.perf_counter() - started
            summary = EmbedSummary(
                run_id=run.id, model=adapter.name, revision=adapter.revision, layers=prepared.layers,
                pooling=adapter.pooling, device=params["resolved_device"], proteins=done_proteins,
                residues=done_residues, seconds=seconds,
                residues_per_second=done_residues / seconds if seconds > 0 else 0.0, rejected=sorted(rejected),
                long=long if adapter.max_residues is not None else None, selection=selection,
                control=control, seed=prepared.options.seed,
            )
            run.params["summary"] = asdict(summary)
    return summary


def embed_warehouse(warehouse: str | Path, options: EmbedOptions, *, runner: Runner | None = None,
                    progress: bool = True) -> EmbedSummary:
    """``protiso embed``: embed the pending (or chosen) proteins of the existing warehouse ``warehouse``."""
    with Warehouse.open(warehouse) as wh:
        return embed_proteins(wh, options, runner=runner, progress=progress)


def _pending(wh: Warehouse, prepared: Prepared, rows: pa.Table | None) -> tuple[pa.Table, Selection | None]:
    """The pending proteins (embed_pending.sql) of the proteins table, of the user's selection or
    of ``rows`` read elsewhere; with the selection, when there is one."""
    con = wh.con
    selection = None
    if rows is not None:
        con.register("embed_source", rows)
    elif prepared.options.chosen:
        selection = select_source(wh, prepared)
    else:
        con.execute(wh.sql_text("embed_source_proteins"))
    try:
        pending = wh.query(wh.sql_text("embed_pending"), {"model": prepared.adapter.name,
                                                          "pooling": prepared.adapter.pooling,
                                                          "layers": prepared.layers,
                                                          "control": prepared.options.control})
    finally:
        if rows is not None:
            con.unregister("embed_source")
        elif selection is not None:
            drop_selection(wh)
        else:
            con.execute("DROP VIEW IF EXISTS temp.embed_source")
    if selection is not None:
        selection.pending = pending.num_rows
    return pending, selection


def _without(pending: pa.Table, accessions: list[str]) -> pa.Table:
    return pending.filter(pc.invert(pc.is_in(pending.column("accession"), pa.array(accessions, pa.string()))))


def _too_long(pending: pa.Table, lengths: list[int], limit: int | None, policy: str) -> dict[str, str]:
    """Accession -> reason for the proteins ``--long skip`` leaves out (none under other rules)."""
    if policy != "skip" or limit is None:
        return {}
    return {accession: f"{length:,} residues, longer than the model's limit of {limit:,} (--long skip)"
            for accession, length in zip(pending.column("accession").to_pylist(), lengths) if length > limit}


def require_proteins(wh: Warehouse, adding: int = 0) -> None:
    """Fail unless the warehouse holds (or, with ``adding`` more, will hold) a protein sequence."""
    if adding == 0 and wh.con.execute(wh.sql_text("embed_protein_count")).fetchall()[0][0] == 0:
        raise ProtisoError(f"{wh.path}: the warehouse has no protein sequences; ingest them first "
                           f"(protiso ingest FASTA -w {wh.path} --model M ingests and embeds)")


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


def _record_rejects(run, source: str, rejected: dict[str, str], shard_rejects: pa.Table | None) -> None:
    """One ``rejects`` row per accession of ``rejected`` (with ``source``) and per shard reject."""
    shard_rows = [] if shard_rejects is None else shard_rejects.to_pylist()
    if not rejected and not shard_rows:
        return
    insert = run.warehouse.sql_text("embed_insert_reject")
    with run.commit() as tx:
        for accession, reason in rejected.items():
            tx.execute(insert, [run.id, source, accession, reason])
        for row in shard_rows:
            tx.execute(insert, [run.id, row["source"], row["accession"], row["reason"]])


def commit_chunk(wh: Warehouse, run_id: str, model: str, result: StageResult, cumulative: dict,
                 global_stats: EmbeddingStats | None = None, control: str = "none") -> None:
    """Write one chunk's parts and the run's cumulative statistics in one transaction: residue
    statistics and, with ``global_stats`` (the run's running ``EmbeddingStats``), those of the global
    vectors (``embedding_stats``); every row carries ``control``."""
    merged = {layer: cumulative[layer].merge(stats) if layer in cumulative else stats
              for layer, stats in result.stats.items()}
    embeddings = with_control(pa.Table.from_batches([result.embeddings]), control)
    residues = with_control(pa.Table.from_batches([result.residues]), control)
    if global_stats is not None:
        global_stats.add(embeddings, f"embeddings of {model}")
    with staging(wh), wh.commit(run_id) as tx:
        for layer in sorted(set(embeddings.column("layer").to_pylist())):
            partition = {"model": model, "layer": layer, **({} if control == "none" else {"control": control})}
            tx.write_part("embeddings", embeddings.filter(pc.equal(embeddings.column("layer"), layer)), partition)
            if residues.num_rows:
                tx.write_part("residues", residues.filter(pc.equal(residues.column("layer"), layer)), partition)
        for layer, stats in merged.items():
            tx.execute(wh.sql_text("embed_residue_stats_upsert"),
                       [run_id, model, layer, *stats.to_flat(), control])
        if global_stats is not None:
            global_stats.stage(wh, tx, run_id)
    cumulative.update(merged)
