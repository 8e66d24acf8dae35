"""Whole-set statistics of a stream of vectors in one float64 pass: ``SufficientStats`` (count, sum x,
sum x x^T) and ``CosineStats`` (sum of unit vectors, sum of their squared norms) together.

Each chunk of rows is converted once into a float64 buffer whose two extra columns hold 1 and
1 / ||x||; one symmetric rank-k update (BLAS dsyrk) of that buffer then yields sum x x^T, sum x (the
column of ones) and the sum of unit vectors x / ||x|| (the column of inverse norms) at once, so the
stream costs one float64 ``X^T X`` plus one conversion and one row-norm pass, not separate passes
per statistic. The sum of squared unit norms is ``sum ||x||^2 / ||x||^2`` per row, the squared norm
of the unit vector the inverse-norm column implies. ``sufficient()`` and ``cosine()`` give exactly the
classes the rest of protiso uses (IsoScore, IsoScore*, effective dims, spectrum, mean cosine).

Rules: NaN or infinity raises ProtisoError (``check_points``), so does a zero vector (it has no
direction; as ``CosineStats``) and a dimension that differs from the first chunk's.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dsyrk

from protiso.errors import ProtisoError
from protiso.metrics.cosine import CosineStats
from protiso.metrics.isotropy import CHUNK_ROWS, check_points
from protiso.metrics.stats import SufficientStats


class StreamStats:
    """Accumulates ``SufficientStats`` and ``CosineStats`` of every vector added, in one pass."""

    def __init__(self, dim: int, chunk_rows: int = CHUNK_ROWS) -> None:
        if dim < 1:
            raise ProtisoError(f"stream statistics need dim >= 1, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self.sum_unit_sq = 0.0
        self._chunk = max(1, int(chunk_rows))
        self._buffer: np.ndarray | None = None
        self._upper = np.zeros((dim + 2, dim + 2))   # upper triangle of [x 1 1/|x|]^T [x 1 1/|x|]

    def add(self, points: np.ndarray, checked: bool = False) -> StreamStats:
        """Accumulate vectors (rows, dim), float32 or float64; returns self."""
        if not checked:
            points = check_points(points)
        if points.shape[1] != self.dim:
            raise ProtisoError(f"stream statistics: vectors have dimension {points.shape[1]}, expected {self.dim}")
        if self._buffer is None:
            self._buffer = np.empty((min(self._chunk, max(points.shape[0], 1)), self.dim + 2))
        size = self._buffer.shape[0]
        for start in range(0, points.shape[0], size):
            block = points[start:start + size]
            rows = block.shape[0]
            buf = self._buffer[:rows]
            np.copyto(buf[:, :self.dim], block)
            x = buf[:, :self.dim]
            sq = np.einsum("ij,ij->i", x, x)
            if (sq == 0).any():
                bad = self.n + start + int(np.flatnonzero(sq == 0)[0])
                raise ProtisoError(f"mean_pairwise_cosine: vector {bad} is zero and has no direction")
            inv = 1.0 / np.sqrt(sq)
            buf[:, self.dim] = 1.0
            buf[:, self.dim + 1] = inv
            self.sum_unit_sq += float(sq @ (inv * inv))
            dsyrk(1.0, buf.T, beta=1.0, c=self._upper.T, trans=0, lower=1, overwrite_c=1)
        self.n += points.shape[0]
        return self

    def sufficient(self) -> SufficientStats:
        d = self.dim
        upper = self._upper[:d, :d]
        full = upper + upper.T
        full[np.diag_indices(d)] = np.diagonal(upper)
        return SufficientStats(d, self.n, self._upper[:d, d].copy(), full)

    def cosine(self) -> CosineStats:
        return CosineStats(self.dim, self.n, self._upper[:self.dim, self.dim + 1].copy(), self.sum_unit_sq)
