"""Benchmark: full Swiss-Prot 2014 ingest (FASTA + annotations TSV + GO terms + GO graph).

Runs ``protiso ingest`` in a fresh warehouse as a child process (so its peak RSS, DuckDB's threads
included, is measured alone), then reruns it (idempotent: adds nothing). Side by side it times the
floor every ingest pays: decompressing the same files and iterating their lines in Python.
Prints wall and CPU seconds, records/s, peak RSS and the ratio ingest / floor.

    python bench/ingest.py [--keep DIR] [--threads N]

Targets (issue 2): under 5 minutes and under 4 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "swissprot-2014"
FILES = ["swissprot_2014.fasta.gz", "swissprot_2014_annotations.tsv.gz", "go_2014_terms.tsv.gz",
         "go_2014_graph.tsv.gz"]


def _child_usage() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def run_ingest(warehouse: Path, env: dict[str, str]) -> tuple[float, float, int, str]:
    """(wall s, CPU s, peak RSS bytes of the largest child so far, stdout) of one ``protiso ingest``."""
    command = [sys.executable, "-m", "protiso", "ingest", *[str(DATA / f) for f in FILES],
               "-w", str(warehouse), "--no-progress"]
    cpu_before, _ = _child_usage()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    cpu_after, rss = _child_usage()
    if done.returncode != 0:
        sys.exit(f"ingest failed ({done.returncode}): {done.stderr.strip()}")
    return wall, cpu_after - cpu_before, rss, done.stdout


def recorded_records(warehouse: Path) -> int:
    """Input records of the first ingest, from its ``runs`` row."""
    import duckdb

    with duckdb.connect(str(warehouse / "protiso.duckdb"), read_only=True) as con:
        params = con.execute("SELECT params FROM runs WHERE kind = 'ingest' ORDER BY started_at LIMIT 1")
        params = params.fetchall()[0][0]
    return sum(item["records"] for item in json.loads(params)["summary"])


def floor() -> tuple[float, int]:
    """Seconds to gunzip and iterate every line of the inputs in Python, and the number of lines."""
    start = time.perf_counter()
    lines = 0
    for name in FILES:
        with gzip.open(DATA / name, "rt") as handle:
            for _ in handle:
                lines += 1
    return time.perf_counter() - start, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="build the warehouse here and keep it")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads allowed (default 2, as in the target)")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    tmp = Path(tempfile.mkdtemp(prefix="protiso-bench-"))
    warehouse = args.keep or tmp / "w"
    if warehouse.exists():
        sys.exit(f"{warehouse} exists; give a new directory")
    try:
        cores = f"{len(os.sched_getaffinity(0))} cores available" if hasattr(os, "sched_getaffinity") else ""
        print(f"inputs: {', '.join(FILES)}  ({cores}, load average {os.getloadavg()[0]:.1f})")
        wall, cpu, rss, out = run_ingest(warehouse, env)
        records = recorded_records(warehouse)
        print(out.rstrip())
        print(f"first ingest : {wall:7.1f} s wall, {cpu:7.1f} s CPU, {records / wall:10,.0f} records/s, "
              f"peak RSS {rss / 2**30:.2f} GiB")
        wall2, cpu2, rss2, _ = run_ingest(warehouse, env)
        print(f"rerun (no-op): {wall2:7.1f} s wall, {cpu2:7.1f} s CPU, {records / wall2:10,.0f} records/s, "
              f"peak RSS {rss2 / 2**30:.2f} GiB (max over both runs)")
        floor_s, lines = floor()
        print(f"floor        : {floor_s:7.1f} s to gunzip + iterate {lines:,} lines in Python")
        print(f"ratio ingest / floor: {wall / floor_s:.2f}x   target: < 300 s and < 4 GiB -> "
              f"{'OK' if wall < 300 and rss < 4 * 2**30 else 'MISSED'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
