"""Part folders are ``key-value`` (pandas and pyarrow read every table directory as it is), and the
hive-style ``key=value`` folders of protiso 0.1 warehouses are renamed at the next open, crash-safe."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import report_warehouse
from protiso.warehouse import Warehouse, layout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("layout") / "w"
    report_warehouse.build(path)
    return path


def _counts(path: Path) -> dict[str, int]:
    with Warehouse.open(path, read_only=True) as wh:
        return {t: wh.query(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"] for t in
                ("proteins", "embeddings", "alignments", "pair_metrics")}


def _to_hive(path: Path) -> int:
    """Make ``path`` look like a protiso 0.1 warehouse: parts in key=value folders."""
    con = duckdb.connect(str(path / "protiso.duckdb"))
    moved = 0
    for part_id, rel in con.execute("SELECT part_id, path FROM parts").fetchall():
        pieces = rel.split("/")
        old = "/".join([*pieces[:2], *(p.replace("-", "=", 1) for p in pieces[2:-1]), pieces[-1]])
        if old != rel:
            (path / old).parent.mkdir(parents=True, exist_ok=True)
            os.replace(path / rel, path / old)
            con.execute("UPDATE parts SET path = ? WHERE part_id = ?", [old, part_id])
            moved += 1
    con.close()
    return moved


def test_every_table_directory_reads_with_pandas(built: Path) -> None:
    with Warehouse.open(built, read_only=True) as wh:
        tables = {r["table_name"] for r in wh.query("SELECT DISTINCT table_name FROM parts").to_pylist()}
        for table in tables:
            frame = pd.read_parquet(built / "parquet" / table)
            rows = wh.query(f"SELECT count(*) AS n FROM {table}").to_pylist()[0]["n"]
            assert len(frame) == rows, table
            assert not any("=" in p.name for p in (built / "parquet" / table).rglob("*"))
    frame = pd.read_parquet(built / "parquet" / "embeddings")
    assert set(frame["model"]) == {"antiberty"} and frame["layer"].dtype.kind == "i"


def test_hive_folders_are_renamed_at_the_next_open(built: Path, tmp_path: Path) -> None:
    path = tmp_path / "old"
    shutil.copytree(built, path)
    before = _counts(built)
    assert _to_hive(path) > 0
    with pytest.raises(Exception):
        pd.read_parquet(path / "parquet" / "embeddings")           # what 0.1 users hit
    with Warehouse.open(path) as wh:
        assert layout.hive_parts(wh.con) == []
    assert _counts(path) == before
    assert not [p for p in (path / "parquet").rglob("*") if "=" in p.name]
    assert len(pd.read_parquet(path / "parquet" / "embeddings")) == before["embeddings"]


def test_a_crash_while_renaming_loses_nothing(built: Path, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "crash"
    shutil.copytree(built, path)
    before = _counts(built)
    _to_hive(path)

    def boom(con):
        raise KeyboardInterrupt("killed before the catalog changed")

    monkeypatch.setattr(layout, "transaction", boom)
    with pytest.raises(KeyboardInterrupt):
        Warehouse.open(path).close()
    monkeypatch.undo()
    # the new names exist as links with markers; the catalog still lists the old names
    assert list((path / "parquet").rglob(".part-*.pending"))
    with Warehouse.open(path) as wh:
        catalogued = [r["path"] for r in wh.query("SELECT path FROM parts").to_pylist()]
    assert all((path / p).exists() and "=" not in p for p in catalogued)
    assert _counts(path) == before
    files = sorted(p.relative_to(path).as_posix() for p in (path / "parquet").rglob("*") if p.is_file())
    assert files == sorted(catalogued)                                 # no old names, no markers left
