"""The homolog-candidate search of ``protiso align --pairs homolog-enriched``: its cost and its recall.

1. Cost: ``protiso.align.homologs.mmseqs_pairs`` (MMseqs2 ``easy-search`` of the proteins against
   themselves, as ``align`` runs it) on the first ``--search-proteins`` proteins of Swiss-Prot 2014
   (default 20,000) with ``--threads`` threads (default 2): wall and CPU seconds, peak memory of the
   MMseqs2 processes (ru_maxrss of the children). Targets: < 5 min on 2 cores, < 4 GB.
2. Recall: on a seeded slice of ``--recall-proteins`` proteins (default 1,000), every pair is aligned
   exactly (parasail ``sw_striped_32``, Smith-Waterman, BLOSUM62, gap open 11 / extend 1, the scoring
   MMseqs2 uses) and gets an E-value E = K m n exp(-lambda S): S the optimal local score, m the query's
   length, n the total length of the slice (the database), and BLAST's ungapped-extension-free gapped
   parameters for BLOSUM62 11/1, lambda = 0.267, K = 0.041 (no edge correction), the smaller of the two
   directions. Recall = share of the pairs with E < 1e-5 that the MMseqs2 search of the same slice
   reports at ``align``'s default candidate threshold (E <= 1e-3, either direction). Target >= 0.9.

    python bench/controls.py                                   # both parts, full size
    python bench/controls.py --search-proteins 5000            # a smaller search on a busy machine

The demo-timing benchmark of the controls is bench/controls_demo.py.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

from _common import read_fasta

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FASTA = REPO / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
LAMBDA, K = 0.267, 0.041          # BLOSUM62, gap open 11, extend 1 (NCBI BLAST's gapped Karlin-Altschul values)
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def clean(sequence: str) -> str:
    return "".join(c if c in STANDARD else "X" for c in sequence.upper())


def search_cost(texts: list[str], threads: int) -> dict:
    from protiso.align.homologs import mmseqs_pairs

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    i, _, _ = mmseqs_pairs(texts, threads=threads)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"proteins": len(texts), "hits": int(i.size), "wall_s": wall, "cpu_s": cpu,
            "peak_gb": after.ru_maxrss / 1024 ** 2}


def exact_pairs(texts: list[str], threshold: float = 1e-5) -> set[tuple[int, int]]:
    """Pairs (i < j) whose exact Smith-Waterman E-value (see the module) is below ``threshold``."""
    import parasail

    n_total = sum(len(t) for t in texts)
    out = set()
    for i in range(len(texts)):
        profile = parasail.profile_create_32(texts[i], parasail.blosum62)
        for j in range(i + 1, len(texts)):
            score = parasail.sw_striped_profile_32(profile, texts[j], 11, 1).score
            m = min(len(texts[i]), len(texts[j]))  # the smaller E-value of the two directions
            if K * m * n_total * np.exp(-LAMBDA * score) < threshold:
                out.add((i, j))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--search-proteins", type=int, default=20_000)
    parser.add_argument("--recall-proteins", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-search", action="store_true", help="only the recall part")
    args = parser.parse_args()

    from protiso.align.homologs import mmseqs_pairs, mmseqs_path

    if mmseqs_path() is None:
        sys.exit("mmseqs (MMseqs2) is not installed: apt-get install mmseqs2")
    records = read_fasta(FASTA, max(args.search_proteins, 50_000))
    if not args.skip_search:
        cost = search_cost([clean(s) for _, s in records[:args.search_proteins]], args.threads)
        print(f"MMseqs2 self-search of {cost['proteins']:,} Swiss-Prot 2014 proteins on {args.threads} threads: "
              f"{cost['wall_s']:.1f} s wall, {cost['cpu_s']:.1f} s CPU, peak {cost['peak_gb']:.2f} GB, "
              f"{cost['hits']:,} hits at E <= 1e-3 (targets: < 300 s on 2 cores, < 4 GB)")
    rng = np.random.default_rng(args.seed)
    chosen = np.sort(rng.choice(len(records), size=args.recall_proteins, replace=False))
    texts = [clean(records[k][1]) for k in chosen]
    started = time.perf_counter()
    truth = exact_pairs(texts)
    sw_seconds = time.perf_counter() - started
    i, j, _ = mmseqs_pairs(texts, threads=args.threads)
    found = {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist())}
    recall = len(truth & found) / len(truth) if truth else float("nan")
    n_pairs = len(texts) * (len(texts) - 1) // 2
    print(f"recall on {len(texts):,} seeded proteins ({n_pairs:,} pairs): exact Smith-Waterman (parasail, BLOSUM62 "
          f"11/1, {sw_seconds:.0f} s) finds {len(truth):,} pairs at E < 1e-5; MMseqs2 candidates (E <= 1e-3) "
          f"hold {len(truth & found):,} of them: recall {recall:.3f} (target >= 0.9); "
          f"{len(found - truth):,} further candidates")


if __name__ == "__main__":
    main()
