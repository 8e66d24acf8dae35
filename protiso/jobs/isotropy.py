"""Fill the materialised ``isotropy`` table (library entry of ``protiso isotropy``).

Scopes:

* ``global``: the per-protein vectors in ``embeddings``, per model, layer and embedding set
  (raw and any post-processed set), over all proteins (``group_by = 'all'``) and, on request, per
  organism, GO term (direct annotations) or length bin (``sql/macros/protein_groups.sql``).
* ``local``: every residue vector. Over all residues it comes from the float64 sufficient statistics
  the embedding stage accumulated (``residue_stats``, merged over runs), so it covers every residue
  however many there are; mean cosine is NULL there (the statistics do not hold unit vectors).
  Grouped local rows use the stored ``residues`` vectors (all or a seeded sample, as ingested).

Vectors stream from DuckDB in Arrow batches into mergeable statistics, so memory is O(dim^2) per
group, plus the group's points when a bootstrap CI is requested. Rows are appended (the table keeps
history; readers take the newest row per key) together with a ``runs`` row holding every parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from protiso.errors import ProtisoError
from protiso.metrics.bootstrap import bootstrap_isoscore
from protiso.metrics.cosine import CosineStats
from protiso.metrics.isotropy import check_shrinkage
from protiso.metrics.spectra import spectrum_row
from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse, utcnow
from protiso.warehouse.vectors import stack_vectors

GROUPINGS = ("organism", "go_term", "length_bin")
SCOPES = ("global", "local")
DEFAULT_ZETA = 0.2
BATCH_ROWS = 8192


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


@dataclass
class _Group:
    """Streaming statistics of one group of vectors."""

    keep_points: bool
    stats: SufficientStats | None = None
    cosine: CosineStats | None = None
    points: list[np.ndarray] = field(default_factory=list)

    def add(self, points: np.ndarray) -> None:
        if self.stats is None:
            self.stats = SufficientStats(points.shape[1])
            self.cosine = CosineStats(points.shape[1])
        self.stats.add(points, checked=True)
        self.cosine.add(points, checked=True)
        if self.keep_points:
            self.points.append(points)


@dataclass(frozen=True)
class _Options:
    zeta: float
    bootstrap: int
    seed: int
    level: float
    min_points: int


def _row(key: dict, stats: SufficientStats, cosine: CosineStats | None, points: np.ndarray | None,
         opts: _Options) -> dict:
    ci = None
    if points is not None and opts.bootstrap > 0:
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
    }


def _runs(batches: pa.RecordBatchReader, grouped: bool) -> Iterator[tuple[str, pa.Array]]:
    """(group_value, vectors) runs of a stream sorted by group_value ('all' when not grouped)."""
    for batch in batches:
        vectors = batch.column("vector")
        if not grouped:
            yield "all", vectors
            continue
        encoded = pc.run_end_encode(batch.column("group_value"))
        ends = encoded.run_ends.to_numpy()
        values = encoded.values.to_pylist()
        start = 0
        for end, value in zip(ends, values):
            yield str(value), vectors.slice(start, int(end) - start)
            start = int(end)


def _stream_groups(wh: Warehouse, sql: str, params: dict, grouped: bool, keep_points: bool,
                   what: str) -> Iterator[tuple[str, _Group]]:
    """Yield (group_value, statistics) for each group of a query sorted by group_value."""
    cursor = wh.con.cursor()  # its own connection: the caller may query meanwhile
    try:
        reader = cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        current: str | None = None
        group = _Group(keep_points)
        for value, vectors in _runs(reader, grouped):
            if value != current:
                if current is not None and group.stats is not None:
                    yield current, group
                current, group = value, _Group(keep_points)
            points, _ = stack_vectors(vectors, what)
            if points is not None:
                group.add(points)
        if current is not None and group.stats is not None:
            yield current, group
    finally:
        cursor.close()


def _measure(wh: Warehouse, sql: str, params: dict, key: dict, grouped: bool, opts: _Options,
             what: str) -> list[dict]:
    rows = []
    for value, group in _stream_groups(wh, sql, params, grouped, opts.bootstrap > 0, what):
        if group.stats.n < (opts.min_points if grouped else 2):
            continue
        points = np.concatenate(group.points) if group.points else None
        rows.append(_row({**key, "group_value": value}, group.stats, group.cosine, points, opts))
    return rows


def _global_rows(wh: Warehouse, by: Sequence[str], models: list[str] | None, sets: list[str] | None,
                 opts: _Options, skipped: list[str]) -> list[dict]:
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
    for item in tqdm(found, desc="isotropy (global)", unit="set", disable=None):
        params = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
                  "pooling": item["pooling"]}
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": item["embedding_set"],
               "scope": "global"}
        what = f"embeddings of {item['model']} layer {item['layer']} ({item['embedding_set']})"
        rows += _measure(wh, wh.sql_text("isotropy_vectors"), params, {**key, "group_by": "all"}, False, opts, what)
        for grouping in by:
            rows += _measure(wh, wh.sql_text("isotropy_vectors_grouped"), {**params, "group_by": grouping},
                             {**key, "group_by": grouping}, True, opts, what)
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
    for item in tqdm(layers, desc="isotropy (local)", unit="layer", disable=None):
        key = {"model": item["model"], "layer": item["layer"], "embedding_set": "raw", "scope": "local"}
        what = f"residues of {item['model']} layer {item['layer']}"
        for grouping in by:
            params = {"model": item["model"], "layer": item["layer"], "group_by": grouping}
            rows += _measure(wh, wh.sql_text("isotropy_residues_grouped"), params,
                             {**key, "group_by": grouping}, True, opts, what)
    return rows


def compute_isotropy(wh: Warehouse, by: Sequence[str] = (), bootstrap: int = 0, zeta: float = DEFAULT_ZETA,
                     models: Sequence[str] | None = None, embedding_set: Sequence[str] | str | None = None,
                     scopes: Sequence[str] = SCOPES, seed: int = 0, level: float = 0.95,
                     min_points: int = 10) -> IsotropySummary:
    """Measure isotropy and append rows to the ``isotropy`` table; returns what was written.

    ``by``: extra groupings (organism | go_term | length_bin) besides the row over all points.
    ``bootstrap``: replicates for a seeded percentile CI of IsoScore (0 = none; global and grouped
    local rows only). ``zeta``: IsoScore* shrinkage towards the identity. ``models`` /
    ``embedding_set``: restrict to these (None = all). ``min_points``: smallest group reported (grouped
    rows; the row over all points needs 2).
    """
    by = list(dict.fromkeys(by))
    for grouping in by:
        if grouping not in GROUPINGS:
            raise ProtisoError(f"unknown grouping {grouping!r}; choose from {', '.join(GROUPINGS)}")
    for scope in scopes:
        if scope not in SCOPES:
            raise ProtisoError(f"unknown scope {scope!r}; choose from {', '.join(SCOPES)}")
    if bootstrap < 0:
        raise ProtisoError(f"--bootstrap must be >= 0, got {bootstrap}")
    if min_points < 2:
        raise ProtisoError(f"--min-points must be >= 2, got {min_points}")
    check_shrinkage(zeta, 1, None)
    sets = [embedding_set] if isinstance(embedding_set, str) else (list(embedding_set) if embedding_set else None)
    model_list = list(models) if models else None
    params = {"by": by, "bootstrap": bootstrap, "zeta": zeta, "models": model_list, "embedding_sets": sets,
              "scopes": list(scopes), "seed": seed, "level": level, "min_points": min_points,
              "bootstrap_method": "percentile re-centred on the estimate; points if N <= 1000 else 16-64 blocks"}
    opts = _Options(zeta, bootstrap, seed, level, min_points)
    skipped: list[str] = []
    with wh.run("isotropy", params) as run:
        rows: list[dict] = []
        spectra: list[dict] = []
        if "global" in scopes:
            rows += _global_rows(wh, by, model_list, sets, opts, skipped)
        if "local" in scopes:
            rows += _local_rows(wh, by, model_list, sets, opts, skipped, spectra)
        insert = wh.sql_text("isotropy_insert")
        with run.commit() as tx:
            for row in rows:
                tx.execute(insert, {**row, "run_id": run.id})
            for row in spectra:
                tx.execute(wh.sql_text("isotropy_insert_spectrum"), {**row, "run_id": run.id})
        run.params.update(rows=len(rows), skipped=skipped)
    return IsotropySummary(run.id, len(rows), skipped, [r for r in rows if r["group_by"] == "all"])
