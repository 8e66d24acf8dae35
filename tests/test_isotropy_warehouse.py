"""protiso.isotropy.compute_isotropy, `protiso isotropy`, and the pure-SQL macros in the DuckDB CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from IsoScore.IsoScore import IsoScore
from isotropy_data import build_warehouse, golden, reference_float64
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.jobs.isotropy import compute_isotropy
from protiso.metrics import effective_dims, isoscore, isoscore_star, mean_pairwise_cosine
from protiso.warehouse import Warehouse

DUCKDB_CLI = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")


@pytest.fixture()
def warehouse(tmp_path):
    wh = build_warehouse(tmp_path / "w")
    yield wh
    wh.close()


def rows(wh, run_id, **where):
    sql = "SELECT * FROM isotropy WHERE run_id = ?" + "".join(f" AND {k} = ?" for k in where)
    return wh.query(sql + " ORDER BY scope, group_by, group_value", [run_id, *where.values()]).to_pylist()


def test_global_and_local_rows_over_all_points(warehouse):
    g = golden()
    summary = compute_isotropy(warehouse, zeta=0.3)
    assert summary.rows == 2 and not summary.skipped
    glob, = rows(warehouse, summary.run_id, scope="global")
    points = g["global_vectors"]
    assert (glob["n_points"], glob["dim"], glob["group_value"], glob["embedding_set"]) == (99, 512, "all", "raw")
    assert glob["isoscore"] == pytest.approx(reference_float64(IsoScore, points), rel=1e-9)
    assert glob["isoscore_star"] == pytest.approx(isoscore_star(points, 0.3), rel=1e-9)
    assert glob["zeta"] == 0.3
    assert glob["effective_dims"] == pytest.approx(effective_dims(points), rel=1e-9)
    assert glob["effective_dims_rounded"] == int(np.ceil(effective_dims(points)))
    assert glob["mean_cosine"] == pytest.approx(mean_pairwise_cosine(points), abs=1e-12)
    assert glob["isoscore_ci_low"] is None and glob["bootstrap"] is None


def test_local_isoscore_over_every_residue_equals_stacking_and_reference(warehouse):
    residues = golden()["residue_vectors"]
    summary = compute_isotropy(warehouse, scopes=["local"])
    local, = rows(warehouse, summary.run_id, scope="local")
    assert local["n_points"] == len(residues)  # merged over the two residue_stats rows
    assert local["isoscore"] == pytest.approx(reference_float64(IsoScore, residues), rel=1e-9)
    assert local["isoscore"] == pytest.approx(float(IsoScore(residues.astype(np.float64))), rel=1e-6)
    assert local["mean_cosine"] is None


def test_grouped_rows_match_each_group(warehouse):
    g = golden()
    summary = compute_isotropy(warehouse, by=["organism", "length_bin", "go_term"], min_points=5,
                               scopes=["global"])
    organisms = {r["group_value"]: r for r in rows(warehouse, summary.run_id, group_by="organism")}
    names, counts = np.unique(g["organisms"], return_counts=True)
    assert set(organisms) == {str(n) for n, c in zip(names, counts) if c >= 5}
    for name, row in organisms.items():
        points = g["global_vectors"][g["organisms"] == name]
        assert row["n_points"] == len(points)
        assert row["isoscore"] == pytest.approx(isoscore(points), rel=1e-9)
        assert row["mean_cosine"] == pytest.approx(mean_pairwise_cosine(points), abs=1e-12)
    go = {r["group_value"]: r["n_points"] for r in rows(warehouse, summary.run_id, group_by="go_term")}
    annotated = {a: set() for a in g["accessions"]}
    for accession, go_id in zip(g["go_accessions"], g["go_ids"]):
        annotated.setdefault(accession, set()).add(str(go_id))
    for go_id, n in go.items():
        assert n == sum(go_id in terms for terms in annotated.values()) >= 5
    bins = {r["group_value"] for r in rows(warehouse, summary.run_id, group_by="length_bin")}
    assert bins <= {"1-99", "100-199", "200-299", "300-399", "400-499", "500-999", "1000+"} and bins


def test_local_grouped_rows_use_stored_residues(warehouse):
    g = golden()
    summary = compute_isotropy(warehouse, by=["organism"], scopes=["local"], min_points=2)
    grouped = rows(warehouse, summary.run_id, group_by="organism")
    owners = np.repeat(g["residue_accessions"], g["residue_lengths"])
    organism_of = dict(zip(g["accessions"], g["organisms"]))
    for row in grouped:
        points = g["residue_vectors"][[organism_of[a] == row["group_value"] for a in owners]]
        assert row["scope"] == "local" and row["n_points"] == len(points)
        assert row["isoscore"] == pytest.approx(isoscore(points), rel=1e-9)


def test_bootstrap_and_recorded_parameters(warehouse):
    summary = compute_isotropy(warehouse, bootstrap=40, seed=7, scopes=["global"], models=["antiberty"])
    row, = rows(warehouse, summary.run_id)
    assert row["bootstrap"] == 40 and row["isoscore_ci_low"] < row["isoscore"] < row["isoscore_ci_high"]
    again = compute_isotropy(warehouse, bootstrap=40, seed=7, scopes=["global"])
    assert rows(warehouse, again.run_id)[0]["isoscore_ci_low"] == row["isoscore_ci_low"]
    run = warehouse.query("SELECT kind, status, params FROM runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]
    params = json.loads(run["params"])
    assert run["kind"] == "isotropy" and run["status"] == "done"
    assert params["bootstrap"] == 40 and params["seed"] == 7 and params["models"] == ["antiberty"]
    assert params["zeta"] == 0.2 and params["rows"] == 1


def test_selection_and_errors(warehouse):
    before = warehouse.query("SELECT count(*) AS n FROM runs").column("n")[0].as_py()
    with pytest.raises(ProtisoError, match=r"unknown model 'esm2' in --model; the warehouse has vectors of antiberty"):
        compute_isotropy(warehouse, models=["esm2"])
    assert warehouse.query("SELECT count(*) AS n FROM runs").column("n")[0].as_py() == before  # no run recorded
    nothing = compute_isotropy(warehouse, models=["antiberty"], embedding_set="whitened")
    assert nothing.rows == 0 and nothing.skipped
    with pytest.raises(ProtisoError, match="unknown grouping"):
        compute_isotropy(warehouse, by=["species"])
    with pytest.raises(ProtisoError, match="zeta"):
        compute_isotropy(warehouse, zeta=2.0)
    failed = warehouse.query("SELECT count(*) AS n FROM runs WHERE kind = 'isotropy' AND status = 'running'")
    assert failed.column("n")[0].as_py() == 0


def test_cli_isotropy(tmp_path):
    build_warehouse(tmp_path / "w").close()
    result = CliRunner().invoke(app, ["isotropy", "-w", str(tmp_path / "w"), "--by", "organism,length_bin",
                                      "--bootstrap", "20", "--min-points", "5"])
    assert result.exit_code == 0, result.output
    assert "raw global: n=99" in result.output and "raw local: n=" in result.output
    bad = CliRunner().invoke(app, ["isotropy", "-w", str(tmp_path / "w"), "--by", "species"])
    assert bad.exit_code == 2 and "unknown grouping" in bad.output
    with Warehouse.open(tmp_path / "w") as wh:
        groups = wh.query("SELECT DISTINCT group_by FROM isotropy ORDER BY 1").column(0).to_pylist()
        assert groups == ["all", "length_bin", "organism"]


@pytest.mark.skipif(DUCKDB_CLI is None, reason="duckdb CLI not installed")
def test_sql_macros_in_the_duckdb_cli(tmp_path):
    build_warehouse(tmp_path / "w").close()
    residues = golden()["residue_vectors"]
    sql = ("SELECT n, runs, stats_isoscore(n, dim, sum_x, sum_xxt) AS iso, "
           "stats_effective_dims(n, dim, sum_x, sum_xxt) AS dims, "
           "stats_effective_dims_rounded(n, dim, sum_x, sum_xxt) AS dims_up, "
           "stats_isoscore_star(n, dim, sum_x, sum_xxt, 0.3) AS star FROM residue_stats_merged()")
    out = subprocess.run([DUCKDB_CLI, "-readonly", "-json", str(tmp_path / "w" / "protiso.duckdb"), "-c", sql],
                         capture_output=True, text=True, check=True)
    row, = json.loads(out.stdout)
    assert row["n"] == len(residues) and row["runs"] == 2
    assert row["iso"] == pytest.approx(reference_float64(IsoScore, residues), rel=1e-9)
    assert row["dims"] == pytest.approx(effective_dims(residues), rel=1e-9)
    assert row["dims_up"] == int(np.ceil(effective_dims(residues)))
    assert row["star"] == pytest.approx(isoscore_star(residues, 0.3), rel=1e-9)
    groups = subprocess.run([DUCKDB_CLI, "-readonly", "-csv", "-noheader", str(tmp_path / "w" / "protiso.duckdb"),
                             "-c", "SELECT count(*) FROM protein_groups('organism')"],
                            capture_output=True, text=True, check=True)
    assert int(groups.stdout.strip()) == 99


def test_sql_macro_null_and_error_rules(warehouse):
    con = warehouse.con
    assert con.execute("SELECT stats_isoscore(1, 2, [1.0, 2.0], [1.0, 2.0, 2.0, 4.0])").fetchone()[0] is None
    same = "stats_isoscore(3, 2, [3.0, 6.0], [3.0, 6.0, 6.0, 12.0])"  # three copies of (1, 2)
    assert con.execute(f"SELECT {same}").fetchone()[0] is None
    assert con.execute("SELECT stats_isoscore(4, 1, [0.0], [4.0])").fetchone()[0] is None
    # Rank one (copies of (1, 2) and (2, 4)): PR is 1 up to rounding; IsoScore is never negative.
    for k in range(1, 30):
        line = f"stats_isoscore({k + 1}, 2, [{k + 2.0}, {2 * k + 4.0}], [{k + 4.0}, {2 * k + 8.0}, {2 * k + 8.0}, {4 * k + 16.0}])"
        star = line.replace("stats_isoscore(", "stats_isoscore_star(").replace("])", "], 0.0)")
        for value in con.execute(f"SELECT {line}, {star}").fetchall()[0]:
            assert value is None or 0.0 <= value < 1e-12
    with pytest.raises(Exception, match="dim"):
        con.execute("SELECT stats_isoscore(4, 2, [0.0], [4.0])").fetchone()
