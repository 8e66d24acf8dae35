"""Shared test fixtures: paths to the real data, a fresh warehouse, a loaded on-disk warehouse, CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from protiso.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO / ".." / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data`` (read-only real data)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not available")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def warehouse(tmp_path):
    """A fresh, empty warehouse (open) in a temporary directory; closed after the test."""
    wh = Warehouse.create(tmp_path / "w")
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def loaded_warehouse(tmp_path_factory, shared_data) -> Path:
    """Path of an on-disk warehouse (closed) holding the 300-protein Swiss-Prot 2014 slice with its GO
    annotations, the 100 flat-file entries, and the GO 2014 terms and graph. Treat it as read-only."""
    from protiso.sequences.ingest import ingest_files

    path = tmp_path_factory.mktemp("loaded") / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [FIXTURES / "sp2014_head300.fasta", FIXTURES / "sp2014_head300_annotations.tsv",
                          shared_data / "swissprot-entries" / "swissprot_2012_100.dat",
                          shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz",
                          shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz"], progress=False)
    return path


@pytest.fixture(scope="session")
def protiso_cmd() -> list[str]:
    """The command line that runs this checkout's protiso CLI in a subprocess."""
    return [sys.executable, "-m", "protiso"]


def run_protiso(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``protiso ARGS`` in a subprocess and return the completed process (text output)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "protiso", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)
