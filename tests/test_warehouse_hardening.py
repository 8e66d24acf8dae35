"""Warehouse hardening (issue 14): read-only opens, lock and permission errors, a catalog users cannot break
by accident, clean-up that never deletes data, interrupted runs, and one-line errors for bad paths."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from conftest import FIXTURES, REPO
from typer.testing import CliRunner

from protiso.cli import app
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

FASTA = FIXTURES / "uniprot_headers.fasta"  # 8 proteins
DUCKDB_CLI = REPO / ".venv" / "bin" / "duckdb"
NOBODY = 65534


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", HOME=tempfile.gettempdir())


def protiso(*args, user: int | None = None, **kwargs) -> subprocess.Popen:
    """``protiso ARGS`` in a subprocess, as ``user`` (a uid) when given."""
    command = [sys.executable, "-m", "protiso", *[str(a) for a in args]]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                            cwd=tempfile.gettempdir(), **kwargs)


def finished(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def assert_one_line(code: int, err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def make_warehouse(path: Path) -> Path:
    with Warehouse.create(path) as wh:
        ingest_files(wh, [FASTA], progress=False)
    return path


def count(path: Path, sql: str = "SELECT count(*) FROM proteins"):
    with duckdb.connect(str(path / "protiso.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()[0][0]


def parquet_files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in (path / "parquet").rglob("*") if p.is_file())


def digest(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


@pytest.fixture
def public_tmp():
    """A temporary directory other users can enter (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="protiso-hardening-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False)
    shutil.rmtree(path, ignore_errors=True)


# -- item 3: read-only opens ---------------------------------------------------------------------------


def _hold_read_only(db: Path) -> subprocess.Popen:
    """The plain DuckDB shell (or, without it, Python) holding ``db`` open read-only until stdin closes."""
    if DUCKDB_CLI.exists():
        holder = subprocess.Popen([str(DUCKDB_CLI), "-readonly", str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    else:
        code = f"import duckdb, sys; c = duckdb.connect({str(db)!r}, read_only=True); sys.stdin.read()"
        holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until it has the file open (probing with a connect could race it)
        if _opened_elsewhere(db):
            time.sleep(0.5)  # DuckDB takes its lock right after opening the file
            return holder
        time.sleep(0.1)
    holder.kill()
    raise AssertionError("the read-only holder never opened the database")


def _opened_elsewhere(file: Path) -> bool:
    """Whether another process of this machine has ``file`` open (from /proc)."""
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        if fd_dir.parent.name == str(os.getpid()):
            continue
        try:
            if any(os.readlink(fd) == str(file) for fd in fd_dir.iterdir()):
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see when the shell holds the file")
def test_reading_commands_run_together_and_beside_the_duckdb_shell(tmp_path):
    w = make_warehouse(tmp_path / "w")
    before = digest(w / "protiso.duckdb")
    holder = _hold_read_only(w / "protiso.duckdb")
    try:
        readers = [protiso("sql", "-w", w, "select count(*) AS n from proteins", "--format", "csv")
                   for _ in range(2)] + [protiso("tables", "-w", w),
                                         protiso("report", "-w", w, "-o", tmp_path / "r.html")]
        results = [finished(p) for p in readers]
        for code, out, err in results:
            assert code == 0, err
        assert [r[1] for r in results[:2]] == ['"n"\n8\n\n'] * 2
        assert "proteins" in results[2][1] and (tmp_path / "r.html").stat().st_size > 0
        # A command that writes says who holds the file and what to do.
        code, _, err = finished(protiso("sql", "-w", w, "CREATE TABLE mine AS SELECT 1 AS x"))
        assert_one_line(code, err, "read-only in process ", "duckdb" if DUCKDB_CLI.exists() else "python", "retry")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert digest(w / "protiso.duckdb") == before  # the readers wrote nothing


def test_a_writer_is_named_to_readers(tmp_path):
    w = make_warehouse(tmp_path / "w")
    code = f"import duckdb, sys; c = duckdb.connect({str(w / 'protiso.duckdb')!r}); print('ready', flush=True); " \
           "sys.stdin.read()"
    writer = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        code_, _, err = finished(protiso("tables", "-w", w))
        assert_one_line(code_, err, f"process {writer.pid}", "open for writing", "retry when it has finished")
    finally:
        writer.stdin.close()
        writer.wait(timeout=60)


def test_sql_opens_for_writing_only_what_writes(tmp_path):
    w = make_warehouse(tmp_path / "w")
    assert invoke("sql", "-w", w, "CREATE TABLE mine AS SELECT 42 AS x").exit_code == 0
    before = digest(w / "protiso.duckdb")
    done = invoke("sql", "-w", w, "SELECT x FROM mine", "--format", "csv")
    assert done.exit_code == 0 and done.stdout == '"x"\n42\n\n'
    assert digest(w / "protiso.duckdb") == before
    one_line_error(invoke("sql", "-w", w, "SELEC 1"), "syntax error")


# -- item 4: an unwritable warehouse -------------------------------------------------------------------


def _as_other_user() -> int | None:
    """Who runs the permission tests: root ignores file modes, so root runs them as nobody."""
    if os.geteuid() != 0:
        return None
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot test an unwritable warehouse")
    return NOBODY


def test_unwritable_warehouse_is_read_and_refuses_writes_in_one_line(public_tmp):
    user = _as_other_user()
    w = make_warehouse(public_tmp / "w")
    elsewhere = public_tmp / "out"
    elsewhere.mkdir()
    if user is not None:
        os.chown(elsewhere, user, user)
    subprocess.run(["chmod", "-R", "a-w", str(w)], check=True)
    code, out, err = finished(protiso("sql", "-w", w, "SELECT count(*) AS n FROM proteins", "-f", "csv", user=user))
    assert code == 0 and out == '"n"\n8\n\n', err
    code, out, err = finished(protiso("tables", "-w", w, user=user))
    assert code == 0 and "proteins" in out, err
    code, out, err = finished(protiso("report", "-w", w, "-o", elsewhere / "r.html", user=user))
    assert code == 0 and (elsewhere / "r.html").exists(), err
    for args in (["sql", "-w", w, "CREATE TABLE mine AS SELECT 1"], ["ingest", FASTA, "-w", w, "--no-progress"]):
        code, _, err = finished(protiso(*args, user=user))
        assert_one_line(code, err, "not writable")


def test_unwritable_parquet_folder_is_one_line(public_tmp):
    user = _as_other_user()
    w = make_warehouse(public_tmp / "w")
    if user is not None:
        subprocess.run(["chown", "-R", f"{user}:{user}", str(w)], check=True)
    subprocess.run(["chmod", "-R", "a-w", str(w / "parquet")], check=True)
    other = public_tmp / "more.fasta"
    other.write_text(">sp|Q00001|NEW_HUMAN New protein OS=Homo sapiens OX=9606\nMKTAYIAKQR\n")
    code, _, err = finished(protiso("ingest", other, "-w", w, "--no-progress", user=user))
    assert_one_line(code, err, "cannot", str(w / "parquet"))
    # What align (and every job) does with its results: a part written through a commit.
    write = textwrap.dedent("""
        import sys, pyarrow as pa
        from protiso.errors import ProtisoError
        from protiso.warehouse import Warehouse
        with Warehouse.open(sys.argv[1]) as wh:
            try:
                with wh.commit(None) as tx:
                    tx.write_part("alignments", pa.table({"accession_a": ["A"], "accession_b": ["B"]}))
            except ProtisoError as error:
                print(error)
    """)
    command = [sys.executable, "-c", write, str(w)]
    if user is not None:
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    done = subprocess.run(command, capture_output=True, text=True, env=env(), cwd=tempfile.gettempdir())
    assert done.returncode == 0 and done.stdout.startswith("cannot write a part of alignments in "), done.stderr
    assert count(w) == 8 and count(w, "SELECT count(*) FROM parts") == 1


# -- items 5 and 6: protiso's own tables; clean-up never deletes data --------------------------------------


@pytest.mark.parametrize("statement", [
    "DROP TABLE runs", "DELETE FROM parts WHERE table_name = 'proteins'", "drop table if exists \"residue_stats\"",
    "UPDATE main.schema_migrations SET version = 99", "ALTER TABLE isotropy DROP COLUMN zeta",
    "CREATE OR REPLACE VIEW proteins AS SELECT 1 AS x", "WITH x AS (SELECT 1) DELETE /* c */ FROM rejects",
])
def test_sql_refuses_to_change_internal_objects(tmp_path, statement):
    w = make_warehouse(tmp_path / "w")
    files = parquet_files(w)
    one_line_error(invoke("sql", "-w", w, statement), "refused", "--allow-internal")
    assert parquet_files(w) == files and count(w) == 8
    assert invoke("tables", "-w", w).exit_code == 0


def test_uncatalogued_parts_and_users_files_are_never_deleted(tmp_path):
    w = make_warehouse(tmp_path / "w")
    (w / "parquet" / "mine.parquet").write_bytes(b"my own file")
    (w / "parquet" / "proteins" / "notes.parquet").write_bytes(b"mine too")
    files = parquet_files(w)
    done = invoke("sql", "-w", w, "--allow-internal", "DELETE FROM parts WHERE table_name = 'proteins'")
    assert done.exit_code == 0, done.output
    for _ in range(2):
        Warehouse.open(w).close()  # writable opens clean up what killed writers left: nothing here
        assert invoke("tables", "-w", w).exit_code == 0
    assert parquet_files(w) == files and count(w) == 0
    repaired = invoke("repair", "-w", w)
    assert repaired.exit_code == 0 and "catalogued again 1 part(s) of proteins (8 rows)" in repaired.stdout
    assert count(w) == 8 and parquet_files(w) == files
    assert count(w, "SELECT count(*) FROM parts WHERE run_id IS NOT NULL") == 1


@pytest.mark.parametrize("table", ["runs", "parts", "residue_stats", "schema_migrations"])
def test_a_table_dropped_outside_protiso_is_explained_then_repaired(tmp_path, table):
    w = make_warehouse(tmp_path / "w")
    files = parquet_files(w)
    with duckdb.connect(str(w / "protiso.duckdb")) as con:  # e.g. the plain duckdb shell
        con.execute(f"DROP TABLE {table}")
    for args in (["tables"], ["sql", "SELECT count(*) FROM proteins"], ["isotropy"]):
        one_line_error(invoke(*args, "-w", w), "damaged", table, f"protiso repair -w {w}")
    assert parquet_files(w) == files
    repaired = invoke("repair", "-w", w)
    assert repaired.exit_code == 0 and f"re-created table {table}" in repaired.stdout, repaired.output
    assert invoke("tables", "-w", w).exit_code == 0 and count(w) == 8 and parquet_files(w) == files


def test_clean_up_deletes_only_what_a_dead_writer_was_writing(tmp_path):
    w = make_warehouse(tmp_path / "w")
    folder = w / "parquet" / "proteins"
    kept = next(folder.glob("part-*.parquet"))
    kept_id = kept.stem.removeprefix("part-")
    (folder / f".part-{kept_id}.pending").touch()      # killed before the commit that would retire it
    dead = "ab" * 16
    shutil.copy(kept, folder / f"part-{dead}.parquet")  # killed before the commit that would add it
    (folder / f".part-{dead}.pending").touch()
    (folder / f".tmp-{'cd' * 16}.parquet").write_bytes(b"half")
    stray = folder / f"part-{'ef' * 16}.parquet"       # uncatalogued, no marker: not protiso's to delete
    shutil.copy(kept, stray)
    (w / "parquet" / "_staging" / "ingest-x").mkdir(parents=True)  # a killed ingest's empty staging folder
    Warehouse.open(w).close()
    assert sorted(p.name for p in folder.iterdir()) == sorted([kept.name, stray.name])
    assert not (w / "parquet" / "_staging").exists() and count(w) == 8


def test_a_replaced_part_goes_right_after_its_commit(tmp_path):
    w = make_warehouse(tmp_path / "w")
    with Warehouse.open(w) as wh:
        (old_id, old_path), = wh.con.execute("SELECT part_id, path FROM parts").fetchall()
        with wh.commit(None) as tx:
            tx.write_part("proteins", wh.query("SELECT * FROM proteins"))
            tx.execute("DELETE FROM parts WHERE part_id = ?", [old_id])
        assert not (w / old_path).exists()
        assert wh.con.execute("SELECT count(*) FROM proteins").fetchall() == [(8,)]
    assert [p for p in parquet_files(w) if "pending" in p or ".tmp-" in p] == []


def test_staging_folder_of_a_killed_ingest_goes_at_the_next_command(tmp_path):
    w = make_warehouse(tmp_path / "w")
    (w / "parquet" / "_staging" / "ingest-20260101T000000-deadbeef").mkdir(parents=True)
    assert invoke("tables", "-w", w).exit_code == 0
    assert not (w / "parquet" / "_staging").exists()


# -- item 8, item 9: names and paths -------------------------------------------------------------------


def test_table_names_with_quotes_are_listed(tmp_path):
    w = make_warehouse(tmp_path / "w")
    assert invoke("sql", "-w", w, 'CREATE TABLE "a""b"(x INT)').exit_code == 0
    listing = invoke("tables", "-w", w)
    assert listing.exit_code == 0 and any(line.split()[:3] == ['a"b', "table", "0"]
                                          for line in listing.stdout.splitlines()), listing.output


def test_bad_paths_are_one_line(tmp_path):
    w = make_warehouse(tmp_path / "w")
    somefile = tmp_path / "somefile"
    somefile.write_text("x")
    one_line_error(invoke("ingest", FASTA, "-w", somefile / "sub", "--no-progress"), "is a file")
    one_line_error(invoke("sql", "-w", somefile / "sub", "SELECT 1"), "is a file")
    one_line_error(invoke("init", somefile / "sub"), "is a file")
    one_line_error(invoke("sql", "-w", w, "SELECT 1", "-o", tmp_path / "missing_dir" / "x.parquet"),
                   "missing_dir", "does not exist")


# -- item 12: runs of killed processes -----------------------------------------------------------------

KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    import pyarrow as pa
    from protiso.warehouse import Warehouse
    wh = Warehouse.open(sys.argv[1])
    with wh.run("align", {"n": 1}) as run:
        with run.commit() as tx:
            tx.write_part("alignments", pa.table({"accession_a": ["A"], "accession_b": ["B"], "score": [1.0]}))
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_killed_run_is_marked_interrupted_and_resumes(tmp_path):
    w = make_warehouse(tmp_path / "w")
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(w)], capture_output=True, text=True, env=env())
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = killed.stdout.strip()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        with duckdb.connect(str(w / "protiso.duckdb")) as con:  # a run another live process is writing
            con.execute("INSERT INTO runs (run_id, kind, started_at, status, pid, host) "
                        "VALUES ('live', 'align', now(), 'running', ?, ?)", [live.pid, socket.gethostname()])
        shown = invoke("sql", "-w", w, "SELECT run_id, status, params->>'$.interrupted.committed_rows' AS rows "
                       "FROM runs WHERE kind = 'align' ORDER BY run_id", "--format", "csv")
        rows = list(csv.reader(io.StringIO(shown.stdout)))[1:]
        assert shown.exit_code == 0 and rows[:2] == [[run_id, "interrupted", "1"], ["live", "running", ""]]
    finally:
        live.kill()
        live.wait()
    with Warehouse.open(w) as wh:
        assert wh.con.execute("SELECT status FROM runs WHERE run_id = 'live'").fetchall() == [("interrupted",)]
        with wh.run("align", {"n": 1}, resume=run_id):
            assert wh.con.execute("SELECT status, pid FROM runs WHERE run_id = ?", [run_id]).fetchall() == [
                ("running", os.getpid())]
        assert wh.con.execute("SELECT status FROM runs WHERE run_id = ?", [run_id]).fetchall() == [("done",)]


# -- item 14: failed ingests leave no new warehouse ----------------------------------------------------


@pytest.mark.parametrize("content", ["", "MKTAYIAKQR\n", "\ufeff"])
def test_a_failed_first_ingest_leaves_no_warehouse(tmp_path, content):
    bad = tmp_path / "bad.fasta"
    bad.write_text(content)
    one_line_error(invoke("ingest", bad, "-w", tmp_path / "new", "--no-progress"))
    assert not (tmp_path / "new").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    one_line_error(invoke("ingest", bad, "-w", existing, "--no-progress"))
    assert sorted(p.name for p in existing.iterdir()) == ["keep.txt"]


# -- a moved warehouse ---------------------------------------------------------------------------------


def test_a_moved_warehouse_is_read_with_fresh_views(tmp_path):
    w = make_warehouse(tmp_path / "w")
    moved = tmp_path / "moved"
    w.rename(moved)
    done = invoke("sql", "-w", moved, "SELECT count(*) AS n FROM proteins", "--format", "csv")
    assert done.exit_code == 0 and done.stdout == '"n"\n8\n\n', done.output
    assert str(moved) in count(moved, "SELECT sql FROM duckdb_views() WHERE view_name = 'proteins'")


def test_read_only_warehouse_object_refuses_writes(tmp_path):
    w = make_warehouse(tmp_path / "w")
    with Warehouse.open(w, read_only=True) as wh:
        assert wh.read_only and wh.query("SELECT count(*) AS n FROM proteins").column("n").to_pylist() == [8]
        with pytest.raises(Exception, match="read-only"):
            with wh.commit(None) as tx:
                tx.write_part("proteins", pa.table({"accession": ["X"]}))
