"""Isotropy of stored global sets from the plain DuckDB shell (issue 12 item 5): `embedding_stats` rows
written by import-vectors, postprocess and isotropy (the embedding job: tests/test_embed_job.py), read by
`embedding_stats_isotropy()` on a connection with no protiso UDFs, against the IsoScore package, brute
force and the `isotropy` job; warehouses made before migration 0006 are filled by `protiso isotropy`."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from conftest import FIXTURES
from IsoScore.IsoScore import IsoScore, IsoScore_star
from isotropy_data import reference_float64

from protiso.errors import ProtisoError
from protiso.jobs.import_vectors import ImportOptions, import_vectors
from protiso.jobs.isotropy import compute_isotropy
from protiso.jobs.postprocess import postprocess_embeddings
from protiso.metrics import effective_dims
from protiso.metrics.stream import StreamStats
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

DIM, ZETA = 16, 0.2


def anisotropic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((DIM, DIM)) * np.geomspace(2.0, 0.05, DIM)
    return (rng.standard_normal((n, DIM)) @ mix + rng.standard_normal(DIM)).astype(np.float32)


def brute_cosine(points: np.ndarray) -> float:
    unit = points.astype(np.float64) / np.linalg.norm(points.astype(np.float64), axis=1, keepdims=True)
    return float(((unit @ unit.T).sum() - len(unit)) / (len(unit) * (len(unit) - 1.0)))


def shell(path) -> dict[tuple, dict]:
    """`embedding_stats_isotropy()` from a plain duckdb connection to the warehouse file (no UDFs)."""
    con = duckdb.connect(str(path / "protiso.duckdb"), read_only=True)
    try:
        cursor = con.execute("SELECT * FROM embedding_stats_isotropy()")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    return {(r["model"], r["layer"], r["embedding_set"]): r for r in rows}


def stored(wh: Warehouse, embedding_set: str) -> np.ndarray:
    table = wh.query("SELECT embedding FROM embeddings WHERE embedding_set = ?", [embedding_set])
    return np.array(table.column(0).to_pylist(), dtype=np.float32)


@pytest.fixture
def imported(tmp_path):
    """A warehouse of the 300-protein Swiss-Prot slice with vectors imported from two .npz files."""
    path = tmp_path / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [FIXTURES / "sp2014_head300.fasta"], progress=False)
        accessions = [r[0] for r in wh.con.execute("SELECT accession FROM proteins ORDER BY accession").fetchall()]
        points = anisotropic(len(accessions))
        half = len(accessions) // 2
        for k, rows in enumerate((slice(0, half), slice(half, None))):
            np.savez(tmp_path / f"part{k}.npz", ids=np.array(accessions[rows], dtype=str), embeddings=points[rows])
            import_vectors(wh, ImportOptions(str(tmp_path / f"part{k}.npz"), model="esm-x", layer=6), progress=False)
    return path


def test_shell_gives_isoscore_dims_and_cosine_of_imported_and_derived_sets(imported):
    with Warehouse.open(imported) as wh:
        assert wh.con.execute("SELECT count(*), sum(n) FROM embedding_stats").fetchall()[0] == (2, 300)
        postprocess_embeddings(wh, "center")
        postprocess_embeddings(wh, "abtt", k=2)
        postprocess_embeddings(wh, "abtt", k=2)                # replaces the set and its statistics
        assert wh.con.execute("SELECT count(*) FROM embedding_stats WHERE embedding_set = 'abtt-2'").fetchall() == [(1,)]
        sets = {name: stored(wh, name) for name in ("raw", "centered", "abtt-2")}
    got = shell(imported)
    assert set(got) == {("esm-x", 6, name) for name in sets}
    for name, points in sets.items():
        row = got[("esm-x", 6, name)]
        assert row["complete"] and row["n"] == row["stored"] == 300 and row["dim"] == DIM
        assert row["isoscore"] == pytest.approx(reference_float64(IsoScore, points), rel=1e-9)
        scaled = np.trace(np.cov(points.astype(np.float64).T)) / DIM * np.eye(DIM)   # scale-free target
        assert row["isoscore_star"] == pytest.approx(
            reference_float64(IsoScore_star, points, scaled, ZETA), rel=1e-9)
        assert row["isoscore_star_fixed"] == pytest.approx(
            reference_float64(IsoScore_star, points, np.eye(DIM), ZETA), rel=1e-9)
        assert row["effective_dims"] == pytest.approx(effective_dims(points), rel=1e-9)
        assert row["mean_cosine"] == pytest.approx(brute_cosine(points), rel=1e-9, abs=1e-15)


def test_isotropy_job_agrees_and_replaces_the_rows_by_its_scan(imported):
    before = shell(imported)
    with Warehouse.open(imported) as wh:
        summary = compute_isotropy(wh, scopes=["global"], zeta=ZETA)
        rows = wh.query("SELECT * FROM embedding_stats").to_pylist()
        assert [(r["run_id"], r["n"], r["rows"]) for r in rows] == [(summary.run_id, 300, 300)]
    (job,) = summary.overall
    after = shell(imported)[("esm-x", 6, "raw")]
    for name in ("isoscore", "isoscore_star", "effective_dims", "mean_cosine"):
        assert after[name] == pytest.approx(job[name], rel=1e-9)
        assert before[("esm-x", 6, "raw")][name] == pytest.approx(job[name], rel=1e-9)


def test_a_warehouse_without_statistics_is_marked_and_filled_by_isotropy(tmp_path):
    """Vectors written as a protiso older than migration 0006 wrote them (no statistics rows), and a
    zero vector (no direction: mean cosine NULL, IsoScore still defined)."""
    points = anisotropic(120, seed=3)
    points[7] = 0.0
    path = tmp_path / "w"
    with Warehouse.create(path) as wh, wh.run("embed", {"test": "pre-0006"}) as run, run.commit() as tx:
        tx.write_part("embeddings", pa.table({
            "accession": [f"P{i:05d}" for i in range(120)], "model": ["m"] * 120, "layer": [1] * 120,
            "pooling": ["mean"] * 120, "embedding_set": ["raw"] * 120,
            "embedding": pa.array(list(points), type=pa.list_(pa.float32()))}))
    (row,) = shell(path).values()
    assert (row["stored"], row["n"], row["complete"], row["isoscore"]) == (120, None, False, None)
    with Warehouse.open(path) as wh:
        with pytest.raises(ProtisoError, match="vector 7 is zero"):     # the job refuses a wrong cosine
            compute_isotropy(wh, scopes=["global"])
        stats = StreamStats(DIM, allow_zero=True).add(points)
        assert stats.n_unit == 119
        with pytest.raises(ProtisoError, match="1 of 120 vectors are zero"):
            stats.cosine()
        points[7] = 1.0
        wh.con.execute("DELETE FROM parts WHERE table_name = 'embeddings'")
        wh.refresh_views()
        with wh.run("embed", {"test": "pre-0006"}) as run, run.commit() as tx:
            tx.write_part("embeddings", pa.table({
                "accession": [f"P{i:05d}" for i in range(120)], "model": ["m"] * 120, "layer": [1] * 120,
                "pooling": ["mean"] * 120, "embedding_set": ["raw"] * 120,
                "embedding": pa.array(list(points), type=pa.list_(pa.float32()))}))
        (job,) = compute_isotropy(wh, scopes=["global"]).overall
    (row,) = shell(path).values()
    assert row["complete"] and row["n"] == 120
    assert row["isoscore"] == pytest.approx(reference_float64(IsoScore, points), rel=1e-9)
    assert row["isoscore"] == pytest.approx(job["isoscore"], rel=1e-9)
    assert row["mean_cosine"] == pytest.approx(brute_cosine(points), rel=1e-9)


def test_zero_vectors_give_a_null_mean_cosine_in_sql(tmp_path):
    from protiso.warehouse.embedding_stats import EmbeddingStats, staging

    points = anisotropic(50, seed=5)
    points[3] = 0.0
    table = pa.table({"model": ["m"] * 50, "layer": pa.array([1] * 50, pa.int32()), "pooling": [None] * 50,
                      "embedding_set": ["raw"] * 50, "embedding": pa.array(list(points), type=pa.list_(pa.float32()))})
    path = tmp_path / "w"
    with Warehouse.create(path) as wh:
        stats = EmbeddingStats().add(table.slice(0, 20)).add(table.slice(20))
        with staging(wh), wh.commit(None) as tx:
            tx.write_part("embeddings", table.append_column("accession", pa.array([f"P{i}" for i in range(50)])))
            stats.stage(wh, tx, "test")
    (row,) = shell(path).values()
    assert row["complete"] and row["pooling"] is None and row["mean_cosine"] is None
    assert row["isoscore"] == pytest.approx(reference_float64(IsoScore, points), rel=1e-9)


def test_a_failed_import_writes_no_statistics(imported, tmp_path):
    np.savez(tmp_path / "bad.npz", ids=np.array(["P99999_NOPE", "Q00001"], dtype=str), embeddings=anisotropic(2))
    with Warehouse.open(imported) as wh:
        before = wh.con.execute("SELECT count(*), sum(n) FROM embedding_stats").fetchall()
        with pytest.raises(ProtisoError, match="matches no protein"):
            import_vectors(wh, ImportOptions(str(tmp_path / "bad.npz"), model="esm-y"), progress=False)
        assert wh.con.execute("SELECT count(*), sum(n) FROM embedding_stats").fetchall() == before
