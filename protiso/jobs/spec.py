"""Declarative jobs: a TOML file (see ``ingest/*.toml``) names the steps of a whole analysis.

``load_job(path)`` parses and checks the whole spec — unknown sections and keys, value types,
option values — and ``run_job(job)`` then checks what needs the machine (input files exist,
every embedding model and its weights load, layers exist) BEFORE the first step commits, so a
bad spec leaves the warehouse as it was. Each step is one library call with its own ``runs``
row, and every step is resumable, so a killed job is finished by running it again.

Paths in a spec are relative to the spec file; ``protiso:`` paths point into protiso's
bundled data (``protiso/data``), so the demo job works from any directory.
"""

from __future__ import annotations

import os

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protiso.embedding.options import EmbedOptions
from protiso.errors import ProtisoError

_DATA = Path(__file__).resolve().parent.parent / "data"
SECTIONS = ("job", "inputs", "embed", "isotropy", "align", "report")
# key -> accepted Python types, per section (TOML gives str, int, float, bool, list)
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "job": {"name": (str,), "warehouse": (str,)},
    "inputs": {"files": (list,)},
    "isotropy": {"by": (list,), "bootstrap": (int,), "group_bootstrap": (bool,), "postprocess": (list,),
                 "null_draws": (int,)},
    "align": {"proteins": (int,), "fraction": (float, int), "pairs": (int, str), "seed": (int,), "matrix": (str,),
              "mode": (str,), "open": (float, int), "extend": (float, int), "min_length": (int,),
              "max_length": (int,), "max_cells": (int,), "pair_count": (int,), "homolog_share": (float, int),
              "homolog_source": (str,), "model": (str,), "all_proteins": (bool,)},
    "report": {"output": (str,), "title": (str,)},
}


@dataclass
class IsotropyStep:
    by: list[str] = field(default_factory=list)
    bootstrap: int = 0
    group_bootstrap: bool = False  # bootstrap every group too (slow: one CI per GO term, bin, ...)
    postprocess: list[str] = field(default_factory=list)
    null_draws: int = 30           # random groups per size for the size-corrected ranking (--null-draws)


@dataclass
class AlignStep:
    proteins: int | None = None
    fraction: float | None = None
    pairs: int | str | None = None    # N random pairs, "random" or "homolog-enriched"
    seed: int = 0
    matrix: str = "PAM250"
    mode: str = "global"
    open: float | None = None
    extend: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    max_cells: int | None = None       # the long-pair memory rule (protiso align --max-cells)
    pair_count: int | None = None      # pairs = "homolog-enriched": pairs to align
    homolog_share: float = 0.5
    homolog_source: str = "auto"
    model: str | None = None           # sample proteins this model embedded (default: any model)
    all_proteins: bool = False


@dataclass
class Job:
    """A parsed, checked job spec."""

    name: str
    warehouse: Path
    inputs: list[Path]
    embed: list[EmbedOptions] = field(default_factory=list)
    isotropy: IsotropyStep | None = None
    align: AlignStep | None = None
    report: Path | None = None
    title: str | None = None


def _resolve(base: Path, value: str) -> Path:
    if value.startswith("protiso:"):
        return _DATA / value.removeprefix("protiso:")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _table(raw: dict[str, Any], name: str, source: Path) -> dict[str, Any]:
    """The section ``name`` with its keys and value types checked."""
    values = raw.get(name, {})
    if not isinstance(values, dict):
        raise ProtisoError(f"{source}: [{name}] must be a table")
    known = _KEYS[name]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ProtisoError(f"{source}: [{name}] unknown key(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for key, value in values.items():
        if not isinstance(value, known[key]) or (isinstance(value, bool) and bool not in known[key]):
            kinds = " or ".join(t.__name__ for t in known[key])
            raise ProtisoError(f"{source}: [{name}] {key} must be {kinds}; got {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ProtisoError(f"{source}: [{name}] {key} must be a list of strings; got {value!r}")
    return values


def _embed_steps(raw: dict[str, Any], source: Path, base: Path) -> list[EmbedOptions]:
    steps = raw.get("embed", [])
    if isinstance(steps, dict):
        steps = [steps]
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise ProtisoError(f"{source}: [[embed]] must be tables")
    out = []
    for step in steps:
        for key in ("weights", "accessions"):  # file paths are relative to the spec file, like every path in it
            if isinstance(step.get(key), str):
                step = {**step, key: str(_resolve(base, step[key]))}
        try:
            options = EmbedOptions.from_mapping(step, f"{source}: [embed]")
        except TypeError as error:
            raise ProtisoError(f"{source}: [embed] {error}") from None
        try:
            options.check()
        except ProtisoError as error:
            raise ProtisoError(f"{source}: [embed] {error}") from None
        out.append(options)
    return out


def _isotropy_step(values: dict[str, Any], source: Path) -> IsotropyStep:
    from protiso.jobs.isotropy import GROUPINGS
    from protiso.metrics.postprocess import METHODS

    step = IsotropyStep(**values)
    for grouping in step.by:
        if grouping not in GROUPINGS:
            raise ProtisoError(f"{source}: [isotropy] unknown grouping {grouping!r}; "
                               f"choose from {', '.join(GROUPINGS)}")
    for method in step.postprocess:
        if method not in METHODS:
            raise ProtisoError(f"{source}: [isotropy] unknown postprocess method {method!r}; "
                               f"choose from {', '.join(METHODS)}")
    if step.bootstrap < 0:
        raise ProtisoError(f"{source}: [isotropy] bootstrap must be >= 0; got {step.bootstrap}")
    if step.null_draws < 0:
        raise ProtisoError(f"{source}: [isotropy] null_draws must be >= 0; got {step.null_draws}")
    return step


def _pairs(step: AlignStep) -> tuple[int | None]:
    return (step.pairs if isinstance(step.pairs, int) else None,)


def _design(step: AlignStep) -> str:
    return step.pairs if isinstance(step.pairs, str) else "random"


def _align_step(values: dict[str, Any], source: Path) -> AlignStep:
    from protiso.align.long_pairs import check_max_cells
    from protiso.align.sampling import SampleSpec
    from protiso.align.scoring import Scoring

    step = AlignStep(**values)
    try:
        SampleSpec(step.fraction, step.proteins, *_pairs(step), step.seed, step.min_length, step.max_length,
                   design=_design(step), homolog_share=float(step.homolog_share), pair_count=step.pair_count,
                   homolog_source=step.homolog_source, model=step.model, all_proteins=step.all_proteins).validate()
        Scoring(step.matrix, step.mode, float(-10.0 if step.open is None else step.open),
                float(-1.0 if step.extend is None else step.extend))
        if step.max_cells is not None:
            check_max_cells(step.max_cells)
    except ProtisoError as error:
        raise ProtisoError(f"{source}: [align] {error}") from None
    return step


def load_job(path: str | Path, warehouse: str | Path | None = None) -> Job:
    """Parse and check a job spec; ``warehouse`` overrides the spec's warehouse directory."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ProtisoError(f"{path}: no such job file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ProtisoError(f"{path}: not valid TOML: {error}") from None
    base = path.resolve().parent
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ProtisoError(f"{path}: unknown sections {sorted(unknown)}; known: {', '.join(SECTIONS)}")
    job_raw = _table(raw, "job", path)
    where = warehouse or job_raw.get("warehouse")
    if not where:
        raise ProtisoError(f"{path}: [job] needs `warehouse = \"DIR\"` (or pass --warehouse)")
    report_raw = _table(raw, "report", path)
    job = Job(
        name=job_raw.get("name", path.stem),
        warehouse=Path(where) if warehouse else _resolve(base, where),
        inputs=[_resolve(base, f) for f in _table(raw, "inputs", path).get("files", [])],
        embed=_embed_steps(raw, path, base),
        isotropy=_isotropy_step(_table(raw, "isotropy", path), path) if "isotropy" in raw else None,
        align=_align_step(_table(raw, "align", path), path) if "align" in raw else None,
        report=_resolve(base, report_raw["output"]) if "output" in report_raw else None,
        title=report_raw.get("title"),
    )
    _check_homolog_source(job, path)
    return job


def _check_homolog_source(job: Job, path: Path) -> None:
    """A homolog-enriched [align] step needs MMseqs2, or cross-references from UniProt .dat inputs (or an
    existing warehouse that may hold them): said before the first step, not after hours of embedding."""
    from protiso.align.homologs import MMSEQS_INSTALL, mmseqs_path

    step = job.align
    if step is None or _design(step) != "homolog-enriched" or mmseqs_path() is not None:
        return
    if step.homolog_source in ("mmseqs", "both"):
        raise ProtisoError(f"{path}: [align] homolog_source = {step.homolog_source!r} needs MMseqs2, and mmseqs is "
                           f"not on PATH ({MMSEQS_INSTALL})")
    dat_inputs = any(p.name.lower().endswith((".dat", ".dat.gz", ".txt", ".txt.gz")) for p in job.inputs)
    if not dat_inputs and not job.warehouse.exists():
        raise ProtisoError(f"{path}: [align] pairs = \"homolog-enriched\" needs MMseqs2 (mmseqs is not on PATH: "
                           f"{MMSEQS_INSTALL}) or UniProt .dat inputs with Pfam/InterPro cross-references")


@dataclass
class JobSummary:
    """One line per step that ran."""

    name: str
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join([f"job {self.name}:", *(f"  {line}" for line in self.lines)])


def run_job(job: Job, progress: bool = True) -> JobSummary:
    """Run every step of ``job`` in order: ingest, embed, post-process, isotropy, align, report.

    Everything that can fail without the warehouse is checked first: the input files, and every
    embedding step's model, weights and layers (loaded once, reused by the step).
    """
    from protiso.embedding import embed_proteins, ingest_check, prepare
    from protiso.warehouse import Warehouse

    missing = [str(p) for p in job.inputs if not p.exists()]
    if missing:
        raise ProtisoError(f"job {job.name}: input files not found: {', '.join(missing)}")
    prepared, failures = [], []
    for options in job.embed:  # every model is tried, so one run names every missing model or weights file
        try:
            prepared.append(prepare(options))
        except ProtisoError as error:
            failures.append(str(error))
    if failures:
        raise ProtisoError(f"job {job.name}: nothing was run; {len(failures)} embedding step(s) cannot start: "
                           + "; ".join(failures))
    _check_outputs(job)
    summary = JobSummary(job.name)
    with Warehouse.open_or_create(job.warehouse) as wh:
        if job.inputs:
            from protiso.sequences.ingest import ingest_files

            checks = [ingest_check(p) for p in prepared]
            result = ingest_files(wh, job.inputs, progress=progress,
                                  check=(lambda w: [check(w) for check in checks]) if checks else None)
            summary.lines.extend(result.render().splitlines())
        for step in prepared:
            result = embed_proteins(wh, step, progress=progress)
            control = "" if step.options.control == "none" else f" ({step.options.control} control)"
            summary.lines.append(
                f"embedded {result.proteins} proteins with {result.model}{control} "
                f"({result.residues_per_second:,.0f} residues/s on {result.device})"
            )
        if job.isotropy is not None:
            summary.lines.extend(_isotropy(wh, job.isotropy))
        if job.align is not None:
            from protiso.align.run import align

            step = job.align
            options: dict[str, Any] = {}
            if step.open is not None:
                options["open_score"] = step.open
            if step.extend is not None:
                options["extend_score"] = step.extend
            if step.max_cells is not None:
                options["max_cells"] = step.max_cells
            result = align(
                wh, fraction=step.fraction, proteins=step.proteins, pairs=_pairs(step)[0], seed=step.seed,
                design=_design(step), homolog_share=float(step.homolog_share), pair_count=step.pair_count,
                homolog_source=step.homolog_source, model=step.model, all_proteins=step.all_proteins,
                matrix=step.matrix, mode=step.mode, min_length=step.min_length, max_length=step.max_length,
                progress=progress, **options,
            )
            summary.lines.append(result.render().splitlines()[0])
        if job.report is not None:
            from protiso.report import render_report

            result = render_report(wh, job.report, title=job.title)
            summary.lines.append(f"wrote report {result.output}")
    return summary


def _check_outputs(job: Job) -> None:
    """Refuse, before the first step, every output path the job could not write: the report's file and the
    warehouse directory (or, for a new one, the folder it would be made in)."""
    if job.report is not None:
        folder = job.report.parent
        if job.report.is_dir():
            raise ProtisoError(f"job {job.name}: [report] output {job.report} is a directory; name a file")
        if not folder.exists():
            raise ProtisoError(f"job {job.name}: cannot write the report {job.report}: the folder {folder} does not "
                               "exist; create it first (nothing was run)")
        if not folder.is_dir():
            raise ProtisoError(f"job {job.name}: cannot write the report under {folder} (not a directory)")
        if not os.access(folder, os.W_OK | os.X_OK) or (job.report.exists() and not os.access(job.report, os.W_OK)):
            raise ProtisoError(f"job {job.name}: cannot write the report {job.report}: not writable by this user "
                               "(nothing was run)")
    existing = next((p for p in (job.warehouse, *job.warehouse.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ProtisoError(f"job {job.name}: cannot use the warehouse {job.warehouse}: {existing} is a file")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ProtisoError(f"job {job.name}: cannot write the warehouse {job.warehouse}: {existing} is not writable "
                           "by this user (nothing was run)")


def _isotropy(wh, step: IsotropyStep) -> list[str]:
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.jobs.postprocess import postprocess_embeddings

    lines = [postprocess_embeddings(wh, method).render().splitlines()[0] for method in step.postprocess]
    if step.by and step.bootstrap and not step.group_bootstrap:
        # Groups without CIs first; then the whole-set rows, newest, with their CIs.
        lines.append(compute_isotropy(wh, by=step.by, bootstrap=0, null_draws=step.null_draws).render().splitlines()[0])
        result = compute_isotropy(wh, by=[], bootstrap=step.bootstrap)
    else:
        result = compute_isotropy(wh, by=step.by, bootstrap=step.bootstrap, null_draws=step.null_draws)
    lines.append(result.render().splitlines()[0])
    return lines
