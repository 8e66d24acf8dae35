"""Interval over proteins for the pooled local IsoScore (all residues of all proteins in one cloud).

A replicate resamples proteins with replacement and pools all residues of the proteins drawn. The residues
arrive protein by protein (``PooledUnits.add``); the i-th protein goes to block i mod B (B =
``protiso.metrics.bootstrap.block_count(dim)``), so with at most B proteins every block is one protein
(the ordinary bootstrap over proteins) and beyond, whole proteins are resampled B blocks at a time, as
``bootstrap_isoscore`` does with points. Per block: count, sum and scatter about one shift, in float64;
a replicate's trace and ||S||_F^2 follow from the block weights c exactly, through the B x B inner
products of the blocks' scatters and the B^3 terms m_v^T A_u m_w, so a replicate costs O(B^3), not
O(B dim^2). The interval is re-centred so that the replicates' median sits on the estimate.
"""

from __future__ import annotations

import numpy as np

from protiso.metrics.bootstrap import block_count
from protiso.metrics.isotropy import isoscore_from_pr


class PooledUnits:
    """Per-block float64 sums of residue vectors fed protein by protein (a protein's rows consecutive)."""

    def __init__(self, dim: int, blocks: int | None = None) -> None:
        self.dim = dim
        self.blocks = blocks or block_count(dim)
        self.units = 0
        self._last: object = None
        self.shift: np.ndarray | None = None
        self.counts = np.zeros(self.blocks)
        self.sums = np.zeros((self.blocks, dim))
        self.scatter: list[np.ndarray] = []
        self.max_abs = 0.0

    def add(self, names: np.ndarray, points: np.ndarray) -> None:
        """Rows ``points`` of the proteins ``names`` (one name per row, runs of one protein together)."""
        if len(names) == 0:
            return
        x = np.asarray(points, dtype=np.float64)
        if self.shift is None:
            self.shift = x.mean(axis=0)
        self.max_abs = max(self.max_abs, float(np.abs(x).max()))
        starts = np.concatenate([[0], np.flatnonzero(names[1:] != names[:-1]) + 1, [len(names)]])
        for lo, hi in zip(starts[:-1], starts[1:]):
            if names[lo] != self._last:
                self.units += 1
                self._last = names[lo]
            b = (self.units - 1) % self.blocks
            if b == len(self.scatter):
                self.scatter.append(np.zeros((self.dim, self.dim)))
            part = x[lo:hi] - self.shift
            self.counts[b] += hi - lo
            self.sums[b] += part.sum(axis=0)
            self.scatter[b] += part.T @ part

    def replicates(self, weights: np.ndarray) -> np.ndarray:
        """Pooled IsoScore of each row of ``weights`` (replicates x used blocks: how often each block is
        drawn); NaN where undefined."""
        k = len(self.scatter)
        c = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        stacked = np.stack(self.scatter)
        flat = stacked.reshape(k, -1)
        inner = flat @ flat.T                                           # <A_u, A_v>_F
        m = self.sums[:k]
        cube = np.einsum("uve,we->uvw", np.einsum("vd,ude->uve", m, stacked), m)   # m_v^T A_u m_w
        del stacked, flat
        traces = np.array([np.trace(a) for a in self.scatter])
        n = c @ self.counts[:k]
        s = c @ m
        ss = np.einsum("rd,rd->r", s, s)
        with np.errstate(invalid="ignore", divide="ignore"):
            trace = c @ traces - ss / n
            s_a_s = np.einsum("rvw,rv,rw->r", (c @ cube.reshape(k, -1)).reshape(-1, k, k), c, c)
            frob2 = np.einsum("ru,ru->r", c @ inner, c) - 2.0 * s_a_s / n + ss * ss / (n * n)
        floor = n * self.dim * (8 * np.finfo(np.float64).eps * self.max_abs) ** 2
        out = np.full(len(c), np.nan)
        for r in np.flatnonzero((n >= 2) & (trace > floor) & (frob2 > 0)):
            value = isoscore_from_pr(trace[r] * trace[r] / frob2[r], self.dim)
            out[r] = np.nan if value is None else value
        return out


def bootstrap_pooled(pool: PooledUnits, estimate: float | None, n_boot: int, seed: int,
                     level: float = 0.95) -> tuple[float, float] | None:
    """Seeded percentile interval over proteins of the pooled IsoScore ``estimate``; None for < 2 proteins."""
    k = len(pool.scatter)
    if estimate is None or pool.units < 2 or n_boot < 1:
        return None
    weights = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    values = pool.replicates(weights)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    alpha = 1.0 - level
    low, mid, high = np.quantile(values, [alpha / 2, 0.5, 1 - alpha / 2])
    return float(estimate - (mid - low)), float(estimate + (high - mid))
