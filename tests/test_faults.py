"""Fault injection: every long job killed (SIGKILL) at a seeded commit, then resumed, leaves the
warehouse an uninterrupted run leaves.

The jobs run one after another on a 60-protein Swiss-Prot 2014 slice, each in a subprocess: ingest
(FASTA + GO annotations + GO terms), embed (UniRep-64, residue statistics and 20 % of residue vectors,
small chunks so it commits several times), import-vectors (a .npy matrix), postprocess (centre),
isotropy (whole sets and per GO term), align (all pairs of 30 proteins in blocks of 40, then pair
metrics). For each job a reference warehouse runs it uninterrupted; a copy of the state before it
runs it with ``PROTISO_FAULT_AT`` (``protiso.warehouse.faults``) set to a seeded point, once before the
N-th commit's transaction (parts written, not catalogued) and once after it (markers not yet removed),
must die of SIGKILL, then runs the job again as a user would. Then every table (without run ids and
timestamps; vectors to 1e-5, since a resumed embedding batches proteins differently) equals the
reference, no run is left ``running``, and the files under ``W/parquet`` are exactly the parts the
catalog lists (nothing orphaned, nothing catalogued missing, no temp files or markers). Right after
each kill no process the job started (align's workers, the resource tracker) is left alive.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from protiso.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DATA = REPO / ".." / "shared" / "data" / "swissprot-2014"
SEED = 20261203
PROTEINS = 60

# job -> (Python code run in a subprocess with W bound to the warehouse path, the fewest commits it makes)
JOBS: dict[str, tuple[str, int]] = {
    "ingest": ("""
from protiso.sequences.ingest import ingest_files
with Warehouse.open_or_create(W) as wh:
    ingest_files(wh, [INPUT / "p.fasta", INPUT / "a.tsv", GO_TERMS], progress=False)
""", 1),
    "embed": ("""
from protiso.embedding import EmbedOptions
from protiso.embedding.job import embed_warehouse
embed_warehouse(W, EmbedOptions("unirep-64", residues="0.2", chunk_residues=2500), progress=False)
""", 3),
    "import": ("""
from protiso import ImportOptions, import_vectors
with Warehouse.open(W) as wh:
    import_vectors(wh, ImportOptions(str(INPUT / "v.npy"), model="imported", ids=str(INPUT / "v.txt")), progress=False)
""", 1),
    "postprocess": ("""
from protiso import postprocess_embeddings
with Warehouse.open(W) as wh:
    postprocess_embeddings(wh, "center")
""", 1),
    "isotropy": ("""
from protiso import compute_isotropy
with Warehouse.open(W) as wh:
    compute_isotropy(wh, by=["go_term"], min_points=5)
""", 1),
    "align": ("""
from protiso.jobs.align import align_and_measure
with Warehouse.open(W) as wh:
    align_and_measure(wh, proteins=30, seed=3, block_size=40, workers=2)
""", 5),
}
# Columns that name a run or a moment, which differ between the two warehouses by design.
VOLATILE = {"run_id", "computed_at", "committed_at", "alignment_run", "started_at", "finished_at", "source",
            "created_at", "params", "runs"}   # params: a resumed run records its resumption; runs: how many runs' statistics were merged (a killed run keeps its own row)
# Statistics a killed run committed stay in its own row, so they are compared merged over runs.
TABLES = ["proteins", "protein_go", "go_terms", "embeddings", "residues", "residue_stats_merged()",
          "embedding_stats_merged()", "alignments", "pair_metrics", "isotropy_latest", "alignment_runs"]


def _inputs(folder: Path) -> Path:
    """The slice: the first PROTEINS proteins of the fixture, their annotations, and vectors to import."""
    folder.mkdir()
    records = (FIXTURES / "sp2014_head300.fasta").read_text().split(">")[1:PROTEINS + 1]
    (folder / "p.fasta").write_text("".join(">" + r for r in records))
    accessions = [r.split()[0] for r in records]
    lines = (FIXTURES / "sp2014_head300_annotations.tsv").read_text().splitlines()
    (folder / "a.tsv").write_text("\n".join([lines[0], *(x for x in lines[1:] if x.split("\t")[0] in accessions)]) + "\n")
    vectors = np.random.default_rng(SEED).normal(size=(PROTEINS, 16)).astype(np.float32) + 0.5
    np.save(folder / "v.npy", vectors)
    (folder / "v.txt").write_text("\n".join(accessions) + "\n")
    return folder


def _survivors(marker: str) -> list[int]:
    """Processes (align workers, multiprocessing's resource tracker) still carrying ``marker`` in their environment."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:   # gone meanwhile, or not ours
            continue
    return found


def _no_survivors(marker: str) -> None:
    """Workers die with their parent (issue 14: within 10 s), so poll a bounded while, then name any left."""
    import time

    for _ in range(100):
        if not _survivors(marker):
            return
        time.sleep(0.1)
    assert not _survivors(marker), f"processes outlived the killed job: {_survivors(marker)}"


def _run(job: str, warehouse: Path, inputs: Path, fault: str | None = None) -> subprocess.CompletedProcess:
    code = ("from pathlib import Path\nfrom protiso.warehouse import Warehouse\n"
            f"W = Path({str(warehouse)!r}); INPUT = Path({str(inputs)!r})\n"
            f"GO_TERMS = Path({str(DATA / 'go_2014_terms.tsv.gz')!r})\n" + JOBS[job][0])
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    env.pop("PROTISO_FAULT_AT", None)
    if fault:
        env["PROTISO_FAULT_AT"] = fault
        env["PROTISO_FAULT_TEST"] = str(warehouse)   # a marker its child processes inherit (_survivors)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)


def _rows(warehouse: Path, table: str) -> list[tuple]:
    with Warehouse.open(warehouse, read_only=True) as wh:
        names = [c for c in wh.query(f"SELECT * FROM {table} LIMIT 0").column_names
                 if c not in VOLATILE and not c.endswith("_rank")]   # ranks of near-equal cosines may swap
        if not names:
            return []
        select = ", ".join(f'"{c}"' for c in names)
        rows = wh.query(f"SELECT {select} FROM {table}").to_pylist()
    return sorted((tuple(r[c] for c in names) for r in rows), key=lambda r: repr([x for x in r if not
                                                                                  isinstance(x, (float, list))]))


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list) and isinstance(b, list):
        if a and b and all(isinstance(x, float) for x in a + b):   # a vector or a sum: relative to its scale
            x, y = np.asarray(a), np.asarray(b)
            return x.shape == y.shape and bool(np.allclose(x, y, rtol=1e-5, atol=1e-7 * np.abs(y).max() + 1e-6))
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _check_files(warehouse: Path) -> None:
    with Warehouse.open(warehouse, read_only=True) as wh:
        catalogued = {r["path"] for r in wh.query("SELECT path FROM parts").to_pylist()}
        running = wh.query("SELECT run_id FROM runs WHERE status = 'running'").to_pylist()
    assert running == [], f"runs left running: {running}"
    on_disk = {p.relative_to(warehouse).as_posix() for p in (warehouse / "parquet").rglob("*") if p.is_file()}
    assert on_disk == catalogued, f"orphans {sorted(on_disk - catalogued)[:3]}, missing {sorted(catalogued - on_disk)[:3]}"


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The reference warehouse after each job, each run uninterrupted from the one before."""
    root = tmp_path_factory.mktemp("faults")
    inputs = _inputs(root / "inputs")
    states, previous = {}, None
    for job in JOBS:
        state = root / f"ref-{job}"
        if previous is not None:
            shutil.copytree(previous, state)
        result = _run(job, state, inputs)
        assert result.returncode == 0, f"{job}: {result.stderr[-2000:]}"
        states[job] = previous = state
    return inputs, states


@pytest.mark.parametrize("phase", ["commit", "committed"])
@pytest.mark.parametrize("job", list(JOBS))
def test_a_killed_job_resumes_to_the_uninterrupted_result(job: str, phase: str, chain, tmp_path: Path) -> None:
    _kill_resume_compare(job, phase, JOBS[job][1], chain, tmp_path)


@pytest.mark.parametrize("job,parts", [("import", 1), ("ingest", 3)])
def test_a_job_killed_after_a_seeded_part_resumes_to_the_uninterrupted_result(job: str, parts: int, chain,
                                                                              tmp_path: Path) -> None:
    """``part:N``: killed right after its N-th Parquet part is on disk, before any commit lists it."""
    _kill_resume_compare(job, "part", parts, chain, tmp_path)


def _before(job: str, chain, warehouse: Path) -> None:
    """``warehouse``: the reference state before ``job`` (nothing for the first job)."""
    _, states = chain
    names = list(JOBS)
    if names.index(job):
        shutil.copytree(states[names[names.index(job) - 1]], warehouse)


def _kill_resume_compare(job: str, phase: str, points: int, chain, tmp_path: Path) -> None:
    inputs, states = chain
    fault = f"{phase}:{random.Random(f'{SEED}:{job}:{phase}').randint(1, points)}"   # the seeded point
    warehouse = tmp_path / "w"
    _before(job, chain, warehouse)
    killed = _run(job, warehouse, inputs, fault)
    assert killed.returncode == -signal.SIGKILL, f"{job} at {fault} was not killed: {killed.stderr[-1500:]}"
    _no_survivors(f"PROTISO_FAULT_TEST={warehouse}\0")
    resumed = _run(job, warehouse, inputs)
    assert resumed.returncode == 0, f"{job} after the kill at {fault}: {resumed.stderr[-2000:]}"
    _assert_equal(warehouse, states[job], f"{job} killed at {fault}")


def _assert_equal(warehouse: Path, reference: Path, what: str) -> None:
    _check_files(warehouse)
    for table in TABLES:
        ours, theirs = _rows(warehouse, table), _rows(reference, table)
        assert len(ours) == len(theirs), f"{what}: {table} has {len(ours)} rows, not {len(theirs)}"
        for mine, ref in zip(ours, theirs):
            assert _same(list(mine), list(ref)), f"{what}: {table} differs: {mine[:4]} vs {ref[:4]}"


# -- import-vectors on a full disk and into an unwritable folder; export killed (issue 24) ------------------------


def _mount(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode().strip()}")


def _import_error(warehouse: Path, inputs: Path) -> str:
    failed = _run("import", warehouse, inputs)
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert failed.returncode == 1 and lines[-1].startswith("protiso.errors.ProtisoError: "), failed.stderr[-2000:]
    return lines[-1]


def test_import_on_a_full_disk_changes_nothing_then_completes(chain, tmp_path: Path) -> None:
    inputs, states = chain
    big = tmp_path / "inputs"
    shutil.copytree(inputs, big)
    rng = np.random.default_rng(SEED)
    np.save(big / "v.npy", rng.normal(size=(PROTEINS, 4096)).astype(np.float32))  # ~1 MB: more than is free
    disk = tmp_path / "disk"
    size = sum(p.stat().st_size for p in states["embed"].rglob("*") if p.is_file())
    _mount(disk, f"size={size + 512 * 1024}")
    try:
        warehouse = disk / "w"
        _before("import", chain, warehouse)
        assert "No space left on device" in _import_error(warehouse, big)
        _assert_equal(warehouse, states["embed"], "import on a full disk")
        moved = tmp_path / "w"
        shutil.copytree(warehouse, moved)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    assert _run("import", moved, inputs).returncode == 0
    _assert_equal(moved, states["import"], "import after a full disk")


def test_import_into_an_unwritable_folder_changes_nothing_then_completes(chain, tmp_path: Path) -> None:
    inputs, states = chain
    warehouse = tmp_path / "w"
    _before("import", chain, warehouse)
    folder = warehouse / "parquet" / "embeddings" / "model-imported"
    _mount(folder, "size=1m,ro")
    try:
        error = _import_error(warehouse, inputs)
        assert "cannot write a part of embeddings" in error and "Read-only file system" in error
        _assert_equal(warehouse, states["embed"], "import into an unwritable folder")
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
    assert _run("import", warehouse, inputs).returncode == 0
    _assert_equal(warehouse, states["import"], "import after an unwritable folder")


def test_a_killed_export_leaves_the_warehouse_and_the_next_export_as_uninterrupted(chain, tmp_path: Path) -> None:
    _, states = chain
    warehouse = states["import"]
    before = {p: p.stat().st_mtime_ns for p in warehouse.rglob("*") if p.is_file()}
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    export = [sys.executable, "-m", "protiso", "export", "-w", str(warehouse), "-m", "imported"]
    for suffix in (".h5", ".npz", ".parquet"):
        out = tmp_path / f"out{suffix}"
        killed = subprocess.run([*export, "-o", str(out)], capture_output=True, text=True, timeout=300,
                                env={**env, "PROTISO_FAULT_AT": "export-batch:1"})
        assert killed.returncode == -signal.SIGKILL and not out.exists(), killed.stderr[-1500:]
        assert subprocess.run([*export, "-o", str(out)], env=env, capture_output=True).returncode == 0
        clean = tmp_path / f"clean{suffix}"
        assert subprocess.run([*export, "-o", str(clean)], env=env, capture_output=True).returncode == 0
        if suffix == ".h5":
            import h5py

            with h5py.File(out) as a, h5py.File(clean) as b:
                assert sorted(a) == sorted(b) and all(a[k][()].tobytes() == b[k][()].tobytes() for k in a)
        else:
            assert out.read_bytes() == clean.read_bytes()
        assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    assert {p: p.stat().st_mtime_ns for p in warehouse.rglob("*") if p.is_file()} == before
