"""Local (per-residue) mean pairwise cosine under both definitions of local isotropy, in one pass.

``pooled``: all residue vectors of all proteins in one cloud; ``per_protein``: each protein's own cloud,
then the mean and sd over proteins (how the study averages "per amino acid"). Both exact, from sums of
unit vectors. ``LocalCosine.add`` takes blocks ordered by protein and keeps only the open protein's sums
(O(dim) memory). A protein with fewer than 2 residues or a zero vector has no per-protein cosine
(``skipped``); a zero vector makes the pooled cosine None; ungrouped input raises ProtisoError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from protiso.errors import ProtisoError


@dataclass
class LocalCosine:
    """Running pooled and per-protein mean cosine of residue vectors streamed protein by protein."""

    dim: int
    n_points: int = 0                       # residue vectors seen (pooled n)
    n_zero: int = 0                         # of them zero (no direction)
    sum_unit: np.ndarray = field(default=None)  # type: ignore[assignment]
    sum_sq: float = 0.0
    per_protein: list[float] = field(default_factory=list)
    skipped: int = 0                        # proteins with < 2 residues or a zero vector
    _open: str | None = None
    _open_n: int = 0
    _open_zero: bool = False
    _open_sum: np.ndarray = field(default=None)  # type: ignore[assignment]
    _open_sq: float = 0.0
    _seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sum_unit = np.zeros(self.dim) if self.sum_unit is None else self.sum_unit
        self._open_sum = np.zeros(self.dim)

    def add(self, accessions: list[str] | np.ndarray, points: np.ndarray) -> LocalCosine:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != self.dim or len(accessions) != len(points):
            raise ProtisoError(f"local cosine: expected ({len(accessions)}, {self.dim}) vectors, got {points.shape}")
        if not np.isfinite(points).all():
            raise ProtisoError("local cosine: residue vectors hold NaN or infinity")
        names = np.asarray(accessions, dtype=object)
        if len(names) == 0:
            return self
        norms = np.sqrt(np.einsum("ij,ij->i", points, points))
        zero = norms == 0
        unit = np.divide(points, norms[:, None], out=np.zeros_like(points), where=~zero[:, None])
        squares = np.einsum("ij,ij->i", unit, unit)
        self.n_points += len(points)
        self.n_zero += int(zero.sum())
        self.sum_unit += unit.sum(axis=0)
        self.sum_sq += float(squares.sum())
        starts = np.flatnonzero(np.concatenate([[True], names[1:] != names[:-1]]))
        ends = np.append(starts[1:], len(names))
        for start, end in zip(starts, ends):
            name = str(names[start])
            if name != self._open:
                self._close()
                if name in self._seen:
                    raise ProtisoError(f"local cosine: residues of {name} are not contiguous (order by accession)")
                self._open = name
                self._seen.add(name)
            self._open_n += int(end - start)
            self._open_zero = self._open_zero or bool(zero[start:end].any())
            self._open_sum += unit[start:end].sum(axis=0)
            self._open_sq += float(squares[start:end].sum())
        return self

    def _close(self) -> None:
        if self._open is None:
            return
        n = self._open_n
        if n < 2 or self._open_zero:
            self.skipped += 1
        else:
            self.per_protein.append((float(self._open_sum @ self._open_sum) - self._open_sq) / (n * (n - 1.0)))
        self._open, self._open_n, self._open_zero, self._open_sq = None, 0, False, 0.0
        self._open_sum = np.zeros(self.dim)

    def finish(self) -> LocalCosine:
        """Close the last protein; call once after the last block."""
        self._close()
        return self

    @property
    def proteins(self) -> int:
        return len(self._seen)

    def pooled_mean(self) -> float | None:
        if self.n_points < 2 or self.n_zero:
            return None
        return (float(self.sum_unit @ self.sum_unit) - self.sum_sq) / (self.n_points * (self.n_points - 1.0))

    def per_protein_mean(self) -> float | None:
        return math.fsum(self.per_protein) / len(self.per_protein) if self.per_protein else None

    def per_protein_sd(self) -> float | None:
        """Sample standard deviation over proteins (n - 1), None below 2 proteins."""
        if len(self.per_protein) < 2:
            return None
        return float(np.std(np.asarray(self.per_protein), ddof=1))
