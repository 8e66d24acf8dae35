"""``align(wh, ...)``: a recorded, resumable all-pairs (or random-pairs) alignment run.

Every run writes a ``runs`` row and an ``alignment_runs`` row with the full scoring, the sample and its
seed, the engine and the block size. Each block of ``block_size`` pairs is committed as one ``alignments``
part; the sample and block plan follow from the recorded parameters and the proteins (fingerprinted), so a
killed run resumes (``resume=RUN_ID``, or the unfinished run with the same plan key). identity and
similarity are per alignment column (gap columns included), normalized_score = score / mean self-score.
Long pairs follow ``protiso.align.long_pairs``. docs/architecture.md (module notes) has the columns.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from protiso.align.aligners import PairStats, choose_aligner
from protiso.align.long_pairs import DEFAULT_MAX_CELLS, TRACE_BYTES_PER_CELL, skip_reason
from protiso.align.options import SAMPLE_FIELDS, AlignOptions
from protiso.align.runners import AlignRunner, LocalAlignRunner
from protiso.align.sample_load import Sample, load_sample
from protiso.align.sampling import SampleSpec
from protiso.align.scoring import Scoring
from protiso.errors import ProtisoError
from protiso.options import changed

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

PLAN_VERSION = 2  # 2: max_cells (the memory rule) is part of the plan


class AlignerWarning(UserWarning):
    """The requested scoring cannot run on the fast aligner (parasail)."""


@dataclass
class AlignSummary:
    run_id: str
    aligner: str
    n_proteins: int
    n_pairs: int
    pairs_aligned: int          # by this call (rows written; skipped pairs not included)
    pairs_resumed: int          # committed earlier by a killed run
    seconds: float
    cells: int
    fallbacks: int
    resumed: bool
    linear: int = 0             # pairs over max_cells aligned in linear memory
    skipped: int = 0            # pairs skipped (rejects rows)
    warnings: list[str] = field(default_factory=list)
    pair_metrics: list[dict] = field(default_factory=list)
    design: dict = field(default_factory=dict)

    @property
    def pairs_per_second(self) -> float:
        return self.pairs_aligned / self.seconds if self.seconds > 0 else 0.0

    @property
    def gcups(self) -> float:
        return self.cells / self.seconds / 1e9 if self.seconds > 0 else 0.0

    def render(self) -> str:
        lines = [f"alignment run {self.run_id} ({'resumed, ' if self.resumed else ''}aligner {self.aligner}): "
                 f"{self.n_proteins:,} proteins, {self.n_pairs:,} pairs",
                 f"aligned {self.pairs_aligned:,} pairs in {self.seconds:.1f} s ({self.pairs_per_second:,.0f} pairs/s, "
                 f"{self.gcups:.2f} GCUPS)" + (f"; {self.pairs_resumed:,} were already committed" if self.pairs_resumed else "")]
        if self.fallbacks:
            lines.append(f"{self.fallbacks} pair(s) re-aligned with Biopython (parasail traceback rejected)")
        if self.linear:
            lines.append(f"{self.linear:,} pair(s) over --max-cells aligned in linear memory (exact scores and counts)")
        if self.skipped:
            lines.append(f"{self.skipped:,} pair(s) skipped: too long even for linear memory, or a scoring only "
                         "Biopython computes (see the rejects table, source 'align')")
        lines.append(f"proteins sampled from: {self.design.get('candidates', 'all proteins')}")
        if "population_pairs" in self.design:
            pop, got = self.design["population_pairs"], self.design["sampled_pairs"]
            lines.append(f"homolog-enriched sample of {self.design['selected_proteins']:,} proteins' pairs "
                         f"(candidates from {' + '.join(self.design['homolog_sources']) or 'no source'}): "
                         + "; ".join(f"{h} {got[h]:,} of {pop[h]:,} (weight {pop[h] / got[h]:,.3g})"
                                     if got[h] else f"{h} 0 of {pop[h]:,}" for h in pop))
        lines += [f"warning: {w}" for w in self.warnings]
        for g in self.pair_metrics:
            excluded = g.get("excluded", {})
            why = ", ".join(f"{n:,} {reason}" for reason, n in excluded.items() if n)
            control = "" if g.get("control", "none") == "none" else f" ({g['control']})"
            lines.append(f"pair metrics: {g['model']} layer {g['layer']} {g['embedding_set']}{control}: "
                         f"{g['pairs']:,} pairs, {g['complete']:,} in correlations"
                         + (f" (excluded: {why})" if why else ""))
        return "\n".join(lines)


def _plan_params(scoring: Scoring, spec: SampleSpec, aligner: str, block_size: int, max_cells: int,
                 sample: Sample) -> dict:
    params = {
        "plan_version": PLAN_VERSION,
        "scoring": scoring.params(),
        "sample": asdict(spec) | {"kind": spec.kind},
        "engine": aligner,  # the recorded key (and alignment_runs column) for the aligner
        "block_size": block_size,
        "max_cells": max_cells,
        "n_candidates": sample.n_candidates,
        "n_proteins": len(sample.accessions),
        "n_pairs": sample.plan.n_pairs,
        "sample_fingerprint": sample.fingerprint,
        "residues_mapped_to_X": sample.mapped,
        "design": sample.design,
        "definitions": {
            "identity": "identical aligned columns / alignment length (columns incl. gaps)",
            "similarity": "columns with substitution score > 0 / alignment length",
            "gaps": "gap columns",
            "normalized_score": "score / ((self_a + self_b) / 2); self = protein aligned with itself",
            "tie_breaking": ("co-optimal alignments: parasail keeps diagonal > gap in its 1st sequence > gap in its "
                             "2nd, extending a gap on ties; global aligns (a, b), local (b, a) so the end cell is "
                             "the first in a like Biopython's; see protiso.align.aligners"),
            "memory_rule": (f"pairs of at most max_cells DP cells are traced (<= {TRACE_BYTES_PER_CELL} bytes/cell); "
                            "longer ones get exact scores and counts of an optimal alignment in linear memory "
                            "(parasail stats functions), or are skipped with a rejects row when even that exceeds "
                            f"{TRACE_BYTES_PER_CELL} * max_cells bytes or the scoring needs Biopython; "
                            "see protiso.align.long_pairs"),
        },
    }
    key = json.dumps(params, sort_keys=True, default=str)
    return params | {"plan_key": hashlib.sha256(key.encode()).hexdigest()}


def _recorded(wh: Warehouse, run_id: str) -> dict:
    rows = wh.con.execute(wh.sql_text("align_run"), {"run_id": run_id}).fetchall()
    if not rows:
        raise ProtisoError(f"no alignment run {run_id!r} in the warehouse")
    params, status = json.loads(rows[0][0]), rows[0][1]
    if status == "done":
        raise ProtisoError(f"alignment run {run_id} is already complete")
    return params


def _block_table(sample: Sample, self_scores: np.ndarray, a: np.ndarray, b: np.ndarray,
                 stats: PairStats, run_id: str, keep: np.ndarray, span: tuple[int, int]) -> pa.Table:
    """The ``alignments`` rows of one block (pairs ``span`` of the plan): the pairs in ``keep`` (skipped pairs
    have none). stratum / weight / homolog_evidence are NULL in a random sample (every pair weighs 1)."""
    plan = sample.plan
    if plan.stratum is not None:
        start, stop = span
        design = {"stratum": pa.array(plan.stratum[start:stop][keep].tolist(), pa.string()),
                  "weight": pa.array(plan.weight[start:stop][keep], pa.float64()),
                  "homolog_evidence": pa.array(plan.evidence[start:stop][keep].tolist(), pa.string())}
    else:
        n = int(keep.sum())
        design = {"stratum": pa.nulls(n, pa.string()), "weight": pa.nulls(n, pa.float64()),
                  "homolog_evidence": pa.nulls(n, pa.string())}
    a, b = a[keep], b[keep]
    stats = PairStats(*(getattr(stats, name)[keep] for name in ("score", "identities", "positives", "length",
                                                                  "gaps")))
    length = stats.length.astype(np.float64)
    empty = stats.length == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        identity = stats.identities / length
        similarity = stats.positives / length
        mean_self = (self_scores[a] + self_scores[b]) / 2
        normalized = stats.score / mean_self
    return pa.table({
        "accession_a": sample.accessions.take(pa.array(a)),
        "accession_b": sample.accessions.take(pa.array(b)),
        "score": stats.score,
        "identity": pa.array(identity, mask=empty),
        "similarity": pa.array(similarity, mask=empty),
        "alignment_length": stats.length.astype(np.int32),
        "gaps": stats.gaps.astype(np.int32),
        "normalized_score": pa.array(normalized, mask=~(mean_self > 0)),
        **design,
        "run_id": pa.array([run_id] * len(a)),
    })


def align(wh: Warehouse, options: AlignOptions | None = None, runner: AlignRunner | None = None, *,
          resume: str | None = None, progress: bool = True, **changes) -> AlignSummary:
    """Align a seeded sample of the warehouse's proteins (see the module docstring); returns what was done.

    ``options`` (``AlignOptions``, default: its defaults) with keyword ``changes`` to its fields;
    ``runner``: where the pair blocks run (default ``LocalAlignRunner()``; Ray:
    ``protiso.engines.ray_align.RayAlignRunner``). ``resume``: finish this unfinished run with its
    recorded parameters. Pair metrics are the job's next step (``protiso.jobs.align.align_and_measure``).
    """
    options = changed(AlignOptions, options, changes)
    runner = runner or LocalAlignRunner()
    has_proteins, has_sequences = wh.con.execute(wh.sql_text("has_sequences")).fetchall()[0]
    if has_proteins and not has_sequences:
        raise ProtisoError(f"align needs protein sequences and {wh.path} has none (vectors imported without "
                           "them); ingest the proteins' FASTA or UniProt files first")
    runner.check()
    recorded = None
    if resume is not None:
        recorded = _recorded(wh, resume)
        sample = {k: v for k, v in recorded["sample"].items() if k in SAMPLE_FIELDS}
        options = changed(AlignOptions, options, {
            **sample, **{k: recorded["scoring"][k] for k in ("matrix", "mode", "open_score", "extend_score")},
            "block_size": recorded["block_size"], "aligner": recorded["engine"],
            "max_cells": recorded.get("max_cells", DEFAULT_MAX_CELLS)})  # plan 1 runs: refused below, plan changed
        spec = SampleSpec(**{name: getattr(options, name) for name in SAMPLE_FIELDS})
    else:
        spec = options.sample_spec()
    options.check()
    scoring = options.scoring()
    aligner_name, warning = choose_aligner(options.aligner, scoring)
    if warning:
        warnings.warn(warning, AlignerWarning, stacklevel=2)
    request = _Request(scoring, spec, aligner_name, options.block_size, options.max_cells, resume, recorded,
                       [warning] if warning else [])
    with runner.session(options.workers) as (block_runner, workers, executor):
        return _run(wh, request, workers, progress, block_runner, executor)


@dataclass(frozen=True)
class _Request:
    """A checked alignment request: scoring, sample and blocks (recorded ones when resuming)."""

    scoring: Scoring
    spec: SampleSpec
    aligner: str
    block_size: int
    max_cells: int
    resume: str | None
    recorded: dict | None
    notes: list[str]


def _run(wh: Warehouse, request: _Request, workers: int | None, progress: bool, block_runner,
         executor: dict) -> AlignSummary:
    """Plan the sample, find or start its run, align the blocks not yet committed, record the run."""
    scoring, spec, resume, recorded = request.scoring, request.spec, request.resume, request.recorded
    sample = load_sample(wh, spec, scoring, threads=max(1, workers or os.cpu_count() or 1))
    params = _plan_params(scoring, spec, request.aligner, request.block_size, request.max_cells, sample)
    if resume is not None and params["plan_key"] != recorded["plan_key"]:
        if params["sample_fingerprint"] != recorded.get("sample_fingerprint"):
            raise ProtisoError(f"cannot resume {resume}: the proteins it sampled changed or are missing from the "
                               f"warehouse ({recorded['n_candidates']} candidates then, {sample.n_candidates} now)")
        raise ProtisoError(f"cannot resume {resume}: it was planned by another protiso version "
                           f"(plan {recorded.get('plan_version')}, now {PLAN_VERSION}); start a new run")
    earlier = resume or _unfinished(wh, params["plan_key"])
    workers = max(1, workers or os.cpu_count() or 1)
    with wh.run("align", params | {"workers": workers}, resume=earlier) as run:
        if earlier is None:
            wh.con.execute(wh.sql_text("align_insert_run"), {
                "run_id": run.id, "matrix": scoring.substitution_name, "mode": scoring.mode,
                "open_score": scoring.open_score, "extend_score": scoring.extend_score, "engine": request.aligner,
                "n_proteins": len(sample.accessions), "n_pairs": sample.plan.n_pairs, "seed": spec.seed,
                "params": json.dumps(params, sort_keys=True, default=str)})
        summary = _execute(wh, run.id, sample, scoring, request, workers, progress, block_runner)
        summary.resumed, summary.warnings = earlier is not None, list(request.notes) + list(sample.notes)
        summary.design = sample.design
        run.params = params | {"workers": workers, "seconds": round(summary.seconds, 3),
                               "fallbacks": summary.fallbacks, "linear_pairs": summary.linear,
                               "skipped_pairs": summary.skipped, "resumed": summary.resumed} | executor
    return summary


def _unfinished(wh: Warehouse, plan_key: str) -> str | None:
    rows = wh.con.execute(wh.sql_text("align_unfinished_run"), {"plan_key": plan_key}).fetchall()
    return rows[0][0] if rows else None


def _skipped_rejects(sample: Sample, scoring: Scoring, max_cells: int, a: np.ndarray, b: np.ndarray,
                     skipped: np.ndarray) -> list[tuple[str, str]]:
    """(accession_a, reason) of each skipped pair, for the rejects table."""
    lengths, accessions = sample.seqs.lengths, sample.accessions
    rows = []
    for i, j in zip(a[skipped].tolist(), b[skipped].tolist()):
        acc_a, acc_b = accessions[i].as_py(), accessions[j].as_py()
        reason = skip_reason(int(lengths[i]), int(lengths[j]), max_cells, scoring.parasail_exact)
        rows.append((acc_a, f"pair {acc_a} / {acc_b}: {reason}"))
    return rows


def _execute(wh: Warehouse, run_id: str, sample: Sample, scoring: Scoring, request: _Request,
             workers: int, progress: bool, block_runner) -> AlignSummary:
    aligner, max_cells = request.aligner, request.max_cells
    plan = sample.plan
    blocks = plan.blocks(request.block_size)
    done = {int(b): int(n) for b, n in wh.con.execute(wh.sql_text("align_done_blocks"), {"run_id": run_id}).fetchall()}
    todo = [k for k in range(len(blocks)) if k not in done]
    pairs_resumed = sum(done.values())
    tasks = []
    for k in todo:
        start, stop = blocks[k]
        if plan.explicit_a is None:
            tasks.append((k, start, stop, None, None))
        else:
            tasks.append((k, start, stop, *plan.pairs(start, stop)))
    summary = AlignSummary(run_id, aligner, len(sample.accessions), plan.n_pairs, 0, pairs_resumed, 0.0, 0, 0, False)
    started = time.perf_counter()
    runner = block_runner(scoring, aligner, sample.seqs, plan.n_proteins, min(workers, max(1, len(tasks))),
                          max_cells=max_cells)
    try:
        self_scores, summary.fallbacks = runner.self_scores(len(sample.accessions)) if tasks else (None, 0)
        with tqdm(total=plan.n_pairs, initial=pairs_resumed, unit="pair", unit_scale=True, disable=not progress,
                  desc=f"align {run_id}", smoothing=0.1) as bar:
            for block, a, b, stats in runner.run(tasks):
                skipped = np.isnan(stats.score)
                with wh.commit(run_id) as tx:
                    tx.write_part("alignments", _block_table(sample, self_scores, a, b, stats, run_id, ~skipped,
                                                             blocks[block]),
                                  partition={"run": run_id, "block": f"{block:06d}"})
                    for accession, reason in _skipped_rejects(sample, scoring, max_cells, a, b, skipped):
                        tx.execute(wh.sql_text("align_insert_reject"), [run_id, accession, reason])
                summary.pairs_aligned += len(a) - int(skipped.sum())
                summary.cells += stats.cells
                summary.fallbacks += stats.fallbacks
                summary.linear += stats.linear
                summary.skipped += int(skipped.sum())
                elapsed = time.perf_counter() - started
                bar.set_postfix_str(f"{summary.cells / max(elapsed, 1e-9) / 1e9:.2f} GCUPS")
                bar.update(len(a))
    except BaseException:
        runner.close(terminate=True)
        raise
    runner.close()
    summary.seconds = time.perf_counter() - started
    return summary
