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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from protiso.align import homologs
from protiso.align.options import AlignOptions
from protiso.embedding.options import EmbedOptions
from protiso.errors import ProtisoError
from protiso.jobs.align import align_and_measure
from protiso.jobs.export_vectors import export_vectors
from protiso.jobs.isotropy import compute_isotropy
from protiso.jobs.options import ExportOptions, IsotropyOptions
from protiso.jobs.postprocess import postprocess_embeddings
from protiso.metrics.postprocess import METHODS
from protiso.options import from_table
from protiso.report.document import render_report
from protiso.report.options import ReportOptions
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

_DATA = Path(__file__).resolve().parent.parent / "data"
SECTIONS = ("job", "inputs", "embed", "isotropy", "align", "export", "report")
# The keys of [job] and [inputs], and the [isotropy] keys that are steps of the job rather than options of
# the isotropy run; every other table is read by its options object (options.from_table).
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "job": {"name": (str,), "warehouse": (str,)},
    "inputs": {"files": (list,)},
    "isotropy": {"group_bootstrap": (bool,), "postprocess": (list,)},
}
ALIGN_KEYS = {"open": "open_score", "extend": "extend_score"}  # [align] key -> AlignOptions field


@dataclass
class IsotropyStep:
    """An [isotropy] table: post-processing first, then the isotropy run."""

    options: IsotropyOptions
    postprocess: list[str] = field(default_factory=list)
    group_bootstrap: bool = False  # bootstrap every group too (slow: one CI per GO term, bin, ...)


@dataclass
class Job:
    """A parsed, checked job spec."""

    name: str
    warehouse: Path
    inputs: list[Path]
    embed: list[EmbedOptions] = field(default_factory=list)
    isotropy: IsotropyStep | None = None
    align: AlignOptions | None = None
    export: list[ExportOptions] = field(default_factory=list)
    report: ReportOptions | None = None


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
    return _checked(values, known, name, source)


def _checked(values: dict[str, Any], known: dict[str, tuple[type, ...]], name: str, source: Path) -> dict[str, Any]:
    for key, value in values.items():
        if not isinstance(value, known[key]) or (isinstance(value, bool) and bool not in known[key]):
            kinds = " or ".join(t.__name__ for t in known[key])
            raise ProtisoError(f"{source}: [{name}] {key} must be {kinds}; got {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise ProtisoError(f"{source}: [{name}] {key} must be a list of strings; got {value!r}")
    return values


def _tables(raw: dict[str, Any], key: str, source: Path) -> list[dict[str, Any]]:
    """The ``[[key]]`` tables of a spec (one ``[key]`` table counts as a list of one)."""
    steps = raw.get(key, [])
    if isinstance(steps, dict):
        steps = [steps]
    if not isinstance(steps, list) or not all(isinstance(step, dict) for step in steps):
        raise ProtisoError(f"{source}: [[{key}]] must be tables")
    return steps


def _embed_steps(raw: dict[str, Any], source: Path, base: Path) -> list[EmbedOptions]:
    steps = _tables(raw, "embed", source)
    out = []
    for step in steps:
        step = _paths(step, ("weights", "accessions"), base)
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


def _isotropy_step(raw: dict[str, Any], source: Path) -> IsotropyStep:
    values = raw.get("isotropy", {})
    if not isinstance(values, dict):
        raise ProtisoError(f"{source}: [isotropy] must be a table")
    steps = {key: value for key, value in values.items() if key in _KEYS["isotropy"]}
    _checked(steps, _KEYS["isotropy"], "isotropy", source)
    where = f"{source}: [isotropy]"
    options = _checked_options(IsotropyOptions, {k: v for k, v in values.items() if k not in steps}, where,
                               extra=_KEYS["isotropy"])
    step = IsotropyStep(options, **steps)
    for method in step.postprocess:
        if method not in METHODS:
            raise ProtisoError(f"{where} unknown postprocess method {method!r}; choose from {', '.join(METHODS)}")
    return step


def _checked_options(cls: type, values: dict[str, Any], where: str, aliases: dict[str, str] | None = None,
                     extra: dict[str, Any] | None = None):
    """``cls`` from a table, checked; every error one line naming the table (``extra``: its other keys)."""
    try:
        return from_table(cls, values, where, aliases, extra=tuple(extra or ())).check()
    except ProtisoError as error:
        message = str(error)
        raise ProtisoError(message if message.startswith(where) else f"{where} {message}") from None


def _align_step(raw: dict[str, Any], source: Path) -> AlignOptions:
    values = raw.get("align", {})
    if not isinstance(values, dict):
        raise ProtisoError(f"{source}: [align] must be a table")
    where = f"{source}: [align]"
    if isinstance(values.get("pairs"), str):
        try:
            values = {**{k: v for k, v in values.items() if k != "pairs"}, **AlignOptions.pairs_option(values["pairs"])}
        except ProtisoError as error:
            raise ProtisoError(f"{where} {error}") from None
    return _checked_options(AlignOptions, values, where, ALIGN_KEYS)


def _paths(values: dict[str, Any], keys: tuple[str, ...], base: Path) -> dict[str, Any]:
    """``values`` with the file paths among ``keys`` relative to the spec file, like every path in it."""
    return {**values, **{key: str(_resolve(base, values[key])) for key in keys if isinstance(values.get(key), str)}}


def _export_steps(raw: dict[str, Any], source: Path, base: Path) -> list[ExportOptions]:
    return [_checked_options(ExportOptions, _paths(step, ("output",), base), f"{source}: [export]")
            for step in _tables(raw, "export", source)]


def _report_step(raw: dict[str, Any], source: Path, base: Path) -> ReportOptions | None:
    values = raw.get("report", {})
    if not isinstance(values, dict):
        raise ProtisoError(f"{source}: [report] must be a table")
    if "output" not in values:
        _checked_options(ReportOptions, {"output": "report.html", **values}, f"{source}: [report]")  # keys checked
        return None
    return _checked_options(ReportOptions, _paths(values, ("output", "figures"), base), f"{source}: [report]")


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
    job = Job(
        name=job_raw.get("name", path.stem),
        warehouse=Path(where) if warehouse else _resolve(base, where),
        inputs=[_resolve(base, f) for f in _table(raw, "inputs", path).get("files", [])],
        embed=_embed_steps(raw, path, base),
        isotropy=_isotropy_step(raw, path) if "isotropy" in raw else None,
        align=_align_step(raw, path) if "align" in raw else None,
        export=_export_steps(raw, path, base),
        report=_report_step(raw, path, base),
    )
    _check_homolog_source(job, path)
    return job


def _check_homolog_source(job: Job, path: Path) -> None:
    """A homolog-enriched [align] step needs MMseqs2, or cross-references from UniProt .dat inputs (or an
    existing warehouse that may hold them): said before the first step, not after hours of embedding."""
    step = job.align
    if step is None or step.design != "homolog-enriched" or homologs.mmseqs_path() is not None:
        return
    if step.homolog_source in ("mmseqs", "both"):
        raise ProtisoError(f"{path}: [align] homolog_source = {step.homolog_source!r} needs MMseqs2, and mmseqs is "
                           f"not on PATH ({homologs.MMSEQS_INSTALL})")
    dat_inputs = any(p.name.lower().endswith((".dat", ".dat.gz", ".txt", ".txt.gz")) for p in job.inputs)
    if not dat_inputs and not job.warehouse.exists():
        raise ProtisoError(f"{path}: [align] pairs = \"homolog-enriched\" needs MMseqs2 (mmseqs is not on PATH: "
                           f"{homologs.MMSEQS_INSTALL}) or UniProt .dat inputs with Pfam/InterPro cross-references")


@dataclass
class JobSummary:
    """One line per step that ran."""

    name: str
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join([f"job {self.name}:", *(f"  {line}" for line in self.lines)])


def run_job(job: Job, progress: bool = True) -> JobSummary:
    """Run every step of ``job`` in order: ingest, embed, post-process, isotropy, align, export, report.

    Everything that can fail without the warehouse is checked first: the input files, and every
    embedding step's model, weights and layers (loaded once, reused by the step).
    """
    from protiso.embedding import (  # lazy: loads torch/scipy, which protiso --help must not
        embed_proteins,
        ingest_check,
        prepare,
    )

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
            summary.lines.extend(_isotropy(wh, job.isotropy, progress))
        if job.align is not None:
            result = align_and_measure(wh, job.align, progress=progress)
            summary.lines.append(result.render().splitlines()[0])
        for options in job.export:
            summary.lines.append(export_vectors(wh, options).render().splitlines()[0])
        if job.report is not None:
            result = render_report(wh, job.report, progress=progress)
            summary.lines.append(f"wrote report {result.output}")
    return summary


def _check_outputs(job: Job) -> None:
    """Refuse, before the first step, every output path the job could not write: the report's file, exports
    that exist (without force) and the warehouse directory (or, for a new one, the folder it would be made in)."""
    if job.report is not None:
        report = job.report.output
        folder = report.parent
        if report.is_dir():
            raise ProtisoError(f"job {job.name}: [report] output {report} is a directory; name a file")
        if not folder.exists():
            raise ProtisoError(f"job {job.name}: cannot write the report {report}: the folder {folder} does not "
                               "exist; create it first (nothing was run)")
        if not folder.is_dir():
            raise ProtisoError(f"job {job.name}: cannot write the report under {folder} (not a directory)")
        if not os.access(folder, os.W_OK | os.X_OK) or (report.exists() and not os.access(report, os.W_OK)):
            raise ProtisoError(f"job {job.name}: cannot write the report {report}: not writable by this user "
                               "(nothing was run)")
    for options in job.export:
        if not options.force and (options.output.exists() or options.output.is_symlink()):
            raise ProtisoError(f"job {job.name}: [export] {options.output} exists; set force = true to replace it "
                               "(nothing was run)")
    existing = next((p for p in (job.warehouse, *job.warehouse.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ProtisoError(f"job {job.name}: cannot use the warehouse {job.warehouse}: {existing} is a file")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ProtisoError(f"job {job.name}: cannot write the warehouse {job.warehouse}: {existing} is not writable "
                           "by this user (nothing was run)")


def _isotropy(wh, step: IsotropyStep, progress: bool) -> list[str]:
    lines = [postprocess_embeddings(wh, method).render().splitlines()[0] for method in step.postprocess]
    options = step.options
    if options.by and options.bootstrap and not step.group_bootstrap:
        # Groups without CIs first; then the whole-set rows, newest, with their CIs.
        lines.append(compute_isotropy(wh, options, bootstrap=0, progress=progress).render().splitlines()[0])
        options = replace(options, by=())
    lines.append(compute_isotropy(wh, options, progress=progress).render().splitlines()[0])
    return lines
