"""Swiss-Prot-scale analytics (issue 15) against today's exact functions, brute force and the IsoScore
package, each on a set larger than one record batch (8,192 rows): streamed whole-set statistics, grouped
moments (Gram and moment forms, spanning-tree reuse, memory-mapped vectors), true-path GO groups on a
hand-made GO slice, blocked pair distances, and the `isotropy` / `pair-metrics` jobs end to end."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from IsoScore.IsoScore import IsoScore, IsoScore_star
from isotropy_data import reference_float64
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.jobs.budget import parse_memory_budget
from protiso.jobs.isotropy import compute_isotropy
from protiso.jobs.isotropy_groups import BATCH_ROWS, group_members, grouped_rows, scan_set
from protiso.jobs.pair_metrics import compute_pair_metrics
from protiso.metrics import effective_dims, eigen_spectrum, isoscore, isoscore_star, mean_pairwise_cosine
from protiso.metrics.cosine import CosineStats
from protiso.metrics.grouped import group_moments, plan_groups
from protiso.metrics.pairs import blocked_pair_distances, pair_distances
from protiso.metrics.stats import SufficientStats
from protiso.metrics.stream import StreamStats
from protiso.warehouse import Warehouse

N, DIM = 9_500, 24          # more vectors than one record batch / float64 chunk
ZETA = 0.2


def vectors(n: int = N, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Anisotropic float32 vectors (decaying spectrum plus an offset), as bench/scale_analytics.py."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((dim, dim)) / np.sqrt(dim) * np.geomspace(3.0, 0.05, dim)
    return (rng.standard_normal((n, dim)) @ mix + rng.standard_normal(dim)).astype(np.float32)


def close(got, want, rel=1e-9, abs_=0.0):
    if want is None:
        return got is None
    return got is not None and abs(got - want) <= rel * abs(want) + abs_


def exact(points: np.ndarray) -> dict:
    return {"isoscore": isoscore(points), "isoscore_star": isoscore_star(points, ZETA),
            "effective_dims": effective_dims(points), "mean_cosine": mean_pairwise_cosine(points)}


def test_stream_stats_equal_exact_functions_and_the_isoscore_package():
    points = vectors()
    stream = StreamStats(DIM)
    for start in range(0, N, BATCH_ROWS):       # two record batches, each over several chunks
        stream.add(points[start:start + BATCH_ROWS])
    stats, cosine = stream.sufficient(), stream.cosine()
    assert stats.n == cosine.n == N
    assert close(stats.isoscore(), isoscore(points))
    assert close(stats.isoscore(), reference_float64(IsoScore, points))
    assert close(stats.isoscore_star_fixed(ZETA), reference_float64(IsoScore_star, points, np.eye(DIM), ZETA), rel=1e-9)
    scaled = np.trace(np.cov(points.astype(np.float64).T)) / DIM * np.eye(DIM)     # the scale-free target
    assert close(stats.isoscore_star(ZETA), reference_float64(IsoScore_star, points, scaled, ZETA), rel=1e-9)
    assert close(stats.effective_dims(), effective_dims(points))
    np.testing.assert_allclose(stats.eigen_spectrum(), eigen_spectrum(points), rtol=1e-9, atol=1e-15)
    unit = points.astype(np.float64) / np.linalg.norm(points.astype(np.float64), axis=1, keepdims=True)
    brute = ((unit @ unit.T).sum() - N) / (N * (N - 1.0))  # every ordered pair i != j
    assert close(cosine.mean_cosine(), brute, abs_=1e-13)
    assert close(cosine.mean_cosine(), CosineStats.from_points(points).mean_cosine(), abs_=1e-15)
    with pytest.raises(ProtisoError, match="zero"):
        StreamStats(DIM).add(np.zeros((3, DIM), dtype=np.float32))


def nested_groups(rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """A true-path-like family: a chain of supersets, a large sibling, an offset cluster, small groups."""
    top = np.sort(rng.choice(n, 8_000, replace=False))
    mid = np.sort(rng.choice(top, 6_500, replace=False))
    low = np.sort(rng.choice(mid, 300, replace=False))      # n < dim? no: dim 24, still moment form
    sibling = np.sort(rng.choice(top, 7_000, replace=False))
    groups = [top, mid, low, sibling, np.arange(n)]
    groups += [np.sort(rng.choice(n, k, replace=False)) for k in (2, 3, 10, 23)]   # Gram form (n < dim)
    return groups, [(0, 1), (1, 2), (0, 3), (3, 1)]


@pytest.mark.parametrize("with_whole", [False, True])
def test_group_moments_equal_exact_functions_per_group(with_whole):
    rng = np.random.default_rng(3)
    points = vectors()
    points[:50] += 40.0                              # a cluster far from the set's mean
    groups, relations = nested_groups(rng, N)
    groups.append(np.arange(50))                     # the far cluster: cancellation guard
    groups.append(np.arange(60, 90))                 # n >= dim: moment form from nothing
    whole = SufficientStats.from_points(points) if with_whole else None
    seen = set()
    for g, moments in group_moments(points, groups, relations, whole=whole, chunk_rows=700):
        seen.add(g)
        want = exact(points[groups[g]])
        got = {"isoscore": moments.isoscore(), "isoscore_star": moments.isoscore_star(ZETA),
               "effective_dims": moments.effective_dims(), "mean_cosine": moments.mean_cosine()}
        assert moments.n == len(groups[g])
        for name in want:
            assert close(got[name], want[name], abs_=1e-13 if name == "mean_cosine" else 0.0), (g, name)
    assert seen == set(range(len(groups)))


def test_group_moments_degenerate_groups_and_errors():
    points = vectors(n=200)
    points[100:140] = points[100]                    # 40 identical vectors: no variance
    groups = [np.arange(100, 140), np.arange(100, 110), np.array([5])]
    found = dict(group_moments(points, groups))
    for g in range(3):
        sufficient = SufficientStats.from_points(points[groups[g]])
        assert found[g].isoscore() is None and found[g].effective_dims() is None
        assert close(found[g].isoscore_star(ZETA), sufficient.isoscore_star(ZETA))
    assert found[2].mean_cosine() is None and found[2].isoscore_star(ZETA) is None
    with pytest.raises(ProtisoError, match="no members"):
        list(group_moments(points, [np.array([], dtype=np.int64)]))
    with pytest.raises(ProtisoError, match="memory budget allows 1"):
        list(group_moments(points, [np.arange(30), np.arange(40)], [(0, 1)], max_matrices=1))
    bad = points.copy()
    bad[7, 3] = np.nan
    with pytest.raises(ProtisoError, match="vector 7"):
        list(group_moments(bad, [np.arange(30)]))


def test_spanning_tree_builds_supersets_from_their_largest_subset():
    rng = np.random.default_rng(1)
    groups, relations = nested_groups(rng, N)
    plan = plan_groups([len(g) for g in groups], groups.__getitem__, N, DIM, relations, whole=True)
    # nodes: 0 nothing, 1 the whole set, 2 + g group g. top = the whole set minus 1,500 rows; mid and
    # sibling = top minus 1,500 / 1,000; low (300) from nothing; the whole set's copy for free; the four
    # groups smaller than dim in the Gram form
    assert plan.parent == {1: 0, 2: 1, 3: 2, 4: 0, 5: 2, 6: 1, 7: 0, 8: 0, 9: 0, 10: 0}
    assert plan.gram == {5, 6, 7, 8}
    assert plan.rows == 1_500 + 1_500 + 300 + 1_000 < 0.15 * plan.rows_from_scratch
    assert plan.matrices_needed <= int(np.log2(len(groups))) + 2


def test_scan_keeps_vectors_in_a_memory_map_beyond_half_the_budget(tmp_path):
    points = vectors()
    wh = warehouse_with(tmp_path / "w", points)
    sql = wh.sql_text("isotropy_vectors")
    params = {"model": "m", "layer": 1, "embedding_set": "raw", "pooling": "mean", "control": "none"}
    small = scan_set(wh, sql, params, "test", N, budget=2**20, keep=True, desc="t")
    large = scan_set(wh, sql, params, "test", N, budget=2**30, keep=True, desc="t")
    try:
        assert small.storage.startswith("memory-mapped") and large.storage.startswith("in memory")
        assert isinstance(small.points, np.memmap)
        np.testing.assert_array_equal(small.points, large.points)
        np.testing.assert_array_equal(np.asarray(small.points), points[order(small.accessions)])
        groups = group_members(wh, small.accessions, "go_term", 10)
        rows = grouped_rows(small, groups, lambda v, m, p: {"group_value": v, "iso": m.isoscore()}, 2 * 2**20,
                            "t", False)
        for row, members in zip(rows, groups.members):
            assert close(row["iso"], isoscore(np.asarray(small.points)[members]))
    finally:
        small.close()
        large.close()
    assert small.points is None
    wh.close()


# -- a warehouse with a hand-made GO slice ------------------------------------------------------------

# child -> parent; BP: B is_a A, C part_of B, D is_a A, R regulates D (not propagated);
# MF: F is_a E; G (MF) part_of B (BP): crosses namespaces, not followed.
GO_TERMS = {"GO:A": "biological_process", "GO:B": "biological_process", "GO:C": "biological_process",
            "GO:D": "biological_process", "GO:R": "biological_process", "GO:E": "molecular_function",
            "GO:F": "molecular_function", "GO:G": "molecular_function"}
GO_EDGES = [("GO:B", "GO:A", "is_a"), ("GO:C", "GO:B", "part_of"), ("GO:D", "GO:A", "is_a"),
            ("GO:R", "GO:D", "regulates"), ("GO:F", "GO:E", "is_a"), ("GO:G", "GO:B", "part_of"),
            ("GO:G", "GO:E", "is_a")]
TRUE_PATH = {"GO:A": {"GO:A"}, "GO:B": {"GO:B", "GO:A"}, "GO:C": {"GO:C", "GO:B", "GO:A"},
             "GO:D": {"GO:D", "GO:A"}, "GO:R": {"GO:R"}, "GO:E": {"GO:E"}, "GO:F": {"GO:F", "GO:E"},
             "GO:G": {"GO:G", "GO:E"}}


def accession(i: int) -> str:
    return f"P{i:05d}"


def order(accessions: pa.Array) -> np.ndarray:
    return np.array([int(a[1:]) for a in accessions.to_pylist()])


def annotations(n: int) -> dict[str, set[str]]:
    rng = np.random.default_rng(9)
    terms = sorted(GO_TERMS)
    out = {}
    for i in range(n):
        picked = rng.choice(terms, rng.integers(0, 4), replace=False, p=[.05, .1, .3, .15, .05, .05, .2, .1])
        out[accession(i)] = set(picked.tolist())
    return out


def warehouse_with(path, points: np.ndarray, pairs: int = 0) -> Warehouse:
    n = len(points)
    rng = np.random.default_rng(2)
    organisms = np.array([f"org{k}" for k in rng.zipf(1.6, n) % 40])
    direct = annotations(n)
    wh = Warehouse.create(path)
    with wh.run("ingest", {"test": "scale analytics"}) as run, run.commit() as tx:
        tx.write_part("proteins", pa.table({"accession": [accession(i) for i in range(n)],
                                            "organism": organisms.tolist(),
                                            "length": rng.integers(30, 1500, n).astype(np.int32)}))
        tx.write_part("protein_go", pa.table({"accession": [a for a, t in direct.items() for _ in t],
                                              "go_id": [g for t in direct.values() for g in sorted(t)]}))
        tx.write_part("go_terms", pa.table({"go_id": list(GO_TERMS), "namespace": list(GO_TERMS.values())}))
        tx.write_part("go_graph", pa.table({"child": [c for c, _, _ in GO_EDGES], "parent": [p for _, p, _ in GO_EDGES],
                                            "distance": [1] * len(GO_EDGES), "relation": [r for _, _, r in GO_EDGES]}))
        shuffled = rng.permutation(n)                  # storage order differs from accession order
        column = pa.array(list(points[shuffled]), type=pa.list_(pa.float32()))
        tx.write_part("embeddings", pa.table({
            "accession": [accession(int(i)) for i in shuffled], "model": ["m"] * n, "layer": [1] * n,
            "pooling": ["mean"] * n, "embedding_set": ["raw"] * n, "embedding": column}))
    if pairs:
        chosen = np.sort(rng.choice(n, pairs, replace=False))
        a, b = np.triu_indices(pairs, k=1)
        with wh.run("align", {"test": "synthetic"}) as run:
            wh.con.execute(wh.sql_text("align_insert_run"), {
                "run_id": run.id, "matrix": "PAM250", "mode": "global", "open_score": -10.0, "extend_score": -1.0,
                "engine": "synthetic", "n_proteins": pairs, "n_pairs": len(a), "seed": 2, "params": "{}"})
            with run.commit() as tx:
                identity = rng.uniform(0, 1, len(a))
                tx.write_part("alignments", pa.table({
                    "accession_a": [accession(int(chosen[i])) for i in a],
                    "accession_b": [accession(int(chosen[j])) for j in b],
                    "score": identity * 900, "identity": identity, "similarity": identity,
                    "normalized_score": identity, "run_id": [run.id] * len(a)}))
    return wh


def test_true_path_members_equal_a_count_by_hand_and_the_sql_macro(tmp_path):
    points = vectors(n=300)
    wh = warehouse_with(tmp_path / "w", points)
    by_hand: dict[str, set[str]] = {}
    for acc, terms in annotations(300).items():
        for term in terms:
            for ancestor in TRUE_PATH[term]:
                by_hand.setdefault(ancestor, set()).add(acc)
    macro: dict[str, set[str]] = {}
    for acc, value in wh.con.execute("SELECT accession, group_value FROM protein_groups('go_term')").fetchall():
        macro.setdefault(value, set()).add(acc)
    assert macro == by_hand
    accessions = wh.query("SELECT accession FROM embeddings").column(0).combine_chunks()
    groups = group_members(wh, accessions, "go_term", 2)
    names = accessions.to_pylist()
    assert {g: {names[i] for i in m} for g, m in zip(groups.names, groups.members)} == \
        {g: s for g, s in by_hand.items() if len(s) >= 2}
    assert all(np.all(np.diff(m) > 0) for m in groups.members)
    related = {(groups.names[a], groups.names[b]) for a, b in groups.relations}
    assert related == {("GO:B", "GO:A"), ("GO:C", "GO:B"), ("GO:D", "GO:A"), ("GO:F", "GO:E"), ("GO:G", "GO:E")}
    wh.close()


def test_isotropy_job_groups_and_spectrum_equal_brute_force(tmp_path):
    points = vectors()
    wh = warehouse_with(tmp_path / "w", points)
    summary = compute_isotropy(wh, by=["go_term", "organism", "length_bin"], scopes=["global"], zeta=ZETA,
                               min_points=10, memory_budget=256 * 2**20)
    rows = wh.query("SELECT * FROM isotropy WHERE run_id = ?", [summary.run_id]).to_pylist()
    members: dict[tuple[str, str], list[int]] = {}
    proteins = wh.query("SELECT accession, organism, length_bin(length) AS bin FROM proteins").to_pylist()
    for p in proteins:
        i = int(p["accession"][1:])
        members.setdefault(("organism", p["organism"]), []).append(i)
        members.setdefault(("length_bin", p["bin"]), []).append(i)
    for acc, terms in annotations(N).items():
        for ancestor in set().union(*(TRUE_PATH[t] for t in terms)) if terms else ():
            members.setdefault(("go_term", ancestor), []).append(int(acc[1:]))
    expected = {k: v for k, v in members.items() if len(v) >= 10}
    assert {(r["group_by"], r["group_value"]) for r in rows if r["group_by"] != "all"} == set(expected)
    for row in rows:
        key = (row["group_by"], row["group_value"])
        group = points if row["group_by"] == "all" else points[sorted(expected[key])]
        assert row["n_points"] == len(group)
        want = exact(group)
        if row["group_by"] != "all":      # a group's IsoScore* shrinks towards the whole set's covariance
            want["isoscore_star"] = isoscore_star(group, ZETA, np.cov(points.astype(np.float64).T))
        for name, value in want.items():
            assert close(row[name], value, abs_=1e-13 if name == "mean_cosine" else 0.0), (key, name)
    (spectrum,) = wh.con.execute("SELECT n, dim, eigenvalues FROM global_spectra WHERE run_id = ?",
                                 [summary.run_id]).fetchall()
    assert spectrum[:2] == (N, DIM)
    np.testing.assert_allclose(spectrum[2], eigen_spectrum(points), rtol=1e-9, atol=1e-15)
    params = json.loads(wh.con.execute("SELECT params FROM runs WHERE run_id = ?", [summary.run_id]).fetchone()[0])
    assert params["memory_budget"] == 256 * 2**20 and params["go_term_rule"].startswith("true-path")
    wh.close()


def test_blocked_pair_distances_equal_the_per_pair_reference():
    points = vectors(n=2_000)
    points[11] = points[12]                               # identical vectors: distance exactly 0
    points[13] = 0.0                                      # zero vector: cosine NaN
    rng = np.random.default_rng(4)
    a, b = np.triu_indices(2_000, k=1)
    pick = rng.choice(len(a), 30_000, replace=False)
    a, b = np.concatenate([a[pick], [11, 13]]), np.concatenate([b[pick], [12, 40]])
    want_cos, want_sq = pair_distances(points, a, b)
    got_cos, got_sq = blocked_pair_distances(points, a, b, block_rows=300)   # 7 x 7 blocks
    finite = np.isfinite(want_cos)
    np.testing.assert_allclose(got_cos[finite], want_cos[finite], rtol=1e-9)
    np.testing.assert_allclose(got_sq, want_sq, rtol=1e-9)
    assert got_sq[-2] == 0.0 and np.isnan(got_cos[-1]) and np.array_equal(np.isnan(got_cos), ~finite)
    brute = [(float(points[i].astype(np.float64) @ points[j]), float(((points[i].astype(np.float64) - points[j]) ** 2).sum()))
             for i, j in zip(a[:200], b[:200])]
    np.testing.assert_allclose(got_sq[:200], [s for _, s in brute], rtol=1e-9)


def test_pair_metrics_job_in_blocks_equals_the_reference(tmp_path):
    points = vectors(n=1_200)
    wh = warehouse_with(tmp_path / "w", points, pairs=600)   # 179,700 pairs, 2 x 2 blocks at 64 MiB
    (group,) = compute_pair_metrics(wh, memory_budget=64 * 2**20).groups
    got = wh.query("SELECT accession_a, accession_b, cosine, sq_euclidean FROM pair_metrics").to_pylist()
    assert group["pairs"] == len(got) == 600 * 599 // 2
    a = np.array([int(r["accession_a"][1:]) for r in got])
    b = np.array([int(r["accession_b"][1:]) for r in got])
    cos, sq = pair_distances(points, a, b)
    np.testing.assert_allclose([r["cosine"] for r in got], cos, rtol=1e-9)
    np.testing.assert_allclose([r["sq_euclidean"] for r in got], sq, rtol=1e-9)
    params = json.loads(wh.con.execute("SELECT params FROM runs WHERE kind = 'pair_metrics'").fetchone()[0])
    assert params["memory_budget"] == 64 * 2**20
    wh.close()


def test_memory_budget_option():
    assert parse_memory_budget("4GiB") == 4 * 2**30 == parse_memory_budget(None)
    assert parse_memory_budget("512MiB") == parse_memory_budget("512M") == 512 * 2**20
    assert parse_memory_budget("2GB") == 2 * 10**9 and parse_memory_budget("1e9") == 10**9
    for bad in ("lots", "4 parsecs", "1MiB"):
        with pytest.raises(ProtisoError, match="memory-budget"):
            parse_memory_budget(bad)
    for command in ("isotropy", "pair-metrics"):
        result = CliRunner().invoke(app, [command, "-w", "/nonexistent", "--memory-budget", "lots"])
        assert result.exit_code != 0 and "--memory-budget" in result.output


def test_group_moments_hold_numpys_blas_to_one_thread_and_give_it_back():
    """While grouped isotropy runs, numpy's bundled OpenBLAS has one thread and scipy's (dsyrk) keeps its
    own; afterwards both are as before (protiso.metrics.blas)."""
    from threadpoolctl import threadpool_info

    def threads() -> dict[str, int]:
        return {lib["filepath"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = threads()
    numpy_libs = [p for p in before if "numpy" in p.split("site-packages")[-1].rsplit("/", 1)[0]]
    points = np.random.default_rng(0).standard_normal((300, 16))
    seen = []
    for _ in group_moments(points, [np.arange(0, 300, 2), np.arange(1, 300, 3)]):
        seen.append(threads())
    assert threads() == before
    if numpy_libs and len(before) > len(numpy_libs):    # numpy and scipy bring their own copies (wheels)
        assert all(s[p] == 1 for s in seen for p in numpy_libs)
        assert all(s[p] == before[p] for s in seen for p in before if p not in numpy_libs)
    else:
        assert all(s == before for s in seen)
