"""Declarative jobs: a TOML file (see ``ingest/*.toml``) names the steps of a whole analysis.

Each step is one library call; steps that a spec leaves out are skipped. Every step
records its own ``runs`` row, and every step is resumable (rerunning a job after a kill
finishes only what is missing), so a job can simply be run again.

Paths in a spec are relative to the spec file; ``protiso:`` paths point into protiso's
bundled data (``protiso/data``), so the demo job works from any directory.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protiso.errors import ProtisoError

log = logging.getLogger(__name__)

_DATA = Path(__file__).resolve().parent / "data"


@dataclass
class EmbedStep:
    model: str
    layers: list[int] | None = None
    residues: str = "none"
    device: str = "auto"
    length_policy: str = "truncate"
    weights: str | None = None
    skip_invalid: bool = False
    batch_tokens: int | None = None


@dataclass
class AlignStep:
    proteins: int | None = None
    fraction: float | None = None
    pairs: int | None = None
    seed: int = 0
    matrix: str = "PAM250"
    mode: str = "global"
    open: float | None = None
    extend: float | None = None
    min_length: int | None = None
    max_length: int | None = None


@dataclass
class IsotropyStep:
    by: list[str] = field(default_factory=list)
    bootstrap: int = 0
    group_bootstrap: bool = False  # bootstrap every group too (slow: one CI per GO term, bin, ...)
    postprocess: list[str] = field(default_factory=list)


@dataclass
class Job:
    """A parsed job spec."""

    name: str
    warehouse: Path
    inputs: list[Path]
    embed: list[EmbedStep] = field(default_factory=list)
    isotropy: IsotropyStep | None = None
    align: AlignStep | None = None
    report: Path | None = None
    title: str | None = None


def _resolve(base: Path, value: str) -> Path:
    if value.startswith("protiso:"):
        return _DATA / value.removeprefix("protiso:")
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _section(raw: dict[str, Any], name: str, cls: type, source: Path):
    try:
        return cls(**raw)
    except TypeError as error:
        raise ProtisoError(f"{source}: [{name}] {error}") from None


def load_job(path: str | Path, warehouse: str | Path | None = None) -> Job:
    """Parse a job spec; ``warehouse`` overrides the spec's warehouse directory."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProtisoError(f"{path}: no such job file") from None
    except tomllib.TOMLDecodeError as error:
        raise ProtisoError(f"{path}: not valid TOML: {error}") from None
    base = path.resolve().parent
    job_raw = raw.get("job", {})
    unknown = set(raw) - {"job", "inputs", "embed", "isotropy", "align", "report"}
    if unknown:
        raise ProtisoError(f"{path}: unknown sections {sorted(unknown)}")
    where = warehouse or job_raw.get("warehouse")
    if not where:
        raise ProtisoError(f"{path}: [job] needs `warehouse = \"DIR\"` (or pass --warehouse)")
    embed_raw = raw.get("embed", [])
    if isinstance(embed_raw, dict):
        embed_raw = [embed_raw]
    report_raw = raw.get("report", {})
    return Job(
        name=job_raw.get("name", path.stem),
        warehouse=Path(where) if warehouse else _resolve(base, where),
        inputs=[_resolve(base, f) for f in raw.get("inputs", {}).get("files", [])],
        embed=[_section(e, "embed", EmbedStep, path) for e in embed_raw],
        isotropy=_section(raw["isotropy"], "isotropy", IsotropyStep, path) if "isotropy" in raw else None,
        align=_section(raw["align"], "align", AlignStep, path) if "align" in raw else None,
        report=_resolve(base, report_raw["output"]) if "output" in report_raw else None,
        title=report_raw.get("title"),
    )


@dataclass
class JobSummary:
    """One line per step that ran."""

    name: str
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        return "\n".join([f"job {self.name}:", *(f"  {line}" for line in self.lines)])


def run_job(job: Job, progress: bool = True) -> JobSummary:
    """Run every step of ``job`` in order: ingest, embed, post-process, isotropy, align, report."""
    from protiso.warehouse import Warehouse

    missing = [str(p) for p in job.inputs if not p.exists()]
    if missing:
        raise ProtisoError(f"job {job.name}: input files not found: {', '.join(missing)}")
    summary = JobSummary(job.name)
    with Warehouse.open(job.warehouse, create=True) as wh:
        if job.inputs:
            from protiso.sequences.ingest import ingest_files

            result = ingest_files(wh, job.inputs, progress=progress)
            summary.lines.extend(result.render().splitlines())
        for step in job.embed:
            from protiso.embed import embed_proteins

            result = embed_proteins(
                wh, step.model, layers=step.layers, residues=step.residues, device=step.device,
                length_policy=step.length_policy, weights=step.weights, skip_invalid=step.skip_invalid,
                batch_tokens=step.batch_tokens, progress=progress,
            )
            summary.lines.append(
                f"embedded {result.proteins} proteins with {result.model} "
                f"({result.residues_per_second:,.0f} residues/s on {result.device})"
            )
        if job.isotropy is not None:
            from protiso.isotropy import compute_isotropy
            from protiso.postprocess import postprocess_embeddings

            for method in job.isotropy.postprocess:
                result = postprocess_embeddings(wh, method)
                summary.lines.append(result.render().splitlines()[0])
            step = job.isotropy
            if step.by and step.bootstrap and not step.group_bootstrap:
                # Groups without CIs first; then the whole-set rows, newest, with their CIs.
                result = compute_isotropy(wh, by=step.by, bootstrap=0)
                summary.lines.append(result.render().splitlines()[0])
                result = compute_isotropy(wh, by=[], bootstrap=step.bootstrap)
            else:
                result = compute_isotropy(wh, by=step.by, bootstrap=step.bootstrap)
            summary.lines.append(result.render().splitlines()[0])
        if job.align is not None:
            from protiso.align.run import align

            step = job.align
            options: dict[str, Any] = {}
            if step.open is not None:
                options["open_score"] = step.open
            if step.extend is not None:
                options["extend_score"] = step.extend
            result = align(
                wh, fraction=step.fraction, proteins=step.proteins, pairs=step.pairs, seed=step.seed,
                matrix=step.matrix, mode=step.mode, min_length=step.min_length, max_length=step.max_length,
                progress=progress, **options,
            )
            summary.lines.append(result.render().splitlines()[0])
        if job.report is not None:
            from protiso.report import render_report

            result = render_report(wh, job.report, title=job.title)
            summary.lines.append(f"wrote report {result.output}")
    return summary
