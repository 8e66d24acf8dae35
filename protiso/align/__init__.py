"""Pairwise protein alignment runs: seeded samples, parasail (or Biopython) aligners, blocks committed as they finish.

    from protiso.align import align
    summary = align(wh, fraction=0.01, seed=1, matrix="PAM250", mode="global", open_score=-10, extend_score=-1)

Pair metrics (embedding distances of the aligned pairs) are ``protiso.jobs.pair_metrics``; ``align``
materialises them at the end of a run.
"""

from protiso.align.run import AlignerWarning, AlignSummary, align
from protiso.align.scoring import Scoring

__all__ = ["AlignSummary", "AlignerWarning", "Scoring", "align"]
