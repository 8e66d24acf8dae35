"""The Ray engine against the local engine, on a local Ray instance (loopback, CPU only).

Real Swiss-Prot 2014 proteins (the fixture's first 60 of at most 250 residues) and the real
AntiBERTy weights. One module-scoped pair of warehouses is built once: each ingests the same
proteins, embeds them (local / Ray), aligns all pairs of a seeded sample (local / Ray) and
measures isotropy; the tests compare them, then kill workers and drivers mid-job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Loopback only (Ray otherwise advertises the machine's outward address), and no Ray memory
# monitor killing workers because of other processes on a shared machine. Before `import ray`.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'protiso[ray]')")
pytest.importorskip("antiberty", reason="the AntiBERTy weights (pip install 'protiso[antiberty]') are needed")

from protiso.jobs.align import align_and_measure  # noqa: E402
from protiso.embedding import EmbedOptions, embed_proteins  # noqa: E402
from protiso.engines import check_engine  # noqa: E402
from protiso.engines.ray_align import RayAlignRunner  # noqa: E402
from protiso.engines.ray_embed import RayRunner  # noqa: E402
from protiso.errors import ProtisoError  # noqa: E402
from protiso.jobs.isotropy import compute_isotropy  # noqa: E402
from protiso.sequences.ingest import ingest_files  # noqa: E402
from protiso.warehouse import Warehouse  # noqa: E402

pytestmark = pytest.mark.ray


def embed_proteins_ray(wh, model, *, workers=None, address=None, source=None, progress=True, **options):
    """The embedding job on the Ray runner."""
    return embed_proteins(wh, EmbedOptions(model, **options),
                          runner=RayRunner(address=address, workers=workers, source=source), progress=progress)


def align_ray(wh, **options):
    return align_and_measure(wh, runner=RayAlignRunner(), **options)

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "sp2014_head300.fasta"
N_PROTEINS = 60
CHUNK = 1500  # residues per committed chunk: the same cut for both engines, several chunks per run


def records(limit: int = N_PROTEINS, max_length: int = 250) -> list[tuple[str, str]]:
    out, header, lines = [], None, []
    for line in FIXTURE.read_text().splitlines() + [">"]:
        if line.startswith(">"):
            if header is not None and len("".join(lines)) <= max_length:
                out.append((header, "".join(lines)))
            header, lines = line[1:].split()[0] if len(line) > 1 else None, []
        else:
            lines.append(line.strip())
    return out[:limit]


def write_fasta(path: Path, recs: list[tuple[str, str]]) -> Path:
    path.write_text("".join(f">{a}\n{s}\n" for a, s in recs))
    return path


def fresh(path: Path, fasta: Path) -> Warehouse:
    wh = Warehouse.create(path)
    ingest_files(wh, [fasta], progress=False)
    return wh


@pytest.fixture(scope="module")
def ray_instance():
    if not ray.is_initialized():
        ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, object_store_memory=400 * 2**20)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    return write_fasta(tmp_path_factory.mktemp("ray_in") / "proteins.fasta", records())


@pytest.fixture(scope="module")
def pair(tmp_path_factory, fasta, ray_instance):
    """(local warehouse path, ray warehouse path, summaries): the same job on both engines."""
    root = tmp_path_factory.mktemp("ray_pair")
    out = {}
    for engine in ("local", "ray"):
        with fresh(root / engine, fasta) as wh:
            options = dict(residues="all", device="cpu", chunk_residues=CHUNK)
            align_options = dict(proteins=40, seed=3, block_size=150, progress=False)
            if engine == "local":
                embedded = embed_proteins(wh, EmbedOptions("antiberty", **options), progress=False)
                aligned = align_and_measure(wh, workers=1, **align_options)
            else:
                embedded = embed_proteins_ray(wh, "antiberty", workers=2, progress=False, **options)
                aligned = align_ray(wh, workers=2, **align_options)
            compute_isotropy(wh)
            out[engine] = (root / engine, embedded, aligned)
    return out


def table(path: Path, sql: str) -> list[dict]:
    with Warehouse.open(path) as wh:
        return wh.query(sql).to_pylist()


def vectors(path: Path, sql: str, column: str) -> tuple[list, np.ndarray]:
    rows = table(path, sql)
    keys = [tuple(v for k, v in r.items() if k != column) for r in rows]
    return keys, np.array([r[column] for r in rows], dtype=np.float64)


def test_ray_embeddings_equal_local(pair):
    (local, s_local, _), (remote, s_ray, _) = pair["local"], pair["ray"]
    assert s_local.proteins == s_ray.proteins == N_PROTEINS and s_local.residues == s_ray.residues
    sql = "SELECT accession, seq_hash, layer, pooling, length_policy, local_n, embedding FROM embeddings ORDER BY ALL"
    keys_local, v_local = vectors(local, sql, "embedding")
    keys_ray, v_ray = vectors(remote, sql, "embedding")
    assert keys_local == keys_ray and len(keys_ray) == N_PROTEINS
    assert np.abs(v_local - v_ray).max() <= 1e-6
    sql = "SELECT accession, position, residue, vector FROM residues ORDER BY accession, position"
    keys_local, r_local = vectors(local, sql, "vector")
    keys_ray, r_ray = vectors(remote, sql, "vector")
    assert keys_local == keys_ray and len(keys_ray) == s_ray.residues
    assert np.abs(r_local - r_ray).max() <= 1e-6


def test_residue_statistics_merge_exactly_across_workers(pair):
    (local, _, _), (remote, summary, _) = pair["local"], pair["ray"]
    stats = {p: table(p, "SELECT model, layer, n, dim, sum_x, sum_xxt FROM residue_stats") for p in (local, remote)}
    assert len(stats[remote]) == 1 and stats[remote][0]["n"] == stats[local][0]["n"] == summary.residues
    ray_row, local_row = stats[remote][0], stats[local][0]
    # Exact sufficient statistics: float64 sums over every residue vector the Ray workers produced.
    _, residues = vectors(remote, "SELECT accession, position, vector FROM residues", "vector")
    np.testing.assert_allclose(ray_row["sum_x"], residues.sum(axis=0), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(np.reshape(ray_row["sum_xxt"], (ray_row["dim"],) * 2), residues.T @ residues,
                               rtol=1e-12, atol=1e-7)
    np.testing.assert_allclose(ray_row["sum_x"], local_row["sum_x"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(ray_row["sum_xxt"], local_row["sum_xxt"], rtol=1e-9, atol=1e-6)


def test_ray_alignment_scores_exactly_equal_local(pair):
    (local, _, a_local), (remote, _, a_ray) = pair["local"], pair["ray"]
    assert a_local.n_pairs == a_ray.n_pairs == 40 * 39 // 2 == a_ray.pairs_aligned
    sql = ("SELECT accession_a, accession_b, score, identity, similarity, alignment_length, gaps, normalized_score "
           "FROM alignments ORDER BY accession_a, accession_b")
    assert table(local, sql) == table(remote, sql)


def test_isotropy_and_correlations_equal(pair):
    (local, _, _), (remote, _, _) = pair["local"], pair["ray"]
    sql = ("SELECT model, layer, embedding_set, scope, group_by, n_points, dim, isoscore, isoscore_star, "
           "effective_dims, mean_cosine FROM isotropy ORDER BY scope, group_by")
    rows_local, rows_ray = table(local, sql), table(remote, sql)
    assert {r["scope"] for r in rows_ray} == {"global", "local"}
    for a, b in zip(rows_local, rows_ray, strict=True):
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
            else:
                assert b[key] == value, key
    sql = "SELECT model, layer, metric_x, metric_y, pearson, spearman, n FROM correlations ORDER BY ALL"
    corr_local, corr_ray = table(local, sql), table(remote, sql)
    assert len(corr_ray) == 21 and corr_ray[0]["n"] == 40 * 39 // 2  # 7 metrics
    for a, b in zip(corr_local, corr_ray, strict=True):
        assert (a["metric_x"], a["metric_y"], a["n"]) == (b["metric_x"], b["metric_y"], b["n"])
        assert b["pearson"] == pytest.approx(a["pearson"], abs=1e-6)
        assert b["spearman"] == pytest.approx(a["spearman"], abs=1e-6)


def test_ray_runs_land_in_the_warehouse_layout_with_their_parameters(pair):
    remote, summary, aligned = pair["ray"]
    parts = table(remote, "SELECT table_name, path, rows FROM parts WHERE table_name IN ('embeddings', 'residues')")
    assert parts and all(p["path"].startswith(f"parquet/{p['table_name']}/model-antiberty/layer-8/part-")
                         for p in parts)
    assert sum(p["rows"] for p in parts if p["table_name"] == "embeddings") == N_PROTEINS
    # Another engine reads the same files: the parts alone hold every committed row, and the partition
    # values are columns inside each file too (so readers need no hive partitioning).
    files = [str(remote / p["path"]) for p in parts if p["table_name"] == "embeddings"]
    read = pq.ParquetDataset(files, partitioning=None).read()
    assert read.num_rows == N_PROTEINS and set(read.column("model").to_pylist()) == {"antiberty"}
    try:  # the query README-ray.md shows, where Polars is installed (it is not a dependency)
        import polars as pl

        scanned = pl.scan_parquet(files, hive_partitioning=False).filter(pl.col("layer") == 8)
        # the Ray driver's parts hold fixed-size vectors too: polars reads Array(Float32, 512)
        assert scanned.select(pl.col("embedding").arr.len()).collect().to_series().to_list() == [512] * N_PROTEINS
    except ImportError:
        pass
    run = table(remote, f"SELECT * FROM runs WHERE run_id = '{summary.run_id}'")[0]
    params = json.loads(run["params"])
    assert run["status"] == "done" and params["engine"] == "ray" and params["workers"] == 2
    assert params["chunk_residues"] == CHUNK and params["summary"]["proteins"] == N_PROTEINS
    align_params = json.loads(table(remote, f"SELECT params FROM runs WHERE run_id = '{aligned.run_id}'")[0]["params"])
    assert align_params["executor"] == "ray" and align_params["ray_workers"] == 2


def test_rerun_on_ray_embeds_nothing_more(pair, ray_instance):
    remote, _, _ = pair["ray"]
    with Warehouse.open(remote) as wh:
        before = wh.query("SELECT count(*) AS n FROM embeddings").to_pylist()[0]["n"]
        summary = embed_proteins_ray(wh, "antiberty", residues="all", device="cpu", workers=2, progress=False)
        assert summary.proteins == 0
        assert wh.query("SELECT count(*) AS n FROM embeddings").to_pylist()[0]["n"] == before


def _actor_pids(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::") and name.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _counts(path: Path) -> dict:
    with Warehouse.open(path) as wh:
        return wh.query(
            "SELECT count(*) AS rows, count(DISTINCT (accession, layer)) AS distinct_rows, "
            "(SELECT count(*) FROM residue_stats) AS stats FROM embeddings").to_pylist()[0]


def test_killed_worker_job_completes_without_duplicates(tmp_path, fasta, pair, ray_instance):
    committed = tmp_path / "w" / "parquet" / "embeddings"
    killed: list[int] = []

    def kill_one_worker() -> None:
        # Once the first chunk is written, SIGKILL one embedding actor in the middle of the job.
        if _wait_for(lambda: committed.exists() and any(committed.rglob("part-*.parquet")), 600):
            pids = _actor_pids("EmbedWorker")
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    with fresh(tmp_path / "w", fasta) as wh:
        killer = threading.Thread(target=kill_one_worker, daemon=True)
        killer.start()
        try:
            summary = embed_proteins_ray(wh, "antiberty", device="cpu", workers=2, chunk_residues=CHUNK // 2,
                                         progress=False)
            finished = True
        except ProtisoError:  # failing cleanly is allowed too; the rerun below must then finish
            finished = False
        killer.join(timeout=60)
        assert killed, "no embedding actor was found to kill"
        print(f"killed actor {killed[0]}; the job {'completed through Ray retries' if finished else 'failed cleanly'}")
        if not finished:
            summary = embed_proteins_ray(wh, "antiberty", device="cpu", workers=2, progress=False)
        rerun = embed_proteins_ray(wh, "antiberty", device="cpu", workers=2, progress=False)
        assert rerun.proteins == 0 and summary.proteins <= N_PROTEINS
    counts = _counts(tmp_path / "w")
    assert counts["rows"] == counts["distinct_rows"] == N_PROTEINS
    keys_ray, v_ray = vectors(tmp_path / "w", "SELECT accession, embedding FROM embeddings ORDER BY 1", "embedding")
    keys_local, v_local = vectors(pair["local"][0], "SELECT accession, embedding FROM embeddings ORDER BY 1",
                                  "embedding")
    assert keys_ray == keys_local
    np.testing.assert_allclose(v_ray, v_local, atol=1e-5)  # other chunk cut than the local run: tiny batch effects


DRIVER = """
import sys
from protiso.embedding import EmbedOptions, embed_proteins
from protiso.engines.ray_embed import RayRunner
from protiso.warehouse import Warehouse
with Warehouse.open(sys.argv[1]) as wh:
    embed_proteins(wh, EmbedOptions("antiberty", device="cpu", chunk_residues=int(sys.argv[3])),
                   runner=RayRunner(address=sys.argv[2], workers=2), progress=False)
"""


def test_killed_driver_rerun_finishes_only_the_missing(tmp_path, fasta, ray_instance):
    with fresh(tmp_path / "w", fasta):
        pass
    address = ray_instance.get_runtime_context().gcs_address
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path / "w"), address, str(CHUNK // 2)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    written = tmp_path / "w" / "parquet" / "embeddings"
    try:
        # A chunk's part is written just before its commit: 3 files on disk = at least 2 chunks committed.
        # (The driver holds the DuckDB file's write lock, so the catalog itself cannot be read meanwhile.)
        assert _wait_for(lambda: driver.poll() is None and written.exists()
                         and len(list(written.rglob("part-*.parquet"))) >= 3, 600), driver.stderr.read()[-2000:]
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.wait(timeout=60)
    partial = _counts(tmp_path / "w")
    assert 0 < partial["rows"] < N_PROTEINS and partial["rows"] == partial["distinct_rows"]
    with Warehouse.open(tmp_path / "w") as wh:
        summary = embed_proteins_ray(wh, "antiberty", device="cpu", workers=2, progress=False)
        assert summary.proteins == N_PROTEINS - partial["rows"]
        statuses = sorted(r["status"] for r in wh.query("SELECT status FROM runs WHERE kind = 'embed'").to_pylist())
    assert statuses == ["done", "interrupted"]  # the killed driver's run never finished (marked on open)
    counts = _counts(tmp_path / "w")
    assert counts["rows"] == counts["distinct_rows"] == N_PROTEINS


def test_shards_are_embedded_without_ingest(tmp_path, pair, ray_instance):
    recs = records()[:12]
    fasta = write_fasta(tmp_path / "a.fasta", recs[:6] + [("BAD1", "MK1@Z")])
    parquet = tmp_path / "b.parquet"
    pq.write_table(pa.table({"accession": [a for a, _ in recs[5:]], "sequence": [s for _, s in recs[5:]]}), parquet)
    with Warehouse.create(tmp_path / "w") as wh:
        summary = embed_proteins_ray(wh, "antiberty", device="cpu", workers=2, source=[fasta, parquet],
                                     progress=False)
        assert summary.proteins == 12  # recs[5] is in both shards: embedded once
        rejects = wh.query("SELECT source, reason FROM rejects").to_pylist()
        assert len(rejects) == 1 and rejects[0]["source"].endswith("a.fasta") and "@" in rejects[0]["reason"]
        assert embed_proteins_ray(wh, "antiberty", device="cpu", workers=1, source=[fasta, parquet],
                                  progress=False).proteins == 0
    keys, got = vectors(tmp_path / "w", "SELECT accession, embedding FROM embeddings ORDER BY 1", "embedding")
    wanted = {a for a, _ in recs}
    keys_local, v_local = vectors(pair["local"][0], "SELECT accession, embedding FROM embeddings ORDER BY 1",
                                  "embedding")
    expected = np.array([v for k, v in zip(keys_local, v_local) if k[0] in wanted])
    assert [k[0] for k in keys] == sorted(wanted)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_cli_ingest_and_align_on_ray(tmp_path, ray_instance):
    from conftest import run_protiso

    fasta = write_fasta(tmp_path / "p.fasta", records()[:8])
    address = ray_instance.get_runtime_context().gcs_address
    done = run_protiso("ingest", str(fasta), "-w", str(tmp_path / "w"), "--model", "antiberty", "--engine", "ray",
                       "--address", address, "--workers", "1", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embedded 8 proteins" in done.stdout
    assert _counts(tmp_path / "w")["rows"] == 8
    aligned = run_protiso("align", "-w", str(tmp_path / "w"), "--proteins", "8", "--engine", "ray", "--address",
                          address, "--workers", "2", "--aligner", "parasail", "--no-progress")
    assert aligned.returncode == 0, aligned.stderr[-3000:]
    rows = table(tmp_path / "w", "SELECT count(*) AS n, count(DISTINCT (accession_a, accession_b)) AS d FROM alignments")
    assert rows == [{"n": 28, "d": 28}]
    bad = run_protiso("ingest", str(fasta), "-w", str(tmp_path / "w2"), "--model", "antiberty", "--engine", "spark")
    assert bad.returncode == 2 and "--engine must be one of local, ray" in bad.stderr
    assert not (tmp_path / "w2").exists()


def test_engine_names_and_missing_ray(monkeypatch):
    assert check_engine("Ray") == "ray" and check_engine("local") == "local"
    with pytest.raises(ProtisoError, match="--engine must be one of local, ray"):
        check_engine("spark")
    from protiso.engines import ray_session

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ProtisoError, match=r"pip install 'protiso\[ray\]'"):
        ray_session.import_ray()
