"""The ``local_isotropy`` rows of ``protiso isotropy``: local isotropy under both definitions.

Per model and layer with residue data: ``pooled`` (all residues in one cloud; IsoScore and effective dims
from the merged float64 residue statistics) and ``per_protein`` (each protein's own cloud; IsoScore from
``embeddings.local_isoscore``, summarised by ``isotropy_local_per_protein.sql``). Both mean cosines come
from one streamed scan of the stored residues ordered by protein (``protiso.metrics.local_cosine``);
``cosine_proteins`` / ``cosine_points`` say how much was stored. Both rows get 95 % intervals over
proteins (``ci_method``, ``ci_replicates``, ``ci_seed``): per-protein rows a seeded percentile bootstrap of
the mean, the pooled row one of the pooled IsoScore over the proteins with stored residues, each replicate
pooling the residues of the proteins it draws (``protiso.metrics.pooled_bootstrap``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protiso.metrics.bootstrap import bootstrap_mean
from protiso.metrics.local_cosine import LocalCosine
from protiso.metrics.pooled_bootstrap import PooledUnits, bootstrap_pooled
from protiso.metrics.stats import SufficientStats
from protiso.warehouse.vectors import stack_vectors

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

BATCH_ROWS = 8192


def _cosines(wh: Warehouse, model: str, layer: int) -> tuple[LocalCosine | None, PooledUnits | None]:
    """Both mean cosines and the pooled bootstrap's per-protein sums, from one scan of the stored residues."""
    found: LocalCosine | None = None
    pool: PooledUnits | None = None
    cursor = wh.con.cursor()
    try:
        reader = cursor.sql(wh.sql_text("isotropy_residue_units"), params={"model": model, "layer": layer}) \
            .to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            points, kept = stack_vectors(batch.column("vector"), f"residues of {model} layer {layer}")
            if points is None:
                continue
            if found is None:
                found, pool = LocalCosine(points.shape[1]), PooledUnits(points.shape[1])
            names = batch.column("accession").to_numpy(zero_copy_only=False)[kept]
            found.add(names, points)
            pool.add(names, points)
    finally:
        cursor.close()
    return (None, None) if found is None else (found.finish(), pool)


def _dims(iso: float | None, dim: int, scale_only: bool = False) -> float | None:
    if iso is None:
        return None
    return iso * (dim - 1) if scale_only else iso * (dim - 1) + 1


def _interval(values, replicates: int, seed: int, level: float, prefix: str) -> dict:
    found = bootstrap_mean(values, replicates, seed, level) if values is not None else None
    low, high = found if found is not None else (None, None)
    return {f"{prefix}_ci_low": low, f"{prefix}_ci_high": high}


def local_definition_rows(wh: Warehouse, models: list[str] | None, now, replicates: int = 1000, seed: int = 0,
                          level: float = 0.95) -> list[dict]:
    """Rows of ``local_isotropy`` for every model and layer with residue statistics or local IsoScores."""
    pooled = {(r["model"], r["layer"]): r for r in
              wh.query(wh.sql_text("isotropy_local_stats"), {"models": models}).to_pylist()}
    per_protein = {(r["model"], r["layer"]): r for r in
                   wh.query(wh.sql_text("isotropy_local_per_protein"), {"models": models}).to_pylist()}
    values = {(r["model"], r["layer"]): r["values"] for r in
              wh.query(wh.sql_text("isotropy_local_per_protein_values"), {"models": models}).to_pylist()}
    none = {"isoscore_ci_low": None, "isoscore_ci_high": None, "mean_cosine_ci_low": None,
            "mean_cosine_ci_high": None, "ci_method": None, "ci_replicates": None, "ci_seed": None}
    rows = []
    for key in sorted(set(pooled) | set(per_protein)):
        model, layer = key
        cos, pool = _cosines(wh, model, layer)
        cosine = {"cosine_proteins": cos.proteins if cos else None, "cosine_points": cos.n_points if cos else None}
        if key in pooled:
            item = pooled[key]
            stats = SufficientStats.from_flat(item["n"], item["dim"], item["sum_x"], item["sum_xxt"])
            rows.append({"model": model, "layer": layer, "definition": "pooled", "n_proteins": None,
                         "n_points": stats.n, "dim": stats.dim, "isoscore": stats.isoscore(), "isoscore_sd": None,
                         "isoscore_q1": None, "isoscore_median": None, "isoscore_q3": None,
                         "effective_dims": stats.effective_dims(), "effective_dims_sd": None,
                         "effective_dims_q1": None, "effective_dims_median": None, "effective_dims_q3": None,
                         "mean_cosine": cos.pooled_mean() if cos else None, "mean_cosine_sd": None,
                         **cosine, "computed_at": now, **none})
            found = bootstrap_pooled(pool, stats.isoscore(), replicates, seed, level) if pool else None
            if found is not None:
                rows[-1].update(isoscore_ci_low=found[0], isoscore_ci_high=found[1], ci_replicates=replicates,
                                ci_seed=seed, ci_method="percentile bootstrap over the proteins with stored residues "
                                                        "(each replicate pools their residues), centred on the estimate")
        if key in per_protein:
            item = per_protein[key]
            dim = item["dim"]
            rows.append({"model": model, "layer": layer, "definition": "per_protein",
                         "n_proteins": item["n_proteins"], "n_points": item["n_points"], "dim": dim,
                         **{f"isoscore{s}": item[f"isoscore{s}"] for s in ("", "_sd", "_q1", "_median", "_q3")},
                         "effective_dims": _dims(item["isoscore"], dim),
                         "effective_dims_sd": _dims(item["isoscore_sd"], dim, scale_only=True),
                         "effective_dims_q1": _dims(item["isoscore_q1"], dim),
                         "effective_dims_median": _dims(item["isoscore_median"], dim),
                         "effective_dims_q3": _dims(item["isoscore_q3"], dim),
                         "mean_cosine": cos.per_protein_mean() if cos else None,
                         "mean_cosine_sd": cos.per_protein_sd() if cos else None,
                         "cosine_proteins": len(cos.per_protein) if cos else None,
                         "cosine_points": cosine["cosine_points"], "computed_at": now,
                         **_interval(values.get(key), replicates, seed, level, "isoscore"),
                         **_interval(cos.per_protein if cos else None, replicates, seed, level, "mean_cosine"),
                         "ci_method": "percentile bootstrap over proteins of the mean", "ci_replicates": replicates,
                         "ci_seed": seed})
    return rows
