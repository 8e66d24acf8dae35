"""Isotropy benchmarks, measured side by side in one run (each contender in its own subprocess).

1. IsoScore of 200,000 x 1024 float32 vectors: protiso's SQL function over Parquet
   (`SELECT isoscore(list(embedding)) FROM read_parquet(...)`: scan + list() + UDF) vs the reference
   package `IsoScore==2.0.1` on the same vectors in memory (and protiso's numpy function on them).
   Time and peak memory of each: peak RSS during the computation (the kernel's high-water mark, reset
   after loading) and RSS before it.
2. Mean pairwise cosine of 20,000 x 1024: exact O(N n) vs brute force N^2 (row blocks of unit @ unit.T).
3. Local isotropy over >= 20 million residue vectors streamed into float64 sufficient statistics;
   RSS printed at 2M, 10M and 20M must stay flat. The merged statistics then go through the pure-SQL
   macros (as the DuckDB CLI would recompute them) and must agree with Python.

Run: .venv/bin/python bench/isotropy.py [--quick]. Data is written to bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import peak_mib, reset_peak, status_mib

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parents[1]


def make_vectors(path: Path, n: int, dim: int, seed: int = 0) -> None:
    """Anisotropic float32 vectors (a random mix with decaying scales plus an offset) as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    mix = (rng.standard_normal((dim, dim)) / np.sqrt(dim) * np.geomspace(3.0, 0.05, dim)).astype(np.float32)
    offset = rng.standard_normal(dim).astype(np.float32)
    schema = pa.schema([("embedding", pa.list_(pa.float32()))])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 20_000):
            rows = min(20_000, n - start)
            block = rng.standard_normal((rows, dim), dtype=np.float32) @ mix + offset
            offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * dim)
            column = pa.ListArray.from_arrays(offsets, pa.array(block.reshape(-1)))
            writer.write_table(pa.table({"embedding": column}, schema=schema))


def load_vectors(path: Path) -> np.ndarray:
    import pyarrow.parquet as pq

    column = pq.read_table(path).column("embedding").combine_chunks()
    dim = len(column[0])
    return column.values.to_numpy().reshape(-1, dim)


# -- parts, each run in its own process ------------------------------------------------------------


def part_sql(path: Path) -> dict:
    import duckdb

    from protiso.warehouse import udfs

    con = duckdb.connect()
    udfs.register(con)
    before = status_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    value = con.execute(f"SELECT isoscore(list(embedding)) FROM read_parquet('{path}')").fetchone()[0]
    return {"seconds": time.perf_counter() - start, "value": value, "rss_before_mib": before,
            "peak_mib": peak_mib()}


def part_reference(path: Path) -> dict:
    import torch
    from IsoScore.IsoScore import IsoScore

    points = load_vectors(path)
    torch.set_num_threads(torch.get_num_threads())
    before = status_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    value = float(IsoScore(points))
    return {"seconds": time.perf_counter() - start, "value": value, "rss_before_mib": before,
            "peak_mib": peak_mib()}


def part_numpy(path: Path) -> dict:
    from protiso.metrics import isoscore

    points = load_vectors(path)
    before = status_mib("VmRSS")
    reset_peak()
    start = time.perf_counter()
    value = isoscore(points)
    return {"seconds": time.perf_counter() - start, "value": value, "rss_before_mib": before,
            "peak_mib": peak_mib()}


def part_cosine(n: int, dim: int) -> dict:
    from protiso.metrics import mean_pairwise_cosine

    rng = np.random.default_rng(1)
    points = (rng.standard_normal((n, dim), dtype=np.float32) + rng.standard_normal(dim).astype(np.float32))
    start = time.perf_counter()
    exact = mean_pairwise_cosine(points)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    unit = points.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    total = 0.0
    for first in range(0, n, 2000):
        total += float((unit[first : first + 2000] @ unit.T).sum())
    brute = (total - float(np.einsum("ij,ij->", unit, unit))) / (n * (n - 1))
    slow = time.perf_counter() - start
    return {"fast_seconds": fast, "brute_seconds": slow, "exact": exact, "brute": brute}


def part_stream(total: int, dim: int, checkpoints: list[int]) -> dict:
    import duckdb

    from protiso.metrics.stats import SufficientStats
    from protiso.warehouse import resources

    rng = np.random.default_rng(2)
    batch = 8192
    mix = (rng.standard_normal((dim, dim)) / np.sqrt(dim) * np.geomspace(2.0, 0.1, dim)).astype(np.float32)
    pool = [rng.standard_normal((batch, dim), dtype=np.float32) @ mix for _ in range(16)]
    stats = SufficientStats(dim)
    marks, seen, start, step = [], 0, time.perf_counter(), 0
    while seen < total:
        rows = min(batch, total - seen)
        shift = rng.standard_normal(dim).astype(np.float32) * 0.1  # each batch differs: a new "protein set"
        stats.add(pool[step % len(pool)][:rows] + shift)
        seen += rows
        step += 1
        while checkpoints and seen >= checkpoints[0]:
            marks.append({"residues": checkpoints.pop(0), "rss_mib": status_mib("VmRSS"),
                          "seconds": time.perf_counter() - start})
    con = duckdb.connect()
    con.execute("CREATE TABLE residue_stats (run_id VARCHAR, model VARCHAR, layer INTEGER, n BIGINT, dim INTEGER, "
                "sum_x DOUBLE[], sum_xxt DOUBLE[], control VARCHAR DEFAULT 'none')")
    con.execute(resources.sql_text("macros", "isotropy_stats.sql"))
    halves = [SufficientStats(dim, stats.n // 2, stats.sum_x / 2, stats.sum_xxt / 2)] * 2  # two runs' rows
    for i, half in enumerate(halves):
        n, d, sum_x, sum_xxt = half.to_flat()
        con.execute("INSERT INTO residue_stats (run_id, model, layer, n, dim, sum_x, sum_xxt) "
                    "VALUES (?, 'bench', 0, ?, ?, ?, ?)", [f"r{i}", n, d, sum_x, sum_xxt])
    sql_start = time.perf_counter()
    sql_value = con.execute("SELECT stats_isoscore(n, dim, sum_x, sum_xxt) FROM residue_stats_merged()").fetchone()[0]
    return {"marks": marks, "isoscore": stats.isoscore(), "sql_isoscore": sql_value,
            "sql_seconds": time.perf_counter() - sql_start, "peak_mib": peak_mib()}


# -- driver ----------------------------------------------------------------------------------------


def run_part(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--part", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"part {args[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, *rest = args.part
        parts = {"sql": lambda: part_sql(Path(rest[0])), "reference": lambda: part_reference(Path(rest[0])),
                 "numpy": lambda: part_numpy(Path(rest[0])),
                 "cosine": lambda: part_cosine(int(rest[0]), int(rest[1])),
                 "stream": lambda: part_stream(int(rest[0]), int(rest[1]), [int(x) for x in rest[2:]])}
        print(json.dumps(parts[name]()))
        return
    n, dim, cos_n, residues, residue_dim = (20_000, 256, 4000, 2_000_000, 128) if args.quick else \
        (200_000, 1024, 20_000, 20_000_000, 512)
    OUT.mkdir(exist_ok=True)
    path = OUT / f"isotropy_{n}x{dim}.parquet"
    if not path.exists():
        make_vectors(path, n, dim)
    print(f"1. IsoScore of {n:,} x {dim} float32 vectors")
    results = {name: run_part(name, str(path)) for name in ("sql", "reference", "numpy")}
    labels = {"sql": "protiso SQL isoscore(list(embedding)) from Parquet", "reference": "reference IsoScore==2.0.1",
              "numpy": "protiso.metrics.isoscore (in memory)"}
    for name, r in results.items():
        print(f"   {labels[name]:<52} {r['seconds']:7.1f} s  peak {r['peak_mib']:7.0f} MiB "
              f"(RSS before {r['rss_before_mib']:6.0f} MiB)  IsoScore {r['value']:.10f}")
    ref, sql = results["reference"], results["sql"]
    print(f"   time SQL / reference = {sql['seconds'] / ref['seconds']:.2f}; peak SQL / reference = "
          f"{sql['peak_mib'] / ref['peak_mib']:.2f}; |SQL - reference| / reference = "
          f"{abs(sql['value'] - ref['value']) / ref['value']:.1e} (reference runs in float32)")
    cos = run_part("cosine", str(cos_n), str(dim))
    print(f"2. Mean pairwise cosine of {cos_n:,} x {dim}: exact O(N n) {cos['fast_seconds']:.3f} s, brute force N^2 "
          f"{cos['brute_seconds']:.1f} s, ratio {cos['brute_seconds'] / cos['fast_seconds']:.0f}x (target >= 100x); "
          f"values {cos['exact']:.12f} vs {cos['brute']:.12f} (|diff| {abs(cos['exact'] - cos['brute']):.1e})")
    marks = [residues // 10, residues // 2, residues]
    stream = run_part("stream", str(residues), str(residue_dim), *map(str, marks))
    print(f"3. Local isotropy over {residues:,} residue vectors of dim {residue_dim}, "
          "streamed into sufficient statistics")
    for mark in stream["marks"]:
        print(f"   {mark['residues']:>12,} residues: RSS {mark['rss_mib']:7.0f} MiB  ({mark['seconds']:.0f} s)")
    print(f"   peak {stream['peak_mib']:.0f} MiB; IsoScore {stream['isoscore']:.10f} (Python) vs "
          f"{stream['sql_isoscore']:.10f} (SQL macros over 2 merged rows, {stream['sql_seconds']:.1f} s)")


if __name__ == "__main__":
    main()
