"""Derived embedding sets: isotropy-enhancing post-processing of stored embeddings.

``postprocess_embeddings(wh, method)`` fits ``center``, ``whiten`` or ``abtt`` (``protiso.metrics.postprocess``)
per model, layer and pooling of a source set and writes the transformed vectors as a new
``embedding_set``, streamed in two passes. docs/architecture.md (module notes) has the details.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from protiso.errors import ProtisoError
from protiso.metrics.postprocess import METHODS, Postprocessor, default_abtt_k, fit_from_stats, set_name
from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse
from protiso.warehouse.embedding_stats import EmbeddingStats, staging
from protiso.warehouse.vectors import stack_vectors

BATCH_ROWS = 65536


@dataclass
class PostprocessSummary:
    """What one ``postprocess_embeddings`` call wrote."""

    run_id: str
    embedding_sets: list[str] = field(default_factory=list)
    rows: int = 0
    replaced_parts: int = 0

    def render(self) -> str:
        sets = ", ".join(self.embedding_sets) or "nothing"
        replaced = f", replacing {self.replaced_parts} earlier part(s)" if self.replaced_parts else ""
        return f"postprocess run {self.run_id}: wrote {sets} ({self.rows:,} rows{replaced})"


def _batches(wh: Warehouse, params: dict, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Stream a source set on its own cursor, so that writing parts meanwhile cannot cut it off."""
    cursor = wh.con.cursor()
    try:
        yield from cursor.sql(wh.sql_text("postprocess_rows"), params=params).to_arrow_reader(batch_rows)
    finally:
        cursor.close()


def _fit(wh: Warehouse, params: dict, method: str, k: int | None, eps: float, what: str) -> Postprocessor:
    stats: SufficientStats | None = None
    for batch in _batches(wh, params, BATCH_ROWS):
        points, _ = stack_vectors(batch.column("embedding"), what)
        if points is None:
            continue
        stats = SufficientStats(points.shape[1]) if stats is None else stats
        stats.add(points, checked=True)
    if stats is None:
        raise ProtisoError(f"{what}: no vectors to fit {method} on")
    if method == "abtt" and k is None:
        k = default_abtt_k(stats.dim)
    return fit_from_stats(stats, method, k=k, eps=eps)


def _transformed(batch: pa.RecordBatch, transform: Postprocessor, run_id: str, what: str) -> pa.Table:
    points, kept = stack_vectors(batch.column("embedding"), what)
    n_rows = batch.num_rows
    dim = transform.mean.size
    values = np.zeros((n_rows, dim), dtype=np.float32)
    mask = np.ones(n_rows, dtype=bool)
    if points is not None:
        values[kept] = transform.apply(points)
        mask[kept] = False
    offsets = pa.array(np.arange(n_rows + 1, dtype=np.int32) * dim)
    embedding = pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)), mask=pa.array(mask))
    table = pa.Table.from_batches([batch]).drop_columns(["embedding"])
    return (table.append_column("embedding", embedding)
            .append_column("embedding_set", pa.array([transform.embedding_set] * n_rows, pa.string()))
            .append_column("run_id", pa.array([run_id] * n_rows, pa.string())))


def _replaced_parts(wh: Warehouse, params: dict) -> list[tuple[str, str]]:
    out = []
    for part in wh.query(wh.sql_text("postprocess_old_parts")).to_pylist():
        path = str(wh.path / part["path"])
        holds = wh.query(wh.sql_text("postprocess_part_holds"), {**params, "path": path}).column(0)[0].as_py()
        if holds:
            out.append((part["part_id"], path))
    return out


def postprocess_embeddings(wh: Warehouse, method: str, k: int | None = None, eps: float = 1e-6,
                           models: Sequence[str] | None = None, source: str = "raw") -> PostprocessSummary:
    """Fit ``method`` on each (model, layer, pooling) of ``source`` and store the derived set.

    ``k``: components removed by ``abtt`` (default dim / 100, at least 1). ``eps``: whitening floor,
    relative to the mean eigenvalue.
    """
    if method not in METHODS:
        raise ProtisoError(f"unknown post-processing method {method!r}; choose one of {', '.join(METHODS)}")
    if k is not None and method != "abtt":
        raise ProtisoError("--k applies to --method abtt only")
    model_list = list(models) if models else None
    found = wh.query(wh.sql_text("postprocess_sets"), {"source": source, "models": model_list}).to_pylist()
    if not found:
        raise ProtisoError(f"no embeddings in set {source!r} to post-process"
                           + (f" for models {', '.join(model_list)}" if model_list else ""))
    params = {"method": method, "k": k, "eps": eps, "models": model_list, "source": source}
    with wh.run("postprocess", params) as run:
        summary = PostprocessSummary(run.id)
        for item in tqdm(found, desc=f"postprocess ({method})", unit="set", disable=None):
            where = {"model": item["model"], "layer": item["layer"], "pooling": item["pooling"], "source": source,
                     "control": item["control"]}
            control = "" if item["control"] == "none" else f", control {item['control']}"
            what = f"embeddings of {item['model']} layer {item['layer']} ({source}{control})"
            transform = _fit(wh, where, method, k, eps, what)
            target = {"model": item["model"], "layer": item["layer"], "pooling": item["pooling"],
                      "embedding_set": transform.embedding_set, "control": item["control"]}
            old = _replaced_parts(wh, target)
            derived = EmbeddingStats()
            with staging(wh), run.commit() as tx:
                for batch in _batches(wh, where, BATCH_ROWS):
                    table = _transformed(batch, transform, run.id, what)
                    partition = {"model": item["model"], "layer": item["layer"], "set": transform.embedding_set}
                    if item["control"] != "none":
                        partition["control"] = item["control"]
                    tx.write_part("embeddings", table, partition=partition)
                    derived.add(table, what)
                    summary.rows += table.num_rows
                derived.stage(wh, tx, run.id, replace=True)
                if old:
                    tx.execute(wh.sql_text("postprocess_drop_parts"), {"part_ids": [p for p, _ in old]})
            summary.replaced_parts += len(old)
            if transform.embedding_set not in summary.embedding_sets:
                summary.embedding_sets.append(transform.embedding_set)
        run.params.update(embedding_sets=summary.embedding_sets, rows=summary.rows,
                          replaced_parts=summary.replaced_parts)
    return summary


__all__ = ["PostprocessSummary", "postprocess_embeddings", "set_name"]
