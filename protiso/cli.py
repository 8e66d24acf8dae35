"""The `protiso` command line: thin typer commands over the library.

Each command parses its options, makes one library call, prints, and turns a
ProtisoError into a one-line message with exit code 2. torch and the model code are
imported inside commands, so `protiso --help` stays fast.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from protiso.errors import ProtisoError

app = typer.Typer(
    name="protiso",
    help="A DuckDB warehouse for the geometry of protein language model embeddings.\n\n"
    "Typical session: `protiso init W`, `protiso ingest FASTA -w W --model antiberty`, "
    "`protiso isotropy -w W`, `protiso align -w W`, `protiso report -w W -o report.html`, "
    "then ad hoc `protiso sql -w W \"SELECT ...\"` or the plain `duckdb W/protiso.duckdb`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

WarehouseOpt = Annotated[Path, typer.Option("--warehouse", "-w", help="Warehouse directory.", envvar="PROTISO_WAREHOUSE")]


def friendly(command: Callable) -> Callable:
    """Turn library errors into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ProtisoError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; nothing uncommitted was kept", err=True)
            raise typer.Exit(130) from None

    return wrapper


# -- warehouse --------------------------------------------------------------------------


@app.command()
@friendly
def init(path: Annotated[Path, typer.Argument(help="Directory for the new warehouse.")]) -> None:
    """Create an empty warehouse (a DuckDB file plus Parquet parts) in PATH."""
    from protiso.warehouse import Warehouse

    with Warehouse.create(path) as wh:
        typer.echo(f"created warehouse {wh.path} ({wh.db_file.name})")


@app.command()
@friendly
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (DuckDB dialect).")],
    warehouse: WarehouseOpt,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result to this .parquet file.")] = None,
    max_rows: Annotated[int, typer.Option(help="Rows shown in table format (0 = all).")] = 40,
) -> None:
    """Run SQL against the warehouse and print the result (or write Parquet with -o)."""
    from protiso.warehouse import Warehouse
    from protiso.warehouse.output import run_sql

    with Warehouse.open(warehouse) as wh:
        typer.echo(run_sql(wh, query, fmt, output, max_rows))


@app.command()
@friendly
def tables(warehouse: WarehouseOpt) -> None:
    """List the warehouse's tables and views with their row counts."""
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        rows = wh.tables()
    width = max((len(name) for name, _, _ in rows), default=4)
    for name, kind, count in rows:
        typer.echo(f"{name:<{width}}  {kind:<5}  {count:>12,}")


# -- commands added per area below (keep each block separate) --------------------------------


# -- ingest: sequences and annotations (protiso/sequences) ------------------------------------


@app.command()
@friendly
def ingest(
    files: Annotated[list[Path], typer.Argument(
        help="FASTA (.gz), UniProt .dat(.gz) or TSV export, GO terms/graph TSV or OBO files.",
        exists=True, dir_okay=False, readable=True)],
    warehouse: WarehouseOpt,
    fmt: Annotated[str, typer.Option(
        "--format", help="auto (detect per file from its first line and name), fasta, dat, tsv, go-terms, "
        "go-graph or obo (applies to every FILE).")] = "auto",
    create: Annotated[bool, typer.Option(
        "--create/--no-create", help="Create the warehouse if it does not exist yet (default: create).")] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", help="Then embed every protein not yet embedded with this model: a short name "
        "(antiberty, unirep-64|256|1900, proteinbert), a Hugging Face id from the local cache, or a local "
        "model directory.")] = None,
    layers: Annotated[Optional[str], typer.Option(
        help="Layers to store: last (default), all, or a list such as 4,-1 (negatives count from the end).")] = None,
    residues: Annotated[str, typer.Option(
        help="Per-residue vectors to store: all, none, or a fraction of proteins (seeded), e.g. 0.01. "
        "Local isotropy always uses every residue through float64 sufficient statistics.")] = "none",
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    batch_tokens: Annotated[Optional[int], typer.Option(
        help="Padded tokens per forward pass (default 2048 on CPU, 32768 on CUDA).")] = None,
    length_policy: Annotated[str, typer.Option(
        help="Sequences longer than the model's limit: truncate, or chunk (embed pieces, average).")] = "truncate",
    weights: Annotated[Optional[Path], typer.Option(
        help="Weights file for models that need one (ProteinBERT's .pkl, a UniRep .npz).")] = None,
    skip_invalid: Annotated[bool, typer.Option(
        help="Skip (and list) proteins with residues the model's tokenizer lacks instead of failing.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the per-residue sample.")] = 0,
    # -- where the embedding runs (protiso/engines, protiso/embedding/runners.py) --
    engine: Annotated[str, typer.Option(
        help="Where embedding runs: local (this process) or ray (Ray Data actors; pip install 'protiso[ray]').")] = "local",
    address: Annotated[Optional[str], typer.Option(
        help="--engine ray: auto (the cluster `ray start` made here), HOST:PORT or ray://HOST:PORT; "
        "default: a local Ray instance.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="--engine ray: model actors (default: one per --gpus-per-worker GPUs, else one per CPU).")] = None,
    gpus_per_worker: Annotated[float, typer.Option(help="--engine ray: GPUs per actor (1 = one actor per GPU).")] = 0.0,
) -> None:
    """Ingest sequences and annotations into the warehouse (created if missing), all or nothing; with
    --model, then embed them (resumable: a rerun embeds only what is missing).

    Sequences: upper-cased; whitespace and digits removed; one trailing '*' stripped; only the 25 IUPAC letters.

    An accession stored with the same sequence is left unchanged: rerunning an ingest adds nothing.

    Unusable records are counted and kept in the `rejects` table with file, line and reason.
    """
    from protiso.embedding import EmbedOptions
    from protiso.engines import embed_runner
    from protiso.jobs.ingest_embed import ingest_and_embed

    embed = None if model is None else EmbedOptions(
        model, layers=layers, residues=residues, device=device, batch_tokens=batch_tokens,
        length_policy=length_policy, seed=seed, weights=str(weights) if weights else None, skip_invalid=skip_invalid)
    runner = embed_runner(engine, address=address, workers=workers, gpus_per_worker=gpus_per_worker)
    typer.echo(ingest_and_embed(warehouse, files, fmt=fmt, create=create, embed=embed, runner=runner,
                                progress=progress).render())


# -- end of ingest ---------------------------------------------------------------------------


# -- report: one self-contained HTML file (protiso/report.py) ---------------------------------


@app.command()
@friendly
def report(
    warehouse: WarehouseOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.", dir_okay=False)],
    models: Annotated[Optional[list[str]], typer.Option(
        "--models", "-m", help="Only these models (repeat the option or separate by commas); default: all.")] = None,
    title: Annotated[Optional[str], typer.Option(help="Title of the report.")] = None,
) -> None:
    """Write an HTML report: isotropy beside the study's published figures, spectra, layers, correlations.

    The file is self-contained (inline CSS and SVG, no scripts) and opens offline. A section whose data is missing says which protiso command produces it.
    """
    from protiso.report import render_report
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        chosen = [name.strip() for item in models or [] for name in item.split(",") if name.strip()]
        summary = render_report(wh, output, models=chosen or None, title=title)
    typer.echo(f"wrote {summary.output} ({summary.bytes / 1e6:.1f} MB, {summary.seconds:.1f} s)")
    for line in summary.missing:
        typer.echo(f"missing {line}")


# -- end of report ---------------------------------------------------------------------------


# -- isotropy and post-processing (protiso/jobs/isotropy.py, protiso/jobs/postprocess.py) -----


def _isotropy_names(values: Optional[list[str]]) -> Optional[list[str]]:
    """Repeated and/or comma-separated option values; None when none were given."""
    names = [name.strip() for item in values or [] for name in item.split(",") if name.strip()]
    return names or None


@app.command()
@friendly
def isotropy(
    warehouse: WarehouseOpt,
    by: Annotated[Optional[list[str]], typer.Option(
        "--by", help="Also per organism, go_term or length_bin (repeat or separate by commas).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for an IsoScore CI (0 = none).")] = 0,
    zeta: Annotated[float, typer.Option(help="IsoScore* shrinkage (1-zeta)C + zeta*I, in [0, 1].")] = 0.2,
    models: Annotated[Optional[list[str]], typer.Option(
        "--models", "-m", help="Only these models (repeat or separate by commas); default: all.")] = None,
    embedding_set: Annotated[Optional[list[str]], typer.Option(
        "--embedding-set", help="Only these embedding sets (raw, centered, whitened, abtt-k); default: all.")] = None,
    scope: Annotated[Optional[list[str]], typer.Option(
        "--scope", help="global (per-protein vectors) and/or local (residue vectors); default: both.")] = None,
    min_points: Annotated[int, typer.Option(help="Smallest group reported with --by.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
) -> None:
    """Measure IsoScore, IsoScore*, effective dimensions and mean cosine into the `isotropy` table.

    Global rows use the per-protein vectors; local rows use every residue vector through the stored sufficient statistics (grouped local rows use the stored residue vectors). Rows are appended with a `runs` row holding the parameters.
    """
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        summary = compute_isotropy(
            wh, by=_isotropy_names(by) or [], bootstrap=bootstrap, zeta=zeta, models=_isotropy_names(models),
            embedding_set=_isotropy_names(embedding_set), scopes=_isotropy_names(scope) or ["global", "local"],
            seed=seed, min_points=min_points,
        )
    typer.echo(summary.render())


@app.command()
@friendly
def postprocess(
    warehouse: WarehouseOpt,
    method: Annotated[str, typer.Option(help="center, whiten (PCA whitening) or abtt (all-but-the-top).")],
    k: Annotated[Optional[int], typer.Option(help="abtt: top principal components removed (default dim/100).")] = None,
    eps: Annotated[float, typer.Option(help="whiten: eigenvalue floor, relative to the mean eigenvalue.")] = 1e-6,
    models: Annotated[Optional[list[str]], typer.Option(
        "--models", "-m", help="Only these models (repeat or separate by commas); default: all.")] = None,
    source: Annotated[str, typer.Option(help="Embedding set to transform.")] = "raw",
) -> None:
    """Store post-processed embeddings (centered, whitened, abtt-k) as a new embedding set beside raw.

    Each model, layer and pooling is fitted on its own vectors; `protiso isotropy` then measures the new set too.
    """
    from protiso.jobs.postprocess import postprocess_embeddings
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        summary = postprocess_embeddings(wh, method, k=k, eps=eps, models=_isotropy_names(models), source=source)
    typer.echo(summary.render())


# -- end of isotropy and post-processing ------------------------------------------------------


# -- align: pairwise alignments and pair metrics (protiso/align) ------------------------------


@app.command()
@friendly
def align(
    warehouse: WarehouseOpt,
    fraction: Annotated[Optional[float], typer.Option(
        help="Sample this fraction of the proteins and align all pairs among them (default 0.01, the study's).")] = None,
    proteins: Annotated[Optional[int], typer.Option(help="Sample N proteins and align all pairs among them.")] = None,
    pairs: Annotated[Optional[int], typer.Option(help="Align N distinct random pairs instead.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample (numpy default_rng).")] = 0,
    matrix: Annotated[str, typer.Option(help="Biopython substitution matrix name (PAM250, BLOSUM62, ...).")] = "PAM250",
    mode: Annotated[str, typer.Option(help="global (Needleman-Wunsch, end gaps scored) or local (Smith-Waterman).")] = "global",
    open_score: Annotated[float, typer.Option(
        "--open", help="Score of a gap's first position (<= 0, Biopython convention).")] = -10.0,
    extend_score: Annotated[float, typer.Option(
        "--extend", help="Score of each further gap position (<= 0).")] = -1.0,
    min_length: Annotated[Optional[int], typer.Option(help="Only proteins at least this long.")] = None,
    max_length: Annotated[Optional[int], typer.Option(help="Only proteins at most this long.")] = None,
    where: Annotated[Optional[str], typer.Option(help="SQL filter on the proteins table, e.g. \"organism LIKE 'Homo%'\".")] = None,
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes, or Ray actors with --engine ray (default: all cores / the cluster's CPUs).")] = None,
    block_size: Annotated[int, typer.Option(help="Pairs per committed block (the unit of resumption).")] = 20_000,
    aligner: Annotated[str, typer.Option(help="auto (parasail when scores are integers, else Biopython), parasail or biopython.")] = "auto",
    # -- where the blocks run (protiso/engines) --
    engine: Annotated[str, typer.Option(
        help="Where pair blocks run: local (a process pool here) or ray (Ray Data actors; pip install 'protiso[ray]').")] = "local",
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
    import warnings

    from protiso.align import AlignerWarning, align
    from protiso.warehouse import Warehouse

    warnings.simplefilter("ignore", AlignerWarning)  # the summary below repeats it
    with Warehouse.open(warehouse) as wh:
        summary = align(wh, fraction=fraction, proteins=proteins, pairs=pairs, seed=seed, matrix=matrix, mode=mode,
                        open_score=open_score, extend_score=extend_score, min_length=min_length,
                        max_length=max_length, where=where, workers=workers, block_size=block_size,
                        aligner=aligner, resume=resume, progress=progress, engine=engine, address=address)
    typer.echo(summary.render())


@app.command("pair-metrics")
@friendly
def pair_metrics(
    warehouse: WarehouseOpt,
    alignment_run: Annotated[Optional[str], typer.Option(help="Only this alignment run (default: all finished).")] = None,
) -> None:
    """Materialise embedding cosine / squared distance per aligned pair for embedding sets that lack them."""
    from protiso.jobs.pair_metrics import compute_pair_metrics
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        summary = compute_pair_metrics(wh, alignment_run)
    typer.echo(summary.render())


# -- end of align ----------------------------------------------------------------------------


# -- jobs: declarative TOML specs (protiso/jobs/spec.py) -----------------------------------


@app.command()
@friendly
def run(
    job: Annotated[Path, typer.Argument(help="Job spec (TOML), e.g. ingest/demo.toml.")],
    warehouse: Annotated[Optional[Path], typer.Option(
        "--warehouse", "-w", help="Override the spec's warehouse directory.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bars on stderr.")] = True,
) -> None:
    """Run a whole job from a TOML spec: ingest, embed, post-process, isotropy, align, report.

    Every step is resumable, so a killed job is finished by running it again.
    """
    from protiso.jobs import load_job, run_job

    typer.echo(run_job(load_job(job, warehouse), progress=progress).render())


# -- end of jobs ------------------------------------------------------------------------------


def main() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
