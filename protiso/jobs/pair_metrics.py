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
from protiso.metrics.pairs import average_ranks, block_rows_for, blocked_pair_distances

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

METRICS = ("cosine", "sq_euclidean", "score", "identity", "similarity", "normalized_score")


@dataclass
class PairMetricsSummary:
    groups: list[dict] = field(default_factory=list)  # one per (alignment run, embedding set) written

    def render(self) -> str:
        if not self.groups:
            return "pair metrics: nothing new (no embedding set without pair metrics for a finished alignment run)"
        return "\n".join(f"pair metrics for {g['alignment_run']}: {g['model']} layer {g['layer']} "
                         f"{g['embedding_set']}{'' if g['control'] == 'none' else ' (' + g['control'] + ')'}: "
                         f"{g['pairs']:,} pairs ({g['complete']:,} complete)"
                         for g in self.groups)


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


def _group_tables(wh: Warehouse, run_id: str, group: dict, budget: int) -> tuple[pa.Table, pa.Table] | None:
    """(pair_metrics rows, pair_metric_stats row) of one alignment run and embedding set, or None."""
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
    for name in METRICS[2:]:
        values[name] = pairs.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # NULL -> NaN
    complete = np.all([np.isfinite(values[m]) for m in METRICS], axis=0)
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
    n = pairs.num_rows
    for key in ("model", "layer", "pooling", "embedding_set", "control", "alignment_run"):
        columns[key] = pa.repeat(pa.scalar(columns[key]), n)
    return pa.table(columns), _stats(group, run_id, values, ranks, complete)


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


def _stats(group: dict, run_id: str, values: dict, ranks: dict, complete: np.ndarray) -> pa.Table:
    """n, means and centred scatter matrices (values and ranks) of the complete pairs."""
    everything = bool(complete.all())
    n = len(complete) if everything else int(np.count_nonzero(complete))
    x = np.empty((len(METRICS), n))             # one contiguous row per metric: X X^T is one product
    r = np.empty((len(METRICS), n))
    for k, m in enumerate(METRICS):
        x[k] = values[m] if everything else values[m][complete]
        r[k] = ranks[m] if everything else ranks[m][complete]
    means = x.mean(axis=1) if n else np.full(len(METRICS), np.nan)
    x -= means[:, None]
    r -= (n + 1) / 2.0  # average ranks of n items always have mean (n + 1) / 2
    row = {**group, "alignment_run": run_id, "n": n, "metrics": list(METRICS), "means": means.tolist(),
           "value_scatter": (x @ x.T).ravel().tolist(), "rank_scatter": (r @ r.T).ravel().tolist()}
    return pa.table({key: [value] for key, value in row.items()})


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
            table, stats = tables
            n_complete = int(pc.sum(table.column("complete")).as_py() or 0)
            params = {"alignment_run": run_id, **group, "source_key": source_key, "n_pairs": table.num_rows,
                      "n_complete": n_complete, "precision": "float64 numpy, blocked Gram matrices",
                      "memory_budget": memory_budget, "replaces": old and old[0]}
            with wh.run("pair_metrics", params, model=model, layer=layer, pooling=pooling) as run:
                table = table.append_column("run_id", pa.array([run.id] * table.num_rows))
                with run.commit() as tx:
                    tx.write_part("pair_metrics", table, partition={"aligned": run_id})
                    tx.write_part("pair_metric_stats", stats.append_column("run_id", pa.array([run.id])))
                    if old is not None:
                        tx.execute(wh.sql_text("pair_metrics_drop"), {"run_id": old[0]})
            pm_run = run.id
            summary.groups.append({"alignment_run": run_id, **group, "pairs": table.num_rows,
                                   "complete": n_complete, "run_id": pm_run})
    return summary
