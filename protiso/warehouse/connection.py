"""Connecting to ``W/protiso.duckdb``: read-only or for writing, with one-line errors for locks and permissions.

DuckDB lets several processes open a database file read-only at once, or one process for writing,
never both. A conflict names the other process (DuckDB reports its PID) and says what to do.
``transaction`` is BEGIN/COMMIT/ROLLBACK that never hides the first error behind a failed ROLLBACK.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb

from protiso.errors import ProtisoError

# The DuckDB CLI users install today (duckdb-cli 1.5.x) must read what we write.
STORAGE_VERSION = "v1.5.0"
# A read-only open waits this long for a lock held briefly (another reader finishing a recovery pass).
READ_LOCK_WAIT_S = 3.0
_LOCK = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def connect(db: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Connect to ``db``; lock conflicts and I/O errors become one-line ProtisoErrors."""
    config = {"storage_compatibility_version": STORAGE_VERSION}
    deadline = time.monotonic() + (READ_LOCK_WAIT_S if read_only else 0.0)
    while True:
        try:
            return duckdb.connect(str(db), read_only=read_only, config=config)
        except duckdb.ConnectionException:
            if read_only:
                raise  # this process holds it open for writing: the caller shares that connection instead
            raise ProtisoError(f"{db} is open read-only in this process; close it before writing") from None
        except duckdb.IOException as error:
            held = _LOCK.search(str(error))
            if held is None:
                raise ProtisoError(f"cannot open {db}: {_first_line(error)}") from None
            if time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            raise LockedError(_lock_message(db, read_only, str(error), held)) from None


class LockedError(ProtisoError):
    """The database file is held by another process (a writer, or readers when this one writes)."""


def _lock_message(db: Path, read_only: bool, text: str, held: re.Match) -> str:
    pid = int(held.group(2))
    who = f"process {pid} ({describe_process(pid) or held.group(1)})"
    if read_only:
        return (f"{db} is open for writing by {who}; reading commands can run together, but not while a "
                "command writes: retry when it has finished")
    how = "read-only " if "read-only mode" in text else ""
    return (f"{db} is open {how}in {who}; this command writes to the warehouse, which needs it alone: "
            "close that program or wait for it to finish, then retry")


def describe_process(pid: int) -> str:
    """The command line of process ``pid`` on this machine (shortened), or '' when it cannot be read."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return ""
    text = " ".join(" ".join(a.decode(errors="replace").split()) for a in args if a)
    return text if len(text) <= 80 else text[:77] + "..."


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def check_writable(path: Path, db: Path) -> None:
    """Refuse, in one line, a warehouse this user cannot write (DuckDB would fail later, less clearly)."""
    for target in (path, db):
        if target.exists() and not os.access(target, os.W_OK | (os.X_OK if target.is_dir() else 0)):
            raise ProtisoError(f"{target} is not writable by this user, and this command writes to the warehouse; "
                               "reading commands (protiso sql, tables, report) work on a read-only warehouse")


def refuse_file_in_path(path: Path) -> None:
    """A one-line error when a component of ``path`` is a file (``-w somefile/sub``)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ProtisoError(f"{path} cannot be a warehouse directory: {parent} is a file")
            return


def make_folder(path: Path, not_a_folder: str, what: str) -> None:
    """Create the folder ``path`` (and its parents); ``not_a_folder`` is the error when ``path`` is a file,
    ``what`` names the folder in the error when it cannot be made."""
    if path.exists() and not path.is_dir():
        raise ProtisoError(not_a_folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProtisoError(f"cannot create {what}{path}: {error.strerror or error}") from None


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN ... COMMIT; on any error ROLLBACK (if a transaction is still open) and raise the first error.

    An I/O error (disk full, permission denied) becomes a one-line ProtisoError.
    """
    con.execute("BEGIN")
    try:
        yield
        con.execute("COMMIT")
    except BaseException as error:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # the failed statement already ended the transaction
            pass
        if isinstance(error, (duckdb.IOException, OSError)):
            raise ProtisoError(f"writing the warehouse failed: {_first_line(error)}") from None
        raise


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
