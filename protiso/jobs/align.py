"""The alignment job (``protiso align``, a job spec's ``[align]``): an alignment run, then its pair metrics.

``protiso.align.align`` aligns and records; ``protiso.jobs.pair_metrics`` then materialises the embedding
distances of the aligned pairs that ``correlations`` and the report read.
"""

from __future__ import annotations

from protiso.align import AlignOptions, AlignRunner, AlignSummary, align
from protiso.jobs.pair_metrics import compute_pair_metrics
from protiso.warehouse import Warehouse


def align_and_measure(wh: Warehouse, options: AlignOptions | None = None, runner: AlignRunner | None = None, *,
                      resume: str | None = None, progress: bool = True, pair_metrics: bool = True,
                      **changes) -> AlignSummary:
    """``protiso.align.align`` (same arguments), then, with ``pair_metrics``, the run's pair metrics
    (``summary.pair_metrics``: one entry per embedding set)."""
    summary = align(wh, options, runner, resume=resume, progress=progress, **changes)
    if pair_metrics:
        summary.pair_metrics = compute_pair_metrics(wh, summary.run_id).groups
    return summary
