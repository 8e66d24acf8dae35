"""The demo's embedding step with and without each control, timed side by side in one run.

`protiso run ingest/demo.toml` embeds its proteins with AntiBERTy three times: real (``control
none``), with each protein's residues shuffled, and with random weights. A control is the same work
as the real embedding (same lengths, same architecture), so the target is that each control takes at
most the real embedding's own time (ratio <= 1, within the noise of a shared machine). Each round
builds a fresh warehouse from the bundled sample, then embeds the same proteins (``--accessions``) once
per control, the order rotated from round to round so that no control always runs first, after an
untimed warm-up round of 3 proteins (imports, CPU kernels); the model load is inside the timing
(random-init builds its weights from the config). Printed: seconds per control per round, the median,
residues/s and the median ratio to the real embedding.

    python bench/controls_demo.py                  # 150 of the demo's proteins, 3 rounds (a few minutes)
    python bench/controls_demo.py --proteins 1000  # the demo's whole embed step (long on 2 cores)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from protiso.embedding import EmbedOptions, embed_proteins  # noqa: E402
from protiso.embedding.controls import CONTROLS  # noqa: E402
from protiso.sequences.ingest import ingest_files  # noqa: E402
from protiso.warehouse import Warehouse  # noqa: E402

SAMPLE = REPO / "protiso" / "data" / "sample" / "swissprot_2014_sample.fasta.gz"


def one_round(root: Path, index: int, proteins: int, model: str, order: list[str]) -> dict[str, tuple[float, int]]:
    """(seconds, residues) of each control's embed step on a fresh warehouse."""
    out = {}
    with Warehouse.create(root / f"round-{index}") as wh:
        ingest_files(wh, [SAMPLE], progress=False)
        chosen = [r[0] for r in wh.con.execute(
            "SELECT accession FROM proteins ORDER BY md5('bench:' || accession) LIMIT ?", [proteins]).fetchall()]
        for control in order:
            options = EmbedOptions(model, control=control, seed=0, accessions=chosen)
            start = time.perf_counter()
            summary = embed_proteins(wh, options, progress=False)
            out[control] = (time.perf_counter() - start, summary.residues)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proteins", type=int, default=150, help="proteins of the demo sample to embed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="antiberty")
    args = parser.parse_args()
    times: dict[str, list[float]] = {c: [] for c in CONTROLS}
    residues: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        one_round(Path(tmp), -1, 3, args.model, list(CONTROLS))  # warm-up: imports, kernels, caches (not timed)
        for index in range(args.rounds):
            order = list(CONTROLS[index % 3:] + CONTROLS[:index % 3])
            found = one_round(Path(tmp), index, args.proteins, args.model, order)
            line = ", ".join(f"{c} {found[c][0]:.1f} s" for c in order)
            print(f"round {index + 1} ({' -> '.join(order)}): {line}", flush=True)
            for control, (seconds, count) in found.items():
                times[control].append(seconds)
                residues[control] = count
    real, fastest = float(np.median(times["none"])), min(times["none"])
    print(f"\n{args.model}, {args.proteins} proteins of the demo sample, {args.rounds} rounds "
          f"(median, and the fastest round: the least disturbed by other load):")
    print(f"{'control':<12} {'median s':>9} {'residues/s':>11} {'x real':>7} {'fastest s':>10} {'x real':>7}")
    for control in CONTROLS:
        median, best = float(np.median(times[control])), min(times[control])
        print(f"{control:<12} {median:9.1f} {residues[control] / median:11,.0f} {median / real:7.2f} "
              f"{best:10.1f} {best / fastest:7.2f}")
    worst = max(min(times[c]) / fastest for c in CONTROLS[1:])
    print(f"target: each control <= the real embedding's time (ratio <= 1; noise on a shared machine): "
          f"worst ratio of the fastest rounds {worst:.2f}")


if __name__ == "__main__":
    main()
