"""Correlations and partial correlations over protein pairs, with delete-one-protein jackknife intervals.

Pairs share proteins, so the resampling unit is the protein: deleting protein i removes every pair that
contains it. With weighted sums over the pairs (W, S1 = sum w z, S2 = sum w z z^T, z centred on the
weighted mean), the statistics without i are the totals minus i's own sums, so all leave-one-out
estimates cost O(pairs) (``moments``: each pair read once under each of its proteins).
Correlation: C_xy / sqrt(C_xx C_yy), C = S2 / W - m m^T (weights 1, or a homolog-enriched sample's
sampling weights). Partial given columns K: from C_xy.K = C_xy - C_xK C_KK^+ C_Ky (pseudo-inverse).
Interval: jackknife over the g proteins with pairs on Fisher's z, se^2 = (g - 1) / g * sum (z_(-i) -
mean)^2, tanh(atanh(r) +- 1.96 se); undefined leave-one-out values are left out. No seed; Spearman
ranks are computed once on all pairs and held fixed.
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
            rows_per_step: int = 1 << 13) -> Moments:
    """``Moments`` of ``columns`` (pairs x m, float64) over pairs (a[k], b[k]) of proteins 0..n_proteins-1.

    Each pair is read twice, under a and under b (``_add_owned``), and never through a per-protein mask:
    O(pairs) in all. The totals are the sums of the first side's per-protein sums."""
    z = np.asarray(columns, dtype=np.float64)
    n, m = z.shape
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(n if w is None else w.sum())
    shift = ((z.sum(axis=0) if w is None else w @ z) / total) if total > 0 else np.zeros(m)
    sums = np.zeros((n_proteins, m + 1, m + 1))      # per protein: [sum w zc zc^T, sum w zc; ., sum w]
    _add_owned(z, w, shift, np.asarray(a, dtype=np.int64), sums, rows_per_step)
    whole = sums.sum(axis=0)                         # every pair once, under its first protein
    _add_owned(z, w, shift, np.asarray(b, dtype=np.int64), sums, rows_per_step)
    return Moments(total, whole[m, :m], whole[:m, :m], sums[:, m, m].copy(), sums[:, m, :m].copy(),
                   np.ascontiguousarray(sums[:, :m, :m]), shift)


def _add_owned(z: np.ndarray, w: np.ndarray | None, shift: np.ndarray, owner: np.ndarray, sums: np.ndarray,
               rows_per_step: int) -> None:
    """Add to ``sums[p]`` the product y^T y over the pairs k with owner[k] = p, y = sqrt(w) [z - shift, 1]
    (one BLAS product per protein). Proteins go in blocks of about ``rows_per_step`` pairs; a block's
    rows are read in storage order, then reordered by protein inside the block, so that a side stored
    out of order costs no random reads across the whole array."""
    g, m = len(sums), z.shape[1]
    counts = np.bincount(owner, minlength=g)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    key = np.uint16 if g < 1 << 16 else np.int64
    order = None if bool(np.all(owner[1:] >= owner[:-1])) else np.argsort(owner.astype(key), kind="stable")
    first = 0
    while first < g:
        last = min(max(int(np.searchsorted(bounds, bounds[first] + rows_per_step, side="right")) - 1, first + 1), g)
        lo, hi = int(bounds[first]), int(bounds[last])
        y = np.empty((hi - lo, m + 1))
        if order is None:
            rows = slice(lo, hi)
            np.subtract(z[rows], shift, out=y[:, :m])
        else:
            stored = np.sort(order[lo:hi])
            local = np.argsort((owner[stored] - first).astype(key), kind="stable")
            rows = stored[local]
            np.subtract(z[stored][local], shift, out=y[:, :m])
        y[:, m] = 1.0
        if w is not None:
            y *= np.sqrt(w[rows])[:, None]
        for p in np.flatnonzero(counts[first:last]) + first:
            part = y[bounds[p] - lo:bounds[p + 1] - lo]
            sums[p] += part.T @ part
        first = last


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
