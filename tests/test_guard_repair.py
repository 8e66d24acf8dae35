"""Issue 24 items 1-3: protiso's own objects are guarded by what a statement does, not how it is spelt, and
`protiso repair` mends a shadowed function, a dropped table and a missing or truncated part."""

from __future__ import annotations

import duckdb
import pytest
from test_warehouse_hardening import count, invoke, make_warehouse, one_line_error, parquet_files

from protiso.errors import ProtisoError
from protiso.warehouse import Warehouse, catalog, statements
from protiso.warehouse.output import protected_names


def snapshot(w) -> tuple:
    """What must not change: the internal tables' rows, protiso's objects' definitions, the files."""
    with duckdb.connect(str(w / "protiso.duckdb"), read_only=True) as con:
        rows = {t: sorted(map(str, con.execute(f'SELECT * FROM "{t}"').fetchall())) for t in ("runs", "parts")}
        objects = con.execute("SELECT table_name, sql FROM duckdb_tables() UNION ALL "
                              "SELECT view_name, sql FROM duckdb_views() WHERE NOT internal UNION ALL "
                              "SELECT function_name, macro_definition FROM duckdb_functions() WHERE NOT internal "
                              "ORDER BY ALL").fetchall()
    return rows, objects, parquet_files(w)


@pytest.fixture
def dump(tmp_path):
    """An EXPORT DATABASE folder whose schema.sql also empties `parts` (as a hostile script could)."""
    folder = tmp_path / "D"
    with duckdb.connect() as con:
        con.execute("CREATE TABLE mine (a INTEGER)")
        con.execute(f"EXPORT DATABASE '{folder}'")
    with open(folder / "schema.sql", "a") as handle:
        handle.write("\nDELETE FROM parts;\n")
    return folder


HOSTILE = [
    "DROP TABLE RUNS", 'DROP TABLE "Runs"', 'drop table main."RUNS"', "DELETE FROM PARTS WHERE table_name = 'proteins'",
    "UPDATE protiso.main.Runs SET status = 'x'", "SELECT 1; DELETE FROM Parts", "ALTER TABLE Rejects RENAME TO r2",
    "CREATE MACRO isoscore(x) AS 1", "CREATE FUNCTION effective_dims(x) AS x", "CREATE MACRO LOWER(x) AS 1",
    "CREATE OR REPLACE VIEW PROTEINS AS SELECT 1 AS x", "PREPARE p AS DELETE FROM \"PARTS\"; EXECUTE p",
    "ATTACH ':memory:' AS o; INSERT INTO PARTS SELECT 'x' || part_id, table_name, path, rows, run_id, committed_at "
    "FROM protiso.parts",
    "CREATE TABLE x AS SELECT 1 AS a; INSERT INTO main.runs (run_id, kind, started_at, status) VALUES ('r', 'k', now(), 'done')",
]


@pytest.mark.parametrize("statement", HOSTILE)
def test_changes_to_internal_objects_are_refused_whatever_the_spelling(tmp_path, statement):
    w = make_warehouse(tmp_path / "w")
    before = snapshot(w)
    one_line_error(invoke("sql", "--write", "-w", w, statement), "refused", "--allow-internal")
    assert snapshot(w) == before
    # the check by meaning alone, without the early check on the statement's text
    with Warehouse.open(w) as wh:
        with pytest.raises(ProtisoError, match="refused: this SQL .* nothing was changed"):
            statements.run_guarded(wh.con, statement, protected_names(), sorted(catalog.reference()))
    assert snapshot(w) == before and invoke("tables", "-w", w).exit_code == 0


def test_import_database_is_judged_by_what_its_script_does(tmp_path, dump):
    w = make_warehouse(tmp_path / "w")
    before = snapshot(w)
    one_line_error(invoke("sql", "--write", "-w", w, f"IMPORT DATABASE '{dump}'"), "refused", "rows of table parts")
    assert snapshot(w) == before
    (dump / "schema.sql").write_text("CREATE TABLE mine (a INTEGER);\n")
    done = invoke("sql", "--write", "-w", w, f"IMPORT DATABASE '{dump}'; SELECT count(*) AS n FROM mine")
    assert done.exit_code == 0, done.output
    assert count(w, "SELECT count(*) FROM mine") == 0 and count(w) == 8


def test_users_own_objects_are_still_allowed(tmp_path):
    w = make_warehouse(tmp_path / "w")
    done = invoke("sql", "-w", w, "ATTACH ':memory:' AS o; CREATE TABLE mine AS SELECT 2 AS a; "
                  "CREATE MACRO twice(x) AS 2 * x; SELECT twice(a) FROM mine")
    assert done.exit_code == 0 and "4" in done.stdout, done.output
    one_line_error(invoke("sql", "-w", w, "BEGIN; DROP TABLE mine; COMMIT"), "one transaction")
    assert count(w, "SELECT count(*) FROM mine") == 1


def _shadow(w, sql: str) -> None:
    with duckdb.connect(str(w / "protiso.duckdb")) as con:  # the plain shell
        con.execute(sql)


@pytest.mark.parametrize("macro", ["CREATE MACRO isoscore(x) AS 1", "CREATE FUNCTION effective_dims(x) AS x",
                                   "CREATE MACRO count_star() AS 7"])
def test_a_shadowing_macro_is_named_then_repaired(tmp_path, macro):
    w = make_warehouse(tmp_path / "w")
    _shadow(w, macro)
    for args in (["tables"], ["sql", "SELECT 1"], ["isotropy"]):
        one_line_error(invoke(*args, "-w", w), "shadows", f"protiso repair -w {w}")
    repaired = invoke("repair", "-w", w)
    assert repaired.exit_code == 0 and "dropped macro main." in repaired.stdout, repaired.output
    assert macro.split("(")[0].split()[-1] in (w / "quarantine" / "functions.sql").read_text()
    assert invoke("tables", "-w", w).exit_code == 0 and count(w) == 8


def test_a_shadowing_macro_can_be_dropped_by_hand(tmp_path):
    w = make_warehouse(tmp_path / "w")
    _shadow(w, "CREATE MACRO isoscore(x) AS 1")
    done = invoke("sql", "--allow-internal", "-w", w, "DROP MACRO isoscore")
    assert done.exit_code == 0, done.output
    assert invoke("tables", "-w", w).exit_code == 0


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_damaged_part_is_named_then_quarantined(tmp_path, damage):
    w = make_warehouse(tmp_path / "w")
    part = next((w / "parquet" / "proteins").glob("part-*.parquet"))
    relative = str(part.relative_to(w))
    content = part.read_bytes()
    if damage == "missing":
        part.unlink()
    else:
        part.write_bytes(content[: len(content) // 2])
    for args in (["tables"], ["sql", "SELECT count(*) FROM proteins"], ["isotropy"],
                 ["sql", "--write", "SELECT 1"],
                 ["export", "-o", str(tmp_path / "x.npz"), "-m", "unirep-64"]):
        one_line_error(invoke(*args, "-w", w), relative, "8 rows", f"protiso repair -w {w}")
    repaired = invoke("repair", "-w", w)
    assert repaired.exit_code == 0, repaired.output
    assert f"uncatalogued part {relative} of table proteins: " in repaired.stdout and "8 rows of run ingest-" in \
        repaired.stdout
    if damage == "truncated":
        assert (w / "quarantine" / relative).read_bytes() == content[: len(content) // 2]
    assert count(w) == 0 and count(w, "SELECT count(*) FROM parts") == 0
    assert count(w, "SELECT params->>'$.quarantined_parts[0].rows' FROM runs") == "8"
    assert invoke("tables", "-w", w).exit_code == 0


# -- item 9: a user's view that no longer binds; readers of a freshly copied warehouse --------------------------------


def test_a_users_view_that_no_longer_binds_is_listed_not_fatal(tmp_path):
    w = make_warehouse(tmp_path / "w")
    assert invoke("sql", "-w", w, "CREATE TABLE mine AS SELECT 1 AS a; CREATE VIEW v_mine AS SELECT a FROM mine; "
                  "DROP TABLE mine").exit_code == 0
    listed = invoke("tables", "-w", w)
    assert listed.exit_code == 0, listed.output
    assert any(line.split()[:3] == ["v_mine", "view", "(broken)"] for line in listed.stdout.splitlines())
    assert any(line.split()[:3] == ["proteins", "view", "8"] for line in listed.stdout.splitlines())


def test_readers_of_a_fresh_copy_wait_for_each_other(tmp_path):
    import shutil

    from test_warehouse_hardening import finished, protiso

    w = make_warehouse(tmp_path / "w")
    copy = tmp_path / "copy"
    shutil.copytree(w, copy)  # its views point at w: every reader finds it must be given fresh views
    readers = [protiso("sql", "-w", copy, "SELECT count(*) AS n FROM proteins", "-f", "csv") for _ in range(4)]
    for reader in readers:
        code, out, err = finished(reader)
        assert code == 0 and out.split() == ['"n"', "8"], err


def test_repair_leaves_out_rows_written_again_after_a_delete_from_parts(tmp_path):
    """Issue 24 item 1: `DELETE FROM parts` (with --allow-internal), then the same proteins written again, then
    `repair`: the old part's rows that the warehouse holds again are not catalogued twice."""
    import shutil

    from test_warehouse_hardening import FASTA

    w = make_warehouse(tmp_path / "w")
    assert invoke("sql", "--allow-internal", "-w", w, "DELETE FROM parts WHERE table_name = 'proteins'").exit_code == 0
    records = FASTA.read_text().split(">")[1:]
    partial = tmp_path / "three.fasta"
    partial.write_text("".join(">" + r for r in records[:3]))
    assert invoke("ingest", partial, "-w", w).exit_code == 0
    assert count(w) == 3
    repaired = invoke("repair", "-w", w)
    assert repaired.exit_code == 0, repaired.output
    assert "left out 3 rows" in repaired.stdout, repaired.stdout
    assert count(w) == 8 and count(w, "SELECT count(DISTINCT accession) FROM proteins") == 8
    assert len(list((w / "quarantine" / "parquet" / "proteins").glob("part-*.parquet"))) == 1
    assert invoke("tables", "-w", w).exit_code == 0
    shutil.rmtree(w / "quarantine")
    assert invoke("repair", "-w", w).stdout.strip() == "nothing to repair"


def test_the_guarded_function_names_are_the_registered_ones(tmp_path):
    w = make_warehouse(tmp_path / "w")
    query = "SELECT DISTINCT function_name FROM duckdb_functions() WHERE database_name = 'system'"
    with Warehouse.open(w, read_only=True) as wh:
        registered = {row[0] for row in wh.con.execute(query).fetchall()}
    with duckdb.connect() as fresh:
        builtin = {row[0] for row in fresh.execute(query).fetchall()}
    assert registered - builtin == catalog.FUNCTIONS
