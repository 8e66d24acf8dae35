"""Controls (issue 21): shuffled sequences and random weights, and the `control` column through every table.

One small real warehouse (16 short Swiss-Prot 2014 proteins, UniRep-64) holds the real set and both
controls, with isotropy, alignments of all pairs, pair metrics and a report; the checks run on it.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest

from protiso.embedding import EmbedOptions, embed_proteins
from protiso.embedding.controls import CONTROLS
from protiso.errors import ProtisoError
from protiso.models.registry import load_model
from protiso.warehouse import Warehouse, migrations, resources
from tests.conftest import FIXTURES, run_protiso
from tests.test_report import expected, parse

MODEL = "unirep-64"
SEED = 7


def _records(count: int = 16, longest: int = 220) -> list[tuple[str, str]]:
    from Bio import SeqIO

    out = []
    for record in SeqIO.parse(str(FIXTURES / "sp2014_head300.fasta"), "fasta"):
        if len(record.seq) <= longest:
            out.append((record.id.split("|")[1] if "|" in record.id else record.id, str(record.seq)))
        if len(out) == count:
            break
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """The warehouse (path), its proteins, and the reports rendered before and after the random-init control."""
    from protiso.jobs.align import align_and_measure
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.jobs.postprocess import postprocess_embeddings
    from protiso.report import render_report
    from protiso.sequences.ingest import ingest_files

    root = tmp_path_factory.mktemp("controls")
    fasta = root / "proteins.fasta"
    records = _records()
    fasta.write_text("".join(f">{a}\n{s}\n" for a, s in records))
    path = root / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [fasta], progress=False)
        for control in ("none", "shuffled"):
            embed_proteins(wh, EmbedOptions(MODEL, seed=SEED, control=control, residues="all"), progress=False)
        postprocess_embeddings(wh, "center")
        compute_isotropy(wh)
        align_and_measure(wh, proteins=len(records), seed=1, progress=False)
        render_report(wh, root / "before.html")
        embed_proteins(wh, EmbedOptions(MODEL, seed=SEED, control="random-init"), progress=False)
        compute_isotropy(wh, controls=["random-init"], scopes=["global"])
        from protiso.jobs.pair_metrics import compute_pair_metrics

        compute_pair_metrics(wh)
        render_report(wh, root / "after.html")
    return {"path": path, "records": dict(records), "before": (root / "before.html").read_text(),
            "after": (root / "after.html").read_text(), "root": root}


def _vectors(wh: Warehouse, control: str) -> dict[str, np.ndarray]:
    rows = wh.query("SELECT accession, embedding FROM embeddings WHERE model = ? AND embedding_set = 'raw' "
                    "AND control = ?", [MODEL, control]).to_pylist()
    return {r["accession"]: np.asarray(r["embedding"], dtype=np.float64) for r in rows}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# -- shuffled sequences -------------------------------------------------------------------------


def test_stored_shuffled_sequences_are_permutations_of_the_originals(built):
    with Warehouse.open(built["path"], read_only=True) as wh:
        rows = wh.query("SELECT * FROM control_sequences").to_pylist()
        residues = wh.query("SELECT accession, string_agg(residue, '' ORDER BY position) AS s FROM residues "
                            "WHERE control = 'shuffled' GROUP BY accession").to_pylist()
    assert len(rows) == len(built["records"])
    for row in rows:
        original = built["records"][row["accession"]]
        shuffled, order = row["sequence"], row["permutation"]
        assert (row["control"], row["seed"]) == ("shuffled", SEED)
        assert sorted(order) == list(range(1, len(original) + 1))
        assert shuffled == "".join(original[i - 1] for i in order)
        assert Counter(shuffled) == Counter(original) and shuffled != original
        assert row["seq_hash"] == hashlib.md5(original.encode()).hexdigest()
        assert row["shuffled_hash"] == hashlib.md5(shuffled.encode()).hexdigest()
    stored = {r["accession"]: r["sequence"] for r in rows}
    assert {r["accession"]: r["s"] for r in residues} == stored  # residue vectors follow the shuffled order


def test_reembedding_stored_shuffled_sequences_gives_the_stored_vectors(built):
    adapter = load_model(MODEL, device="cpu")
    with Warehouse.open(built["path"], read_only=True) as wh:
        rows = wh.query("SELECT accession, sequence FROM control_sequences ORDER BY accession LIMIT 5").to_pylist()
        stored = _vectors(wh, "shuffled")
        real = _vectors(wh, "none")
    outputs = adapter.embed_batch([r["sequence"] for r in rows], [adapter.num_layers])
    for row, output in zip(rows, outputs):
        again = np.asarray(output.global_[adapter.num_layers], dtype=np.float64)
        assert _cosine(again, stored[row["accession"]]) >= 0.9999
        assert _cosine(again, real[row["accession"]]) < 0.9999  # the order mattered to the model


def test_shuffle_depends_on_seed_and_accession_not_on_the_selection(built, tmp_path):
    """A second warehouse embedding a few of the proteins, listed in reverse order, draws the same orders."""
    records = built["records"]
    chosen = sorted(records)[:3][::-1]
    with Warehouse.create(tmp_path / "w2") as wh:
        from protiso.sequences.ingest import ingest_files

        ingest_files(wh, [built["root"] / "proteins.fasta"], progress=False)
        embed_proteins(wh, EmbedOptions(MODEL, seed=SEED, control="shuffled", accessions=chosen), progress=False)
        again = dict(wh.con.execute("SELECT accession, sequence FROM control_sequences").fetchall())
        embed_proteins(wh, EmbedOptions(MODEL, seed=SEED + 1, control="shuffled", accessions=chosen[:1],
                                        layers="1"), progress=False)
        other = dict(wh.con.execute("SELECT accession, sequence FROM control_sequences WHERE seed = ?",
                                    [SEED + 1]).fetchall())
    with Warehouse.open(built["path"], read_only=True) as wh:
        first = dict(wh.con.execute("SELECT accession, sequence FROM control_sequences").fetchall())
    assert again == {a: first[a] for a in chosen}
    assert other[chosen[0]] != first[chosen[0]]


# -- random weights -----------------------------------------------------------------------------


def _embed(adapter, sequences: list[str]) -> np.ndarray:
    layer = adapter.num_layers
    return np.array([o.global_[layer] for o in adapter.embed_batch(sequences, [layer])], dtype=np.float64)


def test_random_init_same_seed_same_vectors_other_seed_other_vectors(built, tmp_path):
    from tests import hub_models

    sequences = list(built["records"].values())[:4]
    unirep = {seed: _embed(load_model(MODEL, device="cpu", init_seed=seed), sequences) for seed in (SEED, SEED, 8)}
    trained = _embed(load_model(MODEL, device="cpu"), sequences)
    bert_dir = hub_models.protbert(tmp_path / "protbert")
    bert = [_embed(load_model(str(bert_dir), device="cpu", init_seed=s), sequences) for s in (1, 1, 2)]
    bert_trained = _embed(load_model(str(bert_dir), device="cpu"), sequences)
    pkl = str(FIXTURES / "proteinbert_keras_tiny.pkl")
    pb = [_embed(load_model("proteinbert", device="cpu", weights=pkl, init_seed=s), sequences) for s in (1, 1, 2)]
    pb_trained = _embed(load_model("proteinbert", device="cpu", weights=pkl), sequences)
    for same_a, same_b, other, weights in ((unirep[SEED], _embed(load_model(MODEL, device="cpu", init_seed=SEED),
                                                                   sequences), unirep[8], trained),
                                           (bert[0], bert[1], bert[2], bert_trained), (pb[0], pb[1], pb[2], pb_trained)):
        np.testing.assert_array_equal(same_a, same_b)
        assert not np.allclose(same_a, other)
        assert not np.allclose(same_a, weights)
    with Warehouse.open(built["path"], read_only=True) as wh:
        stored = _vectors(wh, "random-init")
        params, revision = wh.con.execute("SELECT params, revision FROM runs WHERE kind = 'embed' "
                                          "AND params ->> 'control' = 'random-init'").fetchall()[0]
    accessions = list(built["records"])[:4]
    for accession, vector in zip(accessions, unirep[SEED]):
        assert _cosine(vector, stored[accession]) >= 0.9999
    params = json.loads(params)
    assert (params["control"], params["control_seed"], params["seed"]) == ("random-init", SEED, SEED)
    assert revision.startswith(f"random-init seed {SEED} ")


def test_unknown_control_is_a_one_line_error(built):
    with pytest.raises(ProtisoError, match="--control must be one of none, shuffled, random-init"):
        EmbedOptions(MODEL, control="scrambled").check()
    result = run_protiso("embed", "-w", str(built["path"]), "--model", MODEL, "--control", "scrambled")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--control must be one of" in result.stderr + result.stdout


# -- the control column ---------------------------------------------------------------------------

CONTROLLED = ["embeddings", "residues", "embedding_stats", "residue_stats", "isotropy", "isotropy_latest",
              "global_spectra", "pair_metrics", "pair_metric_stats", "correlations", "similarity_bins",
              "embedding_stats_isotropy()", "correlations_live()", "pair_metrics_live()"]


def test_every_table_and_view_carries_the_control(built):
    with Warehouse.open(built["path"], read_only=True) as wh:
        for name in CONTROLLED:
            found = {r[0] for r in wh.con.execute(f"SELECT DISTINCT control FROM {name}").fetchall()}
            want = {"none", "shuffled"} if name == "residues" else set(CONTROLS)  # random-init kept no residues
            assert found == want, name
        # real and controls side by side in one query; sets measured apart (one row per control)
        rows = wh.con.execute("SELECT control, n_points, isoscore FROM isotropy_latest WHERE scope = 'global' "
                              "AND embedding_set = 'raw' AND group_by = 'all' ORDER BY control").fetchall()
        assert [r[0] for r in rows] == sorted(CONTROLS) and all(r[1] == 16 for r in rows)
        stats = wh.con.execute("SELECT control, isoscore FROM embedding_stats_isotropy() "
                               "WHERE embedding_set = 'raw' ORDER BY control").fetchall()
        assert [s[0] for s in stats] == [r[0] for r in rows]
        for (_, iso), (_, _, latest) in zip(stats, rows):
            assert iso == pytest.approx(latest, rel=1e-9)
        # correlations of each control equal corr() over its own pairs
        live = wh.con.execute("SELECT control, pearson FROM correlations_live() WHERE embedding_set = 'raw' "
                              "AND metric_x = 'cosine' AND metric_y = 'identity' ORDER BY control").fetchall()
        stored = wh.con.execute("SELECT control, pearson FROM correlations WHERE embedding_set = 'raw' "
                                "AND metric_x = 'cosine' AND metric_y = 'identity' ORDER BY control").fetchall()
        assert [c for c, _ in live] == sorted(CONTROLS) == [c for c, _ in stored]
        for (_, a), (_, b) in zip(live, stored):
            assert a == pytest.approx(b, rel=1e-9)
        centered = wh.con.execute("SELECT DISTINCT control FROM embeddings WHERE embedding_set = 'centered'").fetchall()
        assert {c[0] for c in centered} == {"none", "shuffled"}  # postprocess ran before random-init existed
        groups = wh.con.execute("SELECT count(*) FROM isotropy WHERE control <> 'none' AND scope = 'local'").fetchall()
        assert groups == [(0,)]  # local isotropy is measured on real residues only


def test_export_selects_a_control(built, tmp_path):
    out = tmp_path / "shuffled.npz"
    result = run_protiso("export", "-w", str(built["path"]), "--model", MODEL, "--set", "raw", "--control",
                         "shuffled", "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = np.load(out)
    with Warehouse.open(built["path"], read_only=True) as wh:
        stored = _vectors(wh, "shuffled")
    ids = [str(i) for i in data["ids"]]
    assert sorted(ids) == sorted(stored)
    for accession, vector in zip(ids, data["embeddings"]):
        np.testing.assert_array_equal(vector, stored[accession].astype(np.float32))
    default = tmp_path / "real.npz"
    assert run_protiso("export", "-w", str(built["path"]), "--model", MODEL, "-o", str(default)).returncode == 0
    assert not np.array_equal(np.load(default)["embeddings"], data["embeddings"])


def test_parts_and_rows_written_before_controls_read_as_none(tmp_path):
    """Migration 0008 marks existing rows 'none'; a Parquet part without the column reads as 'none'."""
    con = duckdb.connect()
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
    for version, name in migrations.known():
        if version == 8:
            con.execute("INSERT INTO isotropy (run_id, model, layer, embedding_set, scope, group_by, group_value, "
                        "n_points, dim, computed_at) VALUES ('r', 'm', 1, 'raw', 'global', 'all', 'all', 3, 2, now())")
            con.execute("INSERT INTO global_spectra VALUES ('r', 'm', 1, 'raw', 3, 2, [1.0, 0.5], now())")
        con.execute(resources.sql_text("migrations", name))
    assert con.execute("SELECT control FROM isotropy").fetchall() == [("none",)]
    assert con.execute("SELECT control FROM global_spectra").fetchall() == [("none",)]
    with Warehouse.create(tmp_path / "w") as wh:
        import pyarrow as pa

        table = pa.table({"accession": ["P1"], "model": ["m"], "layer": [1], "pooling": ["mean"],
                          "embedding_set": ["raw"], "embedding": [[1.0, 2.0]]})
        with wh.commit(None) as tx:
            written = tx.write_part("embeddings", table, {"model": "m"})
        old = pq.read_table(written).drop_columns(["control"])  # as protiso 0.2 wrote it
        pq.write_table(old, written)
        wh.refresh_views()
        assert wh.con.execute("SELECT accession, control FROM embeddings").fetchall() == [("P1", "none")]


# -- the report's headline ----------------------------------------------------------------------


def test_headline_shows_each_control_beside_the_real_set_each_number_its_sql_answer(built):
    numbers = [n for n in parse(built["after"]).numbers if n["data-metric"].startswith("control_")]
    seen = {(n["data-metric"], n["data-control"]) for n in numbers}
    for control in CONTROLS:
        for metric in ("control_isoscore", "control_effective_dims", "control_n_points", "control_pearson",
                       "control_n"):
            assert (metric, control) in seen
    assert ("control_share", "shuffled") in seen and ("control_share", "random-init") in seen
    with Warehouse.open(built["path"], read_only=True) as wh:
        for number in numbers:
            want = expected(wh.con, number)
            assert float(number["data-value"]) == pytest.approx(want, rel=1e-12), number
    html = built["after"]
    assert "UniRef50" in html and "of r(cosine, identity)" in html
    assert "Missing random weights" not in html


def test_headline_names_the_command_that_makes_a_missing_control(built):
    html = built["before"]
    assert 'data-control-missing="random-init"' in html
    assert f"protiso embed -w W --model {MODEL} --layers 4 --control random-init --seed 0" in html
    assert 'data-control-missing="shuffled"' not in html


def test_an_imported_model_gets_its_shuffled_control_from_protiso_shuffle_and_import_vectors(built, tmp_path):
    """Vectors made elsewhere: the headline names `protiso shuffle` + `import-vectors --control` (not `embed`,
    which needs the model); the FASTA holds the shuffles `embed --control shuffled` uses, and what the model
    makes of it, imported, is stored exactly as the embedded control (vectors, residue letters, hashes)."""
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.report import render_report
    from protiso.sequences.ingest import ingest_files

    src = str(built["path"])
    real, shuffled = tmp_path / "real.h5", tmp_path / "shuffled.h5"
    for control, out in (("none", real), ("shuffled", shuffled)):
        done = run_protiso("export", "-w", src, "--model", MODEL, "--control", control, "--residues", "-o", str(out))
        assert done.returncode == 0, done.stderr
    path = tmp_path / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [built["root"] / "proteins.fasta"], progress=False)
    imported = "elsewhere"
    done = run_protiso("import-vectors", str(real), "-w", str(path), "--model", imported, "--no-progress")
    assert done.returncode == 0, done.stderr
    with Warehouse.open(path) as wh:
        compute_isotropy(wh, scopes=["global"])
        render_report(wh, tmp_path / "before.html")
    html = (tmp_path / "before.html").read_text()
    assert 'data-control-missing="shuffled"' in html and 'data-control-missing="random-init"' in html
    assert f"protiso shuffle -w W --model {imported} --seed 0 -o shuffled.fasta" in html
    assert f"--model {imported} --layer 4 --control shuffled --seed 0" in html
    assert f"--model {imported} --layer 4 --control random-init" in html
    assert f"protiso embed -w W --model {imported}" not in html

    fasta = tmp_path / "shuffled.fasta"
    done = run_protiso("shuffle", "-w", str(path), "--model", imported, "--seed", str(SEED), "-o", str(fasta))
    assert done.returncode == 0 and f"--control shuffled --seed {SEED}" in done.stdout, done.stderr
    again = run_protiso("shuffle", "-w", str(path), "--model", imported, "-o", str(fasta))
    assert again.returncode == 2 and again.stderr.count("\n") == 1 and "--force" in again.stderr
    from Bio import SeqIO

    written = {r.id: str(r.seq) for r in SeqIO.parse(str(fasta), "fasta")}
    with Warehouse.open(src, read_only=True) as wh:
        embedded = dict(wh.con.execute("SELECT accession, sequence FROM control_sequences").fetchall())
        want_vectors = _vectors(wh, "shuffled")
        want_residues = wh.query("SELECT accession, position, residue, vector FROM residues WHERE control = 'shuffled' "
                                 "ORDER BY accession, position").to_pylist()
    assert written == embedded  # the shuffles `protiso embed --control shuffled --seed 7` embedded

    bad = run_protiso("import-vectors", str(shuffled), "-w", str(path), "--model", imported, "--control", "reversed")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--control must be one of" in bad.stderr
    done = run_protiso("import-vectors", str(shuffled), "-w", str(path), "--model", imported, "--control", "shuffled",
                       "--seed", str(SEED), "--no-progress")
    assert done.returncode == 0 and "control shuffled" in done.stdout, done.stderr
    with Warehouse.open(path) as wh:
        got = {
            r["accession"]: np.asarray(r["embedding"], dtype=np.float64) for r in wh.query(
                "SELECT accession, embedding FROM embeddings WHERE model = ? AND control = 'shuffled'",
                [imported]).to_pylist()}
        assert got.keys() == want_vectors.keys()
        for accession, vector in got.items():
            np.testing.assert_array_equal(vector, want_vectors[accession])
        residues = wh.query("SELECT accession, position, residue, vector FROM residues WHERE model = ? AND "
                            "control = 'shuffled' ORDER BY accession, position", [imported]).to_pylist()
        assert residues == want_residues  # letters of the shuffled sequence, vectors exact
        hashes = dict(wh.con.execute("SELECT accession, seq_hash FROM embeddings WHERE control = 'shuffled'")
                      .fetchall())
        assert hashes == {a: hashlib.md5(s.encode()).hexdigest() for a, s in embedded.items()}
        assert wh.con.execute("SELECT count(*) FROM residue_stats WHERE model = ? AND control = 'shuffled'",
                              [imported]).fetchall() == [(1,)]
        compute_isotropy(wh, controls=["shuffled"], scopes=["global"])
        render_report(wh, tmp_path / "after.html")
    html = (tmp_path / "after.html").read_text()
    assert 'data-control-missing="shuffled"' not in html and 'data-control-missing="random-init"' in html


def test_ray_engine_embeds_controls_as_the_local_one(built, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'protiso[ray]')")
    from protiso.engines import embed_runner
    from protiso.sequences.ingest import ingest_files

    found = {}
    for engine in ("local", "ray"):
        with Warehouse.create(tmp_path / engine) as wh:
            ingest_files(wh, [built["root"] / "proteins.fasta"], progress=False)
            for control in ("shuffled", "random-init"):
                runner = embed_runner(engine, workers=1) if engine == "ray" else None
                embed_proteins(wh, EmbedOptions(MODEL, sample=4, seed=SEED, control=control, residues="all"),
                               runner=runner, progress=False)
            found[engine] = (wh.query("SELECT control, accession, embedding FROM embeddings "
                                      "ORDER BY control, accession").to_pylist(),
                             wh.query("SELECT control, accession, position, residue FROM residues "
                                      "ORDER BY ALL").to_pylist(),
                             wh.query("SELECT accession, sequence FROM control_sequences ORDER BY 1").to_pylist())
    (local_rows, local_residues, local_shuffles), (ray_rows, ray_residues, ray_shuffles) = found["local"], found["ray"]
    assert [(r["control"], r["accession"]) for r in ray_rows] == [(r["control"], r["accession"]) for r in local_rows]
    assert {r["control"] for r in ray_rows} == {"shuffled", "random-init"}
    for a, b in zip(local_rows, ray_rows):
        np.testing.assert_allclose(a["embedding"], b["embedding"], rtol=0, atol=1e-6)
    assert ray_residues == local_residues and ray_shuffles == local_shuffles


@pytest.fixture(scope="module")
def enriched_report(tmp_path_factory, shared_data) -> dict:
    """Swiss-Prot 2012 entries of at most 300 residues with their Pfam / InterPro cross-references, UniRep-64 real
    and both controls, one homolog-enriched run (same-family candidates), and the report."""
    from protiso.jobs.align import align_and_measure
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.report import render_report
    from protiso.sequences.ingest import ingest_files

    root = tmp_path_factory.mktemp("controls_strata")
    path = root / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [shared_data / "swissprot-entries" / "swissprot_2012_100.dat"], progress=False)
        for control in CONTROLS:
            embed_proteins(wh, EmbedOptions(MODEL, seed=SEED, control=control, where="length(sequence) <= 300"),
                           progress=False)
        compute_isotropy(wh, scopes=["global"])
        run = align_and_measure(wh, design="homolog-enriched", pair_count=200, homolog_share=0.5, seed=1, homolog_source="xrefs",
                    mode="local", matrix="BLOSUM62", workers=1, progress=False).run_id
        render_report(wh, root / "strata.html")
    return {"path": path, "run": run, "html": (root / "strata.html").read_text()}


def test_headline_shows_each_stratum_and_the_population_estimate_each_number_its_sql_answer(enriched_report):
    html = enriched_report["html"]
    numbers = [n for n in parse(html).numbers if n["data-metric"].startswith("control_")]
    shown = {(n["data-control"], n.get("data-stratum"), n.get("data-weighting"))
             for n in numbers if n["data-metric"] == "control_pearson"}
    for control in CONTROLS:  # per stratum unweighted and the population estimate; never the pooled unweighted mix
        assert {(control, "homolog", "unweighted"), (control, "non-homolog", "unweighted"),
                (control, "all", "weighted")} <= shown
    assert not any(s == "all" and w == "unweighted" for _, s, w in shown)
    metrics = Counter(n["data-metric"] for n in numbers)
    for metric in ("control_pearson_low", "control_pearson_high", "control_n_proteins", "control_partial",
                   "control_partial_low", "control_partial_high"):
        assert metrics[metric] > 0, metric
    assert {n["data-adjustment"] for n in numbers if n["data-metric"] == "control_partial"} == {
        "length + composition (linear)", "flexible length + composition"}
    with Warehouse.open(enriched_report["path"], read_only=True) as wh:
        for number in numbers:
            assert number.get("data-run", enriched_report["run"]) == enriched_report["run"]
            want = expected(wh.con, number)
            assert float(number["data-value"]) == pytest.approx(want, rel=1e-12), number
    assert "Within likely homologs" in html and "population-weighted r(cosine, identity)" in html
    assert "partial r(cosine, identity) is" in html
