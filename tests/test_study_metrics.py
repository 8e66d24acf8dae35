"""Issue 13's metrics: both definitions of local isotropy, size-controlled group rankings with true-path GO
counts, the report after embedding only, and partial correlations, each against an independent computation.

Data: real Swiss-Prot sequences embedded by the real embedding job (tiny ProtBert-layout model, every
residue stored), the real AntiBERTy vectors of ``isotropy_data``, the real GO slice
``fixtures/go_2014_slice.obo`` and the report warehouse (all-pairs PAM250 alignments).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pyarrow as pa
import pytest
from hub_models import FIXTURE_FASTA, protbert, read_fasta
from IsoScore.IsoScore import IsoScore
from isotropy_data import build_warehouse, golden, reference_float64, vectors
from report_warehouse import shared
from scipy.stats import rankdata, spearmanr

from protiso.embedding import EmbedOptions, embed_proteins
from protiso.jobs.isotropy import compute_isotropy
from protiso.metrics.local_cosine import LocalCosine
from protiso.report import published
from protiso.report.common import rows as report_rows
from protiso.report.document import render_report
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

STANDARD = set("ACDEFGHIKLMNPQRSTVWY")
FIXTURES = FIXTURE_FASTA.parent


def values(html: str, metric: str, **keys: object) -> list[str]:
    """data-value of every element with data-metric=metric whose data-* attributes include ``keys``."""
    out = []
    for tag in re.findall(rf"<[^>]*data-metric=\"{re.escape(metric)}\"[^>]*>", html):
        attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', tag))
        if all(attrs.get(k.replace("_", "-")) == str(v) for k, v in keys.items()):
            out.append(attrs["value"])
    return out


def section(html: str, key: str) -> str:
    """The HTML of one report section (from its <section id=...> to the next)."""
    start = html.index(f'<section id="{key}"')
    end = html.find("<section id=", start + 1)
    return html[start:end if end > 0 else len(html)]


def brute_cosine(points: np.ndarray) -> float:
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    gram = unit @ unit.T
    n = len(points)
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A warehouse right after `protiso ingest --model`: every residue stored, no isotropy run yet."""
    records = [(a, s) for a, s in read_fasta(FIXTURE_FASTA) if set(s) <= STANDARD][:14]
    root = tmp_path_factory.mktemp("study")
    model = protbert(root / "prot_bert", seed=4)
    wh = Warehouse.create(root / "wh")
    with wh.commit(None) as tx:
        tx.write_part("proteins", pa.table({
            "accession": [a for a, _ in records], "sequence": [s for _, s in records],
            "length": [len(s) for _, s in records],
            "seq_hash": [hashlib.md5(s.encode()).hexdigest() for _, s in records], "source": ["test"] * len(records)}))
    embed_proteins(wh, EmbedOptions(str(model), layers="all", residues="all", device="cpu", batch_tokens=2000),
                   progress=False)
    yield wh, root
    wh.close()


def test_local_cosine_streams_both_definitions_exactly():
    g = golden()
    owners = np.repeat(g["residue_accessions"], g["residue_lengths"]).astype(str)
    points = g["residue_vectors"].astype(np.float64)
    found = LocalCosine(points.shape[1])
    for block in np.array_split(np.arange(len(points)), 7):   # blocks cut through proteins
        found.add(owners[block], points[block])
    found.finish()
    assert found.pooled_mean() == pytest.approx(brute_cosine(points), abs=1e-13)
    per = [brute_cosine(points[owners == a]) for a in np.unique(owners)]
    assert found.per_protein_mean() == pytest.approx(np.mean(per), abs=1e-13)
    assert found.per_protein_sd() == pytest.approx(np.std(per, ddof=1), abs=1e-13)


def test_report_after_embedding_reads_the_stored_statistics(embedded, tmp_path):
    wh, _ = embedded
    assert wh.con.execute("SELECT count(*) FROM isotropy").fetchall()[0][0] == 0
    summary = render_report(wh, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "embedding_stats" in values(html, "isotropy_origin")[0]
    layers = [r[0] for r in wh.con.execute("SELECT DISTINCT layer FROM embeddings ORDER BY 1").fetchall()]
    for layer in layers:
        stored = wh.query("SELECT embedding FROM embeddings WHERE layer = ? AND embedding_set = 'raw'", [layer])
        points = np.array(stored.column(0).to_pylist(), dtype=np.float64)
        keys = {"layer": layer, "set": "raw", "scope": "global"}
        (iso,) = set(values(html, "isoscore", **keys))  # the same number wherever a section shows it
        assert float(iso) == pytest.approx(reference_float64(IsoScore, points), rel=1e-8)
        assert set(values(html, "origin", **keys)) == {"embedding_stats"}
        (cos,) = set(values(html, "mean_cosine", **keys))
        assert float(cos) == pytest.approx(brute_cosine(points), abs=1e-12)
        residues = wh.query("SELECT vector FROM residues WHERE layer = ?", [layer]).column(0).to_pylist()
        (local,) = set(values(html, "isoscore", layer=layer, set="raw", scope="local"))
        assert float(local) == pytest.approx(reference_float64(IsoScore, np.array(residues, np.float64)), rel=1e-8)
    assert not [m for m in summary.missing if m.startswith(("global isotropy", "local isotropy"))]


def test_both_local_definitions_equal_brute_force_and_the_report(embedded, tmp_path):
    wh, _ = embedded
    compute_isotropy(wh)
    render_report(wh, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    layers = [r[0] for r in wh.con.execute("SELECT DISTINCT layer FROM embeddings ORDER BY 1").fetchall()]
    for layer in layers:
        data = wh.query("SELECT accession, position, vector FROM residues WHERE layer = ? ORDER BY accession, position",
                        [layer]).to_pylist()
        owners = np.array([r["accession"] for r in data])
        points = np.array([r["vector"] for r in data], dtype=np.float64)
        dim = points.shape[1]
        per_iso = np.array([reference_float64(IsoScore, points[owners == a]) for a in np.unique(owners)])
        per_dims = per_iso * (dim - 1) + 1
        per_cos = [brute_cosine(points[owners == a]) for a in np.unique(owners)]
        expected = {
            "pooled": {"isoscore": reference_float64(IsoScore, points), "mean_cosine": brute_cosine(points),
                       "n_points": len(points), "n_proteins": None},
            "per_protein": {"isoscore": per_iso.mean(), "isoscore_sd": per_iso.std(ddof=1),
                            "isoscore_q1": np.quantile(per_iso, 0.25), "isoscore_median": np.median(per_iso),
                            "effective_dims": per_dims.mean(), "effective_dims_sd": per_dims.std(ddof=1),
                            "effective_dims_q3": np.quantile(per_dims, 0.75), "mean_cosine": np.mean(per_cos),
                            "mean_cosine_sd": np.std(per_cos, ddof=1), "n_proteins": len(per_iso),
                            "n_points": len(points)},
        }
        for definition, want in expected.items():
            (row,) = wh.query("SELECT * FROM local_isotropy WHERE layer = ? AND definition = ?",
                              [layer, definition]).to_pylist()
            for name, value in want.items():
                if value is None or isinstance(value, int):
                    assert row[name] == value, (definition, name)
                else:
                    assert row[name] == pytest.approx(value, rel=1e-8, abs=1e-13), (definition, name)
                    (shown,) = set(values(html, f"local_{name}", layer=layer, definition=definition))
                    assert float(shown) == row[name]
    last = max(layers)
    beside = [(t, dict(re.findall(r'data-([\w-]+)="([^"]*)"', t))) for t in
              re.findall(r"<[^>]*data-metric=\"published_effective_dims\"[^>]*>", section(html, "isotropy"))]
    local = [attrs for _, attrs in beside if attrs.get("scope") == "local" and "beside" in attrs]
    assert [a["layer"] for a in local] == [str(last)] and local[0]["value"] == "14"  # per-protein row, last layer


def test_the_per_residue_figure_sits_only_at_the_models_last_layer(embedded, tmp_path):
    """A warehouse holding only an inner layer shows no "about 14" beside it: the model's last layer comes from
    the embedding run's recorded num_layers, not from the highest layer stored."""
    source, root = embedded
    records = source.query("SELECT accession, sequence, length, seq_hash, source FROM proteins")
    wh = Warehouse.create(tmp_path / "wh")
    with wh.commit(None) as tx:
        tx.write_part("proteins", records)
    embed_proteins(wh, EmbedOptions(str(root / "prot_bert"), layers="1", residues="all", device="cpu",
                                    batch_tokens=2000), progress=False)
    (num_layers,) = wh.con.execute("SELECT DISTINCT CAST(params ->> 'num_layers' AS INTEGER) FROM runs "
                                   "WHERE kind = 'embed'").fetchone()
    assert num_layers > 1
    compute_isotropy(wh)
    render_report(wh, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert values(html, "local_isoscore", layer=1, definition="per_protein")      # the row is shown ...
    beside = [dict(re.findall(r'data-([\w-]+)="([^"]*)"', t)) for t in
              re.findall(r"<[^>]*data-metric=\"published_effective_dims\"[^>]*>", section(html, "isotropy"))]
    assert not [a for a in beside if a.get("scope") == "local" and "beside" in a]  # ... without the figure
    wh.close()
    assert published.model_layers("facebook/esm2_t33_650M_UR50D") == 33
    assert published.model_layers("Rostlab/prot_bert_bfd") == 30 and published.model_layers("mystery") is None


def test_go_group_sizes_follow_the_true_path_rule_by_hand(tmp_path):
    g = golden()
    accessions = [str(a) for a in g["accessions"][:30]]
    direct = {a: set() for a in accessions}
    for i in range(12):
        direct[accessions[i]].add("GO:0004459")          # L-lactate dehydrogenase activity
    for i in range(12, 20):
        direct[accessions[i]].add("GO:0004457")          # lactate dehydrogenase activity (its parent)
    for i in range(20, 25):
        direct[accessions[i]].add("GO:0003824")          # catalytic activity
    for i in range(5, 15):
        direct[accessions[i]].add("GO:0005737")          # cytoplasm (another namespace)
    direct[accessions[0]].add("GO:0004457")              # both a term and its parent: counted once
    # By hand from the slice's is_a / part_of edges: 0004459 -> 0004457, 0016616; 0004457 -> 0016614 ->
    # 0016491 -> 0003824 -> 0003674; 0016616 -> 0016614; 0005737 -> 0044424 -> 0005622 -> 0044464 -> 0005623 -> 0005575.
    by_hand = {"GO:0004459": 12, "GO:0016616": 12, "GO:0004457": 20, "GO:0016614": 20, "GO:0016491": 20,
               "GO:0003824": 25, "GO:0003674": 25, "GO:0005737": 10, "GO:0044424": 10, "GO:0005622": 10,
               "GO:0044464": 10, "GO:0005623": 10, "GO:0005575": 10}
    wh = Warehouse.create(tmp_path / "w")
    ingest_files(wh, [FIXTURES / "go_2014_slice.obo"], progress=False)
    with wh.commit(None) as tx:
        tx.write_part("proteins", pa.table({"accession": accessions, "length": g["lengths"][:30].astype(np.int32)}))
        tx.write_part("protein_go", pa.table({"accession": [a for a in accessions for _ in direct[a]],
                                              "go_id": [t for a in accessions for t in sorted(direct[a])]}))
        tx.write_part("embeddings", pa.table({
            "accession": accessions, "model": ["antiberty"] * 30, "layer": [8] * 30, "pooling": ["mean"] * 30,
            "embedding_set": ["raw"] * 30, "embedding": vectors(g["global_vectors"][:30])}))
    compute_isotropy(wh, by=["go_term"], scopes=["global"], min_points=2, null_draws=20)
    render_report(wh, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    shown = {}
    for tag in re.findall(r"<[^>]*data-metric=\"n_proteins\"[^>]*>", html):
        attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', tag))
        shown[attrs["group"]] = int(attrs["value"])
    roots = {"GO:0003674", "GO:0005575"}                  # molecular_function, cellular_component: not ranked
    assert shown == {term: n for term, n in by_hand.items() if term not in roots}
    # GO terms are ranked within their namespace: one block each, with its own group count and minimum.
    assert values(html, "groups", group_by="go_term", namespace="molecular_function") == ["6"]
    assert values(html, "groups", group_by="go_term", namespace="cellular_component") == ["5"]
    assert values(html, "roots", group_by="go_term", namespace="cellular_component") == ["1"]
    assert values(html, "min_proteins", group_by="go_term", namespace="molecular_function") == ["2"]
    ranked = report_rows(wh, "report_groups", models=None, top=1000)
    for namespace in ("molecular_function", "cellular_component"):
        mine = [r for r in ranked if r["namespace"] == namespace]
        assert sorted(r["rank_most"] for r in mine) == list(range(1, len(mine) + 1))
    wh.close()


def test_size_corrected_ranking_no_longer_follows_group_size(tmp_path):
    wh = build_warehouse(tmp_path / "w")
    compute_isotropy(wh, by=["go_term"], scopes=["global"], min_points=3, null_draws=50, seed=3)
    data = report_rows(wh, "report_groups", models=None, top=1000)
    stored = wh.query("SELECT n_proteins, isoscore, size_z FROM isotropy "
                      "WHERE group_by = 'go_term' AND isoscore IS NOT NULL").to_pylist()
    assert all(r["n_proteins"] == r["n_points"] for r in data)   # global rows: one vector per protein
    before = spearmanr([r["n_proteins"] for r in stored], [r["isoscore"] for r in stored]).statistic
    scored = [r for r in stored if r["size_z"] is not None]
    after = spearmanr([r["n_proteins"] for r in scored], [r["size_z"] for r in scored]).statistic
    assert data[0]["rho_plain"] == pytest.approx(before, abs=1e-12)
    assert data[0]["rho_corrected"] == pytest.approx(after, abs=1e-12)
    assert before > 0.6 and abs(after) < before / 2          # 0.70 before, -0.29 after on these 99 proteins
    assert [r["size_z"] for r in sorted(data, key=lambda r: r["rank_most"]) if r["size_z"] is not None] == \
        sorted((r["size_z"] for r in scored), reverse=True)
    wh.close()


def _residuals(y: np.ndarray, controls: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(y)), controls])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ coef


def test_partial_correlations_equal_residual_regression(tmp_path_factory):
    wh = Warehouse.open(shared(tmp_path_factory))
    sequences = dict(wh.con.execute("SELECT accession, sequence FROM proteins").fetchall())
    got = report_rows(wh, "report_partial_correlations", models=None)
    assert got
    for row in got:
        pairs = wh.query("SELECT accession_a, accession_b, cosine, sq_euclidean, score, identity FROM pair_metrics "
                         "WHERE complete AND model = ? AND layer = ? AND embedding_set = ? AND alignment_run = ?",
                         [row["model"], row["layer"], row["embedding_set"], row["alignment_run"]]).to_pylist()
        comp = {a: np.array([s.count(c) / len(s) for c in sorted(STANDARD)]) for a, s in sequences.items()}
        length = np.array([abs(len(sequences[p["accession_a"]]) - len(sequences[p["accession_b"]])) for p in pairs],
                          dtype=np.float64)
        distance = np.array([np.linalg.norm(comp[p["accession_a"]] - comp[p["accession_b"]]) for p in pairs])
        x = np.array([p[row["metric_x"]] for p in pairs])
        y = np.array([p[row["metric_y"]] for p in pairs])
        assert row["n"] == len(pairs)
        for suffix, transform in (("pearson", lambda v: v), ("spearman", rankdata)):
            ties = np.round(distance, 12) if suffix == "spearman" else distance  # as the query ranks them
            xs, ys, zs = transform(x), transform(y), np.column_stack([transform(length), transform(ties)])
            assert row[suffix] == pytest.approx(np.corrcoef(xs, ys)[0, 1], abs=1e-9)
            one = np.corrcoef(_residuals(xs, zs[:, :1]), _residuals(ys, zs[:, :1]))[0, 1]
            both = np.corrcoef(_residuals(xs, zs), _residuals(ys, zs))[0, 1]
            assert row[f"{suffix}_length"] == pytest.approx(one, abs=1e-9)
            assert row[f"{suffix}_both"] == pytest.approx(both, abs=1e-9)
    wh.close()


def test_proteinbert_local_isoscore_uses_the_residue_width():
    """ProteinBERT's residue track is narrower than its global one (128 vs 512 in the paper's model): each
    protein's local IsoScore is (PR - 1) / (residue width - 1), not over the global width."""
    from hub_models import sample_batch

    from protiso.embedding.stage import StageOptions, embed_record_batch
    from protiso.metrics.isotropy import isoscore
    from protiso.models.proteinbert import ProteinBERT

    model = ProteinBERT(FIXTURES / "proteinbert_keras_tiny.pkl", device="cpu")
    assert model.residue_dim != model.dim
    records = [(a, s) for a, s in read_fasta(FIXTURE_FASTA) if set(s) <= STANDARD][:4]
    result = embed_record_batch(model, sample_batch(records), StageOptions(layers=(model.num_layers,), residues=1.0))
    rows, residues = result.embeddings.to_pandas(), result.residues.to_pandas()
    for _, row in rows.iterrows():
        mine = np.stack(residues[residues.accession == row.accession].vector).astype(np.float64)
        assert mine.shape[1] == model.residue_dim
        assert row.local_isoscore == pytest.approx(isoscore(mine), rel=1e-9)


def test_size_null_equals_a_brute_force_redraw():
    """Draw j of every size is a prefix of one seeded random order of the units (the complement of one for
    sizes above half): each size's null equals IsoScore of those groups, redrawn by hand."""
    from protiso.metrics.isotropy import isoscore
    from protiso.metrics.size_null import SizeNull, null_size, units_of

    g = golden()
    points = g["residue_vectors"]
    owners = np.repeat(g["residue_accessions"], g["residue_lengths"]).astype(str)
    units, _ = units_of(owners)
    assert sorted(len(u) for u in units) == sorted(g["residue_lengths"].tolist())
    vectors = g["global_vectors"]
    flat = SizeNull(vectors, [np.array([i]) for i in range(99)], [12, 80, 1, 99], draws=30, seed=5)
    for k in (12, 80):
        stats = flat.of_size(k)
        orders = [np.random.default_rng([5, j]).permutation(99) for j in range(30)]
        redraw = np.array([isoscore(vectors[o[:k]] if 2 * k <= 99 else vectors[o[99 - k:]]) for o in orders])
        assert stats.draws == 30 and stats.mean == pytest.approx(redraw.mean(), rel=1e-9)
        assert stats.sd == pytest.approx(redraw.std(ddof=1), rel=1e-7)
        assert (stats.low, stats.high) == pytest.approx(tuple(np.quantile(redraw, [0.025, 0.975])), rel=1e-9)
    assert flat.of_size(12).z(flat.of_size(12).mean + 2 * flat.of_size(12).sd) == pytest.approx(2.0)
    assert flat.of_size(1).draws == 0 and flat.of_size(1).mean is None      # one point: no IsoScore
    assert flat.of_size(99).sd == 0.0 and flat.of_size(99).mean == pytest.approx(isoscore(vectors), rel=1e-9)
    whole = SizeNull(points, units, [2], draws=30, seed=5).of_size(2)        # every protein: no spread
    assert whole.sd == 0.0 and whole.z(0.5) is None and whole.mean == pytest.approx(isoscore(points), rel=1e-9)
    assert [null_size(n) for n in (7, 100, 101, 1234, 99_999, 123_456)] == [7, 100, 100, 1200, 100_000, 120_000]


def test_local_groups_are_ranked_against_random_groups_of_whole_proteins(embedded, tmp_path):
    """A local group's null draws that many whole proteins with all their residues (the documented rule of
    protiso.metrics.size_null: draw j is a prefix of rng([seed, j]).permutation of the units in accession
    order), checked with the IsoScore package."""
    source, root = embedded
    wh = Warehouse.create(tmp_path / "wh")
    with wh.commit(None) as tx:
        tx.write_part("proteins", source.query("SELECT accession, sequence, length, seq_hash, source FROM proteins"))
    embed_proteins(wh, EmbedOptions(str(root / "prot_bert"), layers="1", residues="all", device="cpu",
                                    batch_tokens=2000), progress=False)
    compute_isotropy(wh, by=["length_bin"], scopes=["local"], min_points=2, null_draws=6, seed=5)
    rows = wh.query("SELECT group_value, layer, n_proteins, n_points, null_mean, null_draws, size_z, isoscore "
                    "FROM isotropy WHERE scope = 'local' AND group_by = 'length_bin'").to_pylist()
    assert rows and all(r["size_z"] is not None for r in rows)
    layer = 1
    residues = wh.query("SELECT accession, vector FROM residues WHERE layer = ?", [layer]).to_pylist()
    owners = np.array([r["accession"] for r in residues])
    points = np.array([r["vector"] for r in residues], dtype=np.float64)
    units = np.unique(owners)
    row = min((r for r in rows if r["n_proteins"] < len(units)), key=lambda r: r["n_proteins"])
    k = row["n_proteins"]
    assert row["n_points"] > k                                  # residues, counted apart from proteins
    orders = [np.random.default_rng([5, j]).permutation(len(units)) for j in range(6)]
    chosen = [o[:k] if 2 * k <= len(units) else o[len(units) - k:] for o in orders]
    draws = [reference_float64(IsoScore, points[np.isin(owners, units[c])]) for c in chosen]
    assert row["null_draws"] == 6
    assert row["null_mean"] == pytest.approx(np.mean(draws), rel=1e-8)
    assert row["size_z"] == pytest.approx((row["isoscore"] - np.mean(draws)) / np.std(draws, ddof=1), rel=1e-6)
    wh.close()


def test_local_group_intervals_resample_whole_proteins(embedded):
    """Issue 22: a local group's IsoScore interval resamples proteins with all their residues (residues of
    one protein are not independent); resampling residues as points gives narrower intervals overall."""
    from protiso.metrics.bootstrap import bootstrap_isoscore, bootstrap_isoscore_units

    wh, _ = embedded
    summary = compute_isotropy(wh, by=["length_bin"], scopes=["local"], models=None, min_points=3, bootstrap=40,
                               seed=4, null_draws=0)
    rows = wh.query("SELECT layer, group_value, isoscore_ci_low, isoscore_ci_high FROM isotropy WHERE run_id = ? "
                    "AND group_by = 'length_bin' AND layer = 1", [summary.run_id]).to_pylist()
    assert rows
    residues = wh.query("SELECT r.accession, r.vector, p.length FROM residues r JOIN proteins p USING (accession) "
                        "WHERE r.layer = 1 ORDER BY r.accession, r.position").to_pylist()
    bins = dict(wh.con.execute("SELECT accession, group_value FROM protein_groups('length_bin')").fetchall())
    widths = []
    for row in rows:
        mine = [r for r in residues if bins[r["accession"]] == row["group_value"]]
        points = np.array([r["vector"] for r in mine], dtype=np.float64)
        want = bootstrap_isoscore_units(points, np.array([r["accession"] for r in mine]), 40, 4)
        assert (row["isoscore_ci_low"], row["isoscore_ci_high"]) == pytest.approx((want.low, want.high), rel=1e-9)
        naive = bootstrap_isoscore(points, 40, 4)
        widths.append((want.high - want.low, naive.high - naive.low))
    assert sum(w for w, _ in widths) > sum(w for _, w in widths)


def test_layer_curve_after_a_sampled_all_layers_embed_beside_a_full_last_layer(embedded, tmp_path):
    """Issue 22's acceptance: `embed --layers all --sample 6` beside a full last-layer embed of 14 proteins;
    the layer curve (matched rows) uses the same 6 proteins at every layer and the report shows N per row."""
    source, root = embedded
    wh = Warehouse.create(tmp_path / "wh")
    with wh.commit(None) as tx:
        tx.write_part("proteins", source.query("SELECT accession, sequence, length, seq_hash, source FROM proteins"))
    model = str(root / "prot_bert")
    embed_proteins(wh, EmbedOptions(model, layers="all", sample=6, seed=1, device="cpu", batch_tokens=2000),
                   progress=False)
    last = wh.con.execute("SELECT max(layer) FROM embeddings").fetchall()[0][0]
    embed_proteins(wh, EmbedOptions(model, layers=str(last), device="cpu", batch_tokens=2000), progress=False)
    counts = dict(wh.con.execute("SELECT layer, count(*) FROM embeddings GROUP BY 1").fetchall())
    assert counts[last] == 14 and all(n == 6 for layer, n in counts.items() if layer != last)
    compute_isotropy(wh, scopes=["global"])
    matched = wh.query("SELECT layer, n_points, matched_sets FROM isotropy WHERE group_by = 'matched' "
                       "AND group_value = 'layers' ORDER BY layer").to_pylist()
    assert [r["layer"] for r in matched] == sorted(counts)
    assert {(r["n_points"], r["matched_sets"]) for r in matched} == {(6, len(counts))}
    render_report(wh, tmp_path / "r.html")
    layers = section((tmp_path / "r.html").read_text(), "layers")
    for layer in counts:
        assert values(layers, "n_points", layer=layer, group_by="matched") == ["6"]
        assert values(layers, "n_points", layer=layer, group_by="all") == [str(counts[layer])]
    assert "the same 6 proteins at every layer" in layers and "(unmatched)" in layers
    wh.close()
