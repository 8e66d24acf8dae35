"""Homolog-enriched pair samples, weighted / per-stratum correlations, protein jackknife intervals and flexible
partial correlations, each against an independent numpy recomputation on real Swiss-Prot proteins (the 300-protein
2014 slice and the 100 flat-file entries with their Pfam / InterPro cross-references), with real-data vectors."""

from __future__ import annotations

import re
from itertools import combinations

import numpy as np
import pytest
from align_helpers import AMINO, SP300, composition_vectors, write_embeddings

from protiso.jobs.align import align_and_measure
from protiso.align.homologs import mmseqs_path
from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse

PAIR_COUNT, SHARE, SEED = 700, 0.3, 11


def _dat_families(path) -> dict[str, set[str]]:
    """accession -> Pfam / InterPro ids, parsed here independently of protiso's reader."""
    out: dict[str, set[str]] = {}
    accession = None
    for line in path.read_text().splitlines():
        if line.startswith("AC   ") and accession is None:
            accession = line[5:].split(";")[0].strip()
        elif line.startswith("DR   Pfam;") or line.startswith("DR   InterPro;"):
            out.setdefault(accession, set()).add(line.split(";")[1].strip())
        elif line.startswith("//"):
            accession = None
    return out


@pytest.fixture(scope="module")
def enriched(tmp_path_factory, shared_data):
    """(warehouse path, run id, families): 300 + 100 real proteins, composition vectors for all but 4, one
    homolog-enriched run whose candidates are shared Pfam / InterPro entries."""
    from protiso.sequences.ingest import ingest_files

    dat = shared_data / "swissprot-entries" / "swissprot_2012_100.dat"
    path = tmp_path_factory.mktemp("pairs") / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [SP300, dat], progress=False)
        rows = wh.con.execute("SELECT accession, sequence FROM proteins ORDER BY accession").fetchall()
        kept = rows[4:]  # four proteins get no vector: their pairs are excluded (missing embedding)
        write_embeddings(wh, [a for a, _ in kept], composition_vectors([s for _, s in kept]))
        run = align_and_measure(wh, design="homolog-enriched", pair_count=PAIR_COUNT, homolog_share=SHARE, seed=SEED,
                    homolog_source="xrefs", workers=1, progress=False).run_id
    return path, run, _dat_families(dat), [a for a, _ in kept]


def test_homolog_sample_strata_and_weights(enriched):
    path, run, families, embedded = enriched
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT accession_a, accession_b, stratum, weight, homolog_evidence FROM alignments "
                        "WHERE run_id = ?", [run]).to_pylist()
        params = wh.con.execute("SELECT params FROM alignment_runs WHERE run_id = ?", [run]).fetchall()[0][0]
    # the population: all pairs of the embedded proteins (the default candidates); homologs share a family
    homologs = {(a, b) for a, b in combinations(sorted(embedded), 2) if families.get(a, set()) & families.get(b, set())}
    total = len(embedded) * (len(embedded) - 1) // 2
    assert len(rows) == PAIR_COUNT
    stratum = {(r["accession_a"], r["accession_b"]): r["stratum"] for r in rows}
    n_h = sum(s == "homolog" for s in stratum.values())
    assert n_h == min(len(homologs), round(SHARE * PAIR_COUNT)) and n_h > 0
    for pair, s in stratum.items():
        assert (s == "homolog") == (pair in homologs), pair
        assert set(pair) <= set(embedded)
    for r in rows:
        expected = len(homologs) / n_h if r["stratum"] == "homolog" else (total - len(homologs)) / (PAIR_COUNT - n_h)
        assert r["weight"] == pytest.approx(expected, rel=1e-12)
        assert r["homolog_evidence"] == ("xrefs" if r["stratum"] == "homolog" else None)
    assert sum(r["weight"] for r in rows) == pytest.approx(total, rel=1e-12)  # weights estimate the population
    assert '"homolog_sources": ["xrefs"]' in params and '"candidates": "embedded by any model"' in params


def _pairs(path, run):
    with Warehouse.open(path) as wh:
        return wh.query("SELECT * FROM pair_metrics WHERE alignment_run = ? AND complete "
                        "ORDER BY accession_a, accession_b", [run]).to_pandas()


def _weighted_corr(x, y, w):
    return np.cov(x, y, aweights=w)[0, 1] / np.sqrt(np.cov(x, aweights=w)[()] * np.cov(y, aweights=w)[()])


def test_weighted_and_stratum_correlations_match_numpy(enriched):
    path, run, _, _ = enriched
    df = _pairs(path, run)
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT * FROM correlations WHERE alignment_run = ?", [run]).to_pylist()
    assert {(r["stratum"], r["weighting"]) for r in rows} == {
        ("all", "unweighted"), ("all", "weighted"), ("homolog", "unweighted"), ("non-homolog", "unweighted")}
    for r in rows:
        x, y = r["metric_x"], r["metric_y"]
        part = df if r["stratum"] == "all" else df[df["stratum"] == r["stratum"]]
        assert r["n"] == len(part) and r["mode"] == "global"
        if r["weighting"] == "weighted":
            expected = _weighted_corr(part[x].to_numpy(), part[y].to_numpy(), part["weight"].to_numpy())
        else:
            expected = np.corrcoef(part[x], part[y])[0, 1]
            spearman = np.corrcoef(part[x].rank(), part[y].rank())[0, 1]
            assert r["spearman"] == pytest.approx(spearman, rel=1e-9, abs=1e-12)
        assert r["pearson"] == pytest.approx(expected, rel=1e-9, abs=1e-12), (x, y, r["stratum"], r["weighting"])
        assert r["pearson_low"] < r["pearson"] < r["pearson_high"]


def test_excluded_pairs_counted_with_reasons(enriched):
    path, run, _, embedded = enriched
    with Warehouse.open(path) as wh:
        aligned = wh.query("SELECT accession_a, accession_b FROM alignments WHERE run_id = ?", [run]).to_pylist()
        row = wh.query("SELECT * FROM correlations WHERE alignment_run = ? AND stratum = 'all' AND "
                       "weighting = 'unweighted' LIMIT 1", [run]).to_pylist()[0]
    have = set(embedded)
    missing = sum(not ({p["accession_a"], p["accession_b"]} <= have) for p in aligned)
    assert row["n_aligned"] == len(aligned) == PAIR_COUNT
    assert row["n_missing_embedding"] == missing
    assert row["n_null_metric"] == 0 and row["n"] == len(aligned) - missing


def _jackknife_brute(df, x, y, weights=None, controls=None):
    """Delete each protein in turn, recompute from scratch (lstsq residuals for partials), Fisher-z jackknife."""
    xs_all, ys_all = df[x].to_numpy(), df[y].to_numpy()
    w_all = None if weights is None else df[weights].to_numpy()
    design_all = None if controls is None else np.column_stack([np.ones(len(df)), controls(df)])
    a, b = df["accession_a"].to_numpy(), df["accession_b"].to_numpy()

    def estimate(keep):
        xs, ys = xs_all[keep], ys_all[keep]
        w = None if w_all is None else w_all[keep]
        if design_all is not None:
            design = design_all[keep]
            sw = np.sqrt(np.ones(len(xs)) if w is None else w)
            xs = xs - design @ np.linalg.lstsq(design * sw[:, None], xs * sw, rcond=None)[0]
            ys = ys - design @ np.linalg.lstsq(design * sw[:, None], ys * sw, rcond=None)[0]
        return np.corrcoef(xs, ys)[0, 1] if w is None else _weighted_corr(xs, ys, w)

    proteins = sorted(set(a) | set(b))
    loo = np.array([estimate((a != p) & (b != p)) for p in proteins])
    z = np.arctanh(loo)
    se = np.sqrt((len(z) - 1) / len(z) * ((z - z.mean()) ** 2).sum())
    full = estimate(np.ones(len(df), dtype=bool))
    return full, np.tanh(np.arctanh(full) - 1.959963984540054 * se), np.tanh(np.arctanh(full) + 1.959963984540054 * se)


@pytest.mark.parametrize("weighting", ["unweighted", "weighted"])
def test_jackknife_intervals_match_brute_force(enriched, weighting):
    path, run, _, _ = enriched
    df = _pairs(path, run)
    with Warehouse.open(path) as wh:
        row = wh.query("SELECT * FROM correlations WHERE alignment_run = ? AND stratum = 'all' AND weighting = ? "
                       "AND metric_x = 'cosine' AND metric_y = 'identity'", [run, weighting]).to_pylist()[0]
    full, low, high = _jackknife_brute(df, "cosine", "identity", "weight" if weighting == "weighted" else None)
    assert row["pearson"] == pytest.approx(full, rel=1e-9)
    assert (row["pearson_low"], row["pearson_high"]) == pytest.approx((low, high), rel=1e-7)
    width = row["pearson_high"] - row["pearson_low"]
    assert 1 / 1.5 < width / (high - low) < 1.5
    assert row["n_proteins"] == len(set(df["accession_a"]) | set(df["accession_b"]))


def _sequence_terms(path, df):
    with Warehouse.open(path) as wh:
        seqs = dict(wh.con.execute("SELECT accession, sequence FROM proteins").fetchall())
    length = {a: len(s) for a, s in seqs.items()}
    comp = {a: np.array([s.count(c) / len(s) for c in AMINO]) for a, s in seqs.items()}
    la = df["accession_a"].map(length).to_numpy(float)
    lb = df["accession_b"].map(length).to_numpy(float)
    c = np.array([np.linalg.norm(comp[a] - comp[b]) for a, b in zip(df["accession_a"], df["accession_b"])])
    return la, lb, c


@pytest.mark.parametrize("adjustment", ["flexible length + composition", "length + composition (linear)"])
def test_partial_correlations_match_least_squares(enriched, adjustment):
    path, run, _, _ = enriched
    df = _pairs(path, run)
    la, lb, c = _sequence_terms(path, df)
    if adjustment.startswith("flexible"):
        u, v = np.log(np.minimum(la, lb)), np.log(np.maximum(la, lb))
        q = np.minimum(la, lb) / np.maximum(la, lb)
        basis = np.column_stack([u, u ** 2, u ** 3, v, v ** 2, v ** 3, q, q ** 2, q ** 3, u * v, c, c ** 2])
    else:
        basis = np.column_stack([np.abs(la - lb), c])
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT * FROM partial_correlations WHERE alignment_run = ? AND adjustment = ? "
                        "AND length_ratio = 'all' AND metric_x = 'cosine' AND metric_y = 'identity'",
                        [run, adjustment]).to_pylist()
    got = {(r["stratum"], r["weighting"]): r for r in rows}
    full, low, high = _jackknife_brute(df, "cosine", "identity", None, lambda part: basis)
    row = got[("all", "unweighted")]
    assert row["pearson"] == pytest.approx(full, abs=1e-6)
    assert (row["pearson_low"], row["pearson_high"]) == pytest.approx((low, high), abs=1e-6)
    weighted = _jackknife_brute(df, "cosine", "identity", "weight", lambda part: basis)[0]
    assert got[("all", "weighted")]["pearson"] == pytest.approx(weighted, abs=1e-6)


@pytest.mark.parametrize("adjustment", ["none", "flexible length + composition"])
def test_partials_within_length_ratio_strata(enriched, adjustment):
    """Each length-ratio stratum's row is least squares refitted on the stratum's pairs; for the flexible
    basis that holds even inside [0.8, 1], where the cubic in the ratio is nearly collinear (condition ~1e8)."""
    path, run, _, _ = enriched
    df = _pairs(path, run)
    la, lb, c = _sequence_terms(path, df)
    q = np.minimum(la, lb) / np.maximum(la, lb)
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT * FROM partial_correlations WHERE alignment_run = ? AND stratum = 'all' AND "
                        "weighting = 'unweighted' AND adjustment = ? AND metric_x = 'cosine' AND "
                        "metric_y = 'score'", [run, adjustment]).to_pylist()
    bins = {"[0, 0.5)": (0, 0.5), "[0.5, 0.8)": (0.5, 0.8), "[0.8, 1]": (0.8, 1.01)}
    assert {r["length_ratio"] for r in rows} == {"all", *bins}
    checked = 0
    for r in rows:
        lo, hi = bins.get(r["length_ratio"], (0, 2))
        inside = (q >= lo) & (q < hi)
        assert r["n"] == int(inside.sum())
        basis = [np.ones(r["n"])]
        if adjustment != "none":
            if r["n"] < 30:
                continue
            u, v, w, d = ((t - t.mean()) / t.std() for t in (np.log(np.minimum(la, lb))[inside],
                                                             np.log(np.maximum(la, lb))[inside], q[inside], c[inside]))
            basis += [u, u ** 2, u ** 3, v, v ** 2, v ** 3, w, w ** 2, w ** 3, u * v, d, d ** 2]
        basis = np.column_stack(basis)
        x, y = df["cosine"].to_numpy()[inside], df["score"].to_numpy()[inside]
        rx = x - basis @ np.linalg.lstsq(basis, x, rcond=None)[0]
        ry = y - basis @ np.linalg.lstsq(basis, y, rcond=None)[0]
        assert r["pearson"] == pytest.approx(np.corrcoef(rx, ry)[0, 1], abs=1e-9), r["length_ratio"]
        checked += 1
    assert checked >= 3


def test_align_samples_embedded_proteins(tmp_path):
    from align_helpers import read_fasta, warehouse_with_proteins

    records = read_fasta()
    with warehouse_with_proteins(tmp_path / "w") as wh:
        chosen = [a for a, _ in records[::3]]
        write_embeddings(wh, chosen, composition_vectors([s for _, s in records[::3]]), model="m1")
        run = align_and_measure(wh, proteins=30, seed=2, workers=1, progress=False, pair_metrics=False).run_id
        sampled = {a for row in wh.con.execute("SELECT accession_a, accession_b FROM alignments WHERE run_id = ?",
                                               [run]).fetchall() for a in row}
        assert len(sampled) == 30 and sampled <= set(chosen)
        run = align_and_measure(wh, proteins=30, seed=2, workers=1, progress=False, pair_metrics=False, all_proteins=True).run_id
        sampled = {a for row in wh.con.execute("SELECT accession_a, accession_b FROM alignments WHERE run_id = ?",
                                               [run]).fetchall() for a in row}
        assert not sampled <= set(chosen)
        with pytest.raises(ProtisoError, match="no protein has a vector of model 'other'"):
            align_and_measure(wh, proteins=30, model="other", progress=False)


def test_local_mode_beside_global_and_biopython_exact(enriched):
    from Bio.Align import PairwiseAligner, substitution_matrices

    path, run, _, _ = enriched
    with Warehouse.open(path) as wh:
        local = align_and_measure(wh, design="homolog-enriched", pair_count=PAIR_COUNT, homolog_share=SHARE, seed=SEED,
                      homolog_source="xrefs", mode="local", matrix="BLOSUM62", open_score=-11, extend_score=-1,
                      workers=1, progress=False).run_id
        modes = dict(wh.con.execute("SELECT DISTINCT alignment_run, mode FROM correlations").fetchall())
        pairs = wh.con.execute("SELECT a.accession_a, a.accession_b, a.score, p.length_normalized_score, "
                               "pa.sequence, pb.sequence FROM alignments a JOIN pair_metrics p ON "
                               "p.alignment_run = a.run_id AND p.accession_a = a.accession_a AND "
                               "p.accession_b = a.accession_b JOIN proteins pa ON pa.accession = a.accession_a "
                               "JOIN proteins pb ON pb.accession = a.accession_b WHERE a.run_id = ? "
                               "AND a.stratum = 'homolog' ORDER BY 1, 2 LIMIT 25", [local]).fetchall()
        same = wh.con.execute("SELECT count(*) FROM alignments a JOIN alignments b USING (accession_a, accession_b) "
                              "WHERE a.run_id = ? AND b.run_id = ?", [run, local]).fetchall()[0][0]
    assert (modes[run], modes[local]) == ("global", "local") and same == PAIR_COUNT  # the same pairs, both modes
    aligner = PairwiseAligner(mode="local", substitution_matrix=substitution_matrices.load("BLOSUM62"),
                              open_gap_score=-11, extend_gap_score=-1)
    for _, _, score, normalised, a, b in pairs:
        assert score == aligner.score(a, b)
        assert normalised == pytest.approx(score / min(len(a), len(b)), rel=1e-15)


def test_mmseqs_absent_is_one_line(enriched, monkeypatch):
    import protiso.align.homologs as homologs

    path, _, _, _ = enriched
    monkeypatch.setattr(homologs, "mmseqs_path", lambda: None)
    with Warehouse.open(path) as wh:
        with pytest.raises(ProtisoError, match=re.escape("mmseqs (MMseqs2) is not installed")):
            align_and_measure(wh, design="homolog-enriched", pair_count=50, homolog_source="mmseqs", progress=False)
        summary = align_and_measure(wh, design="homolog-enriched", pair_count=50, seed=3, workers=1, progress=False)
    assert any("mmseqs is not installed" in w for w in summary.warnings)
    assert summary.design["homolog_sources"] == ["xrefs"]


@pytest.mark.skipif(mmseqs_path() is None, reason="mmseqs (MMseqs2) is not installed")
def test_mmseqs_candidates_are_real_hits(enriched):
    path, _, _, _ = enriched
    with Warehouse.open(path) as wh:
        summary = align_and_measure(wh, design="homolog-enriched", pair_count=1500, homolog_share=0.5, seed=5,
                        homolog_source="mmseqs", mode="local", matrix="BLOSUM62", open_score=-11, extend_score=-1,
                        workers=1, progress=False, pair_metrics=False)
        rows = wh.query("SELECT stratum, score, identity FROM alignments WHERE run_id = ?",
                        [summary.run_id]).to_pandas()
    assert summary.design["homolog_sources"] == ["mmseqs"]
    hom, non = rows[rows["stratum"] == "homolog"], rows[rows["stratum"] == "non-homolog"]
    assert len(hom) == summary.design["population_pairs"]["homolog"] > 0  # fewer than 750: all taken
    # MMseqs2 hits at E <= 1e-3 have clearly higher Smith-Waterman scores than random pairs
    assert hom["score"].median() > 3 * non["score"].median()


def test_cli_pairs_option(enriched):
    from conftest import run_protiso

    path, _, _, _ = enriched
    done = run_protiso("align", "-w", str(path), "--pairs", "homolog-enriched", "--pair-count", "60",
                       "--homolog-share", "0.5", "--homolog-source", "xrefs", "--seed", "4", "--workers", "1",
                       "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "homolog-enriched sample of" in done.stdout and "homolog 30 of" in done.stdout
    assert "proteins sampled from: embedded by any model" in done.stdout
    bad = run_protiso("align", "-w", str(path), "--pairs", "homologs", "--no-progress")
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    assert "--pairs must be a number of pairs, random or homolog-enriched" in bad.stderr


def test_job_spec_takes_homolog_enriched_pairs(tmp_path):
    from protiso.jobs.spec import load_job

    spec = tmp_path / "job.toml"
    spec.write_text('[job]\nwarehouse = "w"\n[align]\npairs = "homolog-enriched"\npair_count = 500\n'
                    'homolog_share = 0.4\nmode = "local"\nmatrix = "BLOSUM62"\nopen = -11\n')
    step = load_job(spec).align
    assert (step.design, step.pair_count, step.homolog_share, step.mode) == ("homolog-enriched", 500, 0.4, "local")
    assert (step.pairs, step.matrix, step.open_score) == (None, "BLOSUM62", -11)
    spec.write_text('[job]\nwarehouse = "w"\n[align]\npairs = "homologs"\n')
    with pytest.raises(ProtisoError, match=r"\[align\] --pairs must be a number of pairs, random or homolog-enriched"):
        load_job(spec)
