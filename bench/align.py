"""protiso's alignment engine vs Biopython, side by side on the same pairs of real Swiss-Prot 2014 proteins.

Three contenders align every pair among a seeded sample of proteins with the same scoring:

* Biopython score-only   ``PairwiseAligner(...).score(a, b)``
* Biopython with counts  ``aligner.align(a, b)[0].counts(matrix)`` and ``.length`` (what identity needs)
* protiso                the parasail engine (score + identity + similarity + length + gaps, every path
                         re-scored), one process: GCUPS per core

CPU seconds (``time.process_time``) are the yardstick, so the ratios hold on a shared machine; wall
seconds are printed too. Then ``protiso.align.align`` runs the same sample on all cores into a
temporary warehouse (recorded run, committed Parquet blocks). Targets: protiso >= 0.6 GCUPS per core
with identity, >= 10x Biopython-with-counts.

    python bench/align.py                     # 80 proteins (3,160 pairs), PAM250 global -10/-1
    python bench/align.py --mode local --matrix BLOSUM62 --open -11

``--full`` is the paper-scale run instead: ingest all of Swiss-Prot 2014, align a seeded sample of 3,580
proteins (6.4 M pairs) on ``--workers`` cores, store vectors (amino-acid + dipeptide composition, 420-d,
or leave ``--no-vectors`` and embed with protiso yourself), materialise pair metrics, then time
``SELECT * FROM correlations`` (and ``correlations_live()``, ``similarity_bins``) in the DuckDB CLI.
Rerunning it on the same warehouse reuses what is there. Long: run it with nohup and read its log.

    nohup python bench/align.py --full --warehouse /tmp/protiso-full > /tmp/protiso-full.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from _common import read_fasta

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FASTA = REPO / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def timed(function, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def side_by_side(args) -> dict:
    from protiso.align import Scoring, align
    from protiso.align.aligners import ParasailAligner, SequenceSet
    from protiso.sequences.ingest import ingest_files
    from protiso.warehouse import Warehouse

    records = read_fasta(FASTA)
    rng = np.random.default_rng(args.seed)
    chosen = sorted(rng.choice(len(records), args.proteins, replace=False))
    sample = [records[k] for k in chosen]
    scoring = Scoring(args.matrix, args.mode, args.open, args.extend)
    encoded = [scoring.encode(seq, acc) for acc, seq in sample]
    seqs = SequenceSet.from_codes([t for t, _, _ in encoded], [c for _, c, _ in encoded])
    a, b = np.triu_indices(len(sample), 1)
    texts = seqs.texts
    cells = int((seqs.lengths[a] * seqs.lengths[b]).sum())
    aligner = scoring.biopython_aligner()
    matrix = scoring.substitution

    def bio_score():
        return [aligner.score(texts[i], texts[j]) for i, j in zip(a, b)]

    def bio_counts():
        out = []
        for i, j in zip(a, b):
            alignment = aligner.align(texts[i], texts[j])[0]
            c = alignment.counts(matrix)
            out.append((alignment.score, c.identities / alignment.length))
        return out

    def protiso_engine():
        return ParasailAligner(scoring, seqs).align_pairs(a, b)

    rows = {}
    scores_only, *rows["biopython score-only"] = timed(bio_score)
    counted, *rows["biopython with counts"] = timed(bio_counts)
    stats, *rows["protiso (parasail, 1 process)"] = timed(protiso_engine)
    assert np.array_equal(stats.score, scores_only), "protiso scores differ from Biopython"
    identity = stats.identities / stats.length
    theirs = np.array([x[1] for x in counted])

    with tempfile.TemporaryDirectory() as tmp:
        fasta = Path(tmp) / "sample.fasta"
        fasta.write_text("".join(f">{acc}\n{seq}\n" for acc, seq in sample))
        with Warehouse.create(Path(tmp) / "w") as wh:
            ingest_files(wh, [fasta], progress=False)
            wall = time.perf_counter()
            summary = align(wh, proteins=len(sample), seed=0, matrix=args.matrix, mode=args.mode,
                            open_score=args.open, extend_score=args.extend, workers=args.workers,
                            progress=False)
            rows[f"protiso align() ({args.workers} workers, wall)"] = [time.perf_counter() - wall, None]
            assert summary.n_pairs == len(a)

    n = len(a)
    print(f"{len(sample)} Swiss-Prot 2014 proteins (seed {args.seed}), {n:,} pairs, {cells / n:,.0f} cells/pair; "
          f"{args.matrix} {args.mode} open {args.open} extend {args.extend}")
    print(f"{'':34s}{'wall s':>9s}{'CPU s':>9s}{'pairs/s':>11s}{'GCUPS':>8s}")
    for name, (wall, cpu) in rows.items():
        t = cpu if cpu is not None else wall
        print(f"{name:34s}{wall:9.2f}{(cpu if cpu is not None else float('nan')):9.2f}{n / t:11,.0f}{cells / t / 1e9:8.3f}")
    base_counts = rows["biopython with counts"][1]
    base_score = rows["biopython score-only"][1]
    engine_cpu = rows["protiso (parasail, 1 process)"][1]
    print(f"protiso vs Biopython with counts: {base_counts / engine_cpu:.1f}x (CPU); "
          f"vs Biopython score-only: {base_score / engine_cpu:.1f}x")
    print(f"protiso GCUPS per core with identity: {cells / engine_cpu / 1e9:.3f} (target >= 0.6)")
    same = identity == theirs
    print(f"identity equal to Biopython's first alignment: {same.mean():.1%} of pairs "
          f"(co-optimal alignments otherwise; mean |difference| where they differ "
          f"{np.abs(identity - theirs)[~same].mean() if (~same).any() else 0:.4f}); "
          f"Pearson(identity, Biopython identity) = {np.corrcoef(identity, theirs)[0, 1]:.6f}")
    return {"pairs": n, "cells": cells, "rows": rows}


def composition(sequence: str) -> np.ndarray:
    index = {c: i for i, c in enumerate(AMINO)}
    codes = [index[c] for c in sequence if c in index]
    out = np.zeros(420)
    np.add.at(out, codes, 1.0 / max(len(codes), 1))
    np.add.at(out, [20 + 20 * x + y for x, y in zip(codes, codes[1:])], 1.0 / max(len(codes) - 1, 1))
    return out.astype(np.float32)


def full(args) -> None:
    from protiso.align import align
    from protiso.jobs.pair_metrics import compute_pair_metrics
    from protiso.sequences.ingest import ingest_files
    from protiso.warehouse import Warehouse

    path = Path(args.warehouse)
    log = {}
    clock = time.perf_counter()
    wh = Warehouse.open(path, create=True)
    if wh.con.execute("SELECT count(*) FROM proteins").fetchall()[0][0] == 0:
        ingest_files(wh, [FASTA], progress=False)
        log["ingest_s"] = time.perf_counter() - clock
        print(f"ingested Swiss-Prot 2014 in {log['ingest_s']:.0f} s", flush=True)
    done = wh.con.execute("SELECT a.run_id, a.n_pairs, r.params FROM alignment_runs a JOIN runs r USING (run_id) "
                          "WHERE r.status = 'done' ORDER BY a.created_at").fetchall()
    if done:  # an earlier --full run finished its alignments: reuse them
        run_id, n_pairs, params = done[-1]
        log["align_s"] = json.loads(params).get("seconds")
        print(f"reusing alignment run {run_id} ({n_pairs:,} pairs, aligned in {log['align_s']} s)", flush=True)
    else:
        clock = time.perf_counter()
        summary = align(wh, proteins=args.proteins, seed=args.seed, matrix=args.matrix, mode=args.mode,
                        open_score=args.open, extend_score=args.extend, workers=args.workers)
        log["align_s"] = time.perf_counter() - clock
        log.update(pairs_per_s=summary.pairs_per_second, gcups=summary.gcups)
        print(summary.render(), flush=True)
        run_id, n_pairs = summary.run_id, summary.n_pairs
    if not args.no_vectors:
        accessions = sorted({r[0] for r in wh.con.execute(
            "SELECT accession_a FROM alignments WHERE run_id = ? UNION SELECT accession_b FROM alignments "
            "WHERE run_id = ?", [run_id, run_id]).fetchall()})
        have = wh.con.execute("SELECT count(*) FROM embeddings WHERE model = 'composition'").fetchall()[0][0]
        if not have:
            seqs = dict(wh.con.execute("SELECT accession, sequence FROM proteins WHERE accession IN "
                                       "(SELECT unnest(?))", [accessions]).fetchall())
            run = wh.start_run("embed", {"bench": "amino-acid + dipeptide composition"}, model="composition", layer=0)
            table = pa.table({"accession": accessions, "model": ["composition"] * len(accessions),
                              "layer": pa.array([0] * len(accessions), pa.int32()), "pooling": ["mean"] * len(accessions),
                              "embedding_set": ["raw"] * len(accessions),
                              "embedding": pa.array([composition(seqs[a]) for a in accessions], pa.list_(pa.float32())),
                              "run_id": [run] * len(accessions)})
            with wh.commit(run) as tx:
                tx.write_part("embeddings", table, partition={"model": "composition", "layer": 0})
            wh.finish_run(run)
    clock = time.perf_counter()
    groups = compute_pair_metrics(wh).groups
    log["pair_metrics_s"] = time.perf_counter() - clock
    print(f"pair metrics for {len(groups)} embedding set(s) in {log['pair_metrics_s']:.0f} s", flush=True)
    wh.close()
    cli = shutil.which("duckdb") or str(Path(sys.executable).parent / "duckdb")
    for query in ("SELECT * FROM correlations", "SELECT * FROM correlations_live()", "SELECT * FROM similarity_bins"):
        times = []
        for _ in range(5):
            wall = time.perf_counter()
            out = subprocess.run([cli, "-readonly", str(path / "protiso.duckdb"), "-c", query],
                                 capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - wall)
        if query.endswith("correlations"):
            print(out.stdout)
        log[query] = {"median_s": float(np.median(times)), "min_s": min(times)}
        print(f"{query} (DuckDB CLI): median {float(np.median(times)):.2f} s, min {min(times):.2f} s over 5 runs")
    log.update(pairs=n_pairs, workers=args.workers)
    print(json.dumps(log, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proteins", type=int, default=None, help="sample size (80; --full: 3,580)")
    parser.add_argument("--seed", type=int, default=2014)
    parser.add_argument("--matrix", default="PAM250")
    parser.add_argument("--mode", default="global")
    parser.add_argument("--open", type=float, default=-10.0)
    parser.add_argument("--extend", type=float, default=-1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="the paper-scale run (see above)")
    parser.add_argument("--warehouse", default="/tmp/protiso-full", help="--full: warehouse directory")
    parser.add_argument("--no-vectors", action="store_true", help="--full: do not write composition vectors")
    args = parser.parse_args()
    if args.full:
        args.proteins = args.proteins or 3580
        full(args)
    else:
        args.proteins = args.proteins or 80
        side_by_side(args)


if __name__ == "__main__":
    main()
