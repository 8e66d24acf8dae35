"""Mergeable float64 sufficient statistics (count, sum x, sum x x^T) of a stream of vectors.

Covariance, IsoScore, IsoScore* and effective dimensions of any union of groups follow from the
element-wise sum of their statistics, so per-residue ("local") isotropy over millions of residues
needs O(n^2) memory however many vectors stream through. ``residue_stats`` rows store exactly these
fields (``sum_xxt`` flattened row-major) and ``sql/macros/isotropy_stats.sql`` recomputes the same
numbers in plain SQL.

Degenerate rules (on top of those in ``protiso.metrics.isotropy``): fewer than 2 vectors give None;
so does a centred scatter whose trace is below ``RELATIVE_VARIANCE_FLOOR`` times the trace of the raw
second moment ``sum x x^T``, where the subtraction ``sum xx^T - (sum x)(sum x)^T / N`` would leave
mostly rounding error (above the floor the relative error is ~1e-6 or better).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from protiso.errors import ProtisoError
from protiso.metrics.isotropy import (
    CHUNK_ROWS,
    check_points,
    check_shrinkage,
    effective_dims_rounded,
    isoscore_from_pr,
    scaled_identity,
    shrunk_isoscore,
    spectrum_from_matrix,
)

RELATIVE_VARIANCE_FLOOR = 1e-10


class Mergeable:
    """Statistics that add up: ``a + b`` is ``a.merge(b)``, which refuses another dimension."""

    dim: int

    def __add__(self, other):
        return self.merge(other)

    def _checked(self, points: np.ndarray, checked: bool, what: str) -> np.ndarray:
        """``points`` validated (unless ``checked``) and of this dimension."""
        points = points if checked else check_points(points)
        if points.shape[1] != self.dim:
            raise ProtisoError(f"{what}: vectors have dimension {points.shape[1]}, expected {self.dim}")
        return points

    def _same_dim(self, other: Mergeable, what: str) -> None:
        if other.dim != self.dim:
            raise ProtisoError(f"{what}: cannot merge dimension {other.dim} into {self.dim}")


class SufficientStats(Mergeable):
    """Count, float64 sum of vectors and float64 sum of outer products, mergeable by addition."""

    def __init__(self, dim: int, n: int = 0, sum_x: np.ndarray | None = None,
                 sum_xxt: np.ndarray | None = None) -> None:
        if dim < 1:
            raise ProtisoError(f"sufficient statistics need dim >= 1, got {dim}")
        self.dim = int(dim)
        self.n = int(n)
        self.sum_x = np.zeros(dim) if sum_x is None else np.asarray(sum_x, dtype=np.float64).reshape(dim)
        self.sum_xxt = (np.zeros((dim, dim)) if sum_xxt is None
                        else np.asarray(sum_xxt, dtype=np.float64).reshape(dim, dim))

    def __repr__(self) -> str:
        return f"SufficientStats(dim={self.dim}, n={self.n})"

    @classmethod
    def from_points(cls, points: np.ndarray) -> SufficientStats:
        points = check_points(points)
        return cls(points.shape[1]).add(points, checked=True)

    @classmethod
    def from_flat(cls, n: int, dim: int, sum_x: Sequence[float], sum_xxt: Sequence[float]) -> SufficientStats:
        """Build from a ``residue_stats`` row (``sum_xxt`` flattened row-major)."""
        if len(sum_x) != dim or len(sum_xxt) != dim * dim:
            raise ProtisoError(
                f"sufficient statistics: dim {dim} needs {dim} sums and {dim * dim} products, "
                f"got {len(sum_x)} and {len(sum_xxt)}"
            )
        return cls(dim, n, np.asarray(sum_x, dtype=np.float64), np.asarray(sum_xxt, dtype=np.float64))

    def to_flat(self) -> tuple[int, int, list[float], list[float]]:
        """``(n, dim, sum_x, sum_xxt row-major)`` as stored in ``residue_stats``."""
        return self.n, self.dim, self.sum_x.tolist(), self.sum_xxt.reshape(-1).tolist()

    def add(self, points: np.ndarray, checked: bool = False) -> SufficientStats:
        """Accumulate vectors (N, dim) in place, converting chunks to float64; returns self."""
        points = self._checked(points, checked, "sufficient statistics")
        for start in range(0, points.shape[0], CHUNK_ROWS):
            block = points[start : start + CHUNK_ROWS].astype(np.float64)
            self.sum_x += block.sum(axis=0)
            self.sum_xxt += block.T @ block
        self.n += points.shape[0]
        return self

    def merge(self, other: SufficientStats) -> SufficientStats:
        """A new object holding the statistics of both."""
        self._same_dim(other, "sufficient statistics")
        return SufficientStats(self.dim, self.n + other.n, self.sum_x + other.sum_x, self.sum_xxt + other.sum_xxt)

    def mean(self) -> np.ndarray | None:
        return None if self.n == 0 else self.sum_x / self.n

    def scatter(self) -> np.ndarray | None:
        """Centred scatter ``sum xx^T - (sum x)(sum x)^T / N`` (symmetrised), None if N < 2 or no variance."""
        if self.n < 2:
            return None
        out = self.sum_xxt - np.outer(self.sum_x, self.sum_x) / self.n
        out = (out + out.T) / 2
        raw = float(np.trace(self.sum_xxt))
        if raw <= 0.0 or float(np.trace(out)) <= RELATIVE_VARIANCE_FLOOR * raw:
            return None
        return out

    def covariance(self, ddof: int = 1) -> np.ndarray | None:
        """Sample covariance (``ddof=1`` unbiased, as ``torch.cov`` / ``np.cov``)."""
        scatter = self.scatter()
        return None if scatter is None else scatter / (self.n - ddof)

    def effective_dims(self) -> float | None:
        scatter = self.scatter()
        if scatter is None:
            return None
        return float(np.trace(scatter)) ** 2 / float(np.sum(scatter * scatter))

    def effective_dims_rounded(self) -> int | None:
        return effective_dims_rounded(self.effective_dims())

    def isoscore(self) -> float | None:
        return isoscore_from_pr(self.effective_dims(), self.dim)

    def _covariance_terms(self, zeta: float, c0: np.ndarray | None):
        c0 = check_shrinkage(zeta, self.dim, c0)
        cov = self.covariance()
        if cov is None:
            cov = np.zeros((self.dim, self.dim))
        trace, frob2 = float(np.trace(cov)), float(np.sum(cov * cov))
        return c0, cov, trace, frob2

    def isoscore_star(self, zeta: float, c0: np.ndarray | None = None) -> float | None:
        """Scale-free IsoScore* (``protiso.metrics.isotropy.isoscore_star``): C0 = (tr cov / n) I if None."""
        c0, cov, trace, frob2 = self._covariance_terms(zeta, c0)
        if self.n < 2:
            return None
        if c0 is None:
            return shrunk_isoscore(trace, frob2, *scaled_identity(trace, self.dim), zeta, self.dim)
        return shrunk_isoscore(trace, frob2, float(np.sum(cov * c0)), float(np.trace(c0)), float(np.sum(c0 * c0)),
                               zeta, self.dim)

    def isoscore_star_fixed(self, zeta: float) -> float | None:
        """Package-identical IsoScore* with C0 = I (``protiso.metrics.isotropy.isoscore_star_fixed``)."""
        _, _, trace, frob2 = self._covariance_terms(zeta, None)
        if self.n < 2:
            return None
        return shrunk_isoscore(trace, frob2, trace, float(self.dim), float(self.dim), zeta, self.dim)

    def eigen_spectrum(self) -> np.ndarray | None:
        scatter = self.scatter()
        return None if scatter is None else spectrum_from_matrix(scatter, self.dim)

    def eigenvalues(self) -> np.ndarray | None:
        """Eigenvalues of the centred scatter, clipped at 0, descending (length dim); None as ``scatter``."""
        scatter = self.scatter()
        return None if scatter is None else np.clip(np.linalg.eigvalsh(scatter), 0.0, None)[::-1]
