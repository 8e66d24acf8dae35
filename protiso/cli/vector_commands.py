"""`protiso import-vectors` and `protiso export`: vectors made elsewhere in, stored vectors out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from protiso.cli.common import WarehouseOpt, app, friendly
from protiso.jobs.export_vectors import export_vectors
from protiso.jobs.options import ExportOptions, ShuffleOptions
from protiso.warehouse import Warehouse

EXPORT = ExportOptions("out.h5", "model")  # the defaults shown in help
SHUFFLE = ShuffleOptions("shuffled.fasta")


# -- interchange: vectors in and out (protiso/jobs/import_vectors.py, export_vectors.py) -----


@app.command("import-vectors")
@friendly
def import_vectors(
    path: Annotated[Path, typer.Argument(
        help="An ESM extract.py output directory (LABEL.pt files), an .h5 file (bio_embeddings / ProtTrans), "
        "a .npy matrix with an id list, an .npz, or a Parquet / Arrow table.")],
    warehouse: WarehouseOpt,
    model: Annotated[str, typer.Option(
        "--model", "-m", metavar="MODEL", help="Name to store the vectors under (the model that made them).")],
    layer: Annotated[Optional[int], typer.Option(
        help="ESM: the layer to store (-1 = the highest in the files; default: every layer they hold). "
        "Other formats: the layer number to store them under (default: the one a protiso export records, "
        "else -1).")] = None,
    fmt: Annotated[str, typer.Option(
        "--format", metavar="[auto|esm|h5|npy|npz|parquet]",
        help="auto (a directory is ESM; else by file name), esm, h5, npy, npz or parquet.")] = "auto",
    pooling: Annotated[Optional[str], typer.Option(
        help="How the per-protein vectors were made, in words (recorded per row; default: from the file "
        "or format).")] = None,
    residues: Annotated[str, typer.Option(
        help="Per-residue vectors to store: all, none, or a fraction of proteins (seeded); residue statistics "
        "always use every one.")] = "all",
    ids: Annotated[Optional[Path], typer.Option(
        help="Id list of a .npy matrix, one id per line (default: STEM.txt or STEM.ids beside it).")] = None,
    skip_unknown: Annotated[bool, typer.Option(
        help="Skip (count, and keep in `rejects`) records that match no protein instead of failing.")] = False,
    num_layers: Annotated[Optional[int], typer.Option(
        help="The model's number of layers (its last layer's number), recorded so that the report knows which "
        "stored layer is the last (the study's per-residue figure applies there only). Known without it for "
        "ProtBERT, ProtBERT-BFD, ProtXLNet, ProteinBERT and ESM-2 names such as esm2_t33_650M_UR50D.")] = None,
    control: Annotated[str, typer.Option(
        "--control", metavar="[none|shuffled|random-init]",
        help="What the vectors are of: none (real sequences, trained model), shuffled (the FASTA `protiso "
        "shuffle` wrote, embedded by the model) or random-init (the model's architecture with random weights). "
        "Reports put each model's controls beside its real figures.")] = "none",
    seed: Annotated[int, typer.Option(
        help="With --control shuffled: the seed `protiso shuffle` used (residue letters and sequence hashes "
        "are the shuffled sequence's).")] = 0,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
) -> None:
    """Import vectors made elsewhere into `embeddings` / `residues`, all or nothing.

    Records are matched to proteins by accession (also inside UniProt headers such as sp|P12345|NAME_HUMAN) or by
    the MD5 of the sequence. On a new warehouse, or one without sequences, a record that matches no protein
    creates it from its id (sequence unknown; length from its per-residue vectors, if any): isotropy, groups
    (annotations ingested later) and the report work; align needs sequences.

    A record that matches no protein, a duplicate id, mixed dimensions, NaN or infinity, or an unreadable file is a
    one-line error and nothing is written. Proteins that already hold a vector of the model at that layer are
    skipped, so rerunning adds nothing.
    """
    # lazy: loads torch/scipy, which protiso --help must not
    from protiso.jobs.import_vectors import ImportOptions, import_vectors as run_import

    options = ImportOptions(str(path), model=model, layer=layer, format=fmt, pooling=pooling, residues=residues,
                            ids=str(ids) if ids else None, skip_unknown=skip_unknown,
                            num_layers=num_layers, control=control, seed=seed)
    with Warehouse.open_or_create(warehouse) as wh:
        typer.echo(run_import(wh, options, progress=progress).render())


@app.command()
@friendly
def shuffle(
    warehouse: WarehouseOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="The FASTA file to write.", dir_okay=False)],
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="MODEL",
        help="Only the proteins holding a real vector of MODEL (default: every protein with a sequence).")] = None,
    seed: Annotated[int, typer.Option(
        help="Seed of the shuffle (give the same to `import-vectors --seed`).")] = SHUFFLE.seed,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace OUTPUT if it exists; refused otherwise.")] = SHUFFLE.force,
) -> None:
    """Write the shuffled-sequence control as FASTA, for a model protiso cannot run here (ProtBERT, ESM-2, ...).

    Each protein's residues in the seeded order `protiso embed --control shuffled` uses (it depends on the seed and
    the accession only; recorded in `control_sequences`). Embed the file with the model that made the imported
    vectors, then `protiso import-vectors FILE -w W --model M --control shuffled --seed S`: reports put the control
    beside the real figures.
    """
    from protiso.jobs.shuffle import write_shuffled  # lazy: loads torch (protiso.embedding), which --help must not

    with Warehouse.open(warehouse) as wh:
        typer.echo(write_shuffled(wh, ShuffleOptions(output, model=model, seed=seed, force=force)).render())


@app.command()
@friendly
def export(
    warehouse: WarehouseOpt,
    model: Annotated[str, typer.Option("--model", "-m", metavar="MODEL", help="The model whose vectors to write.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="FILE.h5 (bio_embeddings layout, keyed by accession), FILE.npz or FILE.parquet.",
        dir_okay=False)],
    layer: Annotated[Optional[int], typer.Option(help="Layer (default: the model's only one).")] = None,
    embedding_set: Annotated[str, typer.Option(
        "--set", help="Embedding set: raw, or one `protiso postprocess` made (centered, whitened, abtt-k).")
    ] = EXPORT.embedding_set,
    residues: Annotated[bool, typer.Option(
        "--residues",
        help="Also the stored per-residue vectors (.h5: 2-D datasets; .parquet: a residues column).")
    ] = EXPORT.residues,
    force: Annotated[bool, typer.Option(
        "--force",
        help="Replace OUTPUT if it exists (a symlink is replaced itself, not its target); refused otherwise.")
    ] = EXPORT.force,
    control: Annotated[str, typer.Option(
        "--control", metavar="[none|shuffled|random-init]",
        help="none (the real vectors), shuffled or random-init (a control's vectors).")] = EXPORT.control,
) -> None:
    """Write stored vectors to .h5, .npz or .parquet, readable by `protiso import-vectors` (exactly) and other tools.

    The file appears only when complete; an existing one is refused unless --force. In .h5 keys, '%' and '/' are written as %25 and %2F (the original_id attribute holds the accession).

    In Python: `h5py.File("out.h5")["P12345"][:]`, `np.load("out.npz")["embeddings"]`, `pd.read_parquet("out.parquet")`.
    """
    options = ExportOptions(output, model, layer=layer, embedding_set=embedding_set, residues=residues, force=force,
                            control=control).check()
    with Warehouse.open(warehouse, read_only=True) as wh:
        typer.echo(export_vectors(wh, options).render())
