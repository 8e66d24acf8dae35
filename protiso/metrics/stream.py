"""Whole-set statistics of a stream of vectors in one float64 pass: ``SufficientStats`` (count, sum x,
sum x x^T) and ``CosineStats`` (sum of unit vectors, sum of their squared norms) together.

Each chunk becomes a float64 buffer with two extra columns (1 and 1 / ||x||), so one symmetric rank-k
update (BLAS dsyrk) yields sum x x^T, sum x and the sum of unit vectors at once. NaN, infinity, a changed
dimension and a zero vector raise ProtisoError, unless ``allow_zero`` (then ``n_unit`` counts the vectors
with a direction). ``columns()`` gives the statistics as ``embedding_stats`` stores them.
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

    def __init__(self, dim: int, chunk_rows: int = CHUNK_ROWS, allow_zero: bool = False) -> None:
        if dim < 1:
            raise ProtisoError(f"stream statistics need dim >= 1, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self.n_unit = 0                              # vectors with a direction (non-zero)
        self.allow_zero = allow_zero
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
            zero = sq == 0
            if zero.any():
                if not self.allow_zero:
                    bad = self.n + start + int(np.flatnonzero(zero)[0])
                    raise ProtisoError(f"mean_pairwise_cosine: vector {bad} is zero and has no direction")
                inv = np.zeros(rows)
                inv[~zero] = 1.0 / np.sqrt(sq[~zero])
            else:
                inv = 1.0 / np.sqrt(sq)
            self.n_unit += rows - int(np.count_nonzero(zero))
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
        if self.n_unit != self.n:
            raise ProtisoError(f"mean_pairwise_cosine: {self.n - self.n_unit} of {self.n} vectors are zero "
                               "and have no direction")
        return CosineStats(self.dim, self.n, self._upper[:self.dim, self.dim + 1].copy(), self.sum_unit_sq)

    def columns(self) -> dict:
        """``n, dim, sum_x, sum_xxt (row-major), n_unit, sum_unit, sum_unit_sq`` as numpy / Python numbers."""
        d = self.dim
        return {"n": self.n, "dim": d, "sum_x": self._upper[:d, d].copy(),
                "sum_xxt": self.sufficient().sum_xxt.reshape(-1), "n_unit": self.n_unit,
                "sum_unit": self._upper[:d, d + 1].copy(), "sum_unit_sq": self.sum_unit_sq}
