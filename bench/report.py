"""Time `protiso report` on a paper-scale warehouse: ~3,580 proteins, ~6.4 M aligned pairs.

    .venv/bin/python bench/report.py                      # build a synthetic-but-realistic warehouse, time it
    .venv/bin/python bench/report.py --warehouse W        # time the report of an existing warehouse (built if absent)

The built warehouse holds real Swiss-Prot 2014 accessions and sequences (a seeded sample), 1024-d
per-protein vectors with a realistic anisotropic spectrum and family structure (a few directions hold
most of the variance, as the study found for ProtBERT), isotropy rows from ``protiso.isotropy`` and
one alignment row per pair whose identity and score depend on family membership and lengths like
real PAM250 global alignments (high for relatives, 0.1-0.25 identity otherwise); an all-but-the-top
set beside the raw one; isotropy per length bin; and pair metrics from ``protiso.align`` for both sets
(12.8 M pair-metric rows). Target: the report
renders in under 60 s. With Chromium installed, the file is also opened headless and its console
checked.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import read_fasta
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
MODEL = "synthetic-1024"
DIM = 1024
FAMILIES = 400


def sample_proteins(count: int, seed: int) -> list[tuple[str, str]]:
    """A seeded sample of ``count`` proteins among the first 40,000 Swiss-Prot 2014 records."""
    records = read_fasta(FASTA, 40_000)
    rng = np.random.default_rng(seed)
    return [records[i] for i in sorted(rng.choice(len(records), size=count, replace=False))]


def vectors(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Family labels and anisotropic vectors: family centre + noise, variance decaying as k^-2."""
    family = rng.integers(0, FAMILIES, count)
    scale = 1.0 / np.arange(1, DIM + 1) ** 1.0
    basis = np.linalg.qr(rng.standard_normal((DIM, DIM)))[0]
    centres = (rng.standard_normal((FAMILIES, DIM)) * scale * 3.0) @ basis.T
    noise = (rng.standard_normal((count, DIM)) * scale) @ basis.T
    offset = rng.standard_normal(DIM) * 2.0
    return family, (offset + centres[family] + noise).astype(np.float32)


def build(path: Path, proteins: int, seed: int) -> None:
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.jobs.pair_metrics import compute_pair_metrics
    from protiso.jobs.postprocess import postprocess_embeddings
    from protiso.warehouse import Warehouse

    rng = np.random.default_rng(seed)
    sample = sample_proteins(proteins, seed)
    family, points = vectors(len(sample), rng)
    accessions = [a for a, _ in sample]
    with Warehouse.create(path) as wh:
        with wh.run("ingest", {"source": FASTA.name, "sample": proteins, "seed": seed}) as run, run.commit() as tx:
            tx.write_part("proteins", pa.table({"accession": accessions, "sequence": [s for _, s in sample],
                                                "length": [len(s) for _, s in sample]}))
        with wh.run("embed", {"synthetic": True, "seed": seed}, model=MODEL, layer=12,
                    pooling="mean") as run, run.commit() as tx:
            tx.write_part("embeddings", pa.table({
                "accession": accessions, "model": [MODEL] * len(sample), "layer": [12] * len(sample),
                "pooling": ["mean"] * len(sample), "embedding_set": ["raw"] * len(sample),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(points.ravel()), DIM)
                .cast(pa.list_(pa.float32()))}), partition={"model": MODEL, "layer": 12})
        postprocess_embeddings(wh, "abtt")
        compute_isotropy(wh, by=("length_bin",))
        with wh.run("align", {"synthetic": True, "matrix": "PAM250", "mode": "global", "seed": seed}) as run:
            _synthetic_alignments(wh, run, accessions, family, sample, seed)
        compute_pair_metrics(wh)  # cosine and squared distance of every pair, as `protiso align` does


def _synthetic_alignments(wh, run, accessions, family, sample, seed) -> None:
    """Pairs of the sample with alignment metrics drawn around a family structure, committed in one go."""
    cursor = wh.con.cursor()  # streams the pairs while the main connection writes the parts
    cursor.execute("CREATE TEMP TABLE bench_proteins AS SELECT * FROM (SELECT unnest($a) AS accession, "
                   "unnest($f) AS family, unnest($l) AS length)",
                   {"a": accessions, "f": family.tolist(), "l": [len(s) for _, s in sample]})
    relation = cursor.sql("""
        WITH drawn AS (
            SELECT a.accession AS accession_a, b.accession AS accession_b, a.length AS la, b.length AS lb,
                   CASE WHEN a.family = b.family THEN 0.30 + 0.6 * random()
                        ELSE 0.07 + 0.18 * random() * random() END AS identity,
                   0.12 + 0.05 * random() AS extra_similar,
                   1.05 + 0.2 * random() AS stretch,
                   10 * random() AS gap_noise,
                   30 * (random() - 0.5) AS score_noise
            FROM bench_proteins a JOIN bench_proteins b ON a.accession < b.accession
        ), shaped AS (
            SELECT *, (greatest(la, lb) * stretch)::INTEGER AS alignment_length,
                   (abs(la - lb) / 8 + gap_noise)::INTEGER AS gaps
            FROM drawn
        )
        SELECT accession_a, accession_b, identity, identity + extra_similar AS similarity,
               alignment_length, gaps, score, score / (5.5 * (la + lb) / 2) AS normalized_score
        FROM (
            SELECT *, identity * 5.5 * alignment_length - 2.0 * (alignment_length - least(la, lb))
                      - 12.0 * gaps + score_noise AS score
            FROM shaped
        )""")
    with run.commit() as tx:
        for batch in relation.to_arrow_reader(1_000_000):
            table = pa.Table.from_batches([batch])
            tx.write_part("alignments", table.append_column("run_id", pa.array([run.id] * table.num_rows)))
        tx.execute("INSERT INTO alignment_runs VALUES (?, 'PAM250', 'global', -10, -1, 'synthetic', ?, ?, ?, "
                   "NULL, now())", [run.id, len(sample), len(sample) * (len(sample) - 1) // 2, seed])


def chromium_check(report: Path) -> str:
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    if browser is None:
        return "chromium not installed: browser check skipped"
    with tempfile.TemporaryDirectory() as profile:
        started = time.perf_counter()
        result = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                                 "--disable-background-networking", f"--user-data-dir={profile}",
                                 "--enable-logging=stderr", "--v=0", "--dump-dom", report.as_uri()],
                                capture_output=True, text=True, timeout=300, check=False)
    messages = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return (f"chromium: exit {result.returncode}, {result.stdout.count('<svg')} SVG figures, "
            f"{len(messages)} console messages, {time.perf_counter() - started:.1f} s")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from protiso.report import render_report
    from protiso.warehouse import Warehouse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="existing warehouse, or where to build one")
    parser.add_argument("--proteins", type=int, default=3580, help="proteins to sample (pairs = n (n - 1) / 2)")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    scratch = None
    path = args.warehouse
    if path is None:
        scratch = tempfile.TemporaryDirectory(prefix="protiso-bench-report-")
        path = Path(scratch.name) / "wh"
    if not (path / "protiso.duckdb").exists():
        started = time.perf_counter()
        # Build in a child process so that the peak memory measured below is the report's own.
        child = multiprocessing.get_context("fork").Process(target=build, args=(path, args.proteins, args.seed))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"building the warehouse failed (exit {child.exitcode})")
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    out = path.parent / "bench-report.html"
    with Warehouse.open(path) as wh:
        pairs = wh.con.execute("SELECT count(*) FROM alignments").fetchall()[0][0]
        before = resource.getrusage(resource.RUSAGE_SELF)
        summary = render_report(wh, out)
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak = after.ru_maxrss * 1024
    print(f"pairs: {pairs:,}")
    print(f"report: {summary.seconds:.1f} s for {pairs:,} pairs (target < 60 s, ratio {summary.seconds / 60:.2f}); "
          f"{summary.bytes / 1e6:.2f} MB HTML; peak RSS of the process {peak / 1e9:.2f} GB")
    print(f"CPU time {cpu:.1f} s over {os.cpu_count()} cores (wall time grows when other work shares them; "
          f"load average now {os.getloadavg()[0]:.1f})")
    print("sections: " + ", ".join(f"{k}={'ok' if v else 'incomplete'}" for k, v in summary.sections.items()))
    for line in summary.missing:
        print(f"  missing {line}")
    print(chromium_check(out))
    if scratch is not None:
        scratch.cleanup()


if __name__ == "__main__":
    main()
