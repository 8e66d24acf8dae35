"""The pooled local row's interval over proteins (protiso.metrics.pooled_bootstrap): each replicate equals
the IsoScore recomputed from the pooled residue vectors of the proteins it draws; real residue vectors."""

from __future__ import annotations

import numpy as np
import pytest
from isotropy_data import golden

from protiso.metrics.isotropy import isoscore
from protiso.metrics.pooled_bootstrap import PooledUnits, bootstrap_pooled


def _proteins(count: int):
    g = golden()
    points = g["residue_vectors"].astype(np.float32).astype(np.float64)
    sizes = np.resize([5, 9, 3, 12, 7], count)
    ends = np.cumsum(sizes)
    assert ends[-1] <= len(points)
    return [points[e - s:e] for s, e in zip(sizes, ends)]


@pytest.mark.parametrize("blocks", [None, 3])
def test_each_replicate_equals_the_recomputed_pooled_isoscore(blocks):
    proteins = _proteins(11)
    dim = proteins[0].shape[1]
    pool = PooledUnits(dim, blocks)
    names = np.repeat([f"P{i:02d}" for i in range(11)], [len(p) for p in proteins])
    rows = np.concatenate(proteins)
    for lo in range(0, len(rows), 16):                 # batches cut across proteins
        pool.add(names[lo:lo + 16], rows[lo:lo + 16])
    k = len(pool.scatter)
    assert pool.units == 11 and k == (11 if blocks is None else 3)
    members = [[p for p in range(11) if p % k == b] for b in range(k)]
    rng = np.random.default_rng(0)
    weights = rng.multinomial(k, np.full(k, 1.0 / k), size=5)
    got = pool.replicates(weights)
    for c, value in zip(weights, got):
        drawn = np.concatenate([proteins[p] for b in range(k) for _ in range(c[b]) for p in members[b]])
        assert value == pytest.approx(isoscore(drawn), rel=1e-9)
    assert pool.replicates(np.ones((1, k)))[0] == pytest.approx(isoscore(rows), rel=1e-9)


def test_interval_is_seeded_and_centred_on_the_estimate():
    proteins = _proteins(20)
    pool = PooledUnits(proteins[0].shape[1])
    pool.add(np.repeat(np.arange(20), [len(p) for p in proteins]), np.concatenate(proteins))
    estimate = isoscore(np.concatenate(proteins))
    low, high = bootstrap_pooled(pool, estimate, 400, seed=3)
    assert low < estimate < high
    assert bootstrap_pooled(pool, estimate, 400, seed=3) == (low, high)
    assert bootstrap_pooled(pool, estimate, 400, seed=4) != (low, high)
    one = PooledUnits(proteins[0].shape[1])
    one.add(np.zeros(len(proteins[0])), proteins[0])
    assert bootstrap_pooled(one, estimate, 100, seed=3) is None


def test_pooled_local_row_interval_is_a_bootstrap_over_the_stored_proteins(tmp_path):
    """The job's pooled row: its interval equals a seeded bootstrap over the proteins with stored residues,
    each replicate's IsoScore recomputed from the pooled residue vectors of the proteins drawn."""
    from isotropy_data import build_warehouse

    from protiso.jobs.isotropy import compute_isotropy

    wh = build_warehouse(tmp_path / "w")
    try:
        summary = compute_isotropy(wh, scopes=["local"], seed=5)
        row, = wh.query("SELECT * FROM local_isotropy WHERE run_id = ? AND definition = 'pooled'",
                        [summary.run_id]).to_pylist()
        stored = wh.query("SELECT accession, list(vector ORDER BY position) AS v FROM residues WHERE model = ? "
                          "AND layer = ? GROUP BY 1 ORDER BY 1", [row["model"], row["layer"]]).to_pylist()
    finally:
        wh.close()
    proteins = [np.asarray(r["v"], dtype=np.float32).astype(np.float64) for r in stored]
    k = len(proteins)
    assert 2 <= k <= 64 and row["cosine_proteins"] == k
    weights = np.random.default_rng(5).multinomial(k, np.full(k, 1.0 / k), size=row["ci_replicates"])
    pool = PooledUnits(proteins[0].shape[1])
    pool.add(np.repeat(np.arange(k), [len(p) for p in proteins]), np.concatenate(proteins))
    values = pool.replicates(weights)
    for c, value in zip(weights[:40], values):      # the replicates, recomputed from the residue vectors
        assert value == pytest.approx(isoscore(np.concatenate([proteins[u] for u in range(k) for _ in range(c[u])])),
                                      rel=1e-9)
    low, mid, high = np.quantile(values, [0.025, 0.5, 0.975])
    estimate = row["isoscore"]
    assert (row["isoscore_ci_low"], row["isoscore_ci_high"]) == pytest.approx(
        (estimate - (mid - low), estimate + (high - mid)), rel=1e-9)
    assert row["isoscore_ci_low"] < estimate < row["isoscore_ci_high"]
    assert (row["ci_replicates"], row["ci_seed"]) == (1000, 5) and "proteins" in row["ci_method"]
