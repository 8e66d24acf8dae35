"""Fill the materialised ``isotropy`` table (library entry of ``protiso isotropy``).

Scopes:

* ``global``: the per-protein vectors in ``embeddings``, per model, layer and embedding set
  (raw and any post-processed set), over all proteins (``group_by = 'all'``, with the covariance
  spectrum stored in ``global_spectra``) and, on request, per organism, GO term (true-path rule) or
  length bin (``sql/macros/protein_groups.sql``).
* ``local``: every residue vector. Over all residues it comes from the float64 sufficient statistics
  the embedding stage accumulated (``residue_stats``, merged over runs), so it covers every residue
  however many there are; mean cosine is NULL there (the statistics do not hold unit vectors).
  Grouped local rows use the stored ``residues`` vectors (all or a seeded sample, as ingested).

Each set is scanned once: its vectors are read straight from the catalogued Parquet parts into float32
blocks (``protiso.jobs.isotropy_read``, the reader of ``Warehouse.vectors``) and folded into float64
whole-set statistics (``protiso.metrics.stream``), never materialised as ``list(embedding)``. With
``--by`` or a bootstrap the scan also keeps the vectors (float32 as stored; in RAM up to half the
memory budget, else memory-mapped) and every group of every grouping is measured in one plan
(``protiso.jobs.isotropy_groups``, ``protiso.metrics.grouped``: dim x dim statistics only along the
plan's path, Gram form for groups smaller than dim). Rows are appended (the table keeps history;
readers take the newest row per key) together with a ``runs`` row holding every parameter and, for
each set scanned, its ``embedding_stats`` rows replaced by one row of the scan's statistics (how a
warehouse made before migration 0006 gets them; ``embedding_stats_isotropy()`` in plain SQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from protiso import progress
from protiso.errors import ProtisoError
from protiso.jobs.budget import (
    DEFAULT_MEMORY_BUDGET,
    MINIMUM_MEMORY_BUDGET,
    format_bytes,
)
from protiso.jobs.isotropy_groups import Scan, group_members, grouped_rows, scan_set
from protiso.jobs.isotropy_local import local_definition_rows
from protiso.jobs.isotropy_read import scan_embeddings
from protiso.jobs.isotropy_size import control_for_size, empty_null
from protiso.metrics.bootstrap import bootstrap_isoscore
from protiso.metrics.isotropy import check_shrinkage
from protiso.metrics.spectra import spectrum_row
from protiso.metrics.stats import SufficientStats
from protiso.progress import shown
from protiso.warehouse import Warehouse, utcnow
from protiso.warehouse.embedding_stats import EmbeddingStats, staging

GROUPINGS = ("organism", "go_term", "length_bin")
SCOPES = ("global", "local")
DEFAULT_ZETA = 0.2


@dataclass
class IsotropySummary:
    """What one ``compute_isotropy`` call wrote."""

    run_id: str
    rows: int
    skipped: list[str] = field(default_factory=list)
    overall: list[dict] = field(default_factory=list)  # the rows over all points (group_by = 'all')

    def render(self) -> str:
        lines = [f"isotropy run {self.run_id}: {self.rows} rows"]
        for row in self.overall:
            iso = "NULL" if row["isoscore"] is None else f"{row['isoscore']:.4f}"
            dims = "NULL" if row["effective_dims"] is None else f"{row['effective_dims']:.1f}"
            lines.append(f"  {row['model']} layer {row['layer']} {row['embedding_set']} {row['scope']}: "
                         f"n={row['n_points']:,} IsoScore={iso} effective dims={dims}")
        lines += [f"  skipped {line}" for line in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Options:
    zeta: float
    bootstrap: int
    seed: int
    level: float
    min_points: int
    budget: int
    null_draws: int = 0


def _row(key: dict, stats, cosine, points: np.ndarray | None, opts: _Options) -> dict:
    """An ``isotropy`` row; ``stats`` is SufficientStats or GroupMoments, ``cosine`` CosineStats,
    GroupMoments or None (no unit vectors: mean cosine NULL)."""
    ci = None
    if points is not None and opts.bootstrap > 0 and key["group_by"] == "all":   # groups: their own bar
        with progress.bar(total=opts.bootstrap, desc=f"bootstrap {key['model']} layer {key['layer']}",
                          unit="replicate") as bar:
            ci = bootstrap_isoscore(points, opts.bootstrap, opts.seed, opts.level, progress=bar.update)
    elif points is not None and opts.bootstrap > 0:
        ci = bootstrap_isoscore(points, opts.bootstrap, opts.seed, opts.level)
    return {
        **key,
        "n_points": stats.n,
        "dim": stats.dim,
        "isoscore": stats.isoscore(),
        "isoscore_star": stats.isoscore_star(opts.zeta),
        "zeta": opts.zeta,
        "effective_dims": stats.effective_dims(),
        "effective_dims_rounded": stats.effective_dims_rounded(),
        "mean_cosine": None if cosine is None else cosine.mean_cosine(),
        "isoscore_ci_low": None if ci is None else ci.low,
        "isoscore_ci_high": None if ci is None else ci.high,
        "bootstrap": None if ci is None else opts.bootstrap,
        "computed_at": utcnow(),
        **empty_null(),
    }


def _grouped(wh: Warehouse, scan: Scan, key: dict, by: Sequence[str], opts: _Options, label: str) -> list[dict]:
    rows: list[dict] = []
    for grouping in by:
        groups = group_members(wh, scan.accessions, grouping, opts.min_points)

        def make(value: str, moments, points: np.ndarray | None, grouping: str = grouping) -> dict:
            return _row({**key, "group_by": grouping, "group_value": value}, moments, moments, points, opts)

        measured = grouped_rows(scan, groups, make, opts.budget, f"isotropy {label} by {grouping}", opts.bootstrap > 0)
        rows += control_for_size(scan, groups, measured, opts.min_points, opts.null_draws, opts.seed, opts.level,
                                 f"isotropy {label} by {grouping}")
    return rows


def _global_rows(wh: Warehouse, by: Sequence[str], models: list[str] | None, sets: list[str] | None,
                 opts: _Options, skipped: list[str], spectra: list[dict], scanned: EmbeddingStats) -> list[dict]:
    found = wh.query(wh.sql_text("isotropy_sets"), {"models": models, "embedding_sets": sets}).to_pylist()
    seen: dict[tuple, str] = {}
    for item in found:
        key = (item["model"], item["layer"], item["embedding_set"])
        if key in seen:
            raise ProtisoError(
                f"embeddings of {key[0]} layer {key[1]} ({key[2]}) have poolings {seen[key]!r} and "
                f"{item['pooling']!r}; the isotropy table has no pooling column, store one pooling per set"
            )
        seen[key] = item["pooling"]
    if not found:
        skipped.append("global: no embeddings match the selection")
    rows: list[dict] = []
    for item in found:
        params = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
                  "pooling": item["pooling"]}
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
               "scope": "global"}
        what = f"embeddings of {item['model']} layer {item['layer']} ({item['embedding_set']})"
        label = f"{item['model']} layer {item['layer']} {item['embedding_set']}"
        scan = scan_embeddings(wh, params, what, opts.budget,
                               keep=bool(by) or opts.bootstrap > 0, desc=f"isotropy {label}")
        try:
            if scan.stats is not None:
                scanned.set((item["model"], item["layer"], item["pooling"], item["embedding_set"]), scan.stats,
                            item["n"])
            if scan.stats is None or scan.stats.n < 2:
                continue
            whole = scan.stats.sufficient()
            rows.append(_row({**key, "group_by": "all", "group_value": "all"}, whole, scan.stats.cosine(),
                             scan.points, opts))
            spectrum = spectrum_row(item["model"], item["layer"], whole, utcnow(),
                                    embedding_set=item["embedding_set"])
            if spectrum is not None:
                spectra.append(spectrum)
            rows += _grouped(wh, scan, key, by, opts, label)
        finally:
            scan.close()
    return rows


def _local_rows(wh: Warehouse, by: Sequence[str], models: list[str] | None, sets: list[str] | None,
                opts: _Options, skipped: list[str], spectra: list[dict]) -> list[dict]:
    if sets is not None and "raw" not in sets:
        return []  # residue statistics exist for raw embeddings only
    rows: list[dict] = []
    merged = wh.query(wh.sql_text("isotropy_local_stats"), {"models": models}).to_pylist()
    if not merged:
        skipped.append("local: no residue_stats (embed with residue statistics first)")
    for item in merged:
        stats = SufficientStats.from_flat(item["n"], item["dim"], item["sum_x"], item["sum_xxt"])
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": "raw", "scope": "local",
               "group_by": "all", "group_value": "all"}
        if stats.n >= 2:
            rows.append(_row(key, stats, None, None, opts))
        spectrum = spectrum_row(item["model"], item["layer"], stats, utcnow())
        if spectrum is not None:
            spectra.append(spectrum)
    if not by:
        return rows
    layers = wh.query(wh.sql_text("isotropy_residue_layers"), {"models": models}).to_pylist()
    if not layers:
        skipped.append("local grouped: no stored residue vectors (ingest with --residues)")
    for item in layers:
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": "raw", "scope": "local"}
        label = f"{item['model']} layer {item['layer']} residues"
        scan = scan_set(wh, wh.sql_text("isotropy_residues"), {"model": item["model"], "layer": item["layer"]},
                        f"residues of {item['model']} layer {item['layer']}", item["n"], opts.budget, keep=True,
                        desc=f"isotropy {label}")
        try:
            if scan.stats is not None:
                rows += _grouped(wh, scan, key, by, opts, label)
        finally:
            scan.close()
    return rows


def _check_models(wh: Warehouse, models: list[str] | None) -> None:
    """Every name in ``models`` must have stored vectors; else a one-line error naming the known models."""
    if not models:
        return
    known = [row[0] for row in wh.con.execute(wh.sql_text("isotropy_models")).fetchall()]
    unknown = [name for name in models if name not in known]
    if not unknown:
        return
    import difflib

    close = [m for name in unknown for m in difflib.get_close_matches(name, known, n=1)]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    have = f"the warehouse has vectors of {', '.join(known)}" if known else \
        "the warehouse has no embeddings yet (protiso ingest FILE --model M)"
    raise ProtisoError(f"unknown model{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                       f"in --models{hint}; {have}")


def compute_isotropy(wh: Warehouse, by: Sequence[str] = (), bootstrap: int = 0, zeta: float = DEFAULT_ZETA,
                     models: Sequence[str] | None = None, embedding_set: Sequence[str] | str | None = None,
                     scopes: Sequence[str] = SCOPES, seed: int = 0, level: float = 0.95,
                     min_points: int = 10, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                     null_draws: int = 30, progress: bool = True) -> IsotropySummary:
    """Measure isotropy and append rows to the ``isotropy`` table; returns what was written.

    ``by``: extra groupings (organism | go_term | length_bin) besides the row over all points.
    ``bootstrap``: replicates for a seeded percentile CI of IsoScore (0 = none; global and grouped
    local rows only). ``zeta``: IsoScore* shrinkage towards the identity. ``models`` /
    ``embedding_set``: restrict to these (None = all). ``min_points``: smallest group reported (grouped
    rows; the row over all points needs 2). ``memory_budget``: bytes protiso may hold at once
    (``protiso.jobs.budget``; DuckDB's buffers come on top). ``null_draws``: random groups of each
    group's protein count drawn for the size-corrected ``size_z`` of every group (``protiso.metrics.size_null``;
    0 = none; a local draw takes whole proteins with all their residues); ``min_points`` counts a group's
    proteins. The local scope also writes ``local_isotropy``
    (pooled and per-protein definitions, ``protiso.jobs.isotropy_local``). ``progress``: bars on stderr
    (scans, groups, null draws, bootstrap) when it is a terminal.
    """
    with shown(progress):
        return _compute(wh, by, bootstrap, zeta, models, embedding_set, scopes, seed, level, min_points,
                        memory_budget, null_draws)


def _compute(wh: Warehouse, by: Sequence[str], bootstrap: int, zeta: float, models: Sequence[str] | None,
             embedding_set: Sequence[str] | str | None, scopes: Sequence[str], seed: int, level: float,
             min_points: int, memory_budget: int, null_draws: int) -> IsotropySummary:
    by = list(dict.fromkeys(by))
    for grouping in by:
        if grouping not in GROUPINGS:
            raise ProtisoError(f"unknown grouping {grouping!r}; choose from {', '.join(GROUPINGS)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise ProtisoError(f"unknown scope {scope!r}; choose from {', '.join(SCOPES)}")
    if bootstrap < 0:
        raise ProtisoError(f"--bootstrap must be >= 0, got {bootstrap}")
    if null_draws < 0:
        raise ProtisoError(f"--null-draws must be >= 0, got {null_draws}")
    if min_points < 2:
        raise ProtisoError(f"--min-points must be >= 2, got {min_points}")
    check_shrinkage(zeta, 1, None)
    if memory_budget < MINIMUM_MEMORY_BUDGET:
        raise ProtisoError(f"--memory-budget must be at least {format_bytes(MINIMUM_MEMORY_BUDGET)}")
    sets = [embedding_set] if isinstance(embedding_set, str) else (list(embedding_set) if embedding_set else None)
    model_list = list(models) if models else None
    _check_models(wh, model_list)
    params = {"by": by, "bootstrap": bootstrap, "zeta": zeta, "models": model_list, "embedding_sets": sets,
              "scopes": list(scopes), "seed": seed, "level": level, "min_points": min_points,
              "memory_budget": memory_budget, "null_draws": null_draws,
              "size_control": "size_z against random groups of the same protein count from the same set",
              "min_points_counts": "proteins", "go_term_rule": "true-path (is_a, part_of; within a namespace)",
              "bootstrap_method": "percentile re-centred on the estimate; points if N <= 1000 else 16-64 blocks"}
    opts = _Options(zeta, bootstrap, seed, level, min_points, memory_budget, null_draws)
    skipped: list[str] = []
    with wh.run("isotropy", params) as run:
        rows: list[dict] = []
        spectra: list[dict] = []
        global_spectra: list[dict] = []
        scanned = EmbeddingStats()
        if "global" in scopes:
            rows += _global_rows(wh, by, model_list, sets, opts, skipped, global_spectra, scanned)
        if "local" in scopes:
            rows += _local_rows(wh, by, model_list, sets, opts, skipped, spectra)
        wants_local = "local" in scopes and (sets is None or "raw" in sets)
        local = local_definition_rows(wh, model_list, utcnow()) if wants_local else []
        if local:
            wh.con.register("protiso_local_isotropy_rows", pa.Table.from_pylist(local))
        if rows:
            wh.con.register("protiso_isotropy_rows", pa.Table.from_pylist(rows))
        try:
            with staging(wh), run.commit() as tx:
                scanned.stage(wh, tx, run.id, replace=True)
                if rows:
                    tx.execute(wh.sql_text("isotropy_insert"), {"run_id": run.id})
                for row in spectra:
                    tx.execute(wh.sql_text("isotropy_insert_spectrum"), {**row, "run_id": run.id})
                for row in global_spectra:
                    tx.execute(wh.sql_text("isotropy_insert_global_spectrum"), {**row, "run_id": run.id})
                if local:
                    tx.execute(wh.sql_text("isotropy_insert_local"), {"run_id": run.id})
        finally:
            if rows:
                wh.con.unregister("protiso_isotropy_rows")
            if local:
                wh.con.unregister("protiso_local_isotropy_rows")
        run.params.update(rows=len(rows), skipped=skipped)
    return IsotropySummary(run.id, len(rows), skipped, [r for r in rows if r["group_by"] == "all"])
