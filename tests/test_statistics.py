"""Issue 22's statistics: scale-free IsoScore* of groups, p- and q-values of groups against their null
(size or length-matched), root GO terms, Monte-Carlo error, matched comparisons across layers and models,
and intervals over proteins, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from IsoScore.IsoScore import IsoScore_star
from isotropy_data import build_warehouse, golden, reference_float64, vectors

from protiso.jobs.isotropy import compute_isotropy
from protiso.warehouse import Warehouse


@pytest.fixture()
def warehouse(tmp_path):
    wh = build_warehouse(tmp_path / "w")
    yield wh
    wh.close()


def test_group_isoscore_star_shrinks_towards_the_whole_set_and_ignores_scale(tmp_path):
    g = golden()
    points = g["global_vectors"].astype(np.float64)
    got = {}
    for factor in (1.0, 100.0):
        wh = build_warehouse(tmp_path / f"w{factor}", scale=factor)
        compute_isotropy(wh, by=["organism"], scopes=["global"], min_points=5, null_draws=0)
        got[factor] = {(r["group_by"], r["group_value"]): r for r in wh.query(
            "SELECT * FROM isotropy WHERE scope = 'global'").to_pylist()}
        wh.close()
    whole_cov = np.cov((g["global_vectors"].astype(np.float32).astype(np.float64)).T)
    for key, row in got[1.0].items():
        other = got[100.0][key]
        assert other["isoscore_star"] == pytest.approx(row["isoscore_star"], abs=1e-9)
        assert row["isoscore_star_fixed"] != pytest.approx(other["isoscore_star_fixed"], abs=1e-3)
        if key[0] == "organism":
            assert row["isoscore_star_target"] == "whole set"
            mine = points[g["organisms"] == key[1]].astype(np.float32).astype(np.float64)
            want = reference_float64(IsoScore_star, mine, whole_cov, row["zeta"])
            assert row["isoscore_star"] == pytest.approx(want, rel=1e-8)
        else:
            assert row["isoscore_star_target"] == "scaled identity"


def test_group_moments_target_terms_in_both_forms_equal_the_package():
    """Groups above and below the dimension (moment form, Gram form; nested, so built from each other and
    from the whole set): IsoScore* towards the whole set's covariance equals the package with that C0."""
    from protiso.metrics.grouped import group_moments
    from protiso.metrics.stats import SufficientStats

    points = golden()["global_vectors"][:, :12].astype(np.float64) * 3.0 + 1.0
    members = [np.arange(0, 90), np.arange(0, 70), np.arange(5, 15), np.arange(40, 99, 2)]
    whole = SufficientStats.from_points(points)
    cov = np.cov(points.T)
    found = dict(group_moments(points, members, [(0, 1)], whole=whole, target=True))
    assert len(found) == 4
    for g, moments in found.items():
        mine = points[members[g]]
        assert moments.isoscore_star(0.25) == pytest.approx(reference_float64(IsoScore_star, mine, cov, 0.25), rel=1e-9)
        assert moments.isoscore_star_fixed(0.25) == pytest.approx(
            reference_float64(IsoScore_star, mine, np.eye(12), 0.25), rel=1e-9)


@pytest.fixture(scope="module")
def go_tested(tmp_path_factory, shared_data):
    """The 99 AntiBERTy proteins with their GO annotations and the real GO 2014 graph, groups tested
    against the size null (40 draws) and, in a second run, against the length-matched null drawn by two
    worker processes."""
    from protiso.sequences.ingest import ingest_files

    wh = build_warehouse(tmp_path_factory.mktemp("go") / "w")
    ingest_files(wh, [shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz",
                      shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz"], progress=False)
    size = compute_isotropy(wh, by=["go_term", "organism"], scopes=["global"], min_points=5, null_draws=40, seed=2)
    length = compute_isotropy(wh, by=["go_term"], scopes=["global"], min_points=5, null_draws=12, seed=2,
                              null="length", workers=2)
    yield wh, size.run_id, length.run_id
    wh.close()


def test_q_values_are_benjamini_hochberg_of_the_stored_p_values_per_namespace(go_tested):
    from scipy.stats import false_discovery_control

    wh, run, _ = go_tested
    data = wh.query("SELECT i.group_by, t.namespace, i.p_value, i.q_value, i.is_root FROM isotropy i "
                    "LEFT JOIN (SELECT go_id, any_value(namespace) AS namespace FROM go_terms GROUP BY go_id) t "
                    "ON i.group_by = 'go_term' AND t.go_id = i.group_value "
                    "WHERE i.run_id = ? AND i.group_by <> 'all'", [run]).to_pylist()
    families = {(r["group_by"], r["namespace"]) for r in data if not r["is_root"]}
    assert ("go_term", "biological_process") in families and ("organism", None) in families
    for key in families:
        mine = [r for r in data if (r["group_by"], r["namespace"]) == key and not r["is_root"]]
        assert all(r["p_value"] is not None for r in mine)
        want = false_discovery_control([r["p_value"] for r in mine], method="bh")
        assert [r["q_value"] for r in mine] == pytest.approx(list(want), abs=1e-12)


def test_root_terms_are_neither_tested_nor_ranked(go_tested):
    from protiso.report.common import rows as report_rows

    wh, run, _ = go_tested
    roots = wh.query("SELECT group_value, p_value, q_value FROM isotropy WHERE run_id = ? AND is_root",
                     [run]).to_pylist()
    assert {r["group_value"] for r in roots} == {"GO:0008150", "GO:0003674", "GO:0005575"}
    assert all(r["p_value"] is None and r["q_value"] is None for r in roots)
    ranked = {r["group_value"] for r in report_rows(wh, "report_groups", models=None, top=10_000)}
    assert ranked and not ranked & {r["group_value"] for r in roots}


def test_p_values_equal_a_recount_from_the_stored_null(go_tested):
    wh, run, length_run = go_tested
    for run_id in (run, length_run):
        data = wh.query("SELECT isoscore, null_mean, null_values, null_draws, p_value, size_z, size_z_se, "
                        "null_method FROM isotropy WHERE run_id = ? AND p_value IS NOT NULL", [run_id]).to_pylist()
        assert data
        for r in data:
            draws = np.array(r["null_values"])
            assert len(draws) == r["null_draws"] and r["null_mean"] == pytest.approx(draws.mean(), rel=1e-12)
            extreme = np.sum(np.abs(draws - draws.mean()) >= abs(r["isoscore"] - draws.mean()))
            assert r["p_value"] == pytest.approx((1 + extreme) / (1 + len(draws)), abs=1e-12)
            z = (r["isoscore"] - draws.mean()) / draws.std(ddof=1)
            assert r["size_z"] == pytest.approx(z, rel=1e-9)
            assert r["size_z_se"] == pytest.approx(np.sqrt(1 / len(draws) + z * z / (2 * (len(draws) - 1))), rel=1e-9)
        # and in plain SQL, from the stored draws alone
        recount = wh.query(
            "SELECT max(abs(p_value - (1 + len(list_filter(null_values, lambda v: abs(v - null_mean) >= "
            "abs(isoscore - null_mean)))) / (1 + len(null_values)))) AS worst FROM isotropy "
            "WHERE run_id = ? AND p_value IS NOT NULL", [run_id]).to_pylist()[0]["worst"]
        assert recount < 1e-12


def test_the_stored_null_does_not_depend_on_the_worker_processes(go_tested):
    wh, _, run = go_tested
    again = compute_isotropy(wh, by=["go_term"], scopes=["global"], min_points=5, null_draws=12, seed=2,
                             null="length", workers=1)
    query = ("SELECT group_value, null_values, size_z, p_value, q_value FROM isotropy WHERE run_id = ? "
             "AND group_by = 'go_term' ORDER BY group_value")
    forked = wh.con.execute(query, [run]).fetchall()
    assert len(forked) > 10 and all(len(row[1]) == 12 for row in forked if row[1] is not None)
    assert wh.con.execute(query, [again.run_id]).fetchall() == forked
    workers = wh.con.execute("SELECT params->>'workers' FROM runs WHERE run_id IN (?, ?) ORDER BY run_id",
                             [run, again.run_id]).fetchall()
    assert sorted(w[0] for w in workers) == ["1", "2"]     # recorded, though it changes nothing


def test_length_matched_null_equals_a_brute_force_redraw(go_tested):
    """Draw j takes, from each length stratum b (deciles of the proteins' lengths), the first c_b proteins
    of rng([seed, j, b]).permutation of that stratum's proteins (in accession order)."""
    from protiso.metrics.isotropy import isoscore
    from protiso.metrics.length_null import length_strata

    wh, _, run = go_tested
    g = golden()
    order = np.argsort(g["accessions"].astype(str))
    names = g["accessions"].astype(str)[order]
    points = g["global_vectors"].astype(np.float32).astype(np.float64)[order]
    strata = length_strata(g["lengths"][order].astype(np.float64), 10)
    annotated = dict(wh.con.execute(
        "SELECT group_value, list(accession ORDER BY accession) FROM protein_groups('go_term') GROUP BY 1").fetchall())
    rows = wh.query("SELECT group_value, null_values, null_method, n_proteins FROM isotropy WHERE run_id = ? "
                    "AND group_by = 'go_term' AND null_values IS NOT NULL ORDER BY n_proteins, group_value LIMIT 3",
                    [run]).to_pylist()
    assert rows and all(r["null_method"] == "length" for r in rows)
    for row in rows:
        mine = np.searchsorted(names, annotated[row["group_value"]])
        counts = np.bincount(strata[mine], minlength=strata.max() + 1)
        redraw = []
        for j in range(12):
            chosen = []
            for b, c in enumerate(counts):
                members = np.flatnonzero(strata == b)
                chosen += list(members[np.random.default_rng([2, j, b]).permutation(len(members))][:c])
            redraw.append(isoscore(points[np.array(chosen)]))
        assert row["null_values"] == pytest.approx(redraw, rel=1e-9)


def _add_layer(wh: Warehouse, layer: int, count: int) -> np.ndarray:
    """A second layer of the antiberty set over the first ``count`` proteins (as `embed --layers all
    --sample count` beside a full last-layer embed): real vectors, rotated and shifted."""
    g = golden()
    rng = np.random.default_rng(layer)
    q, _ = np.linalg.qr(rng.standard_normal((512, 512)))
    points = (g["global_vectors"][:count].astype(np.float64) @ q + 0.5).astype(np.float32)
    accessions = [str(a) for a in g["accessions"][:count]]
    with wh.commit(None) as tx:
        tx.write_part("embeddings", pa.table({
            "accession": accessions, "model": ["antiberty"] * count, "layer": [layer] * count,
            "pooling": [str(g["pooling"])] * count, "embedding_set": ["raw"] * count, "embedding": vectors(points)}))
    return points


def test_layer_curve_rows_use_the_proteins_every_layer_has(warehouse):
    from protiso.metrics import isoscore, mean_pairwise_cosine

    g = golden()
    sub = _add_layer(warehouse, 3, 40)
    summary = compute_isotropy(warehouse, scopes=["global"])
    data = {(r["layer"], r["group_by"]): r for r in warehouse.query(
        "SELECT * FROM isotropy WHERE run_id = ?", [summary.run_id]).to_pylist()}
    layer = int(g["layer"])
    assert data[(layer, "all")]["n_points"] == 99 and data[(3, "all")]["n_points"] == 40
    matched_last, matched_3 = data[(layer, "matched")], data[(3, "matched")]
    assert matched_last["group_value"] == matched_3["group_value"] == "layers"
    assert matched_last["n_points"] == matched_3["n_points"] == 40 and matched_last["matched_sets"] == 2
    mine = g["global_vectors"][:40].astype(np.float32).astype(np.float64)
    assert matched_last["isoscore"] == pytest.approx(isoscore(mine), rel=1e-9)
    assert matched_last["mean_cosine"] == pytest.approx(mean_pairwise_cosine(mine), abs=1e-12)
    assert matched_3["isoscore"] == pytest.approx(isoscore(sub.astype(np.float64)), rel=1e-9)
    assert "share: n=40" in summary.render()


def test_report_layer_curve_is_matched_and_shows_n_per_row(warehouse, tmp_path):
    import re

    from protiso.report.document import render_report

    _add_layer(warehouse, 3, 40)
    compute_isotropy(warehouse, scopes=["global"])
    render_report(warehouse, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    start = html.index('<section id="layers"')
    layers = html[start:html.index("<section id=", start + 1)]
    assert "the same 40 proteins at every layer" in layers and "(unmatched)" in layers
    assert 'class="note unmatched"' in layers
    shown = {}
    for tag in re.findall(r"<[^>]*data-metric=\"n_points\"[^>]*>", layers):
        attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', tag))
        shown[(attrs["layer"], attrs["group-by"])] = attrs["value"]
    layer = str(int(golden()["layer"]))
    assert shown == {("3", "matched"): "40", (layer, "matched"): "40", ("3", "all"): "40", (layer, "all"): "99"}


def test_correlations_matched_uses_the_pairs_every_layer_has(warehouse):
    """Layer 1 has 6 complete pairs, layer 2 four of them plus one of its own: the matched curve uses the
    four at both layers (Pearson and Spearman recomputed on them), N and own N per layer."""
    from scipy.stats import pearsonr, spearmanr

    rng = np.random.default_rng(0)
    names = ["P1", "P2", "P3", "P4", "P5"]
    pairs = {1: [(a, b) for i, a in enumerate(names[:4]) for b in names[i + 1:4]],  # 6 pairs of P1..P4
             2: [("P1", "P2"), ("P1", "P3"), ("P2", "P3"), ("P3", "P4"), ("P4", "P5")]}
    rows = []
    for layer, members in pairs.items():
        for a, b in members:
            rows.append({"model": "m", "layer": layer, "pooling": "mean", "embedding_set": "raw",
                         "alignment_run": "align-1", "accession_a": a, "accession_b": b,
                         "cosine": float(rng.uniform()), "sq_euclidean": float(rng.uniform()),
                         "score": float(rng.uniform()), "identity": float(rng.uniform()),
                         "similarity": float(rng.uniform()), "normalized_score": float(rng.uniform()),
                         "complete": True})
    rows.append({**rows[0], "layer": 2, "accession_a": "P1", "accession_b": "P5", "complete": False,
                 "identity": None})
    with warehouse.commit(None) as tx:
        tx.write_part("pair_metrics", pa.Table.from_pylist(rows))
    got = warehouse.query("SELECT * FROM correlations_matched ORDER BY layer, metric_x, metric_y").to_pylist()
    assert {(r["layer"], r["metric_x"], r["metric_y"]) for r in got} == {
        (layer, x, y) for layer in (1, 2) for x in ("cosine", "sq_euclidean") for y in ("identity", "score")}
    common = set(pairs[1]) & set(pairs[2])
    assert len(common) == 4
    for r in got:
        mine = [p for p in rows if p["layer"] == r["layer"] and p["complete"]
                and (p["accession_a"], p["accession_b"]) in common]
        x, y = [p[r["metric_x"]] for p in mine], [p[r["metric_y"]] for p in mine]
        assert r["n"] == 4 and r["n_proteins"] == 4 and r["layers"] == 2
        assert r["n_unmatched"] == len(pairs[r["layer"]])
        assert r["pearson"] == pytest.approx(pearsonr(x, y).statistic, abs=1e-12)
        assert r["spearman"] == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)


def test_per_protein_local_summaries_carry_an_interval_over_proteins(warehouse):
    """Per-protein local IsoScores (as the embedding stage stores them) of 30 proteins of a second model,
    each protein's residue cloud a window of 8 consecutive real residue vectors: the per-protein row's 95 %
    interval is a seeded bootstrap over proteins of their mean, whose width matches the normal-theory
    2 x 1.96 sd / sqrt(n) within 15 %."""
    from protiso.metrics import isoscore

    g = golden()
    names = [str(a) for a in g["accessions"][:30]]
    local = [isoscore(g["residue_vectors"][8 * i:8 * i + 8].astype(np.float64)) for i in range(30)]
    with warehouse.commit(None) as tx:
        tx.write_part("embeddings", pa.table({
            "accession": names, "model": ["toy"] * len(names), "layer": [1] * len(names),
            "pooling": ["mean"] * len(names), "embedding_set": ["raw"] * len(names),
            "embedding": vectors(g["global_vectors"][:len(names)]), "local_isoscore": local,
            "local_n": [8] * len(names)}))
    summary = compute_isotropy(warehouse, scopes=["local"], models=["toy"], seed=11)
    row, = warehouse.query("SELECT * FROM local_isotropy WHERE run_id = ? AND definition = 'per_protein'",
                           [summary.run_id]).to_pylist()
    values = np.array([v for v in local if v is not None])
    assert row["n_proteins"] == len(values) and row["isoscore"] == pytest.approx(values.mean(), rel=1e-12)
    assert row["isoscore_ci_low"] < row["isoscore"] < row["isoscore_ci_high"]
    width = row["isoscore_ci_high"] - row["isoscore_ci_low"]
    assert width == pytest.approx(2 * 1.96 * values.std(ddof=1) / np.sqrt(len(values)), rel=0.15)
    assert (row["ci_replicates"], row["ci_seed"]) == (1000, 11) and "proteins" in row["ci_method"]
    again = compute_isotropy(warehouse, scopes=["local"], models=["toy"], seed=11)
    same, = warehouse.query("SELECT isoscore_ci_low, isoscore_ci_high FROM local_isotropy WHERE run_id = ? "
                            "AND definition = 'per_protein'", [again.run_id]).to_pylist()
    assert (same["isoscore_ci_low"], same["isoscore_ci_high"]) == (row["isoscore_ci_low"], row["isoscore_ci_high"])



def test_cli_null_option_and_its_errors(tmp_path):
    from conftest import run_protiso

    wh = build_warehouse(tmp_path / "w")
    wh.close()
    done = run_protiso("isotropy", "-w", str(tmp_path / "w"), "--by", "organism", "--scope", "global",
                       "--min-points", "5", "--null", "length", "--null-draws", "6")
    assert done.returncode == 0, done.stderr
    with Warehouse.open(tmp_path / "w") as wh:
        methods = wh.con.execute("SELECT DISTINCT null_method FROM isotropy WHERE group_by = 'organism'").fetchall()
        params = wh.con.execute("SELECT params ->> 'null' FROM runs WHERE kind = 'isotropy'").fetchall()
    assert methods == [("length",)] and params == [("length",)]
    bad = run_protiso("isotropy", "-w", str(tmp_path / "w"), "--null", "lengths")
    assert bad.returncode != 0 and "unknown --null 'lengths'; choose from size, length" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_local_layer_curve_rows_use_the_proteins_with_residues_at_every_layer(warehouse, tmp_path):
    """A second layer's stored residues for both proteins with residues plus a third protein that has none
    at the first layer: both layers' matched local rows are measured on the two proteins' residues only
    (IsoScore recomputed from the vectors), with their N and the report's label."""
    from protiso.metrics import isoscore
    from protiso.report.document import render_report

    g = golden()
    owners = np.repeat(g["residue_accessions"], g["residue_lengths"]).astype(str)
    extra = next(str(a) for a in g["accessions"] if str(a) not in set(owners))
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.standard_normal((g["residue_vectors"].shape[1],) * 2))
    moved = (g["residue_vectors"].astype(np.float64) @ q + 0.25).astype(np.float32)
    third = rng.standard_normal((30, moved.shape[1])).astype(np.float32)
    positions = np.concatenate([np.arange(1, k + 1) for k in g["residue_lengths"]] + [np.arange(1, 31)])
    with warehouse.commit(None) as tx:
        tx.write_part("residues", pa.table({
            "accession": owners.tolist() + [extra] * 30, "model": ["antiberty"] * (len(owners) + 30),
            "layer": [3] * (len(owners) + 30), "position": positions.astype(np.int32),
            "vector": vectors(np.vstack([moved, third]))}))
    summary = compute_isotropy(warehouse, scopes=["local"])
    data = {r["layer"]: r for r in warehouse.query(
        "SELECT * FROM isotropy WHERE run_id = ? AND scope = 'local' AND group_by = 'matched'",
        [summary.run_id]).to_pylist()}
    layer = int(g["layer"])
    assert set(data) == {layer, 3}
    own = g["residue_vectors"].astype(np.float32).astype(np.float64)
    for found, points in ((data[layer], own), (data[3], moved.astype(np.float64))):
        assert found["group_value"] == "layers" and found["matched_sets"] == 2 and found["n_proteins"] == 2
        assert found["n_points"] == len(owners)
        assert found["isoscore"] == pytest.approx(isoscore(points), rel=1e-9)
    render_report(warehouse, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    start = html.index('<section id="layers"')
    layers = html[start:html.index("<section id=", start + 1)]
    assert "the same 2 proteins&#39; stored residues at every layer" in layers
