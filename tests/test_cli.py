"""The command line: init, sql, tables, ingest; and the warehouse from the plain DuckDB CLI elsewhere."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import REPO, run_protiso
from typer.testing import CliRunner

from protiso.cli import app

runner = CliRunner()
DUCKDB_CLI = REPO / ".venv" / "bin" / "duckdb"


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0]


def test_init_then_tables(tmp_path):
    result = invoke("init", tmp_path / "w")
    assert result.exit_code == 0 and "created warehouse" in result.stdout
    assert (tmp_path / "w" / "protiso.duckdb").is_file()
    again = invoke("init", tmp_path / "w")
    one_line_error(again, "already holds a warehouse")
    listing = invoke("tables", "-w", tmp_path / "w")
    names = {line.split()[0]: line.split() for line in listing.stdout.splitlines()}
    assert listing.exit_code == 0 and {"proteins", "protein_go", "go_terms", "runs", "rejects"} <= set(names)
    assert names["proteins"][1:] == ["view", "0"]


def test_ingest_prints_summary_and_creates_warehouse(tmp_path, fixtures_dir):
    w = tmp_path / "new"
    result = invoke("ingest", fixtures_dir / "uniprot_headers.fasta", fixtures_dir / "uniprot_export.tsv",
                    "-w", w, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "uniprot_headers.fasta" in result.stdout and "committed" in result.stdout
    listing = {line.split()[0]: int(line.split()[2].replace(",", "")) for line in invoke("tables", "-w", w)
               .stdout.splitlines()}
    assert listing["proteins"] == 20 and listing["runs"] == 1 and listing["protein_keywords"] > 0


def test_ingest_no_create(tmp_path, fixtures_dir):
    result = invoke("ingest", fixtures_dir / "uniprot_headers.fasta", "-w", tmp_path / "absent", "--no-create")
    one_line_error(result, "no warehouse at")
    assert not (tmp_path / "absent").exists()
    assert "--no-create" in invoke("ingest", "--help").stdout


def test_ingest_unknown_format_creates_nothing(tmp_path):
    odd = tmp_path / "notes.txt"
    odd.write_text("these are not sequences\n")
    result = invoke("ingest", odd, "-w", tmp_path / "w")
    one_line_error(result, "notes.txt: unknown format")
    assert not (tmp_path / "w").exists()
    bad = invoke("ingest", odd, "-w", tmp_path / "w", "--format", "genbank")
    one_line_error(bad, "unknown format 'genbank'")


def test_ingest_truncated_gzip_fails_cleanly(tmp_path, shared_data, fixtures_dir):
    w = tmp_path / "w"
    assert invoke("ingest", fixtures_dir / "uniprot_headers.fasta", "-w", w, "--no-progress").exit_code == 0
    cut = tmp_path / "cut.tsv.gz"
    cut.write_bytes((shared_data / "swissprot-2014" / "swissprot_2014_annotations.tsv.gz").read_bytes()[:200_000])
    result = invoke("ingest", cut, "-w", w, "--no-progress")
    one_line_error(result, "cut.tsv.gz: truncated or corrupt gzip file near line", "nothing was ingested")
    with duckdb.connect(str(w / "protiso.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchall()[0][0] == 1
        assert con.execute("SELECT count(*) FROM protein_go").fetchall()[0][0] == 0


def test_ingest_rejects_are_reported(tmp_path):
    path = tmp_path / "two.fasta"
    path.write_text(">A\nMKV\n>A\nMKI\n>B\nMK-V\n")
    result = invoke("ingest", path, "-w", tmp_path / "w", "--no-progress")
    assert result.exit_code == 0
    assert "3 record(s) rejected" in result.stdout
    assert "two.fasta line 1: accession A occurs with 2 different sequences" in result.stdout
    assert "two.fasta line 5: invalid residue '-' at position 3" in result.stdout


def test_missing_file_is_a_usage_error(tmp_path):
    result = invoke("ingest", tmp_path / "nope.fasta", "-w", tmp_path / "w")
    assert result.exit_code == 2 and not (tmp_path / "w").exists()


def test_sql_formats(loaded_warehouse, tmp_path):
    w = loaded_warehouse
    query = "SELECT accession, length FROM proteins WHERE taxon_id = 9606 ORDER BY accession"
    table = invoke("sql", query, "-w", w)
    assert table.exit_code == 0 and "accession" in table.stdout
    as_csv = invoke("sql", query, "-w", w, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    as_json = json.loads(invoke("sql", query, "-w", w, "--format", "json").stdout)
    assert rows and [r["accession"] for r in rows] == [r["accession"] for r in as_json]
    assert [int(r["length"]) for r in rows] == [r["length"] for r in as_json]
    out = tmp_path / "human.parquet"
    written = invoke("sql", query, "-w", w, "-o", out)
    assert written.exit_code == 0 and pq.read_table(out).column("accession").to_pylist() == [
        r["accession"] for r in rows]
    one_line_error(invoke("sql", "SELECT nonsense FROM proteins", "-w", w), "nonsense")


@pytest.mark.skipif(not DUCKDB_CLI.exists() and shutil.which("duckdb") is None, reason="duckdb CLI not installed")
def test_duckdb_cli_from_another_directory(loaded_warehouse, tmp_path):
    cli = str(DUCKDB_CLI) if DUCKDB_CLI.exists() else shutil.which("duckdb")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    db = str(loaded_warehouse / "protiso.duckdb")

    def ask(sql: str) -> list[list[str]]:
        done = subprocess.run([cli, "-readonly", "-csv", "-noheader", db, "-c", sql], cwd=elsewhere,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [line.split(",") for line in done.stdout.strip().splitlines()]

    with duckdb.connect(db, read_only=True) as con:
        expected_count = con.execute("SELECT count(*) FROM proteins").fetchall()[0][0]
        expected_join = con.execute(
            "SELECT t.name, count(*) FROM proteins p JOIN protein_go g USING (accession) JOIN go_terms t USING (go_id) "
            "WHERE t.namespace = 'molecular_function' GROUP BY t.name ORDER BY count(*) DESC, t.name LIMIT 3"
        ).fetchall()
    assert ask("select count(*) from proteins") == [[str(expected_count)]] and expected_count == 400
    got = ask("SELECT t.name, count(*) FROM proteins p JOIN protein_go g USING (accession) JOIN go_terms t "
              "USING (go_id) WHERE t.namespace = 'molecular_function' GROUP BY t.name "
              "ORDER BY count(*) DESC, t.name LIMIT 3")
    assert [(name.strip('"'), int(n)) for name, n in got] == expected_join and len(got) == 3


def test_ingest_subprocess_from_another_directory(tmp_path, fixtures_dir):
    # a relative warehouse path resolves against the caller's directory; files too
    shutil.copy(fixtures_dir / "uniprot_headers.fasta", tmp_path / "in.fasta")
    done = run_protiso("ingest", "in.fasta", "-w", "rel-w", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rel-w" / "protiso.duckdb").is_file()
    listed = run_protiso("sql", "SELECT count(*) AS n FROM proteins", "-w", str(tmp_path / "rel-w"), "--format",
                         "csv", cwd=Path("/"))
    assert listed.returncode == 0 and list(csv.DictReader(io.StringIO(listed.stdout))) == [{"n": "8"}]
