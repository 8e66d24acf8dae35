"""Correlations and partial correlations over protein pairs, with delete-one-protein jackknife intervals.

Pairs share proteins, so pairs are not independent draws; the resampling unit is the protein.
Deleting protein i removes every pair that contains it. With weighted sufficient statistics
(W = sum w, S1 = sum w z, S2 = sum w z z^T over the pairs, z the columns after subtracting their
weighted mean), the statistics without protein i are the totals minus the sums over i's pairs, so every
leave-one-protein-out estimate costs O(pairs) in all (every pair visited once under each of its two
proteins), not O(proteins x pairs).

* correlation(x, y) = C_xy / sqrt(C_xx C_yy), C the weighted covariance S2 / W - m m^T (weights 1 for an
  unweighted estimate; the sampling weights of a homolog-enriched sample for the population estimate).
* partial correlation of x and y given columns K: the correlation of their residuals after weighted
  least squares on K and an intercept, i.e. from C_xy.K = C_xy - C_xK C_KK^+ C_Ky (pseudo-inverse).
* interval: the jackknife over the g proteins that have pairs, on Fisher's z = atanh(r):
  se^2 = (g - 1) / g * sum_i (z_(-i) - mean z_(-i))^2, 95 % interval tanh(atanh(r) +- 1.96 se).
  Leave-one-out estimates that are undefined (too few pairs left) are left out of the sum.
  Deterministic: no seed. Spearman: the ranks are computed once on all pairs and held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054
INTERVAL = "jackknife over proteins (delete one protein and its pairs), Fisher z, 95 %"


@dataclass
class Moments:
    """Weighted sufficient statistics of ``m`` columns: total and per protein (leave-one-out = total - own)."""

    weight: float                 # W
    s1: np.ndarray                # (m,)
    s2: np.ndarray                # (m, m)
    protein_weight: np.ndarray    # (g,)
    protein_s1: np.ndarray        # (g, m)
    protein_s2: np.ndarray        # (g, m, m)
    shift: np.ndarray             # the column means subtracted before the sums

    @property
    def covariance(self) -> np.ndarray:
        mean = self.s1 / self.weight
        return self.s2 / self.weight - np.outer(mean, mean)

    def leave_one_out(self) -> np.ndarray:
        """(g, m, m) covariance matrices without each protein (NaN where no weight is left)."""
        w = self.weight - self.protein_weight
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (self.s1[None, :] - self.protein_s1) / w[:, None]
            return (self.s2[None] - self.protein_s2) / w[:, None, None] - mean[:, :, None] * mean[:, None, :]


def moments(columns: np.ndarray, a: np.ndarray, b: np.ndarray, n_proteins: int, weights: np.ndarray | None = None,
            rows_per_step: int = 1 << 16) -> Moments:
    """``Moments`` of ``columns`` (pairs x m, float64) over pairs (a[k], b[k]) of proteins 0..n_proteins-1.

    The pairs are visited once in protein order (each pair under both of its proteins): a protein's sums
    are one BLAS product of its rows, ``(sqrt(w) z)^T (sqrt(w) z)``; the totals are one product per chunk."""
    z = np.asarray(columns, dtype=np.float64)
    n, m = z.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    shift = (w @ z) / total if total > 0 else np.zeros(m)
    s1 = np.zeros(m)
    s2 = np.zeros((m, m))
    for start in range(0, n, rows_per_step):
        zc = z[start:start + rows_per_step] - shift
        wc = w[start:start + rows_per_step]
        zw = zc * np.sqrt(wc)[:, None]
        s1 += wc @ zc
        s2 += zw.T @ zw
    owner = np.concatenate([a, b]).astype(np.int64)
    order = np.argsort(owner, kind="stable")
    rows_of = (order % n).astype(np.int64)        # the pair behind each (protein, pair) entry, protein order
    bounds = np.searchsorted(owner[order], np.arange(n_proteins + 1))
    del owner, order
    p_w = np.zeros(n_proteins)
    p_s1 = np.zeros((n_proteins, m))
    p_s2 = np.zeros((n_proteins, m, m))
    first = 0
    while first < n_proteins:
        last = int(np.searchsorted(bounds, bounds[first] + rows_per_step, side="right")) - 1
        last = min(max(last, first + 1), n_proteins)
        base = bounds[first]
        rows = rows_of[base:bounds[last]]
        zc = z[rows] - shift
        wc = w[rows]
        zw = zc * np.sqrt(wc)[:, None]
        for p in range(first, last):
            lo, hi = bounds[p] - base, bounds[p + 1] - base
            if hi > lo:
                p_w[p] = wc[lo:hi].sum()
                p_s1[p] = wc[lo:hi] @ zc[lo:hi]
                p_s2[p] = zw[lo:hi].T @ zw[lo:hi]
        first = last
    return Moments(total, s1, s2, p_w, p_s1, p_s2, shift)


def _inverse(cov: np.ndarray, controls: tuple[int, ...]) -> np.ndarray:
    """Pseudo-inverses of the controls' covariance blocks of ``cov`` (..., m, m); NaN where undefined."""
    kk = cov[..., controls, :][..., :, controls]
    ok = np.all(np.isfinite(kk), axis=(-1, -2))
    inv = np.full(kk.shape, np.nan)
    if ok.any():
        inv[ok] = np.linalg.pinv(kk[ok], rcond=1e-12, hermitian=True)
    return inv


def _partial(cov: np.ndarray, x: int, y: int, controls: tuple[int, ...], inv: np.ndarray | None = None) -> np.ndarray:
    """Partial correlation of columns x, y given ``controls`` from covariance matrices (..., m, m);
    ``inv``: ``_inverse(cov, controls)`` when already computed."""
    sub = cov[..., [x, y], :][..., :, [x, y]]
    if controls:
        inv = _inverse(cov, controls) if inv is None else inv
        xy_k = cov[..., [x, y], :][..., :, list(controls)]
        sub = sub - xy_k @ inv @ np.swapaxes(xy_k, -1, -2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sub[..., 0, 1] / np.sqrt(sub[..., 0, 0] * sub[..., 1, 1])


@dataclass
class Estimate:
    value: float
    low: float
    high: float
    proteins: int          # g, proteins with at least one pair (the jackknife's units)


def jackknife(full: float, leave_out: np.ndarray, proteins: int) -> Estimate:
    """The 95 % interval of ``full`` from its leave-one-protein-out values (see the module)."""
    z = np.arctanh(np.clip(leave_out[np.isfinite(leave_out)], -1 + 1e-15, 1 - 1e-15))
    if not np.isfinite(full) or z.size < 2:
        return Estimate(float(full), np.nan, np.nan, proteins)
    g = z.size
    se = np.sqrt((g - 1) / g * np.sum((z - z.mean()) ** 2))
    centre = np.arctanh(np.clip(full, -1 + 1e-15, 1 - 1e-15))
    return Estimate(float(full), float(np.tanh(centre - Z95 * se)), float(np.tanh(centre + Z95 * se)), proteins)


def partial_estimates(mom: Moments, targets: list[tuple[int, int, tuple[int, ...]]]) -> list[Estimate]:
    """Estimate and interval of each (x, y, controls) partial correlation (controls () = plain correlation)."""
    used = mom.protein_weight > 0
    cov = mom.covariance
    loo = mom.leave_one_out()[used]
    proteins = int(used.sum())
    inverses: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
    out = []
    for x, y, k in targets:
        if k and k not in inverses:
            inverses[k] = (_inverse(cov, k), _inverse(loo, k))
        full, each = inverses.get(k, (None, None))
        out.append(jackknife(float(_partial(cov, x, y, k, full)), _partial(loo, x, y, k, each), proteins))
    return out


def correlation_intervals(mom: Moments, pairs: list[tuple[int, int]] | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(value, low, high) m x m matrices of the correlation of each pair of columns in ``pairs`` (i < j;
    default: every pair), NaN elsewhere."""
    m = len(mom.s1)
    value, low, high = (np.full((m, m), np.nan) for _ in range(3))
    np.fill_diagonal(value, 1.0)
    pairs = [(i, j) for i in range(m) for j in range(i + 1, m)] if pairs is None else pairs
    targets = [(i, j, ()) for i, j in pairs]
    for (i, j, _), est in zip(targets, partial_estimates(mom, targets)):
        value[i, j] = value[j, i] = est.value
        low[i, j] = low[j, i] = est.low
        high[i, j] = high[j, i] = est.high
    return value, low, high


def weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Estimated population mid-ranks: the weight of the values below plus half the weight of the ties
    (equal to 1-based average ranks minus 1/2 when every weight is 1)."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    w = np.asarray(weights, dtype=np.float64)[order]
    edges = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1, [len(x)]])
    cum = np.concatenate([[0.0], np.cumsum(w)])
    below = cum[edges[:-1]]
    tie = cum[edges[1:]] - below
    out = np.empty(len(x))
    out[order] = np.repeat(below + tie / 2, np.diff(edges))
    return out
