"""Fill the materialised ``isotropy`` table (library entry of ``protiso isotropy``).

Scopes: ``global`` (per-protein vectors per model, layer and embedding set, over all proteins with the
covariance spectrum in ``global_spectra``, and on request per organism, GO term or length bin) and
``local`` (every residue, from the merged float64 ``residue_stats``; grouped local rows from the stored
residue vectors). Each set is read once straight from its Parquet parts (``isotropy_read``, the reader of
``Warehouse.vectors``) into float64 statistics (``protiso.metrics.stream``); with ``--by`` or a bootstrap
the vectors are kept (RAM or memory-mapped) and every group is measured in one plan (``isotropy_groups``,
``protiso.metrics.grouped``). Rows are appended with a ``runs`` row, and each scanned set's
``embedding_stats`` are renewed. docs/architecture.md (module notes) has the details.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from protiso import progress
from protiso.errors import ProtisoError
from protiso.jobs.isotropy_groups import Scan, group_members, grouped_rows, scan_set
from protiso.jobs.isotropy_local import local_definition_rows
from protiso.jobs.isotropy_local_matched import local_matched_rows
from protiso.jobs.isotropy_matched import matched_rows
from protiso.jobs.isotropy_read import scan_embeddings
from protiso.jobs.isotropy_size import NullOptions, control_for_size, empty_null
from protiso.jobs.options import IsotropyOptions
from protiso.metrics import registry as metric_registry
from protiso.metrics.bootstrap import bootstrap_isoscore, bootstrap_isoscore_units
from protiso.metrics.registry import Sums
from protiso.metrics.spectra import spectrum_row
from protiso.metrics.stats import SufficientStats
from protiso.options import changed
from protiso.progress import shown
from protiso.warehouse import Warehouse, utcnow
from protiso.warehouse.embedding_stats import EmbeddingStats, staging

LOCAL_REPLICATES = 1000   # bootstrap over proteins of the per-protein local summaries (cheap: means)


@dataclass
class IsotropySummary:
    """What one ``compute_isotropy`` call wrote."""

    run_id: str
    rows: int
    skipped: list[str] = field(default_factory=list)
    overall: list[dict] = field(default_factory=list)  # the rows over all points (group_by = 'all')
    matched: list[dict] = field(default_factory=list)  # the rows over the matched proteins (group_by = 'matched')

    def render(self) -> str:
        lines = [f"isotropy run {self.run_id}: {self.rows} rows"]
        for row in self.overall:
            iso = "NULL" if row["isoscore"] is None else f"{row['isoscore']:.4f}"
            dims = "NULL" if row["effective_dims"] is None else f"{row['effective_dims']:.1f}"
            control = "" if row.get("control", "none") == "none" else f" control={row['control']}"
            lines.append(f"  {row['model']} layer {row['layer']} {row['embedding_set']}{control} {row['scope']}: "
                         f"n={row['n_points']:,} IsoScore={iso} effective dims={dims}")
        for row in self.matched:
            iso = "NULL" if row["isoscore"] is None else f"{row['isoscore']:.4f}"
            lines.append(f"  {row['model']} layer {row['layer']} {row['embedding_set']} on the proteins all "
                         f"{row['matched_sets']} compared {row['group_value']} share: n={row['n_points']:,} "
                         f"IsoScore={iso}")
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
    null_draws: int
    null_method: str
    strata: int
    workers: int | None


def _row(key: dict, stats, cosine, points: np.ndarray | None, opts: _Options, units: np.ndarray | None = None) -> dict:
    """An ``isotropy`` row; ``stats`` is SufficientStats or GroupMoments, ``cosine`` CosineStats,
    GroupMoments or None (no unit vectors: mean cosine NULL). ``units``: each point's protein, when points
    are residues (the interval then resamples proteins)."""
    ci = None
    if points is not None and opts.bootstrap > 0 and units is not None:
        ci = bootstrap_isoscore_units(points, units, opts.bootstrap, opts.seed, opts.level)
    elif points is not None and opts.bootstrap > 0 and key["group_by"] == "all":   # groups: their own bar
        with progress.bar(total=opts.bootstrap, desc=f"bootstrap {key['model']} layer {key['layer']}",
                          unit="replicate") as bar:
            ci = bootstrap_isoscore(points, opts.bootstrap, opts.seed, opts.level, progress=bar.update)
    elif points is not None and opts.bootstrap > 0:
        ci = bootstrap_isoscore(points, opts.bootstrap, opts.seed, opts.level)
    sums = Sums(stats, cosine, grouped=key["group_by"] not in ("all", "matched"))
    return {
        **key,
        "n_points": stats.n,
        "dim": stats.dim,
        **metric_registry.active().measure(sums, {"zeta": opts.zeta}),   # every metric column
        "isoscore_star_target": "whole set" if getattr(stats, "target", None) is not None else "scaled identity",
        "zeta": opts.zeta,
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
        members = dict(zip(groups.names, groups.members))
        owners = scan.accessions.to_numpy(zero_copy_only=False) if key["scope"] == "local" else None

        def make(value: str, moments, points: np.ndarray | None, grouping: str = grouping) -> dict:
            units = None if owners is None or points is None else owners[members[value]]
            return _row({**key, "group_by": grouping, "group_value": value}, moments, moments, points, opts, units)

        measured = grouped_rows(scan, groups, make, opts.budget, f"isotropy {label} by {grouping}", opts.bootstrap > 0)
        nulls = NullOptions(opts.null_draws, opts.seed, opts.level, opts.null_method, opts.strata, opts.workers)
        rows += control_for_size(scan, groups, measured, opts.min_points, nulls, _families(wh, grouping, groups.names),
                                 _unit_lengths(wh, scan) if opts.null_method == "length" else None,
                                 f"isotropy {label} by {grouping}")
    return rows


def _families(wh: Warehouse, grouping: str, names: list[str]) -> dict[str, tuple[str | None, bool]]:
    """group value -> (test family: GO namespace or None, is a root term), ``isotropy_group_families.sql``."""
    cursor = wh.con.cursor()
    try:
        cursor.register("protiso_group_names", pa.table({"group_value": pa.array(names, pa.string())}))
        found = cursor.sql(wh.sql_text("isotropy_group_families"), params={"group_by": grouping}).fetchall()
    finally:
        cursor.close()
    return {value: (namespace, bool(root)) for value, namespace, root in found}


def _unit_lengths(wh: Warehouse, scan: Scan) -> dict[str, int | None]:
    """accession -> sequence length of the proteins of a scan (``isotropy_unit_lengths.sql``)."""
    names = pc.unique(scan.accessions)
    cursor = wh.con.cursor()
    try:
        cursor.register("protiso_unit_names", pa.table({"accession": names}))
        return dict(cursor.sql(wh.sql_text("isotropy_unit_lengths")).fetchall())
    finally:
        cursor.close()


def _global_rows(wh: Warehouse, by: Sequence[str], models: list[str] | None, sets: list[str] | None,
                 opts: _Options, skipped: list[str], spectra: list[dict], scanned: EmbeddingStats,
                 controls: list[str] | None = None) -> list[dict]:
    found = wh.query(wh.sql_text("isotropy_sets"), {"models": models, "embedding_sets": sets,
                                                     "controls": controls}).to_pylist()
    seen: dict[tuple, str] = {}
    for item in found:
        key = (item["model"], item["layer"], item["embedding_set"], item["control"])
        if key in seen:
            raise ProtisoError(
                f"embeddings of {key[0]} layer {key[1]} ({key[2]}) have poolings {seen[key]!r} and "
                f"{item['pooling']!r}; the isotropy table has no pooling column, store one pooling per set"
            )
        seen[key] = item["pooling"]
    if not found:
        skipped.append("global: no embeddings match the selection")
    rows: list[dict] = []
    whole_rows: dict[tuple, dict] = {}
    for item in found:
        params = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
                  "pooling": item["pooling"], "control": item["control"]}
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
               "control": item["control"], "scope": "global"}
        control = "" if item["control"] == "none" else f", control {item['control']}"
        what = f"embeddings of {item['model']} layer {item['layer']} ({item['embedding_set']}{control})"
        label = f"{item['model']} layer {item['layer']} {item['embedding_set']}{control}"
        # Groups (--by) of a control's set only when --control names it: by default a control is compared
        # on its whole-set figures, and the size nulls of every GO term are not spent on it.
        set_by = by if item["control"] == "none" or item["control"] in (controls or ()) else []
        scan = scan_embeddings(wh, params, what, opts.budget,
                               keep=bool(set_by) or opts.bootstrap > 0, desc=f"isotropy {label}")
        try:
            if scan.stats is not None:
                scanned.set((item["model"], item["layer"], item["pooling"], item["embedding_set"], item["control"]),
                            scan.stats,
                            item["n"])
            if scan.stats is None or scan.stats.n < 2:
                continue
            whole = scan.stats.sufficient()
            rows.append(_row({**key, "group_by": "all", "group_value": "all"}, whole, scan.stats.cosine(),
                             scan.points, opts))
            whole_rows[(item["model"], item["layer"], item["embedding_set"], item["pooling"], item["control"])] = rows[-1]
            spectrum = spectrum_row(item["model"], item["layer"], whole, utcnow(),
                                    embedding_set=item["embedding_set"])
            if spectrum is not None:
                spectra.append({**spectrum, "control": item["control"]})
            rows += _grouped(wh, scan, key, set_by, opts, label)
        finally:
            scan.close()

    def measure(key: dict, scan: Scan) -> dict:
        return _row(key, scan.stats.sufficient(), scan.stats.cosine(), scan.points, opts)

    rows += matched_rows(wh, found, whole_rows, models, measure, opts.budget, keep=opts.bootstrap > 0)
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
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": "raw", "control": "none",
               "scope": "local", "group_by": "all", "group_value": "all"}
        if stats.n >= 2:
            rows.append(_row(key, stats, None, None, opts))
        spectrum = spectrum_row(item["model"], item["layer"], stats, utcnow())
        if spectrum is not None:
            spectra.append(spectrum)
    rows += local_matched_rows(wh, models, lambda key, scan: _row(
        key, scan.stats.sufficient(), scan.stats.cosine(), scan.points, opts,
        None if scan.accessions is None else scan.accessions.to_numpy(zero_copy_only=False)), opts.budget, opts.bootstrap > 0)
    if not by:
        return rows
    layers = wh.query(wh.sql_text("isotropy_residue_layers"), {"models": models}).to_pylist()
    if not layers:
        skipped.append("local grouped: no stored residue vectors (they are stored when embedding with --residues, "
                       f"e.g. protiso embed -w {wh.path} --model M --residues 0.01)")
    for item in layers:
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": "raw", "control": "none",
               "scope": "local"}
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

    close = [m for name in unknown for m in difflib.get_close_matches(name, known, n=1)]
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    have = f"the warehouse has vectors of {', '.join(known)}" if known else \
        f"the warehouse has no embeddings yet (protiso embed -w {wh.path} --model M)"
    raise ProtisoError(f"unknown model{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                       f"in --model{hint}; {have}")


def compute_isotropy(wh: Warehouse, options: IsotropyOptions | None = None, *, progress: bool = True,
                     **changes) -> IsotropySummary:
    """Measure isotropy and append rows to the ``isotropy`` table; returns what was written.

    ``options`` (``IsotropyOptions``, default: its defaults) with keyword ``changes`` to its fields
    (``compute_isotropy(wh, by=["go_term"])``). Grouped rows (``by``) cover real sets and the controls
    ``controls`` names, the local scope real sets only; a local null draw takes whole proteins. The local
    scope also writes ``local_isotropy`` (``protiso.jobs.isotropy_local``); groups get p- and q-values
    against their null (``protiso.jobs.isotropy_size``). ``progress``: bars on stderr when it is a terminal.
    """
    options = changed(IsotropyOptions, options, changes).check()
    with shown(progress):
        return _compute(wh, options)


def _compute(wh: Warehouse, options: IsotropyOptions) -> IsotropySummary:
    by, bootstrap, zeta, scopes, seed = list(options.by), options.bootstrap, options.zeta, options.scopes, options.seed
    level, min_points, memory_budget = options.level, options.min_points, options.memory_budget
    null_draws, null, strata = options.null_draws, options.null, options.strata
    sets = list(options.embedding_set) if options.embedding_set else None
    model_list = list(options.models) if options.models else None
    control_list = list(options.controls) if options.controls else None
    _check_models(wh, model_list)
    params = {"by": by, "bootstrap": bootstrap, "zeta": zeta, "models": model_list, "embedding_sets": sets,
              "scopes": list(scopes), "seed": seed, "level": level, "min_points": min_points,
              "memory_budget": memory_budget, "null_draws": null_draws, "null": null, "strata": strata,
              "workers": options.workers,
              "controls": control_list,
              "p_value": "two-sided empirical (1 + #{|draw - null_mean| >= |IsoScore - null_mean|}) / (1 + draws)",
              "q_value": "Benjamini-Hochberg within model, layer, set, scope, grouping and GO namespace; roots untested",
              "isoscore_star": "scale-free: (1 - zeta) C + zeta (tr C / dim) I; groups: + zeta C of the whole set",
              "matched": "global sets also measured on the proteins every layer of the model ('layers') and every "
                         "model of the set ('models') has: group_by 'matched', matched_sets, n_points = N",
              "size_control": "size_z against random groups of the same protein count from the same set",
              "min_points_counts": "proteins", "go_term_rule": "true-path (is_a, part_of; within a namespace)",
              "bootstrap_method": "percentile re-centred on the estimate; global: points (= proteins) if N <= 1000 "
                                  "else 16-64 blocks; local groups: whole proteins with their residues",
              "local_interval": "per-protein local summaries: percentile bootstrap over proteins of the mean; "
                                "pooled: over the proteins with stored residues, each replicate pooling their "
                                f"residues (blocks of proteins beyond 16-64); {LOCAL_REPLICATES} replicates, seed"}
    opts = _Options(zeta, bootstrap, seed, level, min_points, memory_budget, null_draws, null, strata, options.workers)
    skipped: list[str] = []
    with wh.run("isotropy", params) as run:
        rows: list[dict] = []
        spectra: list[dict] = []
        global_spectra: list[dict] = []
        scanned = EmbeddingStats()
        if "global" in scopes:
            rows += _global_rows(wh, by, model_list, sets, opts, skipped, global_spectra, scanned, control_list)
        if "local" in scopes and (control_list is None or "none" in control_list):
            rows += _local_rows(wh, by, model_list, sets, opts, skipped, spectra)
        wants_local = "local" in scopes and (sets is None or "raw" in sets) and (control_list is None
                                                                                or "none" in control_list)
        local = local_definition_rows(wh, model_list, utcnow(), LOCAL_REPLICATES, seed, level) if wants_local else []
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
    return IsotropySummary(run.id, len(rows), skipped, [r for r in rows if r["group_by"] == "all"],
                           [r for r in rows if r["group_by"] == "matched"])
