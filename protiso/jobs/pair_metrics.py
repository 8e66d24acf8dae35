"""Materialise ``pair_metrics``: embedding cosine / squared distance per aligned pair, with ranks.

Computing 512-d cosines for 6.4 M pairs inside a DuckDB view takes minutes (measured 390 s on 2
cores), so protiso computes them once per (alignment run, embedding set) in float64 from a blocked
matrix product over the proteins involved (``protiso.metrics.pairs.blocked_pair_distances``: 3,580
proteins x 1024 is one 3,580 x 3,580 Gram matrix, not 6.4 M gathered pairs; blocks sized by the memory
budget, progress on stderr) and stores them as Parquet, next to the pair's alignment metrics and the average ranks of all six
metrics, plus one ``pair_metric_stats`` row per group (n, means, centred scatter matrices of the
values and of the ranks). ``correlations`` derives Pearson / Spearman from those statistics (instant),
``similarity_bins`` reads ``pair_metrics``, and the table macros ``pair_metrics_live()`` and
``correlations_live()`` recompute the same numbers from the vectors / rows in plain SQL.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from protiso.errors import ProtisoError
from protiso.jobs.budget import DEFAULT_MEMORY_BUDGET, MINIMUM_MEMORY_BUDGET, format_bytes
from protiso.metrics.confounds import FLEXIBLE_TERMS, RATIO_BINS, composition, flexible_basis, orthonormal, raw_terms
from protiso.metrics.pair_jackknife import INTERVAL, correlation_intervals, moments, partial_estimates, weighted_ranks
from protiso.metrics.pairs import average_ranks, block_rows_for, blocked_pair_distances

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

METRICS = ("cosine", "sq_euclidean", "score", "identity", "similarity", "normalized_score",
           "length_normalized_score")
EMBEDDING_METRICS = ("cosine", "sq_euclidean")


@dataclass
class PairMetricsSummary:
    groups: list[dict] = field(default_factory=list)  # one per (alignment run, embedding set) written

    def render(self) -> str:
        if not self.groups:
            return "pair metrics: nothing new (no embedding set without pair metrics for a finished alignment run)"
        lines = []
        for g in self.groups:
            why = ", ".join(f"{n:,} {reason}" for reason, n in g.get("excluded", {}).items() if n)
            control = "" if g.get("control", "none") == "none" else f" ({g['control']})"
            lines.append(f"pair metrics for {g['alignment_run']}: {g['model']} layer {g['layer']} "
                         f"{g['embedding_set']}{control}: {g['pairs']:,} pairs ({g['complete']:,} complete)"
                         + (f"; excluded from correlations: {why}" if why else ""))
        return "\n".join(lines)


def _vectors(wh: Warehouse, run_id: str, group: dict) -> tuple[pa.Array, np.ndarray]:
    wanted = wh.query(wh.sql_text("pair_metrics_wanted"), {"run_id": run_id}).column(0).to_pylist()
    table = wh.query(wh.sql_text("pair_metrics_vectors"), {"accessions": wanted, **group})
    accessions = table.column("accession").combine_chunks()
    lists = table.column("embedding").combine_chunks()
    if len(lists) == 0:
        return accessions, np.zeros((0, 0))
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    if lengths.min() != lengths.max() or lengths.min() == 0:
        raise ProtisoError(f"embeddings {group}: vectors have different lengths ({lengths.min()}..{lengths.max()})")
    flat = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    if flat.dtype not in (np.float32, np.float64):
        flat = flat.astype(np.float64)
    return accessions, flat.reshape(len(lists), int(lengths[0]))  # as stored; blocks go to float64


def _group_tables(wh: Warehouse, run_id: str, group: dict, budget: int) -> tuple[pa.Table, pa.Table, pa.Table] | None:
    """(pair_metrics rows, pair_metric_stats rows, partial_correlations rows) of one alignment run and
    embedding set, or None when no aligned pair has both vectors."""
    accessions, vectors = _vectors(wh, run_id, group)
    if len(accessions) < 2:
        return None
    index = pa.table({"accession": accessions, "idx": pa.array(np.arange(len(accessions), dtype=np.int64))})
    wh.con.register("protiso_pair_index", index)
    try:
        pairs = wh.query(wh.sql_text("pair_metrics_pairs"), {"run_id": run_id})
    finally:
        wh.con.unregister("protiso_pair_index")
    if pairs.num_rows == 0:
        return None
    ia = pairs.column("ia").to_numpy()
    ib = pairs.column("ib").to_numpy()
    block = block_rows_for(budget, vectors.shape[1], len(vectors))
    control = "" if group["control"] == "none" else f" ({group['control']})"
    label = f"pair metrics {group['model']} layer {group['layer']} {group['embedding_set']}{control}"
    with tqdm(total=len(ia), desc=label, unit="pair", unit_scale=True, disable=None) as bar:
        cosine, sq = blocked_pair_distances(vectors, ia, ib, block, progress=bar.update)
    values = {"cosine": cosine, "sq_euclidean": sq}
    for name in ("score", "identity", "similarity", "normalized_score"):
        values[name] = pairs.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # NULL -> NaN
    lengths, comp = composition([seq or "" for seq in _sequences(wh, accessions)])
    with np.errstate(invalid="ignore", divide="ignore"):
        values["length_normalized_score"] = values["score"] / np.minimum(lengths[ia], lengths[ib])
    complete = np.all([np.isfinite(values[m]) for m in METRICS], axis=0)
    stratum = pairs.column("stratum").to_numpy(zero_copy_only=False)
    weight = pairs.column("weight").to_numpy(zero_copy_only=False).astype(np.float64)
    columns: dict[str, object] = {
        **group,
        "alignment_run": run_id,
        "accession_a": pairs.column("accession_a"),
        "accession_b": pairs.column("accession_b"),
    }
    for name in METRICS:
        finite = np.isfinite(values[name])
        columns[name] = pa.array(values[name], mask=None if finite.all() else ~finite)
    columns["complete"] = complete
    ranks = _ranks(values, complete)
    everything = bool(complete.all())
    for name in METRICS:
        columns[f"{name}_rank"] = pa.array(ranks[name], mask=None if everything else ~complete)
    columns["stratum"] = pairs.column("stratum")
    columns["weight"] = pairs.column("weight")
    n = pairs.num_rows
    for key in ("model", "layer", "pooling", "embedding_set", "control", "alignment_run"):
        columns[key] = pa.repeat(pa.scalar(columns[key]), n)
    aligned = {s: int(c) for s, c in wh.con.execute(wh.sql_text("pair_metrics_aligned"), {"run_id": run_id}).fetchall()}
    terms = raw_terms(lengths[ia], lengths[ib], comp[ia], comp[ib])
    pair_data = _PairData(values, ranks, complete, ia, ib, len(accessions), stratum, weight, terms)
    stats, partials = [], []
    for label_, weighting, mask, weights in _subsets(pair_data):
        n_aligned = sum(aligned.values()) if label_ == "all" else aligned.get(label_, 0)
        stats.append(_stats(group, run_id, pair_data, label_, weighting, mask, weights, n_aligned))
        partials += _partials(group, run_id, pair_data, label_, weighting, mask, weights)
    return pa.table(columns), pa.concat_tables(stats), pa.Table.from_pylist(partials)


def _sequences(wh: Warehouse, accessions: pa.Array) -> list[str]:
    wh.con.register("protiso_pair_proteins", pa.table({"accession": accessions}))
    try:
        return wh.query(wh.sql_text("pair_metrics_sequences")).column("sequence").to_pylist()
    finally:
        wh.con.unregister("protiso_pair_proteins")


@dataclass
class _PairData:
    values: dict
    ranks: dict
    complete: np.ndarray
    ia: np.ndarray
    ib: np.ndarray
    n_proteins: int
    stratum: np.ndarray      # object, None in a random sample
    weight: np.ndarray       # NaN in a random sample
    terms: dict

    @property
    def finite_terms(self) -> np.ndarray:
        return np.all([np.isfinite(v) for v in self.terms.values()], axis=0)


def _subsets(data: _PairData) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """(stratum, weighting, pair mask, weights) of each row of statistics: all pairs unweighted; in a
    homolog-enriched sample also all pairs weighted to the population, and each stratum unweighted."""
    everything = np.ones(len(data.complete), dtype=bool)
    out = [("all", "unweighted", everything, None)]
    if np.isfinite(data.weight).any():
        out.append(("all", "weighted", everything, np.where(np.isfinite(data.weight), data.weight, 0.0)))
        for name in sorted({s for s in data.stratum if s is not None}):
            out.append((name, "unweighted", data.stratum == name, None))
    return out


def _stats(group: dict, run_id: str, data: _PairData, stratum: str, weighting: str, mask: np.ndarray,
           weights: np.ndarray | None, n_aligned: int) -> pa.Table:
    """One pair_metric_stats row: n, means, centred (weighted) scatter matrices of values and ranks, the
    jackknife intervals of every correlation, and the pairs left out with their reasons."""
    keep = mask & data.complete
    n = int(np.count_nonzero(keep))
    k = len(METRICS)
    x = np.empty((k, n))
    r = np.empty((k, n))
    w = np.ones(n) if weights is None else weights[keep]
    whole = stratum == "all" and weights is None
    for row, m in enumerate(METRICS):
        x[row] = data.values[m][keep]
        if whole:
            r[row] = data.ranks[m][keep]                       # the stored ranks, as before
        elif weights is None:
            r[row] = average_ranks(x[row])                     # ranks within the stratum
        else:
            r[row] = weighted_ranks(x[row], w)                 # estimated population ranks
    total = w.sum()
    means = (x @ w) / total if n else np.full(k, np.nan)
    xc = x - means[:, None]
    rc = r - ((r @ w) / total)[:, None] if n else r
    low = {name: np.full(k * k, np.nan) for name in ("pearson_low", "pearson_high", "spearman_low", "spearman_high")}
    proteins = 0
    if n >= 3:
        mom = moments(np.vstack([x, r]).T, data.ia[keep], data.ib[keep], data.n_proteins,
                      None if weights is None else w)  # values and ranks in one pass; pairs within each half
        _, lo, hi = correlation_intervals(mom, [(i, j) for half in (0, k) for i in range(half, half + k)
                                                for j in range(i + 1, half + k)])
        for method, half in (("pearson", 0), ("spearman", k)):
            low[f"{method}_low"] = lo[half:half + k, half:half + k].ravel()
            low[f"{method}_high"] = hi[half:half + k, half:half + k].ravel()
        proteins = int((mom.protein_weight > 0).sum())
    in_mask = mask
    null_by_metric = [int(np.count_nonzero(~np.isfinite(data.values[m][in_mask]))) for m in METRICS]
    with_vectors = int(np.count_nonzero(in_mask))
    row = {**group, "alignment_run": run_id, "stratum": stratum, "weighting": weighting, "n": n,
           "metrics": list(METRICS), "means": means.tolist(),
           "value_scatter": ((xc * w) @ xc.T).ravel().tolist(), "rank_scatter": ((rc * w) @ rc.T).ravel().tolist(),
           "weight_total": float(total), "n_proteins": proteins,
           **{key: value.tolist() for key, value in low.items()}, "interval": INTERVAL,
           "n_aligned": n_aligned, "n_missing_embedding": max(n_aligned - with_vectors, 0),
           "n_null_metric": with_vectors - n, "null_by_metric": null_by_metric}
    return pa.Table.from_pylist([row])


ADJUSTMENTS = ("none", "length (linear)", "length + composition (linear)", "flexible length + composition")


def _partials(group: dict, run_id: str, data: _PairData, stratum: str, weighting: str, mask: np.ndarray,
              weights: np.ndarray | None) -> list[dict]:
    """partial_correlations rows: each embedding metric against each alignment metric, with no adjustment,
    the linear ones and the flexible basis (``protiso.metrics.confounds``), over all pairs of the subset and
    within each length-ratio stratum, each with its jackknife interval."""
    rows = []
    k = len(METRICS)
    bins = [("all", 0.0, 2.0), *RATIO_BINS]
    for name, low, high in bins:
        keep = mask & data.complete & (data.terms["q"] >= low) & (data.terms["q"] < high) & data.finite_terms
        n = int(np.count_nonzero(keep))
        if n < 3:
            continue
        linear = np.column_stack([data.terms["len_diff"][keep], data.terms["comp_dist"][keep]])
        w = None if weights is None else weights[keep]
        flexible = orthonormal(flexible_basis({key: value[keep] for key, value in data.terms.items()}), w)
        columns = np.column_stack([*(data.values[m][keep] for m in METRICS), linear, flexible])
        mom = moments(columns, data.ia[keep], data.ib[keep], data.n_proteins, w)
        controls = {"none": (), "length (linear)": (k,), "length + composition (linear)": (k, k + 1),
                    "flexible length + composition": tuple(range(k + 2, k + 2 + flexible.shape[1]))}
        targets, labels = [], []
        for x in EMBEDDING_METRICS:
            for y in METRICS:
                if y in EMBEDDING_METRICS:
                    continue
                for adjustment in ADJUSTMENTS:
                    targets.append((METRICS.index(x), METRICS.index(y), controls[adjustment]))
                    labels.append((x, y, adjustment))
        for (x, y, adjustment), est in zip(labels, partial_estimates(mom, targets)):
            rows.append({**group, "alignment_run": run_id, "stratum": stratum, "weighting": weighting,
                         "length_ratio": name, "metric_x": x, "metric_y": y, "adjustment": adjustment,
                         "pearson": est.value, "pearson_low": est.low, "pearson_high": est.high, "n": n,
                         "n_proteins": est.proteins})
    return rows


def _ranks(values: dict, complete: np.ndarray) -> dict[str, np.ndarray]:
    """Average ranks of each metric over the complete pairs (NaN elsewhere), the metrics sorted in
    threads (numpy's sort releases the GIL)."""
    everything = bool(complete.all())

    def rank(name: str) -> np.ndarray:
        if everything:
            return average_ranks(values[name])
        out = np.full(len(complete), np.nan)
        out[complete] = average_ranks(values[name][complete])
        return out

    with ThreadPoolExecutor(max_workers=max(1, min(len(METRICS), os.cpu_count() or 1))) as pool:
        return dict(zip(METRICS, pool.map(rank, METRICS)))


def _existing(wh: Warehouse) -> dict[tuple, tuple[str, str]]:
    """(alignment run, model, layer, pooling, set, control) -> (pair-metrics run id, source key), newest wins."""
    out = {}
    for run_id, params in wh.con.execute(wh.sql_text("pair_metrics_existing")).fetchall():
        p = json.loads(params)
        key = (p.get("alignment_run"), p.get("model"), p.get("layer"), p.get("pooling"), p.get("embedding_set"),
               p.get("control", "none"))
        out[key] = (run_id, p.get("source_key"))
    return out


def compute_pair_metrics(wh: Warehouse, alignment_run: str | None = None,
                         memory_budget: int = DEFAULT_MEMORY_BUDGET) -> PairMetricsSummary:
    """Materialise pair metrics for every finished alignment run (or ``alignment_run``) and every
    embedding set that has none yet, or whose vectors changed since (then the old part is replaced).
    ``memory_budget`` (bytes) sizes the Gram-matrix blocks (a quarter of it for one block pair)."""
    if memory_budget < MINIMUM_MEMORY_BUDGET:
        raise ProtisoError(f"--memory-budget must be at least {format_bytes(MINIMUM_MEMORY_BUDGET)}")
    runs = [r[0] for r in wh.con.execute(wh.sql_text("pair_metrics_alignment_runs"),
                                         {"run_id": alignment_run}).fetchall()]
    if alignment_run is not None and not runs:
        raise ProtisoError(f"no finished alignment run {alignment_run!r} in the warehouse")
    summary = PairMetricsSummary()
    existing = _existing(wh)
    groups = wh.con.execute(wh.sql_text("pair_metrics_groups")).fetchall()
    for run_id in runs:
        for model, layer, pooling, embedding_set, control, source_key in groups:
            group = {"model": model, "layer": layer, "pooling": pooling, "embedding_set": embedding_set,
                     "control": control}
            old = existing.get((run_id, model, layer, pooling, embedding_set, control))
            if old is not None and old[1] == source_key:
                continue
            tables = _group_tables(wh, run_id, group, memory_budget)
            if tables is None:
                continue
            table, stats, partials = tables
            n_complete = int(pc.sum(table.column("complete")).as_py() or 0)
            params = {"alignment_run": run_id, **group, "source_key": source_key, "n_pairs": table.num_rows,
                      "n_complete": n_complete, "precision": "float64 numpy, blocked Gram matrices",
                      "interval": INTERVAL, "spearman_interval": "ranks computed once on all pairs, held fixed",
                      "adjustments": list(ADJUSTMENTS), "flexible_basis": list(FLEXIBLE_TERMS),
                      "length_ratio_bins": [b[0] for b in RATIO_BINS],
                      "memory_budget": memory_budget, "replaces": old and old[0]}
            with wh.run("pair_metrics", params, model=model, layer=layer, pooling=pooling) as run:
                table = table.append_column("run_id", pa.array([run.id] * table.num_rows))
                with run.commit() as tx:
                    tx.write_part("pair_metrics", table, partition={"aligned": run_id})
                    tx.write_part("pair_metric_stats", stats.append_column("run_id", pa.array([run.id] * len(stats))))
                    if partials.num_rows:
                        tx.write_part("partial_correlations",
                                      partials.append_column("run_id", pa.array([run.id] * partials.num_rows)))
                    if old is not None:
                        tx.execute(wh.sql_text("pair_metrics_drop"), {"run_id": old[0]})
            pm_run = run.id
            first = stats.slice(0, 1).to_pylist()[0]
            excluded = {"missing embedding": first["n_missing_embedding"], "NULL metric": first["n_null_metric"]}
            summary.groups.append({"alignment_run": run_id, **group, "pairs": table.num_rows,
                                   "complete": n_complete, "run_id": pm_run, "excluded": excluded})
    return summary
