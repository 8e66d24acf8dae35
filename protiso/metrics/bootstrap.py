"""Seeded percentile bootstrap confidence intervals for IsoScore (and IsoScore*), over points, over
whole proteins (``bootstrap_isoscore_units``: a protein's residues resampled together) and of a mean over
proteins (``bootstrap_mean``: the per-protein local summaries).

Up to ``exact_limit`` points (default 1000) the ordinary bootstrap; beyond, a block bootstrap over B
seeded random blocks whose float64 statistics are summed per replicate (O(B n^2) instead of O(N n^2)). The
interval is the replicates' percentile interval shifted so that their median sits on the estimate
(IsoScore is biased low at finite N, a resample more so). Replicates with an undefined statistic are
dropped; none left gives None. Results depend only on the inputs and the seed. docs/architecture.md
(module notes) has the block size and the reasoning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from protiso.errors import ProtisoError
from protiso.metrics.isotropy import (
    CHUNK_ROWS,
    check_points,
    check_shrinkage,
    column_mean,
    isoscore,
    isoscore_from_pr,
    isoscore_star,
    scaled_identity,
    shrunk_isoscore,
    zero_tolerance,
)


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile interval with how it was made."""

    low: float
    high: float
    n_boot: int
    level: float
    method: str  # "points" | "blocks" | "proteins"
    seed: int


def block_count(dim: int) -> int:
    return int(min(64, max(16, 2**30 // (8 * dim * dim))))


def _statistic(points: np.ndarray, zeta: float | None) -> float | None:
    return isoscore(points) if zeta is None else isoscore_star(points, zeta)


def _from_scatter(scatter: np.ndarray, n_points: int, dim: int, zeta: float | None) -> float | None:
    trace = float(np.trace(scatter))
    frob2 = float(np.sum(scatter * scatter))
    if zeta is None:
        return None if trace <= 0.0 else isoscore_from_pr(trace * trace / frob2, dim)
    scale = n_points - 1.0
    return shrunk_isoscore(trace / scale, frob2 / scale**2, *scaled_identity(trace / scale, dim), zeta, dim)


def _block_stats(points: np.ndarray, blocks: int, rng: np.random.Generator):
    """Per-block (count, sum, sum of outer products) of the points shifted by their mean."""
    dim = points.shape[1]
    mean = column_mean(points)
    order = rng.permutation(points.shape[0])
    counts = np.zeros(blocks)
    sums = np.zeros((blocks, dim))
    outer = np.zeros((blocks, dim, dim))
    for b, idx in enumerate(np.array_split(order, blocks)):
        idx.sort()
        for start in range(0, idx.size, CHUNK_ROWS):
            block = points[idx[start : start + CHUNK_ROWS]].astype(np.float64) - mean
            sums[b] += block.sum(axis=0)
            outer[b] += block.T @ block
        counts[b] = idx.size
    return counts, sums, outer


def bootstrap_isoscore(points: np.ndarray, n_boot: int, seed: int, level: float = 0.95,
                       zeta: float | None = None, exact_limit: int = 1000,
                       progress: Callable[[int], object] | None = None) -> BootstrapCI | None:
    """Percentile CI of IsoScore (or the scale-free IsoScore*, C0 = (tr C / n) I, when ``zeta`` is given);
    ``progress(1)`` is called after each replicate."""
    points = check_points(points)
    if n_boot < 1:
        raise ProtisoError(f"bootstrap: need at least 1 replicate, got {n_boot}")
    if not 0.0 < level < 1.0:
        raise ProtisoError(f"bootstrap: level must be in (0, 1), got {level}")
    n_points, dim = points.shape
    if zeta is not None:
        check_shrinkage(zeta, dim, None)
    if n_points < 2:
        return None
    rng = np.random.default_rng(seed)
    values: list[float] = []
    if n_points <= exact_limit:
        method = "points"
        for _ in range(n_boot):
            value = _statistic(points[rng.integers(0, n_points, n_points)], zeta)
            if value is not None:
                values.append(value)
            if progress is not None:
                progress(1)
    else:
        method = "blocks"
        blocks = block_count(dim)
        counts, sums, outer = _block_stats(points, blocks, rng)
        if float(np.trace(outer.sum(axis=0))) <= zero_tolerance(points):
            return None  # zero variance: the statistic itself is undefined
        for _ in range(n_boot):
            weights = rng.multinomial(blocks, np.full(blocks, 1.0 / blocks)).astype(np.float64)
            total = float(weights @ counts)
            s = weights @ sums
            scatter = np.tensordot(weights, outer, axes=1) - np.outer(s, s) / total
            value = _from_scatter(scatter, int(total), dim, zeta)
            if value is not None:
                values.append(value)
            if progress is not None:
                progress(1)
    if not values:
        return None
    estimate = _statistic(points, zeta)
    if estimate is None:
        return None
    alpha = 1.0 - level
    low, mid, high = np.quantile(np.asarray(values), [alpha / 2, 0.5, 1 - alpha / 2])
    return BootstrapCI(float(estimate - (mid - low)), float(estimate + (high - mid)), n_boot, level, method, seed)


def bootstrap_isoscore_units(points: np.ndarray, units: np.ndarray, n_boot: int, seed: int,
                             level: float = 0.95) -> BootstrapCI | None:
    """Percentile CI of IsoScore resampling whole units (proteins) with replacement, each with all of its
    rows (residues), re-centred on the estimate as ``bootstrap_isoscore``: the interval over proteins of
    a cloud whose points are not independent. ``units[i]`` labels row i."""
    points = check_points(points)
    if n_boot < 1:
        raise ProtisoError(f"bootstrap: need at least 1 replicate, got {n_boot}")
    _, code = np.unique(np.asarray(units), return_inverse=True)
    order = np.argsort(code, kind="stable")
    rows = np.split(order, np.flatnonzero(np.diff(code[order])) + 1)
    if len(rows) < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        value = isoscore(points[np.concatenate([rows[u] for u in rng.integers(0, len(rows), len(rows))])])
        if value is not None:
            values.append(value)
    estimate = isoscore(points)
    if not values or estimate is None:
        return None
    alpha = 1.0 - level
    low, mid, high = np.quantile(np.asarray(values), [alpha / 2, 0.5, 1 - alpha / 2])
    return BootstrapCI(float(estimate - (mid - low)), float(estimate + (high - mid)), n_boot, level, "proteins", seed)


def bootstrap_mean(values: np.ndarray, n_boot: int, seed: int, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (one per protein), seeded; None for < 2."""
    arr = np.asarray(values, dtype=np.float64)
    if len(arr) < 2 or n_boot < 1:
        return None
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 256):
        stop = min(n_boot, start + 256)
        means[start:stop] = arr[rng.integers(0, len(arr), (stop - start, len(arr)))].mean(axis=1)
    alpha = 1.0 - level
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)
