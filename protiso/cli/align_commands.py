"""`protiso align` and `protiso pair-metrics`: alignments and the embedding metrics of aligned pairs."""

from __future__ import annotations

import warnings
from typing import Annotated, Optional

import typer

from protiso.align import AlignerWarning
from protiso.align.homologs import SOURCES
from protiso.align.options import ALIGNERS, DEFAULT_FRACTION, AlignOptions
from protiso.align.sampling import DEFAULT_PAIR_COUNT, DESIGNS
from protiso.align.scoring import MODES
from protiso.cli.common import WarehouseOpt, app, friendly
from protiso.engines import ENGINES, align_runner
from protiso.jobs.align import align_and_measure
from protiso.jobs.budget import parse_memory_budget
from protiso.jobs.pair_metrics import compute_pair_metrics
from protiso.warehouse import Warehouse

ALIGN = AlignOptions()  # the defaults shown in help


# -- align: pairwise alignments and pair metrics (protiso/align) ------------------------------


@app.command()
@friendly
def align(
    warehouse: WarehouseOpt,
    fraction: Annotated[Optional[float], typer.Option(
        help=f"Sample this fraction of the proteins and align all pairs among them (default {DEFAULT_FRACTION}, "
        "the study's).")] = None,
    proteins: Annotated[Optional[int], typer.Option(help="Sample N proteins and align all pairs among them.")] = None,
    pairs: Annotated[Optional[str], typer.Option(
        metavar="[N|" + "|".join(DESIGNS) + "]",
        help="N: align N distinct random pairs instead; random: all pairs among the protein sample (the default); "
        "homolog-enriched: --pair-count pairs, --homolog-share of them likely homologs (MMseqs2 search of the "
        "selected proteins against themselves, and shared Pfam/InterPro entries), the rest random, each pair's "
        "stratum and sampling weight recorded.")] = None,
    pair_count: Annotated[Optional[int], typer.Option(
        help=f"--pairs homolog-enriched: pairs to align (default {DEFAULT_PAIR_COUNT:,}, at most all pairs of the "
        "proteins).")] = ALIGN.pair_count,
    homolog_share: Annotated[float, typer.Option(
        help="--pairs homolog-enriched: share of the pairs drawn from likely homologs.")] = ALIGN.homolog_share,
    homolog_source: Annotated[str, typer.Option(
        metavar="[" + "|".join(SOURCES) + "]",
        help="Likely homologs from: auto (MMseqs2 when installed, plus Pfam/InterPro cross-references when "
        "present), mmseqs, xrefs or both.")] = ALIGN.homolog_source,
    homolog_evalue: Annotated[float, typer.Option(
        help="MMseqs2 E-value at or below which a pair is a likely homolog.")] = ALIGN.homolog_evalue,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="MODEL",
        help="Sample only proteins this model embedded (default: proteins any model embedded).")] = ALIGN.model,
    all_proteins: Annotated[bool, typer.Option(
        "--all-proteins", help="Sample from every protein, embedded or not.")] = ALIGN.all_proteins,
    seed: Annotated[int, typer.Option(help="Seed of the sample (numpy default_rng).")] = ALIGN.seed,
    matrix: Annotated[str, typer.Option(
        help="Biopython substitution matrix name (PAM250, BLOSUM62, ...).")] = ALIGN.matrix,
    mode: Annotated[str, typer.Option(
        metavar="[" + "|".join(MODES) + "]",
        help="global (Needleman-Wunsch, end gaps scored) or local (Smith-Waterman).")] = ALIGN.mode,
    open_score: Annotated[float, typer.Option(
        "--open", help="Score of a gap's first position (<= 0, Biopython convention).")] = ALIGN.open_score,
    extend_score: Annotated[float, typer.Option(
        "--extend", help="Score of each further gap position (<= 0).")] = ALIGN.extend_score,
    min_length: Annotated[Optional[int], typer.Option(help="Only proteins at least this long.")] = ALIGN.min_length,
    max_length: Annotated[Optional[int], typer.Option(help="Only proteins at most this long.")] = ALIGN.max_length,
    where: Annotated[Optional[str], typer.Option(
        help="SQL filter on the proteins table, e.g. \"organism LIKE 'Homo%'\".")] = ALIGN.where,
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes, or Ray actors with --engine ray (default: all cores / the cluster's CPUs).")
    ] = ALIGN.workers,
    block_size: Annotated[int, typer.Option(
        help="Pairs per committed block (the unit of resumption).")] = ALIGN.block_size,
    max_cells: Annotated[int, typer.Option(
        help="Most DP cells (length x length) of a pair aligned with a traceback, <= 6 bytes each; longer pairs "
        "get exact scores and counts in linear memory, or are skipped (see rejects).")] = ALIGN.max_cells,
    aligner: Annotated[str, typer.Option(
        metavar="[" + "|".join(ALIGNERS) + "]",
        help="auto (parasail when scores are integers, else Biopython), parasail or biopython.")] = ALIGN.aligner,
    # -- where the blocks run: the runner (protiso/align/runners.py, protiso/engines) --
    engine: Annotated[str, typer.Option(
        metavar="[" + "|".join(ENGINES) + "]",
        help="Where pair blocks run: local (a process pool here) or ray (Ray Data actors; "
        "pip install 'protiso[ray]').")] = ENGINES[0],
    address: Annotated[Optional[str], typer.Option(
        help="--engine ray: auto (the cluster `ray start` made here), HOST:PORT or ray://HOST:PORT; "
        "default: a local Ray instance.")] = None,
    resume: Annotated[Optional[str], typer.Option(help="Resume this unfinished run (its recorded parameters apply).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
) -> None:
    """Align a seeded sample of protein pairs and record scores, identity and similarity in `alignments`.

    Every parameter is recorded in `alignment_runs`. A killed run resumes without redoing committed blocks
    (rerun the same command, or pass --resume RUN_ID). Afterwards embedding metrics of the pairs are
    materialised in `pair_metrics`, which the `correlations` and `similarity_bins` views read.
    """
    warnings.simplefilter("ignore", AlignerWarning)  # the summary below repeats it
    options = AlignOptions(
        fraction=fraction, proteins=proteins, seed=seed, matrix=matrix, mode=mode, open_score=open_score,
        extend_score=extend_score, min_length=min_length, max_length=max_length, where=where, workers=workers,
        block_size=block_size, max_cells=max_cells, aligner=aligner, homolog_share=homolog_share,
        pair_count=pair_count, homolog_source=homolog_source, homolog_evalue=homolog_evalue, model=model,
        all_proteins=all_proteins, **AlignOptions.pairs_option(pairs))
    if resume is None:
        options.check()
    runner = align_runner(engine, address=address)
    with Warehouse.open(warehouse) as wh:
        summary = align_and_measure(wh, options, runner, resume=resume, progress=progress)
    typer.echo(summary.render())


@app.command("pair-metrics")
@friendly
def pair_metrics(
    warehouse: WarehouseOpt,
    alignment_run: Annotated[Optional[str], typer.Option(help="Only this alignment run (default: all finished).")] = None,
    memory_budget: Annotated[str, typer.Option(
        help="Memory for the blocked Gram matrices (a quarter of it per block pair), e.g. 4GiB.")] = "4GiB",
) -> None:
    """Materialise embedding cosine / squared distance per aligned pair for embedding sets that lack them.

    Computed in float64 from a blocked matrix product over the proteins involved, with a progress bar.
    """
    budget = parse_memory_budget(memory_budget)
    with Warehouse.open(warehouse) as wh:
        summary = compute_pair_metrics(wh, alignment_run, memory_budget=budget)
    typer.echo(summary.render())
