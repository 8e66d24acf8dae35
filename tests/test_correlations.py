"""pair_metrics, correlations and similarity_bins against numpy references on real alignments of real
Swiss-Prot 2014 proteins, with real-data vectors (amino-acid + dipeptide composition); the views also from
the plain DuckDB CLI."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from align_helpers import composition_vectors, read_fasta, warehouse_with_proteins, write_embeddings

from protiso.jobs.align import align_and_measure
from protiso.jobs.pair_metrics import compute_pair_metrics
from protiso.warehouse import Warehouse

METRICS = ("cosine", "sq_euclidean", "score", "identity", "similarity", "normalized_score",
           "length_normalized_score")
PAIRS = len(METRICS) * (len(METRICS) - 1) // 2
MISSING = 3    # sampled proteins without vectors; the next one gets an all-zero vector (cosine undefined)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """(warehouse path, alignment run id, {set: {accession: float64 vector}}), warehouse closed.

    Vectors are written after the alignment run: 3 sampled proteins get none, one gets an all-zero vector."""
    path = tmp_path_factory.mktemp("corr") / "w"
    records = read_fasta()
    with warehouse_with_proteins(path) as wh:
        summary = align_and_measure(wh, proteins=120, seed=4, workers=2, block_size=2000, progress=False)
        assert summary.pair_metrics == []  # no embeddings yet
        sampled = sorted({a for (a,) in wh.con.execute("SELECT accession_a FROM alignments").fetchall()})
        skip = set(sampled[:MISSING])
        kept = [(a, s) for a, s in records if a not in skip]
        accessions = [a for a, _ in kept]
        raw = composition_vectors([s for _, s in kept])
        raw[accessions.index(sampled[MISSING])] = 0.0
        centered = (raw - raw.mean(axis=0)).astype(np.float32)
        write_embeddings(wh, accessions, raw, embedding_set="raw")
        write_embeddings(wh, accessions, centered, embedding_set="centered")
        assert len(compute_pair_metrics(wh).groups) == 2
    vectors = {name: {a: v.astype(np.float64) for a, v in zip(accessions, m)}
               for name, m in (("raw", raw), ("centered", centered))}
    return path, summary.run_id, vectors


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Reference ranks: each distinct value's rank is the mean of the positions it occupies."""
    values, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse]


def _reference(path: Path, run_id: str, vectors: dict, embedding_set: str) -> dict[str, np.ndarray]:
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT * FROM alignments WHERE run_id = ? ORDER BY accession_a, accession_b",
                        [run_id]).to_pylist()
    vec = vectors[embedding_set]
    rows = [r for r in rows if r["accession_a"] in vec and r["accession_b"] in vec]
    out = {name: np.array([r[name] for r in rows], dtype=np.float64) for name in METRICS[2:-1]}
    length = {a: len(s) for a, s in read_fasta()}
    out["length_normalized_score"] = out["score"] / np.array(
        [min(length[r["accession_a"]], length[r["accession_b"]]) for r in rows], dtype=np.float64)
    cos, sq = [], []
    for r in rows:
        a, b = vec[r["accession_a"]], vec[r["accession_b"]]
        na, nb = np.sqrt(a @ a), np.sqrt(b @ b)
        cos.append(a @ b / (na * nb) if na > 0 and nb > 0 else np.nan)
        sq.append(float(((a - b) ** 2).sum()))
    out["cosine"], out["sq_euclidean"] = np.array(cos), np.array(sq)
    out["pairs"] = np.array([(r["accession_a"], r["accession_b"]) for r in rows])
    return out


@pytest.mark.parametrize("embedding_set", ["raw", "centered"])
def test_pair_metrics_match_numpy_and_sql(loaded, embedding_set):
    path, run_id, vectors = loaded
    ref = _reference(path, run_id, vectors, embedding_set)
    with Warehouse.open(path) as wh:
        got = wh.query("SELECT * FROM pair_metrics WHERE embedding_set = ? ORDER BY accession_a, accession_b",
                       [embedding_set]).to_pydict()
        live = wh.query("SELECT cosine, sq_euclidean FROM pair_metrics_live() WHERE embedding_set = ? "
                        "ORDER BY accession_a, accession_b", [embedding_set]).to_pydict()
    n = 120 * 119 // 2
    assert len(got["cosine"]) == len(ref["cosine"]) < n  # pairs with a protein lacking a vector are left out
    assert [tuple(p) for p in ref["pairs"]] == list(zip(got["accession_a"], got["accession_b"]))
    for name in METRICS:
        values = np.array([np.nan if v is None else v for v in got[name]])
        np.testing.assert_allclose(values, ref[name], rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=name)
    for name in ("cosine", "sq_euclidean"):
        values = np.array([np.nan if v is None else v for v in live[name]])
        np.testing.assert_allclose(values, ref[name], rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=name)
    complete = np.isfinite(ref["cosine"])
    assert got["complete"] == complete.tolist()
    assert complete.all() == (embedding_set == "centered")  # the zero vector is only zero in "raw"


def _expected_correlations(ref: dict) -> dict[tuple[str, str], tuple[float, float, int]]:
    keep = np.all([np.isfinite(ref[m]) for m in METRICS], axis=0)
    out = {}
    for i, x in enumerate(METRICS):
        for y in METRICS[i + 1:]:
            a, b = ref[x][keep], ref[y][keep]
            pearson = np.corrcoef(a, b)[0, 1]
            spearman = np.corrcoef(_average_ranks(a), _average_ranks(b))[0, 1]
            out[(x, y)] = (pearson, spearman, int(keep.sum()))
    return out


def _duckdb_cli() -> Path:
    cli = Path(sys.executable).parent / "duckdb"
    found = cli if cli.exists() else shutil.which("duckdb")
    if not found:
        pytest.skip("the DuckDB CLI is not installed")
    return Path(found)


def _cli_rows(path: Path, sql: str) -> list[dict]:
    result = subprocess.run([str(_duckdb_cli()), "-readonly", "-csv", str(path / "protiso.duckdb"), "-c", sql],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.parametrize("embedding_set", ["raw", "centered"])
def test_correlations_match_numpy(loaded, embedding_set):
    path, run_id, vectors = loaded
    expected = _expected_correlations(_reference(path, run_id, vectors, embedding_set))
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT * FROM correlations WHERE embedding_set = ?", [embedding_set]).to_pylist()
        live = wh.query("SELECT * FROM correlations_live() WHERE embedding_set = ?", [embedding_set]).to_pylist()
    assert len(rows) == len(live) == PAIRS == len(expected)
    assert {(r["metric_x"], r["metric_y"]) for r in rows} == {(r["metric_x"], r["metric_y"]) for r in live} == set(expected)
    for r in rows + live:
        pearson, spearman, n = expected[(r["metric_x"], r["metric_y"])]
        assert (r["model"], r["layer"], r["pooling"], r["alignment_run"], r["n"]) == ("composition", 0, "mean", run_id, n)
        assert r["pearson"] == pytest.approx(pearson, rel=1e-9, abs=1e-12)
        assert r["spearman"] == pytest.approx(spearman, rel=1e-9, abs=1e-12)
    cli = _cli_rows(path, f"SELECT * FROM correlations WHERE embedding_set = '{embedding_set}'")
    assert len(cli) == PAIRS
    for r in cli:
        pearson, spearman, n = expected[(r["metric_x"], r["metric_y"])]
        assert float(r["pearson"]) == pytest.approx(pearson, rel=1e-9, abs=1e-12) and int(r["n"]) == n
        assert float(r["spearman"]) == pytest.approx(spearman, rel=1e-9, abs=1e-12)


def test_similarity_bins_match_numpy(loaded):
    path, run_id, vectors = loaded
    ref = _reference(path, run_id, vectors, "raw")
    keep = np.all([np.isfinite(ref[m]) for m in METRICS], axis=0)
    identity, score, cosine, sq = (ref[m][keep] for m in ("identity", "score", "cosine", "sq_euclidean"))
    s0, s1 = score.min(), score.max()
    bins = {"identity": np.minimum(np.floor(identity / 0.05), 19),
            "score": np.minimum(np.floor((score - s0) / (s1 - s0) * 20), 19)}
    rows = _cli_rows(path, "SELECT * FROM similarity_bins WHERE embedding_set = 'raw' ORDER BY bin_by, bin")
    assert {r["bin_by"] for r in rows} == {"identity", "score"}
    assert sum(int(r["n"]) for r in rows if r["bin_by"] == "score") == keep.sum()
    for r in rows:
        members = bins[r["bin_by"]] == int(r["bin"])
        assert int(r["n"]) == members.sum() > 0
        assert float(r["cosine_mean"]) == pytest.approx(cosine[members].mean(), rel=1e-9)
        assert float(r["sq_euclidean_mean"]) == pytest.approx(sq[members].mean(), rel=1e-9)
        if members.sum() > 1:
            assert float(r["cosine_stddev"]) == pytest.approx(cosine[members].std(ddof=1), rel=1e-8)
        if r["bin_by"] == "score":
            low = s0 + int(r["bin"]) * (s1 - s0) / 20
            assert float(r["bin_low"]) == pytest.approx(low, rel=1e-12, abs=1e-12)


def test_pair_metrics_follow_replaced_vectors(loaded, tmp_path):
    """When an embedding set's vectors are replaced, its pair metrics are recomputed, not duplicated."""
    source, run_id, vectors = loaded
    path = tmp_path / "w"
    shutil.copytree(source, path)
    accessions = sorted(vectors["raw"])
    scaled = np.array([vectors["raw"][a] * (1 + i % 3) for i, a in enumerate(accessions)], dtype=np.float32)
    with Warehouse.open(path) as wh:
        old_parts = [r[0] for r in wh.con.execute(
            "SELECT p.part_id FROM parts p JOIN runs r USING (run_id) WHERE p.table_name = 'embeddings' "
            "AND r.kind = 'embed' AND p.path LIKE '%composition%' ORDER BY p.committed_at LIMIT 1").fetchall()]
        assert compute_pair_metrics(wh).groups == []  # nothing changed yet
        new_run = write_embeddings(wh, accessions, scaled, embedding_set="raw")
        wh.con.execute("DELETE FROM parts WHERE part_id = ?", old_parts)
        wh.refresh_views()
        done = compute_pair_metrics(wh).groups
        assert [(g["embedding_set"], g["alignment_run"]) for g in done] == [("raw", run_id)]
        got = wh.query("SELECT accession_a, accession_b, sq_euclidean FROM pair_metrics WHERE embedding_set = 'raw' "
                       "ORDER BY ALL").to_pylist()
        assert new_run and len({(r["accession_a"], r["accession_b"]) for r in got}) == len(got) > 0
    index = {a: i for i, a in enumerate(accessions)}
    for r in got[:200]:
        a, b = (scaled[index[r[k]]].astype(np.float64) for k in ("accession_a", "accession_b"))
        assert r["sq_euclidean"] == pytest.approx(((a - b) ** 2).sum(), rel=1e-12)


def test_views_are_plain_sql(loaded):
    path, _, _ = loaded
    for view in ("pair_metrics", "pair_metrics_live()", "correlations", "correlations_live()", "similarity_bins"):
        rows = _cli_rows(path, f"SELECT count(*) AS n FROM (SELECT * FROM {view} LIMIT 5)")
        assert int(rows[0]["n"]) == 5, view
    with Warehouse.open(path) as wh:
        listed = {name for name, _, _ in wh.tables()}
    assert {"pair_metrics", "pair_metric_stats", "correlations", "similarity_bins"} <= listed


def test_align_materialises_pair_metrics(loaded, tmp_path):
    """With vectors present, `align` computes the new run's pair metrics itself; each run is its own group."""
    source, run_id, _ = loaded
    path = tmp_path / "w"
    shutil.copytree(source, path)
    with Warehouse.open(path) as wh:
        summary = align_and_measure(wh, proteins=12, seed=1, workers=1, progress=False)
        assert sorted(g["embedding_set"] for g in summary.pair_metrics) == ["centered", "raw"]
        assert all(g["alignment_run"] == summary.run_id and 0 < g["pairs"] <= 66 for g in summary.pair_metrics)
        runs = wh.con.execute("SELECT DISTINCT alignment_run FROM correlations ORDER BY 1").fetchall()
        assert sorted([(run_id,), (summary.run_id,)]) == runs
