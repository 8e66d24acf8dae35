"""`protiso ingest` and `protiso embed`: sequences in, vectors made (protiso.jobs.ingest_embed, protiso.embedding)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from protiso.cli.common import WarehouseOpt, app, friendly
from protiso.engines import embed_runner

# -- ingest: sequences and annotations (protiso/sequences) ------------------------------------

# The embedding options of `ingest --model` and `embed`, each declared once (protiso.embedding.EmbedOptions).
LayersOpt = Annotated[Optional[str], typer.Option(
    metavar="[last|all|LIST]",
    help="Layers to store: last (default), all, or a list such as 4,-1 (negatives count from the end).")]
ResiduesOpt = Annotated[str, typer.Option(
    metavar="[all|none|FRACTION]",
    help="Per-residue vectors to store: all, none, or a fraction of proteins (seeded), e.g. 0.01. "
    "Local isotropy always uses every residue through float64 sufficient statistics.")]
DeviceOpt = Annotated[str, typer.Option(metavar="[auto|cpu|cuda]", help="auto (CUDA when present), cpu or cuda.")]
BatchTokensOpt = Annotated[Optional[int], typer.Option(
    help="Padded tokens per forward pass (default 2048 on CPU, 32768 on CUDA).")]
LongOpt = Annotated[str, typer.Option(
    "--long", "--length-policy", metavar="[truncate|window|skip|chunk]",
    help="Proteins longer than the model's limit (e.g. AntiBERTy's 510 residues): truncate (default; the first "
    "limit residues), window (overlapping windows stitched so every residue has a vector), skip (not embedded; "
    "listed in rejects) or chunk (pieces without overlap). The summary counts them; --length-policy is an alias.")]
WeightsOpt = Annotated[Optional[Path], typer.Option(
    help="Weights file for models that need one (ProteinBERT's .pkl, a UniRep .npz).")]
SkipInvalidOpt = Annotated[bool, typer.Option(
    help="Skip (and list) proteins with residues the model's tokenizer lacks instead of failing.")]
EngineOpt = Annotated[str, typer.Option(
    metavar="[local|ray]",
    help="Where embedding runs: local (this process) or ray (Ray Data actors; pip install 'protiso[ray]').")]
AddressOpt = Annotated[Optional[str], typer.Option(
    help="--engine ray: auto (the cluster `ray start` made here), HOST:PORT or ray://HOST:PORT; "
    "default: a local Ray instance.")]
WorkersOpt = Annotated[Optional[int], typer.Option(
    help="--engine ray: model actors (default: one per --gpus-per-worker GPUs, else one per CPU).")]
GpusPerWorkerOpt = Annotated[float, typer.Option(help="--engine ray: GPUs per actor (1 = one actor per GPU).")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")]


@app.command()
@friendly
def ingest(
    files: Annotated[list[Path], typer.Argument(
        help="FASTA (.gz), UniProt .dat(.gz) or TSV export, GO terms/graph TSV or OBO files.",
        exists=True, dir_okay=False, readable=True)],
    warehouse: WarehouseOpt,
    fmt: Annotated[str, typer.Option(
        "--format", metavar="[auto|fasta|dat|tsv|go-terms|go-graph|obo]",
        help="auto (detect per file from its first line and name), fasta, dat, tsv, go-terms, "
        "go-graph or obo (applies to every FILE).")] = "auto",
    create: Annotated[bool, typer.Option(
        "--create/--no-create", help="Create the warehouse if it does not exist yet (default: create).")] = True,
    progress: ProgressOpt = True,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="MODEL",
        help="Then embed every protein not yet embedded with this model: a short name "
        "(antiberty, unirep-64|256|1900, proteinbert), a Hugging Face id from the local cache, or a local "
        "model directory.")] = None,
    layers: LayersOpt = None,
    residues: ResiduesOpt = "none",
    device: DeviceOpt = "auto",
    batch_tokens: BatchTokensOpt = None,
    length_policy: LongOpt = "truncate",
    weights: WeightsOpt = None,
    skip_invalid: SkipInvalidOpt = False,
    seed: Annotated[int, typer.Option(help="Seed of the per-residue sample.")] = 0,
    # -- where the embedding runs (protiso/engines, protiso/embedding/runners.py) --
    engine: EngineOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
) -> None:
    """Ingest sequences and annotations into the warehouse (created if missing), all or nothing; with
    --model, then embed them (resumable: a rerun embeds only what is missing; `protiso embed` embeds a
    chosen subset).

    Sequences: upper-cased; whitespace and digits removed; one trailing '*' stripped; only the 25 IUPAC letters.

    An accession stored with the same sequence is left unchanged: rerunning an ingest adds nothing.

    Unusable records are counted and kept in the `rejects` table with file, line and reason.
    """
    from protiso.embedding import EmbedOptions  # lazy: loads torch/scipy, which protiso --help must not
    from protiso.jobs.ingest_embed import ingest_and_embed  # lazy: loads torch/scipy, which protiso --help must not

    embed = None if model is None else EmbedOptions(
        model, layers=layers, residues=residues, device=device, batch_tokens=batch_tokens,
        length_policy=length_policy, seed=seed, weights=str(weights) if weights else None, skip_invalid=skip_invalid)
    runner = embed_runner(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    typer.echo(ingest_and_embed(warehouse, files, fmt=fmt, create=create, embed=embed, runner=runner,
                                progress=progress).render())


@app.command()
@friendly
def embed(
    warehouse: WarehouseOpt,
    model: Annotated[str, typer.Option(
        "--model", "-m", metavar="MODEL",
        help="The model: a short name (antiberty, unirep-64|256|1900, proteinbert), a Hugging Face "
        "id from the local cache, or a local model directory.")],
    sample: Annotated[Optional[int], typer.Option(
        help="Embed N proteins of the selection, drawn by --seed from the whole selection (the N with the smallest "
        "md5('SEED:' || accession)); those already embedded are skipped, so a rerun adds none.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample, of the per-residue sample (--residues 0.01) and of "
                                      "--control (the residue orders, or the random weights).")] = 0,
    control: Annotated[str, typer.Option(
        help="none (the trained model on the real sequences), shuffled (each protein's residues in an order drawn "
        "by --seed and its accession; the orders go to table control_sequences) or random-init (the same "
        "architecture and tokenizer with weights drawn by --seed, by the family's own initialisation). A control's "
        "rows carry it in their `control` column.")] = "none",
    accessions: Annotated[Optional[Path], typer.Option(
        help="Only these proteins: a file with one accession a line ('#' comments; sp|P12345|NAME headers work).",
        exists=True, dir_okay=False, readable=True)] = None,
    where: Annotated[Optional[str], typer.Option(
        help="Only proteins matching one SQL boolean expression over the proteins columns and the helper columns "
        "go_ids and keywords (VARCHAR[]), e.g. \"organism LIKE 'Escherichia coli%'\" or "
        "\"list_contains(go_ids, 'GO:0005524')\".")] = None,
    layers: LayersOpt = None,
    residues: ResiduesOpt = "none",
    device: DeviceOpt = "auto",
    batch_tokens: BatchTokensOpt = None,
    length_policy: LongOpt = "truncate",
    weights: WeightsOpt = None,
    skip_invalid: SkipInvalidOpt = False,
    engine: EngineOpt = "local",
    address: AddressOpt = None,
    workers: WorkersOpt = None,
    gpus_per_worker: GpusPerWorkerOpt = 0.0,
    progress: ProgressOpt = True,
) -> None:
    """Embed proteins already in the warehouse with a model: every one not yet embedded, or those chosen by
    --accessions, --where and --sample (resumable; a rerun embeds only what is missing).

    A seeded sample is drawn from the whole selection, then what of it is not yet embedded is embedded; the run
    records the selection and its counts.

    `protiso ingest FILE --model M` is the shortcut that ingests first and embeds every new protein.
    """
    from protiso.embedding import (  # lazy: loads torch/scipy, which protiso --help must not
        EmbedOptions,
        embed_warehouse,
    )

    options = EmbedOptions(
        model, layers=layers, residues=residues, device=device, batch_tokens=batch_tokens,
        length_policy=length_policy, seed=seed, weights=str(weights) if weights else None, skip_invalid=skip_invalid,
        sample=sample, accessions=str(accessions) if accessions else None, where=where, control=control)
    runner = embed_runner(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    typer.echo(embed_warehouse(warehouse, options, runner=runner, progress=progress).render())
