"""Everyday CLI habits: --version, `sql -o` by extension at full precision, readable printed floats,
one current row per isotropy key (`isotropy_latest`), help texts that keep `protiso[ray]`."""

from __future__ import annotations

import csv
import json
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import report_warehouse
from protiso.cli import app
from protiso.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("habits") / "w"
    report_warehouse.build(path)
    return path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"protiso {metadata.version('protiso')}"


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json"])
def test_sql_output_by_extension_keeps_full_precision(built: Path, tmp_path: Path, suffix: str) -> None:
    query = ("SELECT accession, embedding[1]::DOUBLE / 3 AS first, 0.1::DOUBLE + 0.2 AS x, [1.5, 2.25]::DOUBLE[] AS pair "
             "FROM embeddings WHERE layer = 8 AND embedding_set = 'raw' ORDER BY accession LIMIT 3")
    out = tmp_path / f"result{suffix}"
    result = runner.invoke(app, ["sql", "-w", str(built), query, "-o", str(out)])
    assert result.exit_code == 0, result.output
    with Warehouse.open(built, read_only=True) as wh:
        expected = wh.query(query).to_pylist()
    if suffix == ".parquet":
        rows = pq.read_table(out).to_pylist()
    elif suffix == ".json":
        rows = json.loads(out.read_text())
    else:
        with open(out, newline="") as handle:
            rows = [{"accession": r["accession"], "first": float(r["first"]), "x": float(r["x"]),
                     "pair": json.loads(r["pair"])} for r in csv.DictReader(handle)]
    assert rows == expected                      # 0.30000000000000004 and every float bit for bit
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_sql_output_with_an_unknown_extension_is_one_line(built: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["sql", "-w", str(built), "SELECT 1", "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and ".csv" in result.output and ".txt" in result.output


def test_printed_tables_round_floats_to_six_significant_digits(built: Path) -> None:
    result = runner.invoke(app, ["sql", "-w", str(built),
                                 "SELECT 0.1::DOUBLE + 0.2 AS x, 2/3 AS third, 1e-9::DOUBLE AS tiny, 0.0::DOUBLE AS z"])
    assert result.exit_code == 0, result.output
    assert "0.30000000000000004" not in result.output
    assert "0.666667" in result.output and "0.6666666" not in result.output and "1e-09" in result.output


def test_isotropy_latest_has_one_current_row_per_key(built: Path) -> None:
    from protiso.jobs.isotropy import compute_isotropy

    with Warehouse.open(built) as wh:
        compute_isotropy(wh, models=["antiberty"])
        key = "model, layer, embedding_set, scope, group_by, group_value"
        history = wh.query(f"SELECT {key}, count(*) AS runs FROM isotropy GROUP BY ALL").to_pylist()
        assert max(r["runs"] for r in history) >= 2                   # the build's run and this one
        latest = wh.query(f"SELECT {key}, run_id FROM isotropy_latest").to_pylist()
        assert len(latest) == len(history)
        newest = wh.query("SELECT max(computed_at) AS t FROM isotropy").to_pylist()[0]["t"]
        rerun = {r["run_id"] for r in wh.query("SELECT run_id FROM isotropy WHERE computed_at = ?",
                                               [newest]).to_pylist()}
        assert {r["run_id"] for r in latest if r["model"] == "antiberty" and r["group_by"] == "all"} <= rerun


@pytest.mark.parametrize("command", ["embed", "ingest", "align"])
def test_help_keeps_square_brackets(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "protiso[ray]" in result.output.replace("\n", " ").replace("  ", " ")
