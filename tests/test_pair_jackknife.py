"""protiso.metrics.pair_jackknife.moments: the leave-one-protein-out statistics equal a naive recomputation
(delete the protein's pairs, sum again), whatever order the pairs are stored in and however the blocks fall."""

from __future__ import annotations

import numpy as np
import pytest

from protiso.metrics.pair_jackknife import moments, partial_estimates


def _pairs(proteins: int, seed: int):
    rng = np.random.default_rng(seed)
    a, b = np.triu_indices(proteins, k=1)
    keep = rng.random(len(a)) < 0.7                       # not every pair, one protein with none
    keep &= (a != 3) & (b != 3)
    a, b = a[keep], b[keep]
    effects = rng.normal(size=(proteins, 4))
    columns = effects[a] + effects[b] + rng.normal(size=(len(a), 4))
    return a, b, columns, rng.uniform(0.2, 3.0, len(a))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("step", [7, 1 << 13])
def test_leave_one_out_equals_naive_recomputation(shuffle, weighted, step):
    a, b, z, w = _pairs(40, 1)
    if shuffle:
        order = np.random.default_rng(2).permutation(len(a))
        a, b, z, w = a[order], b[order], z[order], w[order]
    w = w if weighted else np.ones(len(a))
    mom = moments(z, a, b, 40, w if weighted else None, rows_per_step=step)
    loo = mom.leave_one_out()
    for p in range(40):
        keep = (a != p) & (b != p)
        mean = w[keep] @ z[keep] / w[keep].sum()
        naive = (z[keep] - mean).T @ ((z[keep] - mean) * w[keep][:, None]) / w[keep].sum()
        assert loo[p] == pytest.approx(naive, rel=1e-10, abs=1e-12)
        assert mom.protein_weight[p] == pytest.approx(w[~keep].sum(), rel=1e-12)
    full = (z - w @ z / w.sum()).T @ ((z - w @ z / w.sum()) * w[:, None]) / w.sum()
    assert mom.covariance == pytest.approx(full, rel=1e-10, abs=1e-12)
    assert mom.protein_weight[3] == 0.0


def test_partial_interval_is_the_jackknife_of_the_naive_leave_one_out():
    a, b, z, _ = _pairs(30, 4)
    est = partial_estimates(moments(z, a, b, 30), [(0, 1, (2, 3))])[0]

    def partial(rows):
        x = np.column_stack([np.ones(rows.sum()), z[rows][:, 2:]])
        res = [z[rows][:, k] - x @ np.linalg.lstsq(x, z[rows][:, k], rcond=None)[0] for k in (0, 1)]
        return np.corrcoef(res)[0, 1]

    used = [p for p in range(30) if ((a == p) | (b == p)).any()]
    zs = np.arctanh([partial((a != p) & (b != p)) for p in used])
    se = np.sqrt((len(zs) - 1) / len(zs) * ((zs - zs.mean()) ** 2).sum())
    full = partial(np.ones(len(a), dtype=bool))
    assert est.value == pytest.approx(full, rel=1e-9) and est.proteins == len(used)
    assert (est.low, est.high) == pytest.approx((np.tanh(np.arctanh(full) - 1.959963984540054 * se),
                                                 np.tanh(np.arctanh(full) + 1.959963984540054 * se)), rel=1e-8)
