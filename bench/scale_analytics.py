"""Swiss-Prot-scale analytics (issue 15), measured side by side in one run, each contender in its own
process with its peak RSS (the kernel's high-water mark, reset once its inputs are loaded).

The warehouse (built once under --dir, reused; --clean removes it): `protiso ingest` of the real
Swiss-Prot 2014 files (516,371 accessions, their GO annotations, terms and graph), then one synthetic
anisotropic float32 vector of width 1024 per distinct sequence (435,059: decaying spectrum plus an
offset, as bench/isotropy.py makes them) under the sequence's first accession, and a synthetic
alignment run of all 6,406,410 pairs of 3,580 seeded proteins. The 2014 files name no organisms, so
each accession gets a synthetic one (a seeded Zipf draw over 13,000 names, the largest ~4 % of
Swiss-Prot as human is): organism groups have realistic sizes, not real members.

1. Whole-set isotropy + mean cosine + spectrum through the `isotropy` job (one streamed scan) against
   the float64 floor (the same scan of the embedding column alone + float64 X.T @ X of the same shape
   with numpy's BLAS, timed in blocks of 8,192 rows), and the job on a second warehouse holding only
   the first 200,000 of the vectors against the IsoScore package on exactly those vectors held in
   memory. Targets: <= 1.3x the floor, <= the package's time, < 2 GB peak.
2. Every GO term with >= 10 proteins (true-path) and every organism with >= 10, through the job;
   against a pandas groupby loop calling the IsoScore package on a seeded sample of 30 of the same
   groups, extrapolated by the mean per group. Targets: < 3 min, < 6 GB, >= 10x. (The size-matched
   null of `--null-draws` is switched off here: it measures random groups on top.)
3. Pair metrics of the 6.4 M pairs (`protiso pair-metrics`) against a per-pair numpy loop on a
   100,000-pair subset, extrapolated. Target: < 30 s.

4. ``--vs-npy N`` (instead of 1-3, no Swiss-Prot ingest): a warehouse of N x 1024 synthetic vectors (parts of
   50,000 as the embedding job commits them) and the same matrix as a ``.npy``. Side by side, each a cold
   process timed from its start (Python start-up and imports included): ``protiso isotropy -w W --scope
   global`` against ``np.load`` + the IsoScore package (target: the job at least as fast), with both
   IsoScores; and the scan of the embedding column alone, in MB/s of float32: DuckDB -> Arrow -> lists
   (what the job did before 0.3, ``isotropy_vectors.sql`` + ``stack_vectors``), the direct reader
   (``protiso.warehouse.matrix``) over a copy whose parts hold list<float> / zstd as a4b2ece wrote them,
   and the same reader over the parts as written now (fixed-size lists, uncompressed), in the windows the
   job folds in and into one new matrix; at least 5 interleaved rounds, best and median (target >= 3x).

On a machine with CUDA, the same whole-set statistics (float64 X^T X of [x 1 1/|x|]) with torch on the
device, from the same Arrow batches, and the ratio to the CPU job; without one the line says so.

    python bench/scale_analytics.py [--dir /tmp/protiso_scale] [--clean] [--quick]
    python bench/scale_analytics.py --vs-npy 200000 [--dir /tmp/protiso_npy] [--clean]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import peak_mib, reset_peak

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / ".." / "shared" / "data" / "swissprot-2014"
FILES = ["swissprot_2014.fasta.gz", "swissprot_2014_annotations.tsv.gz", "go_2014_terms.tsv.gz",
         "go_2014_graph.tsv.gz"]
MODEL, LAYER, POOLING = "synthetic", 1, "mean"
DIM = 1024
PAIR_PROTEINS = 3580
ORGANISMS = 13_000


# -- building the warehouse (once) ------------------------------------------------------------------


def build(root: Path, dim: int, limit: int | None) -> Path:
    """The warehouse under ``root`` (made by an earlier run when its marker file exists)."""
    path = root / "wh"
    marker = root / f"built-{dim}-{limit or 'all'}.json"
    if marker.exists():
        return path
    if path.exists():
        shutil.rmtree(path)
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "protiso", "ingest", *[str(DATA / f) for f in FILES], "-w", str(path),
                    "--no-progress"], check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    from protiso.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        _organisms(wh)
        accessions = _embeddings(wh, dim, limit)
        _alignments(wh, accessions)
    marker.write_text(json.dumps({"seconds": time.perf_counter() - started}))
    return path


def _organisms(wh) -> None:
    """Replace the proteins part by one with a synthetic organism per accession (seeded Zipf sizes)."""
    import pyarrow as pa

    proteins = wh.query("SELECT * FROM proteins ORDER BY accession")
    rng = np.random.default_rng(11)
    weights = 1.0 / np.arange(1, ORGANISMS + 1) ** 1.07
    names = np.array([f"Synthetic organism {k:05d}" for k in range(ORGANISMS)], dtype=object)
    organism = names[rng.choice(ORGANISMS, proteins.num_rows, p=weights / weights.sum())]
    table = proteins.set_column(proteins.schema.get_field_index("organism"), "organism", pa.array(organism))
    old = [row[0] for row in wh.con.execute("SELECT part_id FROM parts WHERE table_name = 'proteins'").fetchall()]
    with wh.run("ingest", {"bench": "synthetic organisms"}) as run, run.commit() as tx:
        for start in range(0, table.num_rows, 100_000):
            tx.write_part("proteins", table.slice(start, 100_000))
        tx.execute("DELETE FROM parts WHERE part_id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": old})


def _mix(dim: int, seed: int = 0) -> tuple[np.random.Generator, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix = (rng.standard_normal((dim, dim)) / np.sqrt(dim) * np.geomspace(3.0, 0.05, dim)).astype(np.float32)
    return rng, mix, rng.standard_normal(dim).astype(np.float32)


def _embeddings(wh, dim: int, limit: int | None) -> list[str]:
    """One synthetic vector per distinct sequence, under its first accession; returns those accessions."""
    import pyarrow as pa

    accessions = [r[0] for r in wh.con.execute(
        "SELECT min(accession) FROM proteins GROUP BY seq_hash ORDER BY 1").fetchall()]
    if limit:
        accessions = accessions[:limit]
    rng, mix, offset = _mix(dim)
    step = 50_000
    with wh.run("embed", {"bench": "synthetic anisotropic float32", "dim": dim}, model=MODEL, layer=LAYER,
                pooling=POOLING) as run:
        for start in range(0, len(accessions), step):
            rows = accessions[start:start + step]
            block = rng.standard_normal((len(rows), dim), dtype=np.float32) @ mix + offset
            column = pa.ListArray.from_arrays(pa.array(np.arange(len(rows) + 1, dtype=np.int32) * dim),
                                              pa.array(block.reshape(-1)))
            with run.commit() as tx:
                tx.write_part("embeddings", pa.table({
                    "accession": rows, "model": [MODEL] * len(rows), "layer": [LAYER] * len(rows),
                    "pooling": [POOLING] * len(rows), "embedding_set": ["raw"] * len(rows),
                    "embedding": column, "run_id": [run.id] * len(rows)}), partition={"model": MODEL})
    return accessions


def _alignments(wh, accessions: list[str]) -> None:
    """A finished alignment run of all pairs of PAIR_PROTEINS seeded proteins, with synthetic scores."""
    import pyarrow as pa

    rng = np.random.default_rng(5)
    chosen = sorted(rng.choice(np.array(accessions, dtype=object), min(PAIR_PROTEINS, len(accessions)),
                               replace=False).tolist())
    a, b = np.triu_indices(len(chosen), k=1)
    names = pa.array(chosen)
    params = {"bench": "synthetic alignments", "n_proteins": len(chosen), "n_pairs": len(a)}
    with wh.run("align", params) as run:
        wh.con.execute(wh.sql_text("align_insert_run"), {
            "run_id": run.id, "matrix": "PAM250", "mode": "global", "open_score": -10.0, "extend_score": -1.0,
            "engine": "synthetic", "n_proteins": len(chosen), "n_pairs": len(a), "seed": 5,
            "params": json.dumps(params)})
        for start in range(0, len(a), 1_000_000):
            ia, ib = a[start:start + 1_000_000], b[start:start + 1_000_000]
            identity = rng.beta(2, 12, len(ia))
            length = rng.integers(100, 800, len(ia)).astype(np.int32)
            with run.commit() as tx:
                tx.write_part("alignments", pa.table({
                    "accession_a": names.take(pa.array(ia)), "accession_b": names.take(pa.array(ib)),
                    "score": 900 * identity + rng.normal(0, 40, len(ia)), "identity": identity,
                    "similarity": np.minimum(1.0, identity * 1.6), "alignment_length": length,
                    "gaps": (length * 0.05).astype(np.int32), "normalized_score": identity * 1.2,
                    "run_id": [run.id] * len(ia)}), partition={"run": run.id, "block": f"{start // 1_000_000:06d}"})


def build_sample(root: Path, path: Path, rows: int) -> Path:
    """A second warehouse holding only the first ``rows`` vectors of ``path`` (by accession), so that the
    job and the IsoScore package measure exactly the same vectors."""
    sample = root / f"wh{rows}"
    marker = root / f"built-sample-{rows}.json"
    if marker.exists():
        return sample
    if sample.exists():
        shutil.rmtree(sample)
    from protiso.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        table = wh.query("SELECT * FROM embeddings WHERE model = $model AND embedding_set = 'raw' "
                         "ORDER BY accession LIMIT $rows", {"model": MODEL, "rows": rows})
    with Warehouse.create(sample) as wh, wh.run("embed", {"bench": f"first {rows} vectors"}) as run:
        for start in range(0, table.num_rows, 50_000):
            with run.commit() as tx:
                tx.write_part("embeddings", table.slice(start, 50_000), partition={"model": MODEL})
    marker.write_text(json.dumps({"rows": table.num_rows}))
    return sample


# -- parts, each run in its own process --------------------------------------------------------------


def _open(path: str):
    from protiso.warehouse import Warehouse

    return Warehouse.open(path)


def part_scan(path: str) -> dict:
    """The floor's first half: DuckDB's scan of the embedding column into Arrow batches, nothing else."""
    with _open(path) as wh:
        reset_peak()
        start = time.perf_counter()
        cursor = wh.con.cursor()
        rows = 0
        for batch in cursor.sql(wh.sql_text("isotropy_vectors"), params={
                "model": MODEL, "layer": LAYER, "embedding_set": "raw", "pooling": POOLING,
                "control": "none"}).to_arrow_reader(8192):
            rows += batch.num_rows
        cursor.close()
        return {"seconds": time.perf_counter() - start, "rows": rows, "peak_mib": peak_mib()}


def part_blas(rows: int, dim: int) -> dict:
    """The floor's second half: float64 X.T @ X of rows x dim with numpy's BLAS, in blocks of 8,192 rows."""
    block = np.random.default_rng(0).standard_normal((8192, dim))
    total = np.zeros((dim, dim))
    reset_peak()
    start = time.perf_counter()
    for first in range(0, rows, 8192):
        part = block[: min(8192, rows - first)]
        total += part.T @ part
    return {"seconds": time.perf_counter() - start, "peak_mib": peak_mib()}


def part_whole(path: str, budget: str) -> dict:
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.isotropy import compute_isotropy

    with _open(path) as wh:
        reset_peak()
        start = time.perf_counter()
        summary = compute_isotropy(wh, scopes=["global"], models=[MODEL], embedding_set="raw",
                                   memory_budget=parse_memory_budget(budget))
        seconds = time.perf_counter() - start
        row = summary.overall[0]
        return {"seconds": seconds, "peak_mib": peak_mib(), "isoscore": row["isoscore"],
                "mean_cosine": row["mean_cosine"], "n": row["n_points"]}


def _load(wh, limit: int | None = None) -> tuple[np.ndarray, list[str]]:
    from protiso.warehouse.vectors import stack_vectors

    sql = "SELECT accession, embedding AS vector FROM embeddings WHERE model = $model AND embedding_set = 'raw'" + (
        f" ORDER BY accession LIMIT {int(limit)}" if limit else "")
    table = wh.query(sql, {"model": MODEL})
    points, _ = stack_vectors(table.column("vector"), "bench")
    return np.ascontiguousarray(points), table.column("accession").to_pylist()


def part_package(path: str, rows: int) -> dict:
    from IsoScore.IsoScore import IsoScore

    with _open(path) as wh:
        points, _ = _load(wh, rows)
    reset_peak()
    start = time.perf_counter()
    value = float(IsoScore(points))
    return {"seconds": time.perf_counter() - start, "peak_mib": peak_mib(), "isoscore": value, "n": len(points)}


def part_groups(path: str, budget: str) -> dict:
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.isotropy import compute_isotropy

    with _open(path) as wh:
        reset_peak()
        start = time.perf_counter()
        import inspect

        extra = {"null_draws": 0} if "null_draws" in inspect.signature(compute_isotropy).parameters else {}
        summary = compute_isotropy(wh, by=["go_term", "organism"], scopes=["global"], models=[MODEL],
                                   embedding_set="raw", memory_budget=parse_memory_budget(budget), **extra)
        seconds = time.perf_counter() - start
        counts = dict(wh.con.execute("SELECT group_by, count(*) FROM isotropy WHERE run_id = ? GROUP BY 1",
                                     [summary.run_id]).fetchall())
        return {"seconds": seconds, "peak_mib": peak_mib(), "go_term": counts.get("go_term", 0),
                "organism": counts.get("organism", 0), "run_id": summary.run_id}


def part_pandas(path: str, run_id: str, sample: int) -> dict:
    """A user's loop: pandas groupby over (group, row) calling the IsoScore package per group, on a seeded
    sample of the groups the job measured (same true-path membership), extrapolated by the mean."""
    import pandas as pd
    import pyarrow as pa
    from IsoScore.IsoScore import IsoScore

    from protiso.jobs.isotropy_groups import group_members

    with _open(path) as wh:
        points, accessions = _load(wh)
        measured = wh.con.execute("SELECT group_by, group_value FROM isotropy WHERE run_id = ? AND group_by <> 'all'",
                                  [run_id]).fetchall()
        rng = np.random.default_rng(30)
        chosen = [measured[i] for i in sorted(rng.choice(len(measured), sample, replace=False))]
        frames = []
        for grouping in sorted({g for g, _ in chosen}):
            groups = group_members(wh, pa.array(accessions), grouping, 10)
            where = {name: k for k, name in enumerate(groups.names)}
            for g, value in chosen:
                if g == grouping:
                    rows = groups.members[where[value]]
                    frames.append(pd.DataFrame({"group": f"{g}:{value}", "row": rows}))
    long = pd.concat(frames, ignore_index=True)
    reset_peak()
    start = time.perf_counter()
    scores = long.groupby("group")["row"].apply(lambda rows: float(IsoScore(points[rows.to_numpy()])))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "groups": len(scores), "total_groups": len(measured),
            "extrapolated": seconds / len(scores) * len(measured), "peak_mib": peak_mib(),
            "sizes": sorted(int(n) for n in long.groupby("group").size())}


def _reset_pair_metrics(wh) -> None:
    wh.con.execute("UPDATE runs SET status = 'superseded' WHERE kind = 'pair_metrics' AND status = 'done'")
    wh.con.execute("DELETE FROM parts WHERE table_name IN ('pair_metrics', 'pair_metric_stats')")
    wh.refresh_views()


def part_pairs(path: str, budget: str) -> dict:
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.pair_metrics import compute_pair_metrics

    with _open(path) as wh:
        _reset_pair_metrics(wh)
        reset_peak()
        start = time.perf_counter()
        summary = compute_pair_metrics(wh, memory_budget=parse_memory_budget(budget))
        return {"seconds": time.perf_counter() - start, "peak_mib": peak_mib(),
                "pairs": sum(g["pairs"] for g in summary.groups)}


def part_pair_loop(path: str, subset: int) -> dict:
    with _open(path) as wh:
        pairs = wh.query(f"SELECT accession_a, accession_b FROM alignments LIMIT {int(subset)}").to_pylist()
        total = wh.con.execute("SELECT count(*) FROM alignments").fetchall()[0][0]
        wanted = sorted({p["accession_a"] for p in pairs} | {p["accession_b"] for p in pairs})
        table = wh.query("SELECT accession, embedding FROM embeddings WHERE model = $m AND accession IN "
                         "(SELECT unnest($a::VARCHAR[]))", {"m": MODEL, "a": wanted})
    vectors = {a: np.asarray(v, dtype=np.float64) for a, v in
               zip(table.column("accession").to_pylist(), table.column("embedding").to_pylist())}
    reset_peak()
    start = time.perf_counter()
    for p in pairs:
        x, y = vectors[p["accession_a"]], vectors[p["accession_b"]]
        _cos = float(x @ y) / (np.linalg.norm(x) * np.linalg.norm(y))
        _sq = float(((x - y) ** 2).sum())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "pairs": len(pairs), "extrapolated": seconds / len(pairs) * total, "total": total,
            "peak_mib": peak_mib()}


def part_gpu(path: str, cpu_seconds: str) -> dict:
    """The whole-set statistics with torch on a CUDA device: the same Arrow batches, [x 1 1/|x|] in
    float64 on the device, one X^T X per batch; IsoScore from the result (checked against the CPU job)."""
    try:
        import torch
    except ImportError:
        return {"available": False, "reason": "skipped: torch is not installed"}
    if not torch.cuda.is_available():
        return {"available": False, "reason": "skipped: no CUDA device"}
    from protiso.metrics.stats import SufficientStats
    from protiso.warehouse.vectors import stack_vectors

    with _open(path) as wh:
        cursor = wh.con.cursor()
        reset_peak()
        start = time.perf_counter()
        total = None
        n = 0
        for batch in cursor.sql(wh.sql_text("isotropy_vectors"), params={
                "model": MODEL, "layer": LAYER, "embedding_set": "raw", "pooling": POOLING,
                "control": "none"}).to_arrow_reader(8192):
            points, _ = stack_vectors(batch.column("vector"), "gpu")
            x = torch.from_numpy(points).to("cuda", non_blocking=True).double()
            ext = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device="cuda"),
                             (1.0 / x.norm(dim=1, keepdim=True))], dim=1)
            part = ext.T @ ext
            total = part if total is None else total + part
            n += len(x)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        cursor.close()
    m = total.cpu().numpy()
    d = m.shape[0] - 2
    iso = SufficientStats(d, n, m[:d, d], m[:d, :d]).isoscore()
    return {"available": True, "seconds": seconds, "device": torch.cuda.get_device_name(), "isoscore": iso,
            "ratio": float(cpu_seconds) / seconds, "peak_mib": peak_mib()}


# -- 4. the job against np.load + the IsoScore package (--vs-npy) --------------------------------------


def build_npy_pair(root: Path, n: int, dim: int = DIM) -> tuple[Path, Path]:
    """A warehouse of n synthetic vectors in 50,000-row parts, and the same matrix as vectors.npy."""
    import pyarrow as pa

    from protiso.warehouse import Warehouse

    path, npy, marker = root / f"npy{n}", root / f"vectors{n}.npy", root / f"built-npy-{n}-v11.json"
    if marker.exists():
        return path, npy
    shutil.rmtree(path, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    rng, mix, offset = _mix(dim)
    matrix = np.lib.format.open_memmap(npy, mode="w+", dtype=np.float32, shape=(n, dim))
    with Warehouse.create(path) as wh, wh.run("embed", {"bench": "vs npy"}, model=MODEL, layer=LAYER) as run:
        for start in range(0, n, 50_000):
            rows = min(50_000, n - start)
            block = rng.standard_normal((rows, dim), dtype=np.float32) @ mix + offset
            matrix[start:start + rows] = block
            with run.commit() as tx:
                tx.write_part("embeddings", pa.table({
                    "accession": [f"S{i:08d}" for i in range(start, start + rows)], "model": [MODEL] * rows,
                    "layer": [LAYER] * rows, "pooling": [POOLING] * rows, "embedding_set": ["raw"] * rows,
                    "embedding": pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * dim),
                                                          pa.array(block.reshape(-1)))}), partition={"model": MODEL})
    matrix.flush()
    marker.write_text(json.dumps({"rows": n}))
    return path, npy


def old_layout_copy(path: Path) -> Path:
    """A copy of the warehouse at ``path`` whose parts hold the embedding column as a4b2ece (protiso 0.3) wrote
    it: ``list<float>``, zstd. Its state says the parts are done, so opening it leaves them as they are."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = path.with_name(path.name + "-a4b2ece")
    if copy.exists():
        return copy
    shutil.copytree(path, copy.with_name(copy.name + ".tmp"))
    con = duckdb.connect(str(copy.with_name(copy.name + ".tmp") / "protiso.duckdb"), read_only=True)
    parts = [row[0] for row in con.execute("SELECT path FROM parts WHERE table_name = 'embeddings'").fetchall()]
    con.close()
    for relative in parts:
        file = copy.with_name(copy.name + ".tmp") / relative
        data = pq.read_table(file)
        column = data.column("embedding").cast(pa.list_(pa.float32()))
        data = data.set_column(data.schema.get_field_index("embedding"), pa.field("embedding", column.type), column)
        pq.write_table(data, file, compression="zstd", row_group_size=64 * 1024,
                       use_dictionary=[f.name for f in data.schema if f.name != "embedding"])
    copy.with_name(copy.name + ".tmp").rename(copy)
    return copy


def _cold(command: list[str]) -> tuple[float, str]:
    """Wall time of a fresh process running ``command`` (start-up included) and its stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def part_scan_direct(path: str, into: str = "windows") -> dict:
    """The job's scan now: the catalogued parts read by ``protiso.warehouse.matrix`` in the windows the
    isotropy job folds in (``into`` windows), or into one new float32 matrix (``into`` matrix: what
    ``wh.vectors`` returns, with the fresh matrix's page faults)."""
    from protiso.jobs.isotropy_read import WINDOW_BYTES
    from protiso.warehouse import matrix

    with _open(path) as wh:
        start, cpu = time.perf_counter(), time.process_time()
        plan = matrix.plan(wh, "embeddings", "embedding", {"model": MODEL, "layer": LAYER, "embedding_set": "raw",
                                                           "pooling": POOLING}, "bench")
        if into == "matrix":
            rows = len(matrix.read(plan))
        else:
            rows = sum(len(block) for _, block in matrix.windows(plan, max(1, WINDOW_BYTES // (4 * plan.dim))))
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": rows,
                "bytes": rows * plan.dim * 4}


def part_scan_lists(path: str) -> dict:
    """The job's scan before: DuckDB's Arrow batches of the embedding column flattened by stack_vectors."""
    from protiso.warehouse.vectors import stack_vectors

    with _open(path) as wh:
        start, cpu = time.perf_counter(), time.process_time()
        cursor = wh.con.cursor()
        rows = size = 0
        for batch in cursor.sql(wh.sql_text("isotropy_vectors"), params={
                "model": MODEL, "layer": LAYER, "embedding_set": "raw", "pooling": POOLING, "control": "none"}
                ).to_arrow_reader(8192):
            points, _ = stack_vectors(batch.column("vector"), "bench")
            rows, size = rows + len(points), size + points.nbytes
        cursor.close()
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": rows, "bytes": size}


def vs_npy(root: Path, n: int, repeat: int, say) -> None:
    path, npy = build_npy_pair(root, n)
    for file in [npy, *path.rglob("part-*.parquet")]:
        with open(file, "rb") as handle:                 # both contenders read from the page cache
            while handle.read(1 << 24):
                pass
    job_cmd = [sys.executable, "-m", "protiso", "isotropy", "-w", str(path), "--scope", "global", "--no-progress"]
    package_cmd = [sys.executable, "-c", "import sys, numpy as np; from IsoScore.IsoScore import IsoScore; "
                   f"print(repr(float(IsoScore(np.load({str(npy)!r})))))"]
    jobs, packages = [], []
    for _ in range(repeat):
        jobs.append(_cold(job_cmd))
        packages.append(_cold(package_cmd))
    job, package = min(jobs), min(packages)
    job_iso = float(re.search(r"IsoScore=(\S+)", job[1]).group(1))
    with _open(str(path)) as wh:
        stored = wh.con.execute("SELECT isoscore FROM isotropy WHERE group_by = 'all' AND scope = 'global' "
                                "ORDER BY computed_at DESC LIMIT 1").fetchall()[0][0]
    row = "{:<62} {:>8}  {}"
    say(f"4. whole-set isotropy of {n:,} x {DIM} float32, cold processes, page cache warm, best of {repeat}")
    say(row.format("protiso isotropy -w W --scope global (process)", f"{job[0]:.1f}",
                   f"IsoScore {stored:.10f} (printed {job_iso})"))
    say(row.format("np.load(.npy) + IsoScore package (process)", f"{package[0]:.1f}",
                   f"IsoScore {float(package[1].strip()):.10f} (the package rounds in float32)"))
    rounds = ", ".join(f"{j[0] / p[0]:.2f}" for j, p in zip(jobs, packages))
    say(f"   job / (np.load + package) = {job[0] / package[0]:.2f} (target <= 1; each round: {rounds})")
    old = old_layout_copy(path)
    for file in old.rglob("part-*.parquet"):
        with open(file, "rb") as handle:
            while handle.read(1 << 24):
                pass
    contenders = {"lists": ("scan_lists", str(path)), "base": ("scan_direct", str(old)),
                  "direct": ("scan_direct", str(path)), "matrix": ("scan_direct", str(path), "matrix")}
    rounds: dict[str, list[dict]] = {name: [] for name in contenders}
    for _ in range(max(repeat, 5)):                      # interleaved, so a noisy spell hits every contender
        for name, args in contenders.items():
            rounds[name].append(run_part(*args))
    best = {name: min(runs, key=lambda r: r["seconds"]) for name, runs in rounds.items()}
    median = {name: float(np.median([r["seconds"] for r in runs])) for name, runs in rounds.items()}

    def line(name: str, label: str, extra: str = "") -> None:
        b = best[name]
        say(row.format(label, f"{b['seconds']:.2f}", f"{b['bytes'] / 1e6 / b['seconds']:,.0f} MB/s best, "
                       f"{b['bytes'] / 1e6 / median[name]:,.0f} MB/s median; CPU {b['cpu']:.2f} s{extra}"))

    say(f"   scan of the embedding column alone, {len(rounds['lists'])} interleaved rounds, cold processes:")
    line("lists", "scan before 0.3 (the issue's today): DuckDB -> Arrow -> lists")
    line("base", "scan at a4b2ece: direct reader, list<float> zstd parts")
    line("direct", "scan now, as the job folds it: windows of fixed-size parts",
         f"\n{'':<72}= {best['base']['seconds'] / best['direct']['seconds']:.1f}x / "
         f"{median['base'] / median['direct']:.1f}x a4b2ece's (best / median; target >= 3x), "
         f"{best['lists']['seconds'] / best['direct']['seconds']:.1f}x / {median['lists'] / median['direct']:.1f}x "
         "DuckDB's")
    line("matrix", "the same parts into one new matrix (wh.vectors' read)",
         f"; {median['base'] / median['matrix']:.1f}x a4b2ece's (median)")


PARTS = {"scan": part_scan, "scan_direct": part_scan_direct, "scan_lists": part_scan_lists, "blas": lambda r, d: part_blas(int(r), int(d)), "whole": part_whole,
         "package": lambda p, n: part_package(p, int(n)), "groups": part_groups,
         "pandas": lambda p, r, s: part_pandas(p, r, int(s)), "pairs": part_pairs,
         "pair_loop": lambda p, n: part_pair_loop(p, int(n)), "gpu": part_gpu}


def run_part(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--part", *args], capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"part {args[0]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    """Where and under what load the numbers were measured."""
    import os
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    memory = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")) / 2**20
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB RAM, load average {load} at the start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/protiso_scale"), help="where the warehouse lives")
    parser.add_argument("--clean", action="store_true", help="remove the warehouse afterwards")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20,000 vectors of width 128")
    parser.add_argument("--memory-budget", default="4GiB", help="the jobs' --memory-budget")
    parser.add_argument("--out", type=Path, help="also write the table here (default bench/out/scale_analytics"
                                                  "[_quick].txt)")
    parser.add_argument("--vs-npy", type=int, metavar="N", help="instead: the job against np.load + the IsoScore "
                        "package on N vectors, and the scan before / now")
    parser.add_argument("--repeat", type=int, default=2, help="--vs-npy: rounds (the best of each counts)")
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, *rest = args.part
        print(json.dumps(PARTS[name](*rest)))
        return
    dim, limit = (128, 20_000) if args.quick else (DIM, None)
    out_path = args.out or REPO / "bench" / "out" / ("scale_analytics_vs_npy.txt" if args.vs_npy else
                                                     f"scale_analytics{'_quick' if args.quick else ''}.txt")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)
        out_path.write_text("\n".join(lines) + "\n")

    say(f"machine: {machine()}")
    if args.vs_npy:
        vs_npy(args.dir, args.vs_npy, args.repeat, say)
        if args.clean:
            shutil.rmtree(args.dir)
        return
    started = time.perf_counter()
    path = build(args.dir, dim, limit)
    sample_rows = min(200_000, limit or 200_000)
    sample = build_sample(args.dir, path, sample_rows)
    say(f"warehouse {path} and {sample} (built or reused in {time.perf_counter() - started:.0f} s)")
    budget = args.memory_budget
    row = "{:<62} {:>8} {:>9}  {}"
    scan = run_part("scan", str(path))
    say(f"\nSwiss-Prot-scale analytics, {scan['rows']:,} vectors x {dim} float32, --memory-budget {budget}\n")
    say(row.format("step", "seconds", "peak MiB", "comparison (target)"))
    say(row.format("floor: scan of the embedding column", f"{scan['seconds']:.1f}", f"{scan['peak_mib']:.0f}", ""))
    blas = run_part("blas", str(scan["rows"]), str(dim))
    floor = scan["seconds"] + blas["seconds"]
    say(row.format(f"floor: float64 X.T @ X, {scan['rows']:,} x {dim} (numpy BLAS)", f"{blas['seconds']:.1f}",
                   f"{blas['peak_mib']:.0f}", f"floor = {floor:.1f} s"))
    whole = run_part("whole", str(path), budget)
    say(row.format("1. isotropy job, whole set (IsoScore, *, dims, spectrum, cos)", f"{whole['seconds']:.1f}",
                   f"{whole['peak_mib']:.0f}", f"{whole['seconds'] / floor:.2f}x floor (<= 1.3x); "
                   f"peak < 2048 MiB: {whole['peak_mib'] < 2048}"))
    small = run_part("whole", str(sample), budget)
    package = run_part("package", str(sample), str(sample_rows))
    say(row.format(f"   isotropy job, the first {small['n']:,} vectors only", f"{small['seconds']:.1f}",
                   f"{small['peak_mib']:.0f}", ""))
    say(row.format(f"   IsoScore package, the same {package['n']:,} x {dim} in memory", f"{package['seconds']:.1f}",
                   f"{package['peak_mib']:.0f}", f"job / package = {small['seconds'] / package['seconds']:.2f} (<= 1)"))
    groups = run_part("groups", str(path), budget)
    n_groups = groups["go_term"] + groups["organism"]
    say(row.format(f"2. isotropy job, {groups['go_term']:,} GO terms + {groups['organism']:,} organisms",
                   f"{groups['seconds']:.1f}", f"{groups['peak_mib']:.0f}",
                   f"{n_groups / groups['seconds']:.0f} groups/s; < 180 s: {groups['seconds'] < 180}; "
                   f"< 6144 MiB: {groups['peak_mib'] < 6144}"))
    pandas = run_part("pandas", str(path), groups["run_id"], "30")
    say(row.format(f"   pandas groupby + IsoScore package, {pandas['groups']} groups", f"{pandas['seconds']:.1f}",
                   f"{pandas['peak_mib']:.0f}", f"extrapolated to {pandas['total_groups']:,} groups: "
                   f"{pandas['extrapolated']:.0f} s = {pandas['extrapolated'] / groups['seconds']:.0f}x the job (>= 10x)"))
    pairs = run_part("pairs", str(path), budget)
    say(row.format(f"3. pair metrics, {pairs['pairs']:,} pairs", f"{pairs['seconds']:.1f}",
                   f"{pairs['peak_mib']:.0f}", f"< 30 s: {pairs['seconds'] < 30}"))
    loop = run_part("pair_loop", str(path), "100000")
    say(row.format(f"   per-pair numpy loop, {loop['pairs']:,} pairs", f"{loop['seconds']:.1f}",
                   f"{loop['peak_mib']:.0f}", f"extrapolated to {loop['total']:,}: {loop['extrapolated']:.0f} s = "
                   f"{loop['extrapolated'] / pairs['seconds']:.0f}x the job"))
    gpu = run_part("gpu", str(path), str(whole["seconds"]))
    say(f"\nIsoScore of the first {package['n']:,}: job {small['isoscore']:.10f}, package {package['isoscore']:.10f} "
        f"(the package rounds in float32); pandas sample sizes {pandas['sizes']}")
    say("GPU: " + (f"{gpu['device']}: whole-set statistics {gpu['seconds']:.2f} s, CPU job / GPU = {gpu['ratio']:.1f}x, "
                   f"IsoScore {gpu['isoscore']:.10f} (CPU {whole['isoscore']:.10f})" if gpu["available"]
                   else gpu["reason"]))
    say(f"total {time.perf_counter() - started:.0f} s")
    if args.clean:
        shutil.rmtree(args.dir)
        print(f"removed {args.dir}")


if __name__ == "__main__":
    main()
