"""Exact mean pairwise cosine similarity in O(N n), mergeable from (N, sum of unit vectors).

For unit vectors u_i, ``sum_{i != j} u_i . u_j = ||sum u_i||^2 - sum ||u_i||^2``, so the mean over
the N (N - 1) ordered pairs i != j needs one pass and no N x N matrix. Using the actual squared norms
of the normalised vectors (rather than N) keeps the result exact to float64 rounding.

Rules: NaN/inf, non-2-D input, or a zero vector (no direction) raise ProtisoError; fewer than
2 vectors give None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from protiso.errors import ProtisoError
from protiso.metrics.isotropy import CHUNK_ROWS, check_points
from protiso.metrics.stats import Mergeable


@dataclass
class CosineStats(Mergeable):
    """Mergeable statistics for the mean pairwise cosine: count, sum of unit vectors, sum of their norms^2."""

    dim: int
    n: int = 0
    sum_unit: np.ndarray = field(default=None)  # type: ignore[assignment]
    sum_sq: float = 0.0

    def __post_init__(self) -> None:
        if self.sum_unit is None:
            self.sum_unit = np.zeros(self.dim)

    @classmethod
    def from_points(cls, points: np.ndarray) -> CosineStats:
        points = check_points(points)
        return cls(points.shape[1]).add(points, checked=True)

    def add(self, points: np.ndarray, checked: bool = False) -> CosineStats:
        """Accumulate more vectors (in place); returns self."""
        points = self._checked(points, checked, "cosine")
        for start in range(0, points.shape[0], CHUNK_ROWS):
            block = points[start : start + CHUNK_ROWS].astype(np.float64)
            norms = np.sqrt(np.einsum("ij,ij->i", block, block))
            if (norms == 0).any():
                bad = start + int(np.flatnonzero(norms == 0)[0])
                raise ProtisoError(f"mean_pairwise_cosine: vector {bad} is zero and has no direction")
            unit = block / norms[:, None]
            self.sum_unit += unit.sum(axis=0)
            self.sum_sq += float(np.einsum("ij,ij->", unit, unit))
            self.n += block.shape[0]
        return self

    def merge(self, other: CosineStats) -> CosineStats:
        self._same_dim(other, "cosine")
        return CosineStats(self.dim, self.n + other.n, self.sum_unit + other.sum_unit, self.sum_sq + other.sum_sq)

    def mean_cosine(self) -> float | None:
        if self.n < 2:
            return None
        total = float(self.sum_unit @ self.sum_unit) - self.sum_sq
        return total / (self.n * (self.n - 1.0))


def mean_pairwise_cosine(points: np.ndarray) -> float | None:
    """Mean cosine similarity over all ordered pairs i != j, exact in O(N n)."""
    return CosineStats.from_points(points).mean_cosine()
