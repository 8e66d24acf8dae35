"""What the intervals over proteins add to the pair-metrics job, against a naive per-resample recomputation.

Synthetic pair metrics with the paper's shape: all pairs of ``--proteins`` proteins (3,580 -> 6,406,410
pairs), seven metrics built from per-protein effects plus noise (so that pairs sharing a protein are
correlated, as real ones are), and the confounders' 14 columns (2 linear, 12 flexible). Timed side by side,
in one process:

* today's statistics: the 7 x 7 centred scatter matrix of the values (what ``pair_metric_stats`` held);
* the jackknife: ``protiso.metrics.pair_jackknife`` moments of the 7 values and the 7 ranks, every
  correlation's interval (what ``pair_metric_stats`` now adds), and the 21-column moments with every
  partial correlation's interval (``partial_correlations``, over all pairs; the length-ratio strata split
  the same pairs again);
* naive: delete one protein, recompute the 7 x 7 scatter from the remaining pairs; timed on
  ``--naive-resamples`` proteins and extrapolated to all of them (the full loop takes hours).

    python bench/statistics_pairs.py                   # 3,580 proteins, 6.4 M pairs
    python bench/statistics_pairs.py --proteins 1200   # ~720 k pairs, on a busy machine

``--job WAREHOUSE`` times instead the whole pair-metrics job (``compute_pair_metrics``) on a copy of a
warehouse of bench/scale_analytics.py (its 6.4 M-pair alignment run), as the ``--base`` commit runs it
(a ``git archive`` copy of its tree, on its own copy: this tree migrates the warehouse) and with this
tree, alternating ``--repeats`` times, each run in its own process:

    python bench/statistics_pairs.py --job /tmp/protiso_stats_full/wh --base c760aa2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("PROTISO_TREE", str(REPO)))     # --job's parts: the tree they time


def synthetic(n_proteins: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(n_proteins, k=1)
    effects = rng.normal(size=(n_proteins, 7))
    shared = rng.normal(size=len(a))
    values = effects[a] + effects[b] + shared[:, None] * np.linspace(0.2, 0.8, 7) + rng.normal(size=(len(a), 7))
    confounds = np.abs(effects[a, :1] - effects[b, :1]) + rng.normal(scale=0.1, size=(len(a), 14))
    return a.astype(np.int64), b.astype(np.int64), np.column_stack([values, confounds])


def part_job(path: str) -> dict:
    """One pair-metrics job on ``path`` after its earlier pair-metrics parts are set aside."""
    from protiso.jobs.pair_metrics import compute_pair_metrics
    from protiso.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        wh.con.execute("UPDATE runs SET status = 'superseded' WHERE kind = 'pair_metrics' AND status = 'done'")
        wh.con.execute("DELETE FROM parts WHERE table_name IN ('pair_metrics', 'pair_metric_stats', "
                       "'partial_correlations')")
        wh.refresh_views()
        start, cpu = time.perf_counter(), time.process_time()
        compute_pair_metrics(wh)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        pairs = wh.con.execute("SELECT count(*) FROM pair_metrics").fetchall()[0][0]
    return {"seconds": seconds, "cpu": cpu, "pairs": pairs}


def job(warehouse: Path, base: str, repeats: int) -> None:
    """The pair-metrics job at ``base`` and now, alternating, on two copies of ``warehouse``."""
    with tempfile.TemporaryDirectory(prefix="protiso-pairs-") as tmp:
        old = Path(tmp) / "tree"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", base], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        times: dict[str, list[float]] = {"base": [], "now": []}
        for name, tree in (("base", old), ("now", REPO)):
            shutil.copytree(warehouse, Path(tmp) / name)
        print(f"load {', '.join(f'{x:.1f}' for x in os.getloadavg())}; base {base}", flush=True)
        for _ in range(repeats):
            for name, tree in (("base", old), ("now", REPO)):
                done = subprocess.run([sys.executable, __file__, "--part-job", str(Path(tmp) / name)], cwd=tree,
                                      capture_output=True, text=True,
                                      env=dict(os.environ, PYTHONPATH=str(tree), PROTISO_TREE=str(tree),
                                               HF_HUB_OFFLINE="1"))
                if done.returncode != 0:
                    raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
                result = json.loads(done.stdout.strip().splitlines()[-1])
                times[name].append(result["cpu"])
                print(f"  pair-metrics job, {name:<4}  {result['seconds']:8.1f} s wall  {result['cpu']:8.1f} s CPU  "
                      f"({result['pairs']:,} pairs)", flush=True)
        ratio = min(times["now"]) / min(times["base"])
        print(f"CPU seconds, fastest now / fastest base: {ratio:.2f}x (target <= 2x); load "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--job", type=Path, help="time the pair-metrics job on a copy of this warehouse instead")
    parser.add_argument("--base", default="c760aa2", help="with --job: today's commit")
    parser.add_argument("--repeats", type=int, default=2, help="with --job: runs of each, alternating")
    parser.add_argument("--part-job", help=argparse.SUPPRESS)
    parser.add_argument("--proteins", type=int, default=3580)
    parser.add_argument("--naive-resamples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.part_job:
        print(json.dumps(part_job(args.part_job)))
        return
    if args.job:
        job(args.job, args.base, args.repeats)
        return

    from protiso.metrics.pair_jackknife import correlation_intervals, moments, partial_estimates
    from protiso.metrics.pairs import average_ranks

    a, b, columns = synthetic(args.proteins, args.seed)
    g, n = args.proteins, len(a)
    values = columns[:, :7]
    ranks = np.column_stack([average_ranks(values[:, k]) for k in range(7)])

    t0 = time.perf_counter()
    centred = values - values.mean(axis=0)
    _ = centred.T @ centred
    today = time.perf_counter() - t0

    t0 = time.perf_counter()
    both = moments(np.column_stack([values, ranks]), a, b, g)      # as the pair-metrics job does
    correlation_intervals(both, [(i, j) for h in (0, 7) for i in range(h, h + 7) for j in range(i + 1, h + 7)])
    correlations = time.perf_counter() - t0

    t0 = time.perf_counter()
    mom = moments(columns, a, b, g)
    targets = [(x, y, k) for x in (0, 1) for y in range(2, 7)
               for k in ((), (7,), (7, 8), tuple(range(9, 21)))]
    partial_estimates(mom, targets)
    partials = time.perf_counter() - t0

    t0 = time.perf_counter()
    for p in range(args.naive_resamples):
        keep = (a != p) & (b != p)
        x = values[keep]
        x = x - x.mean(axis=0)
        _ = x.T @ x
    naive = (time.perf_counter() - t0) / args.naive_resamples * g

    print(f"{g:,} proteins, {n:,} pairs (synthetic metrics), one process:")
    print(f"  today's 7 x 7 scatter matrix                   {today:8.2f} s")
    print(f"  jackknife, every correlation (values, ranks)   {correlations:8.2f} s")
    print(f"  jackknife, 40 partial correlations (21 cols)   {partials:8.2f} s")
    print(f"  naive delete-one-protein recomputation (7 x 7) {naive:8.0f} s  (extrapolated from "
          f"{args.naive_resamples} of {g:,} resamples)")
    print(f"  jackknife of the correlations vs naive: {naive / correlations:,.0f}x faster")


if __name__ == "__main__":
    main()
