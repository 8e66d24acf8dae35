"""Pairwise protein alignment runs: seeded samples, parasail (or Biopython) aligners, blocks committed as they finish.

    from protiso.align import AlignOptions, align
    summary = align(wh, AlignOptions(fraction=0.01, seed=1, matrix="PAM250", mode="local"))

``align`` takes a runner as the embedding job does (``runners``: local processes; Ray in
``protiso.engines.ray_align``). Pair metrics (embedding distances of the aligned pairs) are the next step,
``protiso.jobs.pair_metrics``; ``protiso.jobs.align.align_and_measure`` (``protiso align``) runs both.
"""

from protiso.align.options import AlignOptions
from protiso.align.run import AlignerWarning, AlignSummary, align
from protiso.align.runners import AlignRunner, LocalAlignRunner
from protiso.align.scoring import Scoring

__all__ = ["AlignOptions", "AlignRunner", "AlignSummary", "AlignerWarning", "LocalAlignRunner", "Scoring", "align"]
