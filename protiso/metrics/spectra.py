"""Covariance eigen-spectra from sufficient statistics: shares of variance, their running total and how
many components hold a given share, and the rows stored in ``local_spectra`` / ``global_spectra``.

``Spectrum.of(stats)`` gives the centred scatter's eigenvalues, clipped at 0, decreasing, normalised to sum
1 and zero-padded to ``dim`` (the same as ``SufficientStats.eigen_spectrum()`` and the ``eigen_spectrum``
SQL function). ``components(share)`` is the smallest k whose first k hold ``share``, as
``report_local_spectrum.sql`` finds it in SQL. Degenerate input gives None (``protiso.metrics.stats``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from protiso.metrics.stats import SufficientStats

SHARES = (0.5, 0.9, 0.99)   # the report's "components for 50 / 90 / 99 %"


@dataclass(frozen=True)
class Spectrum:
    """Normalised covariance eigenvalues of ``n`` vectors of dimension ``dim``, largest first."""

    n: int
    dim: int
    eigenvalues: np.ndarray             # float64, length dim, descending, sums to 1

    @classmethod
    def of(cls, stats: SufficientStats) -> Spectrum | None:
        """The spectrum of ``stats``; None when it is undefined (see the module's degenerate rules)."""
        values = stats.eigen_spectrum()
        return None if values is None else cls(stats.n, stats.dim, values)

    @property
    def cumulative(self) -> np.ndarray:
        """Share of the variance held by the first 1, 2, ..., dim components."""
        return np.cumsum(self.eigenvalues)

    def components(self, share: float) -> int:
        """The fewest leading components that hold at least ``share`` (0 < share <= 1) of the variance."""
        if not 0.0 < share <= 1.0:
            raise ValueError(f"share must be in (0, 1], got {share}")
        return min(int(np.searchsorted(self.cumulative, share)) + 1, self.dim)


def spectrum_row(model: str, layer: int, stats: SufficientStats, computed_at: datetime,
                 embedding_set: str | None = None) -> dict[str, Any] | None:
    """Parameters of ``sql/queries/isotropy_insert_spectrum.sql`` (merged residue statistics of one model
    and layer) or, with ``embedding_set``, of ``isotropy_insert_global_spectrum.sql`` (the per-protein
    vectors of one set), except ``$run_id``; None when the spectrum is undefined (store nothing)."""
    spectrum = Spectrum.of(stats)
    if spectrum is None:
        return None
    row = {"model": model, "layer": int(layer), "n": spectrum.n, "dim": spectrum.dim,
           "eigenvalues": spectrum.eigenvalues.tolist(), "computed_at": computed_at}
    return row if embedding_set is None else {**row, "embedding_set": embedding_set}
