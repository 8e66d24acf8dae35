"""Issue 24 item 4: export faults — a full file system, an unwritable folder, colliding HDF5 keys, what a
killed export leaves, an existing output — are one-line errors or correct behaviour, and leave nothing behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import REPO
from test_interchange import reference_vectors, template, wh_path, write_npz  # noqa: F401 (fixtures)
from test_warehouse_hardening import invoke, one_line_error

from protiso.jobs.export_vectors import export_vectors
from protiso.jobs.import_vectors import ImportOptions, import_vectors
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

N = 40


@pytest.fixture
def exported(wh_path, tmp_path) -> Path:
    """The 300-protein warehouse with N vectors of model m (dim 24) imported."""
    with Warehouse.open(wh_path) as wh:
        import_vectors(wh, ImportOptions(str(write_npz(tmp_path / "v.npz", reference_vectors(N))), model="m",
                                         layer=3), progress=False)
    return wh_path


@contextmanager
def small_fs(folder: Path, size: str, read_only: bool = False, leave: int = 2048):
    """A tmpfs of ``size`` mounted at ``folder`` (root only; skipped where mounting is not allowed)."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")
    try:
        if not read_only:  # leave only ``leave`` bytes free
            filler = folder / "filler"
            filler.write_bytes(b"\0" * (shutil.disk_usage(folder).free - leave))
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def export_cli(w: Path, out: Path, *extra: str):
    return invoke("export", "-w", w, "-m", "m", "-o", out, *extra)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


@pytest.mark.parametrize("suffix", [".h5", ".npz", ".parquet"])
def test_a_full_file_system_is_one_line_and_leaves_nothing(exported, tmp_path, suffix):
    with small_fs(tmp_path / "full", "64k") as folder:
        one_line_error(export_cli(exported, folder / f"out{suffix}"), "needs about", "MB free")
        assert [p.name for p in folder.iterdir()] == ["filler"]


@pytest.mark.parametrize("suffix", [".h5", ".npz", ".parquet"])
def test_a_disk_that_fills_up_while_writing_is_one_line(exported, tmp_path, suffix):
    """The free-space check passes (it is told the disk is empty) but the disk fills up: no segfault, no
    traceback, no temp file (HDF5 runs in a subprocess, where a crash would show)."""
    # HDF5 must get past creating the file to fail among its datasets (where it crashed)
    with small_fs(tmp_path / "full", "64k", leave=12 * 1024 if suffix == ".h5" else 2048) as folder:
        code = ("import sys; from protiso.jobs import export_vectors as e; e._check_space = lambda *a: None; "
                "from protiso.cli import app; sys.argv = ['protiso', *sys.argv[1:]]; app()")
        done = subprocess.run([sys.executable, "-c", code, "export", "-w", str(exported), "-m", "m", "-o",
                               str(folder / f"out{suffix}")], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1, done.stderr[-3000:]
        assert lines[0].startswith(f"error: cannot write {folder / f'out{suffix}'}: ") and "space" in lines[0]
        assert [p.name for p in folder.iterdir()] == ["filler"]


def test_an_unwritable_folder_is_one_line(exported, tmp_path):
    with small_fs(tmp_path / "ro", "1m", read_only=True) as folder:
        one_line_error(export_cli(exported, folder / "out.h5"), "not writable")


def test_an_existing_file_or_symlink_is_refused_without_force(exported, tmp_path):
    out = tmp_path / "out.npz"
    out.write_bytes(b"keep me")
    target = tmp_path / "target.npz"
    target.write_bytes(b"keep me too")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    dangling = tmp_path / "dangling.npz"
    dangling.symlink_to(tmp_path / "nowhere.npz")
    for path, what in ((out, "a file"), (link, "a symlink"), (dangling, "a symlink")):
        one_line_error(export_cli(exported, path), f"{path} exists ({what})", "--force")
    assert out.read_bytes() == b"keep me" and target.read_bytes() == b"keep me too"
    for path in (out, link):
        assert export_cli(exported, path, "--force").exit_code == 0
        assert not path.is_symlink() and np.load(path)["embeddings"].shape == (N, 24)
    assert target.read_bytes() == b"keep me too"


def test_keys_that_would_collide_stay_apart_and_read_back(tmp_path):
    fasta = tmp_path / "ab.fasta"
    fasta.write_text(">ab/1\nMKVLA\n>ab_1\nMKVLAG\n>a%2F1\nMKVLAGW\n>ab\nMKV\n")
    w = tmp_path / "w"
    with Warehouse.create(w) as wh:
        ingest_files(wh, [fasta], progress=False)
    vectors = reference_vectors(4, dim=8)
    ids = ["ab/1", "ab_1", "a%2F1", "ab"]
    np.savez(tmp_path / "v.npz", ids=np.array(ids), embeddings=vectors)
    with Warehouse.open(w) as wh:
        import_vectors(wh, ImportOptions(str(tmp_path / "v.npz"), model="m", layer=1), progress=False)
        export_vectors(wh, tmp_path / "out.h5", "m")
    with h5py.File(tmp_path / "out.h5") as handle:
        assert sorted(handle) == sorted(["ab%2F1", "ab_1", "a%252F1", "ab"])
        assert {handle[key].attrs["original_id"] for key in handle} == set(ids)
    copy = tmp_path / "copy"
    with Warehouse.create(copy) as wh:
        ingest_files(wh, [fasta], progress=False)
        import_vectors(wh, ImportOptions(str(tmp_path / "out.h5"), model="m"), progress=False)
        got = dict(wh.con.execute("SELECT accession, embedding FROM embeddings").fetchall())
    for row, accession in enumerate(ids):
        assert np.array_equal(np.asarray(got[accession], np.float32), vectors[row])


def test_a_killed_export_leaves_nothing_the_next_one_keeps(exported, tmp_path):
    out = tmp_path / "out.h5"
    env = dict(os.environ, PYTHONPATH=str(REPO), PROTISO_FAULT_AT="export-batch:1")
    killed = subprocess.run([sys.executable, "-m", "protiso", "export", "-w", str(exported), "-m", "m", "-o",
                             str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert killed.returncode == -9 and not out.exists()
    (left,) = leftovers(tmp_path)
    mine = tmp_path / f".out.h5.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a live export's: kept
    mine.write_bytes(b"in progress")
    old = tmp_path / ".out.h5.tmp-0123abcd"  # an older protiso's, untouched for two hours: stale
    old.write_bytes(b"old")
    os.utime(old, (old.stat().st_atime - 7200, old.stat().st_mtime - 7200))
    other = tmp_path / ".other.h5.tmp-1-0123abcd"  # another output's: not this export's business
    other.write_bytes(b"other")
    assert export_cli(exported, out).exit_code == 0
    assert leftovers(tmp_path) == sorted([mine.name, other.name]) and left not in leftovers(tmp_path)
    uninterrupted = tmp_path / "again.h5"
    assert export_cli(exported, uninterrupted).exit_code == 0
    with h5py.File(out) as a, h5py.File(uninterrupted) as b:
        assert sorted(a) == sorted(b) and all(np.array_equal(a[k][()], b[k][()]) for k in a)
