"""`protiso isotropy`, `postprocess` and `report`: measuring and showing the stored vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from protiso.cli.common import ModelsOpt, WarehouseOpt, app, friendly, model_names
from protiso.jobs.budget import format_bytes
from protiso.jobs.options import GROUPINGS, NULL_METHODS, SCOPES, IsotropyOptions
from protiso.report.options import FORMATS as FIGURE_FORMATS
from protiso.report.options import ReportOptions
from protiso.warehouse import Warehouse

ISO = IsotropyOptions()  # the defaults shown in help
REPORT = ReportOptions("report.html")


def _choices(values: tuple[str, ...]) -> str:
    return "[" + "|".join(values) + "]"


# -- isotropy and post-processing (protiso/jobs/isotropy.py, protiso/jobs/postprocess.py) -----


def _isotropy_names(values: list[str] | None) -> list[str] | None:
    """Repeated and/or comma-separated option values; None when none were given."""
    names = [name.strip() for item in values or [] for name in item.split(",") if name.strip()]
    return names or None


@app.command()
@friendly
def isotropy(
    warehouse: WarehouseOpt,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar=_choices(GROUPINGS),
        help="Also per organism, go_term or length_bin (repeat or separate by commas).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for an IsoScore CI (0 = none).")] = ISO.bootstrap,
    level: Annotated[float, typer.Option(help="Level of the bootstrap and null intervals.")] = ISO.level,
    zeta: Annotated[float, typer.Option(
        help="IsoScore* shrinkage (1-zeta)C + zeta*C0, in [0, 1]; C0 = (tr C/dim) I, for a group the whole set's C."
    )] = ISO.zeta,
    models: ModelsOpt = None,
    embedding_set: Annotated[list[str] | None, typer.Option(
        "--embedding-set", help="Only these embedding sets (raw, centered, whitened, abtt-k); default: all.")] = None,
    scopes: Annotated[list[str] | None, typer.Option(
        "--scope", metavar=_choices(SCOPES),
        help="global (per-protein vectors) and/or local (residue vectors); default: both.")] = None,
    controls: Annotated[list[str] | None, typer.Option(
        "--control", metavar="[none|shuffled|random-init]",
        help="Only sets of these controls (none, shuffled, random-init); default: all. --by groups "
        "the real sets and the controls named here; the local scope measures real sets (none) only.")] = None,
    min_points: Annotated[int, typer.Option(help="Smallest group reported with --by, in proteins.")] = ISO.min_points,
    null_draws: Annotated[int, typer.Option(
        help="Random groups of each group's protein count drawn (seeded) for the size-corrected size_z "
        "that ranks --by groups, its p- and q-values (0 = none).")] = ISO.null_draws,
    null: Annotated[str, typer.Option(
        metavar=_choices(NULL_METHODS),
        help="Random groups for --by: size (the group's protein count) or length (that count from each "
        "length stratum, matching the group's length distribution).")] = ISO.null,
    strata: Annotated[int, typer.Option(help="--null length: the length strata.")] = ISO.strata,
    workers: Annotated[int | None, typer.Option(
        help="Processes that draw the null's random groups (default: one per available CPU); the values do not "
        "depend on it.")] = ISO.workers,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap and the null draws.")] = ISO.seed,
    memory_budget: Annotated[str, typer.Option(
        help="Memory protiso may hold at once (vectors kept for --by beyond half of it are memory-mapped), "
        "e.g. 4GiB, 512MiB.")] = format_bytes(ISO.memory_budget).replace(" ", ""),
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Progress bars on stderr (shown only when it is a terminal).")] = True,
) -> None:
    """Measure IsoScore, IsoScore*, effective dimensions and mean cosine into the `isotropy` table.

    Global rows use the per-protein vectors, streamed once per set (the covariance spectrum is stored in
    `global_spectra`); with --by every GO term (true-path rule), organism or length bin with at least --min-points
    proteins is measured in the same pass. Local rows use every residue vector through the stored sufficient
    statistics (grouped local rows use the stored residue vectors); `local_isotropy` gets both definitions of local
    isotropy, the pooled cloud of all residues and the per-protein mean (± sd, quartiles) of each protein's own,
    with exact mean cosines over the stored residues. Groups get their protein count, the IsoScore of --null-draws
    random groups of that many proteins (--null length: matched on length too) and size_z, the size-corrected
    statistic the report ranks them by, with its Monte-Carlo error, an empirical p-value and a Benjamini-Hochberg
    q-value per GO namespace (root terms are not tested). Rows are appended with a `runs` row holding the
    parameters. Each global set scanned also gets its float64 statistics in `embedding_stats` renewed from the
    scan (this fills them in for warehouses made before they existed), so `SELECT * FROM
    embedding_stats_isotropy()` works in the plain duckdb shell.
    """
    from protiso.jobs.isotropy import compute_isotropy  # lazy: loads torch/scipy, which protiso --help must not

    options = IsotropyOptions(
        by=_isotropy_names(by) or (), bootstrap=bootstrap, zeta=zeta, models=model_names(models),
        embedding_set=_isotropy_names(embedding_set), scopes=_isotropy_names(scopes) or ISO.scopes,
        controls=_isotropy_names(controls), seed=seed, level=level, min_points=min_points,
        memory_budget=memory_budget, null_draws=null_draws, null=null, strata=strata, workers=workers).check()
    with Warehouse.open(warehouse) as wh:
        summary = compute_isotropy(wh, options, progress=progress)
    typer.echo(summary.render())


@app.command()
@friendly
def postprocess(
    warehouse: WarehouseOpt,
    method: Annotated[str, typer.Option(metavar="[center|whiten|abtt]",
        help="center, whiten (PCA whitening) or abtt (all-but-the-top).")],
    k: Annotated[int | None, typer.Option(help="abtt: top principal components removed (default dim/100).")] = None,
    eps: Annotated[float, typer.Option(help="whiten: eigenvalue floor, relative to the mean eigenvalue.")] = 1e-6,
    models: ModelsOpt = None,
    source: Annotated[str, typer.Option(help="Embedding set to transform.")] = "raw",
) -> None:
    """Store post-processed embeddings (centered, whitened, abtt-k) as a new embedding set beside raw.

    Each model, layer and pooling is fitted on its own vectors; `protiso isotropy` then measures the new set too.
    """
    # lazy: loads scipy, which protiso --help must not
    from protiso.jobs.postprocess import postprocess_embeddings

    with Warehouse.open(warehouse) as wh:
        summary = postprocess_embeddings(wh, method, k=k, eps=eps, models=model_names(models), source=source)
    typer.echo(summary.render())




# -- report: one self-contained HTML file (protiso/report.py) ---------------------------------


@app.command()
@friendly
def report(
    warehouse: WarehouseOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.", dir_okay=False)],
    models: ModelsOpt = None,
    title: Annotated[str | None, typer.Option(help="Title of the report.")] = None,
    color_by: Annotated[str, typer.Option(
        "--color-by", metavar="[auto|organism|length_bin|go:NAMESPACE|GO-ID]",
        help="Annotation colouring the PCA view: auto (organism when known, else length_bin), "
        "organism, length_bin, go:NAMESPACE (e.g. go:biological_process) or a GO term id.")] = REPORT.color_by,
    figures: Annotated[Path | None, typer.Option(
        "--figures", help="Also write each figure as its own file in this folder.", file_okay=False)] = None,
    figure_format: Annotated[str, typer.Option(
        "--figure-format", metavar=_choices(FIGURE_FORMATS),
        help="File format of --figures: svg, png or pdf.")] = REPORT.figure_format,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Progress bars on stderr (shown only when it is a terminal).")] = True,
) -> None:
    """Write an HTML report: a headline box beside the study's published figures, isotropy, spectra, a PCA view,
    layers, correlations, groups, post-processing, and the runs in an appendix.

    The file is self-contained (inline CSS and SVG drawn by matplotlib, no scripts) and opens offline. A section
    whose data is missing says which protiso command produces it. With --figures DIR every figure is also written to
    DIR as an SVG, PNG or PDF file.
    """
    from protiso.report import render_report  # lazy: loads matplotlib and torch, which protiso --help must not

    options = ReportOptions(output, models=model_names(models), title=title, color_by=color_by, figures=figures,
                            figure_format=figure_format).check()
    with Warehouse.open(warehouse, read_only=True) as wh:
        summary = render_report(wh, options, progress=progress)
    typer.echo(f"wrote {summary.output} ({summary.bytes / 1e6:.1f} MB, {summary.seconds:.1f} s)")
    if figures is not None:
        typer.echo(f"wrote {len(summary.figures)} figure(s) to {figures}")
    for line in summary.missing_groups:
        typer.echo(line)
