"""Group isotropy controlled for group size: IsoScore of random groups of the same number of proteins.

Why this statistic (and not plain IsoScore or IsoScore*): a group's IsoScore depends on how many points
it has as much as on what they are. Fewer points than dimensions cap the participation ratio at
n - 1, and sampling noise inflates the leading eigenvalues of a small sample's covariance, so the
smallest groups come out least isotropic whatever their biology. IsoScore* only shrinks towards the
identity by a fixed zeta and does not know the group's size. The question a group ranking asks is
"is this group more or less isotropic than a group of this size would be anyway?", which a null
distribution answers directly: draw ``draws`` random groups of the group's number of proteins from the
same set (the same proteins the groups are taken from), measure their IsoScore, and compare:

    size_z = (IsoScore_group - mean_null) / sd_null,

with the null's central ``level`` interval [null_low, null_high] shown beside it. Groups are ranked by
size_z. Units are proteins: a global group draws that many protein vectors; a local group draws that
many proteins and takes all of their residue vectors (residues of one protein are not independent, so
a null of random residues would be too narrow).

Cost bound (Swiss-Prot has thousands of distinct group sizes, some of 10^5 proteins): sizes up to
``EXACT_SIZES`` are matched exactly; larger ones share the null of their size rounded to two significant
digits (1,234 proteins -> 1,200; at most 10 % apart); and a size k gets
``min(draws, max(MIN_DRAWS, DRAW_ROWS // rows))`` draws, rows being the vectors a draw of k units holds on
average (k for global groups, k proteins' residues for local ones), so a size costs about DRAW_ROWS rows.
``NullStats.size`` is the size the null was drawn at and ``draws`` how many draws it has.

Rules: the draws of size k use ``numpy.random.default_rng([seed, k])``, so a size's null does not
depend on which other sizes exist; k >= the number of units (the whole set) has no spread and gives
sd 0 and size_z None; a draw whose IsoScore is None (no variance) is left out of the null; fewer than
2 valid draws give None throughout. IsoScore is exact float64 (``protiso.metrics.isotropy.isoscore``; a
draw of more than half of one-row units is computed as the whole set's float64 sums minus those of the
rows left out, the same formula in fewer operations).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from protiso.metrics.isotropy import isoscore, isoscore_from_pr

EXACT_SIZES = 100
DRAW_ROWS = 20_000
MIN_DRAWS = 10


def null_size(size: int) -> int:
    """The size whose null a group of ``size`` units uses (exact up to EXACT_SIZES, else 2 significant digits)."""
    if size <= EXACT_SIZES:
        return size
    step = 10 ** (len(str(size)) - 2)
    return round(size / step) * step


@dataclass(frozen=True)
class NullStats:
    """IsoScore of random groups of one size: mean, sample sd, central interval, valid draws."""

    size: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None
    draws: int

    def z(self, value: float | None) -> float | None:
        if value is None or self.mean is None or not self.sd:
            return None
        return (value - self.mean) / self.sd


class SizeNull:
    """Null distributions of IsoScore by group size (in units), cached per size."""

    def __init__(self, points: np.ndarray, units: list[np.ndarray], draws: int, seed: int,
                 level: float = 0.95) -> None:
        self.points, self.units, self.draws, self.seed, self.level = points, units, draws, seed, level
        self.single = all(len(u) == 1 for u in units)
        self.flat = np.concatenate(units) if self.single and units else None
        self._cache: dict[int, NullStats] = {}
        self._totals: tuple[np.ndarray, np.ndarray] | None = None

    def rows(self, chosen: np.ndarray) -> np.ndarray:
        if self.flat is not None:
            return np.sort(self.flat[chosen])
        return np.sort(np.concatenate([self.units[u] for u in chosen]))

    def of_size(self, size: int) -> NullStats:
        size = min(null_size(size), len(self.units))
        if size not in self._cache:
            self._cache[size] = self._compute(size)
        return self._cache[size]

    def _compute(self, size: int) -> NullStats:
        total = len(self.units)
        if size >= total:
            value = isoscore(np.asarray(self.points[self.rows(np.arange(total))])) if total else None
            return NullStats(size, value, 0.0 if value is not None else None, value, value, 1 if value is not None else 0)
        rng = np.random.default_rng([self.seed, size])
        values = []
        rows = size * sum(len(u) for u in self.units) / max(total, 1)   # expected rows of one draw
        for _ in range(min(self.draws, max(MIN_DRAWS, int(DRAW_ROWS // rows)))):
            chosen = rng.choice(total, size=size, replace=False)
            if self.flat is not None and 2 * size > total:   # cheaper from the sums minus the complement
                value = self._from_complement(np.setdiff1d(np.arange(total), chosen, assume_unique=True), size)
            else:
                value = isoscore(np.asarray(self.points[self.rows(chosen)]))
            if value is not None:
                values.append(value)
        if len(values) < 2:
            return NullStats(size, None, None, None, None, len(values))
        arr = np.asarray(values)
        tail = (1.0 - self.level) / 2.0
        low, high = np.quantile(arr, [tail, 1.0 - tail])
        return NullStats(size, float(arr.mean()), float(arr.std(ddof=1)), float(low), float(high), len(values))


    def _from_complement(self, rest: np.ndarray, size: int) -> float | None:
        """IsoScore of every row but ``rest`` (one row per unit): the whole set's float64 sums minus those of
        ``rest``, then tr(S)^2 / ||S||_F^2 of S = sum x x^T - sum x sum x^T / n, with the zero-variance rule
        of ``SufficientStats`` (trace below 1e-10 of the uncentred trace: None)."""
        if self._totals is None:
            whole = np.asarray(self.points, dtype=np.float64)
            self._totals = (whole.sum(axis=0), whole.T @ whole)
        part = np.asarray(self.points[self.flat[rest]], dtype=np.float64)
        sum_x = self._totals[0] - part.sum(axis=0)
        scatter = self._totals[1] - part.T @ part - np.outer(sum_x, sum_x) / size
        trace = float(np.trace(scatter))
        if size < 2 or trace <= 1e-10 * float(np.trace(self._totals[1] - part.T @ part)):
            return None
        return isoscore_from_pr(trace * trace / float(np.sum(scatter * scatter)), scatter.shape[0])


def units_of(labels: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Row indices per distinct label (a protein's rows), and each row's unit number."""
    _, code = np.unique(labels, return_inverse=True)
    order = np.argsort(code, kind="stable")
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    return np.split(order, bounds), code
