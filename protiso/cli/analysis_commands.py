"""`protiso isotropy`, `postprocess` and `report`: measuring and showing the stored vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from protiso.cli.common import WarehouseOpt, app, friendly


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
    memory_budget: Annotated[str, typer.Option(
        help="Memory protiso may hold at once (vectors kept for --by beyond half of it are memory-mapped), "
        "e.g. 4GiB, 512MiB.")] = "4GiB",
) -> None:
    """Measure IsoScore, IsoScore*, effective dimensions and mean cosine into the `isotropy` table.

    Global rows use the per-protein vectors, streamed once per set (the covariance spectrum is stored in `global_spectra`); with --by every GO term (true-path rule), organism or length bin with at least --min-points proteins is measured in the same pass. Local rows use every residue vector through the stored sufficient statistics (grouped local rows use the stored residue vectors). Rows are appended with a `runs` row holding the parameters.
    """
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.warehouse import Warehouse

    budget = parse_memory_budget(memory_budget)
    with Warehouse.open(warehouse) as wh:
        summary = compute_isotropy(
            wh, by=_isotropy_names(by) or [], bootstrap=bootstrap, zeta=zeta, models=_isotropy_names(models),
            embedding_set=_isotropy_names(embedding_set), scopes=_isotropy_names(scope) or ["global", "local"],
            seed=seed, min_points=min_points, memory_budget=budget,
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

    with Warehouse.open(warehouse, read_only=True) as wh:
        chosen = [name.strip() for item in models or [] for name in item.split(",") if name.strip()]
        summary = render_report(wh, output, models=chosen or None, title=title)
    typer.echo(f"wrote {summary.output} ({summary.bytes / 1e6:.1f} MB, {summary.seconds:.1f} s)")
    for line in summary.missing:
        typer.echo(f"missing {line}")
