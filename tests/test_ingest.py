"""Warehouse ingest: counts, de-duplication, rejects, idempotency, atomicity (failures and kill -9)."""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from Bio import SeqIO
from conftest import REPO

from protiso.errors import ProtisoError
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Commit, Warehouse

ROOTS = ("GO:0003674", "GO:0008150", "GO:0005575")
TABLES = ("proteins", "protein_go", "protein_keywords", "go_terms", "go_graph", "rejects", "runs", "parts")


def scalar(wh: Warehouse, sql: str, params=None):
    return wh.con.execute(sql, params).fetchall()[0][0]


def snapshot(target: Warehouse | Path) -> dict:
    """Row counts, catalogued parts and Parquet files of a warehouse: an open one, or the one at a path
    (opened read-only, so no clean-up runs)."""
    if isinstance(target, Warehouse):
        return _snapshot(target.con, target.path)
    with duckdb.connect(str(target / "protiso.duckdb"), read_only=True) as con:
        return _snapshot(con, target)


def _snapshot(con, path: Path) -> dict:
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    parts = sorted(row[0] for row in con.execute("SELECT path FROM parts").fetchall())
    runs = sorted(row[0] for row in con.execute("SELECT run_id FROM runs").fetchall())
    files = sorted(str(p.relative_to(path)) for p in (path / "parquet").rglob("*.parquet")) \
        if (path / "parquet").exists() else []
    return {"counts": counts, "parts": parts, "runs": runs, "files": files}


def assert_consistent(target: Warehouse | Path) -> dict:
    """Every Parquet file under W/parquet is catalogued in parts and vice versa; no staging left."""
    state = snapshot(target)
    path = target.path if isinstance(target, Warehouse) else target
    assert state["files"] == state["parts"]
    assert not [p for p in (path / "parquet").rglob("*") if p.is_file() and p.suffix != ".parquet"]
    return state


def slice_files(fixtures_dir: Path, shared_data: Path) -> list[Path]:
    return [fixtures_dir / "sp2014_head300.fasta", fixtures_dir / "sp2014_head300_annotations.tsv",
            shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz",
            shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz"]


def expected_go_pairs(tsv: Path) -> set[tuple[str, str]]:
    pairs = set()
    for line in tsv.read_text().splitlines()[1:]:
        entry, *_, ids = line.split("\t")
        pairs |= {(entry, go_id) for go_id in ids.split("; ") if go_id}
    return pairs


def test_ingest_slice(warehouse, fixtures_dir, shared_data):
    files = slice_files(fixtures_dir, shared_data)
    summary = ingest_files(warehouse, files, progress=False)
    reference = {rec.id: str(rec.seq) for rec in SeqIO.parse(files[0], "fasta")}
    rows = warehouse.query("SELECT accession, sequence, length, seq_hash, source FROM proteins").to_pylist()
    assert {r["accession"]: r["sequence"] for r in rows} == reference
    assert all(r["length"] == len(r["sequence"]) and r["seq_hash"] == hashlib.md5(r["sequence"].encode()).hexdigest()
               and r["source"] == "sp2014_head300.fasta" for r in rows)
    got = {tuple(r.values()) for r in warehouse.query("SELECT accession, go_id FROM protein_go").to_pylist()}
    assert got == expected_go_pairs(files[1]) and scalar(warehouse, "SELECT count(*) FROM protein_go") == len(got)
    assert scalar(warehouse, "SELECT count(*) FROM go_terms") == 40414
    assert scalar(warehouse, "SELECT count(DISTINCT go_id) FROM go_terms") == 40414
    # the graph file's reversed columns were detected: roots have no parents, edges point to the roots
    assert scalar(warehouse, "SELECT count(*) FROM go_graph WHERE child IN ?", [list(ROOTS)]) == 0
    assert scalar(warehouse, "SELECT count(*) FROM go_graph WHERE parent = 'GO:0008150'") > 0
    assert any("wrong way round" in note for note in summary.notes)
    # namespaces filled from the graph; they agree with the annotation columns of the TSV
    assert scalar(warehouse, "SELECT count(*) FROM go_terms WHERE namespace IS NULL") == 0
    assert scalar(warehouse, """SELECT count(*) FROM protein_go g JOIN go_terms t USING (go_id)
                                WHERE g.ontology IS NOT NULL AND g.ontology <> t.namespace""") == 0
    assert warehouse.query("SELECT namespace FROM go_terms WHERE go_id IN ('GO:0003824', 'GO:0006096', "
                           "'GO:0005737') ORDER BY go_id").column(0).to_pylist() == [
        "molecular_function", "cellular_component", "biological_process"]
    by_file = {s.path: s for s in summary.files}
    assert by_file["sp2014_head300.fasta"].proteins_added == 300
    assert by_file["sp2014_head300_annotations.tsv"].annotations_added == len(got)
    assert by_file["go_2014_terms.tsv.gz"].terms_added == 40414 and by_file["go_2014_terms.tsv.gz"].rejected == 1
    assert by_file["go_2014_graph.tsv.gz"].edges_added == 79118
    # parameters recorded beside the results
    run = warehouse.query("SELECT * FROM runs").to_pylist()
    assert len(run) == 1 and run[0]["kind"] == "ingest" and run[0]["status"] == "done"
    params = json.loads(run[0]["params"])
    assert params["files"] == [str(f.resolve()) for f in files] and params["format"] == "auto"
    assert params["formats"] == ["fasta", "tsv", "go-terms", "go-graph"] and "normalisation" in params
    assert [s["records"] for s in params["summary"]] == [300, 300, 40415, 79118]
    assert json.loads(run[0]["versions"])["duckdb"] == duckdb.__version__
    reject = warehouse.query("SELECT * FROM rejects").to_pylist()
    assert reject == [{"run_id": summary.run_id, "source": "go_2014_terms.tsv.gz", "record": "40416",
                       "accession": "systematic_synonym", "reason": "malformed GO id 'systematic_synonym'"}]
    assert_consistent(warehouse)


def test_rerun_is_idempotent(warehouse, fixtures_dir, shared_data):
    files = slice_files(fixtures_dir, shared_data)[:2] + [shared_data / "swissprot-entries" / "swissprot_2012_100.dat"]
    ingest_files(warehouse, files, progress=False)
    before = snapshot(warehouse)
    again = ingest_files(warehouse, files, progress=False)
    after = snapshot(warehouse)
    assert again.total.proteins_added == again.total.annotations_added == 0
    assert again.total.proteins_unchanged == 400
    assert after["parts"] == before["parts"]
    assert {t: after["counts"][t] for t in TABLES if t != "runs"} == {t: before["counts"][t] for t in TABLES
                                                                      if t != "runs"}
    assert after["counts"]["runs"] == 2
    assert scalar(warehouse, "SELECT count(*) - count(DISTINCT accession) FROM proteins") == 0


def test_dat_fields_queryable(warehouse, shared_data):
    path = shared_data / "swissprot-entries" / "swissprot_2012_100.dat"
    ingest_files(warehouse, [path], progress=False)
    reference = list(SeqIO.parse(path, "swiss"))
    organisms = dict(warehouse.con.execute(
        "SELECT organism, count(*) FROM proteins GROUP BY organism").fetchall())
    expected: dict[str, int] = {}
    for rec in reference:
        name = rec.annotations["organism"].rstrip(".")
        expected[name] = expected.get(name, 0) + 1
    assert organisms == expected
    assert dict(warehouse.con.execute("SELECT accession, taxon_id FROM proteins").fetchall()) == {
        rec.id: int(rec.annotations["ncbi_taxid"][0]) for rec in reference}
    keywords = warehouse.con.execute("SELECT accession, keyword FROM protein_keywords").fetchall()
    assert set(keywords) == {(rec.id, k) for rec in reference for k in rec.annotations.get("keywords", [])}
    go = warehouse.con.execute("SELECT accession, go_id FROM protein_go").fetchall()
    assert set(go) == {(rec.id, x[3:]) for rec in reference for x in rec.dbxrefs if x.startswith("GO:GO:")}
    # a GROUP BY an analyst would write
    top = warehouse.con.execute("""SELECT keyword, count(*) AS n FROM protein_keywords GROUP BY keyword
                                   ORDER BY n DESC, keyword LIMIT 1""").fetchall()[0]
    counts: dict[str, int] = {}
    for rec in reference:
        for k in set(rec.annotations.get("keywords", [])):
            counts[k] = counts.get(k, 0) + 1
    assert top[1] == max(counts.values())


def test_dat_fills_empty_fields_of_stored_proteins(warehouse, shared_data, tmp_path):
    dat = shared_data / "swissprot-entries" / "swissprot_2012_100.dat"
    reference = list(SeqIO.parse(dat, "swiss"))
    bare = tmp_path / "bare.fasta"
    bare.write_text("".join(f">{rec.id}\n{rec.seq}\n" for rec in reference))
    ingest_files(warehouse, [bare], progress=False)
    assert scalar(warehouse, "SELECT count(organism) FROM proteins") == 0
    first = ingest_files(warehouse, [dat], progress=False).files[0]
    assert (first.proteins_added, first.proteins_updated, first.proteins_unchanged) == (0, 100, 0)
    assert dict(warehouse.con.execute("SELECT accession, organism FROM proteins").fetchall()) == {
        rec.id: rec.annotations["organism"].rstrip(".") for rec in reference}
    assert scalar(warehouse, "SELECT count(*) FROM proteins WHERE source = 'bare.fasta'") == 100
    again = ingest_files(warehouse, [dat], progress=False).files[0]
    assert (again.proteins_updated, again.proteins_unchanged) == (0, 100)
    state = assert_consistent(warehouse)
    assert state["counts"]["proteins"] == 100 and len([p for p in state["parts"] if "proteins" in p]) == 1


def test_duplicates_and_conflicts(warehouse, tmp_path):
    first = tmp_path / "first.fasta"
    first.write_text(">A1\nMKV\n>A1\nmkv*\n>B2\nMKVL\n>B2\nMKVI\n>C3\nMEEP\n")
    summary = ingest_files(warehouse, [first], progress=False)
    s = summary.files[0]
    assert (s.records, s.proteins_added, s.proteins_unchanged, s.rejected) == (5, 2, 1, 2)
    assert sorted(warehouse.con.execute("SELECT accession, sequence FROM proteins").fetchall()) == [
        ("A1", "MKV"), ("C3", "MEEP")]
    reasons = warehouse.con.execute("SELECT record, accession, reason FROM rejects ORDER BY record").fetchall()
    assert [(r[0], r[1]) for r in reasons] == [("5", "B2"), ("7", "B2")]
    assert all("occurs with 2 different sequences in the input (first.fasta line 5, first.fasta line 7)" in r[2]
               for r in reasons)
    second = tmp_path / "second.fasta"
    second.write_text(">C3\nMEEPX\n>A1\nMKV\n>D4\nMW\n")
    s2 = ingest_files(warehouse, [second], progress=False).files[0]
    assert (s2.proteins_added, s2.proteins_unchanged, s2.rejected) == (1, 1, 1)
    assert "accession C3 is already stored with a different sequence (from first.fasta)" in scalar(
        warehouse, "SELECT reason FROM rejects WHERE source = 'second.fasta'")
    assert scalar(warehouse, "SELECT sequence FROM proteins WHERE accession = 'C3'") == "MEEP"
    assert scalar(warehouse, "SELECT count(*) FROM proteins") == 3


def test_bad_sequences_are_counted_rejects(warehouse, tmp_path):
    path = tmp_path / "messy.fasta"
    path.write_text(">low\nmkvla\n>stop\nMKVLA*\n>spaced\nMKV LA\n  12 MKV\n>inner_stop\nMK*VLA\n"
                    ">gap\nMKV-LA\n>empty\n>only_stop\n*\n>jay\nMKJ\n")
    summary = ingest_files(warehouse, [path], progress=False)
    assert dict(warehouse.con.execute("SELECT accession, sequence FROM proteins").fetchall()) == {
        "low": "MKVLA", "stop": "MKVLA", "spaced": "MKVLAMKV"}
    rejects = {a: (rec, reason) for rec, a, reason in warehouse.con.execute(
        "SELECT record, accession, reason FROM rejects").fetchall()}
    assert rejects["inner_stop"] == ("8", "invalid residue '*' at position 3 (allowed: "
                                          "ACDEFGHIKLMNPQRSTVWYXUBZO after upper-casing)")
    assert "'-' at position 4" in rejects["gap"][1]
    assert rejects["empty"][1] == rejects["only_stop"][1] == "empty sequence"
    assert "'J' at position 3" in rejects["jay"][1]
    assert summary.files[0].rejected == 5 and summary.files[0].proteins_added == 3
    assert len(summary.first_rejects) == 5
    assert all(line.startswith("messy.fasta line ") and "\n" not in line for line in summary.first_rejects)


def test_rejected_records_leave_no_annotations(warehouse, tmp_path):
    path = tmp_path / "export.tsv"
    path.write_text("Entry\tKeywords\tGene Ontology IDs\tSequence\n"
                    "P1\tATP-binding\tGO:0005524\tMKV\n"
                    "P2\tSignal\tGO:0005576\tMK*V\n"
                    "P3\tZinc\tGO:0008270\tMKV1\n")
    summary = ingest_files(warehouse, [path], progress=False).files[0]
    assert (summary.proteins_added, summary.rejected) == (2, 1)
    assert sorted(warehouse.con.execute("SELECT accession, keyword FROM protein_keywords").fetchall()) == [
        ("P1", "ATP-binding"), ("P3", "Zinc")]
    assert sorted(warehouse.con.execute("SELECT accession FROM protein_go").fetchall()) == [("P1",), ("P3",)]


def test_annotations_for_unknown_accessions_are_kept(warehouse, fixtures_dir):
    path = fixtures_dir / "sp2014_head300_annotations.tsv"
    summary = ingest_files(warehouse, [path], progress=False)
    assert scalar(warehouse, "SELECT count(*) FROM proteins") == 0
    pairs = expected_go_pairs(path)
    assert scalar(warehouse, "SELECT count(DISTINCT accession) FROM protein_go") == len({a for a, _ in pairs})
    assert summary.files[0].annotations_added == scalar(warehouse, "SELECT count(*) FROM protein_go") == len(pairs)


def test_truncated_gzip_leaves_warehouse_unchanged(warehouse, fixtures_dir, shared_data, tmp_path):
    ingest_files(warehouse, [fixtures_dir / "uniprot_headers.fasta"], progress=False)
    before = snapshot(warehouse)
    limit = scalar(warehouse, "SELECT current_setting('memory_limit')")
    cut = tmp_path / "cut.fasta.gz"
    cut.write_bytes((shared_data / "swissprot-2014" / "swissprot_2014.fasta.gz").read_bytes()[:400_000])
    with pytest.raises(ProtisoError, match=r"cut\.fasta\.gz: truncated or corrupt gzip file near line \d+"):
        ingest_files(warehouse, [fixtures_dir / "sp2014_head300.fasta", cut], progress=False)
    assert snapshot(warehouse) == before
    assert_consistent(warehouse)
    # the connection is still usable and the settings are back
    assert scalar(warehouse, "SELECT count(*) FROM proteins") == 8
    assert scalar(warehouse, "SELECT current_setting('memory_limit')") == limit


def test_failure_while_writing_parts_leaves_nothing(warehouse, fixtures_dir, shared_data, monkeypatch):
    ingest_files(warehouse, [fixtures_dir / "uniprot_headers.fasta"], progress=False)
    before = snapshot(warehouse)
    calls = []
    original = Commit.write_part

    def failing(self, table, data, partition=None):
        calls.append(table)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return original(self, table, data, partition)

    monkeypatch.setattr(Commit, "write_part", failing)
    with pytest.raises(OSError, match="simulated"):
        ingest_files(warehouse, slice_files(fixtures_dir, shared_data)[:2], progress=False)
    assert snapshot(warehouse) == before
    assert_consistent(warehouse)


def test_namespaces_filled_when_the_graph_comes_later(warehouse, shared_data, fixtures_dir):
    terms = shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz"
    ingest_files(warehouse, [terms], progress=False)
    # only the (pseudo-)root terms know their namespace without a graph
    roots = {go_id for go_id, in warehouse.con.execute(
        "SELECT go_id FROM go_terms WHERE go_id IN ? OR go_id LIKE 'obsolete_%'", [list(ROOTS)]).fetchall()}
    assert scalar(warehouse, "SELECT count(*) FROM go_terms WHERE namespace IS NULL") == 40414 - len(roots)
    obo = fixtures_dir / "go_2014_slice.obo"
    summary = ingest_files(warehouse, [obo], progress=False)
    # the OBO names a few namespaces and edges; the stored terms they reach get filled, nothing duplicated
    assert summary.files[0].terms_added == 0 and summary.files[0].edges_added > 0
    obo_ids = {line[4:] for line in obo.read_text().splitlines() if line.startswith("id: GO:")}
    filled = {go_id for go_id, in warehouse.con.execute(
        "SELECT go_id FROM go_terms WHERE namespace IS NOT NULL").fetchall()}
    assert filled == obo_ids | roots
    graph = shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz"
    ingest_files(warehouse, [graph], progress=False)
    assert scalar(warehouse, "SELECT count(*) FROM go_terms") == 40414
    assert scalar(warehouse, "SELECT count(*) FROM go_terms WHERE namespace IS NULL") == 0
    # obsolete terms hang under obsolete_* pseudo-roots in this graph (first column, as the file is reversed)
    with gzip.open(graph, "rt") as handle:
        obsolete = {line.split("\t")[1] for line in handle if line.startswith("obsolete_")}
    flagged = warehouse.con.execute("SELECT count(*), count(*) FILTER (WHERE go_id IN ?) FROM go_terms "
                                    "WHERE is_obsolete AND go_id LIKE 'GO:%'", [sorted(obsolete)]).fetchall()[0]
    assert flagged == (len(obsolete), len(obsolete))
    assert scalar(warehouse, "SELECT count(*) FROM parts WHERE table_name = 'go_terms'") == 1
    assert_consistent(warehouse)


def _cut_fasta(shared_data: Path, path: Path, records: int) -> int:
    """Write the first ``records`` records of the real Swiss-Prot 2014 FASTA to ``path`` (gzip level 1)."""
    count = 0
    with gzip.open(shared_data / "swissprot-2014" / "swissprot_2014.fasta.gz", "rt") as src, \
            gzip.open(path, "wt", compresslevel=1) as dst:
        for line in src:
            if line.startswith(">"):
                count += 1
                if count > records:
                    break
            dst.write(line)
    return records


def _start_ingest(path: Path, warehouse: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "protiso", "ingest", str(path), "-w", str(warehouse),
                             "--no-progress"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 120) -> bool:
    """kill -9 ``proc`` as soon as ``ready()``; True if it was still running then."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return running


def test_kill_9_then_rerun(tmp_path, shared_data):
    n = _cut_fasta(shared_data, tmp_path / "sp100k.fasta.gz", 100_000)
    w = tmp_path / "w"
    Warehouse.create(w).close()
    empty = snapshot(w)
    # 1. killed while staging: nothing changes
    proc = _start_ingest(tmp_path / "sp100k.fasta.gz", w)
    assert _kill_when(proc, lambda: any((w / "parquet" / "_staging").glob("*/proteins.parquet"))), \
        "the ingest finished before it could be killed"
    assert any((w / "parquet").rglob("*.parquet"))     # it left staged files behind
    Warehouse.open(w).close()                           # the next open deletes what is not catalogued
    assert snapshot(w) == empty
    # 2. killed while writing its parts: before or after the commit, never in between
    proc = _start_ingest(tmp_path / "sp100k.fasta.gz", w)
    _kill_when(proc, lambda: any((w / "parquet" / "proteins").glob("*")) if (w / "parquet" / "proteins").exists()
               else False)
    Warehouse.open(w).close()
    state = assert_consistent(w)
    assert state["counts"]["proteins"] in (0, n)
    assert state["counts"]["runs"] == (1 if state["counts"]["proteins"] else 0)
    # 3. rerun to the end: exact counts, no duplicates, no orphans
    done = subprocess.run([sys.executable, "-m", "protiso", "ingest", str(tmp_path / "sp100k.fasta.gz"), "-w", str(w),
                           "--no-progress"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    state = assert_consistent(w)
    assert state["counts"]["proteins"] == n
    with duckdb.connect(str(w / "protiso.duckdb"), read_only=True) as con:
        distinct = con.execute("SELECT count(DISTINCT accession), count(DISTINCT seq_hash) > 0 FROM proteins")
        assert distinct.fetchall()[0] == (n, True)
    assert not (w / "parquet" / "_staging").exists()


def test_declared_length_must_match(warehouse, shared_data, tmp_path):
    text = (shared_data / "swissprot-entries" / "swissprot_2012_100.dat").read_text()
    first = text.split("//\n")[0] + "//\n"
    path = tmp_path / "one.dat"
    path.write_text(first.replace(" 472 AA.", " 471 AA.", 1))
    summary = ingest_files(warehouse, [path], progress=False).files[0]
    assert (summary.proteins_added, summary.rejected) == (0, 1)
    assert warehouse.con.execute("SELECT record, accession, reason FROM rejects").fetchall() == [
        ("1", "P15455", "declared length 471 differs from the sequence length 472")]
    assert scalar(warehouse, "SELECT count(*) FROM protein_go") == 0


def test_views_protiso_no_longer_makes_are_dropped_user_views_kept(tmp_path):
    wh = Warehouse.create(tmp_path / "w")
    # A view and a macro an older protiso made, and a view and a macro the user made.
    wh.con.execute("CREATE VIEW old_protiso_view AS SELECT 1 AS x")
    wh.con.execute("COMMENT ON VIEW old_protiso_view IS 'protiso: sql/views/10_gone.sql'")
    wh.con.execute("CREATE MACRO old_protiso_rows() AS TABLE SELECT 1 AS x")
    wh.con.execute("COMMENT ON MACRO TABLE old_protiso_rows IS 'protiso: sql/macros/gone.sql'")
    wh.con.execute("CREATE VIEW my_view AS SELECT count(*) AS n FROM proteins")
    wh.con.execute("CREATE MACRO my_double(x) AS 2 * x")
    wh.close()

    with Warehouse.open(tmp_path / "w") as wh:
        views = dict(wh.con.execute("SELECT view_name, comment FROM duckdb_views() WHERE NOT internal").fetchall())
        macros = {name for (name,) in wh.con.execute(
            "SELECT function_name FROM duckdb_functions() WHERE function_type IN ('macro', 'table_macro')").fetchall()}
        assert "old_protiso_view" not in views and "old_protiso_rows" not in macros
        assert views["my_view"] is None and "my_double" in macros
        assert wh.con.execute("SELECT n FROM my_view").fetchall() == [(0,)]
        assert views["proteins"] == "protiso: table proteins"
        assert views["correlations"] == "protiso: sql/views/21_correlations.sql"
        assert {"stats_isoscore", "residue_stats_merged", "pair_metrics_live"} <= macros
