"""Pairwise protein alignment runs: seeded samples, parasail (or Biopython) engines, pair metrics.

    from protiso.align import align, compute_pair_metrics
    summary = align(wh, fraction=0.01, seed=1, matrix="PAM250", mode="global", open_score=-10, extend_score=-1)
"""

from protiso.align.pair_metrics import compute_pair_metrics
from protiso.align.run import AlignmentEngineWarning, AlignSummary, align
from protiso.align.scoring import Scoring

__all__ = ["AlignSummary", "AlignmentEngineWarning", "Scoring", "align", "compute_pair_metrics"]
