"""docs/notebook.md runs as written, cell by cell; then what it shows is checked against the warehouse it made.

The notebook imports real AntiBERTy vectors into a new warehouse without any sequence, so the same run
checks ``import-vectors`` without a FASTA (proteins created from the ids, lengths from residue vectors,
isotropy and report work, align refuses in one line) and the progress bars of isotropy and report (shown
on a terminal, not with --no-progress, not when stderr is a pipe).
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from protiso import Warehouse

from conftest import REPO, SHARED_DATA

NOTEBOOK = REPO / "docs" / "notebook.md"
CELL = re.compile(r"^```(bash|python)\n(.*?)^```", re.M | re.S)


def _env() -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1",
                PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


@pytest.fixture(scope="module")
def notebook(tmp_path_factory, shared_data) -> dict:
    """Run every cell in order (python cells in one namespace) in a fresh folder; returns outputs."""
    root = tmp_path_factory.mktemp("notebook")
    (root / "tests").mkdir()
    (root / "tests" / "fixtures").symlink_to(REPO / "tests" / "fixtures")
    namespace: dict = {"__name__": "__notebook__"}
    outputs: list[str] = []
    cwd = os.getcwd()
    os.chdir(root)
    try:
        for kind, text in CELL.findall(NOTEBOOK.read_text(encoding="utf-8")):
            if kind == "bash":
                script = "set -euo pipefail\n" + text.replace("../shared/data", str(SHARED_DATA.resolve()))
                done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=_env(),
                                      timeout=900)
                assert done.returncode == 0, f"{text}\n--- stderr ---\n{done.stderr[-3000:]}"
                outputs.append(done.stdout + done.stderr)
            else:
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    exec(compile(text, str(NOTEBOOK), "exec"), namespace)
                outputs.append(printed.getvalue())
    finally:
        os.chdir(cwd)
    return {"root": root, "outputs": outputs, "namespace": namespace}


def test_the_notebook_runs_and_prints_what_it_says(notebook: dict) -> None:
    shell, matrix, frames, residues = notebook["outputs"][1:5]
    assert "created 99 proteins from the records' ids" in shell
    assert re.search(r"^error: align needs protein sequences .*has none", shell, re.M)
    assert "(align needs sequences)" in shell
    assert re.search(r"N = 99, dim = 512, IsoScore = (\S+) \(stored \1, N = 99\)", matrix)
    assert "Array(Float32, shape=(512,))" in frames and "(99, 512)" in frames
    assert residues.startswith("(132, 512) positions 1 to 132")
    assert (notebook["root"] / "report.html").stat().st_size > 50_000


def test_proteins_made_from_the_ids_have_no_sequence_and_residue_lengths(notebook: dict) -> None:
    with Warehouse.open(notebook["root"] / "W", read_only=True) as wh:
        rows = wh.query("SELECT count(*) AS n, count(sequence) AS seqs, count(DISTINCT accession) AS accessions, "
                        "list(length ORDER BY accession) FILTER (WHERE length IS NOT NULL) AS lengths "
                        "FROM proteins").to_pylist()[0]
        assert rows == {"n": 99, "seqs": 0, "accessions": 99, "lengths": [132, 137]}
        groups = wh.query("SELECT count(*) AS n FROM isotropy WHERE group_by = 'go_term' AND scope = 'global'")
        assert groups["n"][0].as_py() > 10
        residues = wh.query("SELECT count(*) AS n, count(residue) AS letters FROM residues").to_pylist()[0]
        assert residues == {"n": 269, "letters": 0}


def _pty_stderr(args: list[str]) -> str:
    """stderr of ``protiso ARGS`` on a 120-column terminal."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "protiso", *args], stdout=subprocess.DEVNULL, stderr=child,
                               env=_env())
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert process.wait(timeout=600) == 0
    return b"".join(chunks).decode(errors="replace")


def test_progress_on_a_terminal_only_and_not_with_no_progress(notebook: dict) -> None:
    w = str(notebook["root"] / "W")
    shown = _pty_stderr(["isotropy", "-w", w, "--scope", "global", "--by", "go_term", "--min-points", "5",
                         "--bootstrap", "20", "--null-draws", "2"])
    for bar in ("isotropy antiberty layer 8 raw: 100%", "bootstrap antiberty layer 8: 100%",
                "isotropy antiberty layer 8 raw by go_term: 100%",
                "isotropy antiberty layer 8 raw by go_term: random groups (size null): 100%"):
        assert bar in shown, shown[-2000:]
    report = _pty_stderr(["report", "-w", w, "-o", str(notebook["root"] / "again.html")])
    assert "report sections: 100%" in report and "report figures (inline SVG): 100%" in report
    assert "%|" not in _pty_stderr(["isotropy", "-w", w, "--scope", "global", "--no-progress"])
    piped = subprocess.run([sys.executable, "-m", "protiso", "isotropy", "-w", w, "--scope", "global"],
                           capture_output=True, text=True, env=_env())
    assert piped.returncode == 0 and "%|" not in piped.stderr


def test_sequences_ingested_later_fill_the_proteins_import_made(notebook: dict, tmp_path) -> None:
    import shutil

    copy = tmp_path / "W"
    shutil.copytree(notebook["root"] / "W", copy)
    entries = str(SHARED_DATA / "swissprot-entries" / "swissprot_2012_100.dat")
    done = subprocess.run([sys.executable, "-m", "protiso", "ingest", entries, "-w", str(copy), "--no-progress"],
                          capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr
    with Warehouse.open(copy, read_only=True) as wh:
        rows = wh.query("SELECT count(*) AS n, count(DISTINCT accession) AS accessions, count(sequence) AS seqs, "
                        "count(organism) AS organisms, count(*) FILTER (WHERE length = length(sequence)) AS lengths "
                        "FROM proteins").to_pylist()[0]
        assert rows == {"n": 100, "accessions": 100, "seqs": 100, "organisms": 100, "lengths": 100}
        assert len(wh.vectors(model="antiberty", layer=8, where="organism LIKE 'Homo sapiens%'")) > 0
