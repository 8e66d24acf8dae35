"""Group isotropy controlled for group size: IsoScore of random groups of the same number of proteins.

A group's IsoScore depends on its size as much as on its members, so groups are ranked by
``size_z = (IsoScore_group - mean_null) / sd_null`` over ``draws`` seeded random groups of the same
number of proteins (a local group draws whole proteins with all their residues). Draw j is one seeded
permutation of the units; its group of size k is the first k units, so one float64 pass
(``protiso.metrics.grouped.MomentEngine``) serves every size. Sizes above ``EXACT_SIZES`` share the null
of their size rounded to two significant digits. No spread (k = all units) or fewer than 2 valid draws
give None. docs/architecture.md (module notes) has the reasoning and rules; docs/benchmarks.md the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from protiso.metrics.blas import numpy_blas_single
from protiso.metrics.draws import row_seconds, run_draws
from protiso.metrics.grouped import MomentEngine
from protiso.metrics.isotropy import CHUNK_ROWS
from protiso.metrics.stats import SufficientStats
from protiso.metrics.stream import StreamStats

EXACT_SIZES = 100


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
    values: tuple[float, ...] = ()      # the valid draws' IsoScores (what p-values are counted from)

    def z(self, value: float | None) -> float | None:
        if value is None or self.mean is None or not self.sd:
            return None
        return (value - self.mean) / self.sd


class SizeNull:
    """Null distributions of IsoScore for the group ``sizes`` (in units), drawn together (see the module);
    ``workers`` processes draw (``protiso.metrics.draws``; None: one per available CPU), with the same values."""

    def __init__(self, points: np.ndarray, units: list[np.ndarray], sizes: Iterable[int], draws: int, seed: int,
                 level: float = 0.95, whole: SufficientStats | None = None,
                 progress: Callable[[int], None] | None = None, workers: int | None = 1) -> None:
        self.total, self.level = len(units), level
        self._stats: dict[int, NullStats] = {}
        wanted = sorted({min(null_size(int(k)), self.total) for k in sizes})
        if not wanted or self.total == 0:
            return
        if whole is None:
            whole = StreamStats(points.shape[1]).add(points).sufficient()
        engine = MomentEngine(points, whole, CHUNK_ROWS)
        if wanted[-1] >= self.total:      # the whole set: one value, no spread
            value = engine.finish(engine.whole_state(), np.arange(len(points))).isoscore()
            self._stats[self.total] = NullStats(self.total, value, 0.0 if value is not None else None, value, value,
                                                1 if value is not None else 0, () if value is None else (value,))
        drawn = [k for k in wanted if k < self.total]
        values = _draw(engine, units, drawn, draws, seed, progress, workers) if drawn and draws > 0 else {}
        for k in drawn:
            self._stats[k] = self._summary(k, values.get(k, []))

    def _summary(self, size: int, values: list[float]) -> NullStats:
        return summarise(size, values, self.level)

    def of_size(self, size: int) -> NullStats:
        """The null of a group of ``size`` units (one of the sizes given, after ``null_size`` rounding)."""
        return self._stats[min(null_size(size), self.total)]


def summarise(size: int, values: list[float], level: float) -> NullStats:
    """Mean, sample sd and central ``level`` interval of a null's valid draws (None for fewer than 2)."""
    if len(values) < 2:
        return NullStats(size, None, None, None, None, len(values), tuple(values))
    arr = np.asarray(values)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(arr, [tail, 1.0 - tail])
    return NullStats(size, float(arr.mean()), float(arr.std(ddof=1)), float(low), float(high), len(values),
                     tuple(float(v) for v in arr))


def _draw(engine: MomentEngine, units: list[np.ndarray], sizes: list[int], draws: int, seed: int,
          progress: Callable[[int], None] | None, workers: int | None = 1) -> dict[int, list[float]]:
    """IsoScores of ``draws`` random groups of each size (< the number of units), one pass per draw, in
    ``workers`` processes (``protiso.metrics.draws``)."""
    total = len(units)
    prefix = {k: k if 2 * k <= total else total - k for k in sizes}      # units read before the value
    stops = sorted(set(prefix.values()))
    single = all(len(u) == 1 for u in units)
    flat = np.concatenate(units) if single else None
    lengths = np.array([len(u) for u in units])
    whole = engine.whole_state()

    def one(j: int) -> dict[int, float]:
        order = np.random.default_rng([seed, j]).permutation(total)
        rows = flat[order] if single else np.concatenate([units[u] for u in order])
        ends = np.concatenate([[0], np.cumsum(lengths[order])])            # rows of the first u units
        state, done, out = engine.new_state(), 0, {}
        for stop in stops:
            engine.update(state, rows[done:ends[stop]], 1.0)
            done = ends[stop]
            for k in (k for k in sizes if prefix[k] == stop):
                if k == stop:        # the first k units
                    moments = engine.finish(state, rows[:done])
                else:                # all units but the first total - k
                    moments = engine.finish(whole - state, rows[done:])
                value = moments.isoscore()
                if value is not None:
                    out[k] = value
        return out

    values: dict[int, list[float]] = {k: [] for k in sizes}
    with numpy_blas_single():
        rows = int(np.sum(lengths)) // 2 if stops else 0          # a draw reads at most half the rows
        for found in run_draws(one, draws, workers, progress, row_seconds(rows, engine.dim)):
            for k, value in found.items():
                values[k].append(value)
    return values


def units_of(labels: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Row indices per distinct label (a protein's rows), and each row's unit number."""
    _, code = np.unique(labels, return_inverse=True)
    order = np.argsort(code, kind="stable")
    bounds = np.flatnonzero(np.diff(code[order])) + 1
    return np.split(order, bounds), code
