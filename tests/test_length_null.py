"""The length-matched null (protiso.metrics.length_null): every draw's IsoScore equals a recomputation
from the raw vectors of the documented random group, and its distribution agrees with an independent
brute-force length-matched draw; real Swiss-Prot lengths, anisotropic vectors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from protiso.metrics.isotropy import isoscore
from protiso.metrics.length_null import LengthNull, length_strata, plan_lengths
from protiso.metrics.size_null import SizeNull, units_of


def _lengths(fasta, count: int) -> np.ndarray:
    """Lengths of the first ``count`` sequences of ``fasta`` (gzip)."""
    out, current = [], 0
    with gzip.open(fasta, "rt") as src:
        for line in src:
            if line.startswith(">"):
                if current:
                    out.append(current)
                if len(out) == count:
                    break
                current = 0
            else:
                current += len(line.strip())
    return np.array(out[:count], dtype=np.float64)


@pytest.fixture(scope="module")
def setting(shared_data):
    rng = np.random.default_rng(3)
    lengths = _lengths(shared_data / "swissprot-2014" / "swissprot_2014.fasta.gz", 300)
    dim = 48
    mix = rng.standard_normal((dim, dim)) * np.geomspace(2.0, 0.1, dim)
    # vectors whose spread depends on length, so that the length composition matters
    points = (rng.standard_normal((300, dim)) @ mix) * (1 + np.log(lengths)[:, None] / 4) + 1.0
    strata = length_strata(lengths, 10)
    order = np.argsort(lengths)
    groups = [order[:12], order[:40], order[-30:], order[100:260], np.sort(rng.choice(300, 25, replace=False)),
              np.sort(rng.choice(300, 280, replace=False)), order[5:45], order[50:250], order[55:255], np.arange(300)]
    return points, lengths, strata, groups


def _redraw(strata, group, seed, j):
    counts = np.bincount(strata[group], minlength=strata.max() + 1)
    chosen = []
    for b, c in enumerate(counts):
        members = np.flatnonzero(strata == b)
        chosen += list(members[np.random.default_rng([seed, j, b]).permutation(len(members))][:c])
    return np.array(chosen)


def test_each_draw_equals_its_random_group_recomputed_from_the_vectors(setting):
    points, _, strata, groups = setting
    units, _ = units_of(np.arange(len(points)))
    null = LengthNull(points.astype(np.float32), units, strata, groups, 6, seed=5, relations=[(0, 1), (1, 6)])
    plan = null.plan
    assert plan is not None and plan.gram and any(p == 1 for p in plan.parent.values())   # Gram, whole set
    assert any(p >= 2 and v - 2 not in plan.gram for v, p in plan.parent.items())        # and neighbours
    for g, group in enumerate(groups[:-1]):
        expected = [isoscore(points.astype(np.float32).astype(np.float64)[_redraw(strata, group, 5, j)])
                    for j in range(6)]
        assert null.of_group(g).values == pytest.approx(expected, rel=1e-9)
        assert null.of_group(g).draws == 6
    whole = null.of_group(len(groups) - 1)      # every protein: the same group each draw, no spread
    assert whole.sd == pytest.approx(0.0, abs=1e-12)


def test_distribution_agrees_with_an_independent_brute_force_draw(setting):
    """Same mean and sd within Monte-Carlo error as length-matched groups drawn by another generator."""
    points, _, strata, groups = setting
    units, _ = units_of(np.arange(len(points)))
    draws = 200
    null = LengthNull(points, units, strata, groups[:3], draws, seed=1)
    rng = np.random.default_rng(99)
    for g, group in enumerate(groups[:3]):
        counts = np.bincount(strata[group], minlength=strata.max() + 1)
        brute = np.array([isoscore(points[np.concatenate([rng.choice(np.flatnonzero(strata == b), c, replace=False)
                                                          for b, c in enumerate(counts) if c])]) for _ in range(draws)])
        mine = np.array(null.of_group(g).values)
        se_mean = np.sqrt(mine.var(ddof=1) / draws + brute.var(ddof=1) / draws)
        assert abs(mine.mean() - brute.mean()) < 4 * se_mean
        assert mine.std(ddof=1) == pytest.approx(brute.std(ddof=1), rel=4 * np.sqrt(2 / (draws - 1)))


def test_plan_moves_fewer_rows_than_the_groups_hold(setting):
    _, _, strata, groups = setting
    comp = np.array([np.bincount(strata[g], minlength=strata.max() + 1) for g in groups])
    units = np.bincount(strata).astype(np.float64)
    plan = plan_lengths(comp, units, units, 4, [(0, 1)])
    assert plan.rows < comp.sum()
    assert sorted(v - 2 for v in plan.parent if v >= 2) == list(range(len(groups)))


def test_local_units_draw_whole_proteins_with_their_residues(setting):
    """Units of several rows (a protein's residues): a random group takes every row of the proteins drawn."""
    points, _, strata, groups = setting
    rows_per = np.resize([1, 3, 2], len(points))
    owner = np.repeat(np.arange(len(points)), rows_per)
    rng = np.random.default_rng(8)
    residues = points[owner] + rng.normal(scale=0.3, size=(len(owner), points.shape[1]))
    units, _ = units_of(owner)
    null = LengthNull(residues, units, strata, groups[:4], 3, seed=9, relations=[(0, 1)])
    for g, group in enumerate(groups[:4]):
        expected = [isoscore(residues[np.concatenate([units[u] for u in _redraw(strata, group, 9, j)])])
                    for j in range(3)]
        assert null.of_group(g).values == pytest.approx(expected, rel=1e-9)


def test_draws_in_worker_processes_equal_the_draws_in_this_one(setting):
    """--workers changes who draws, not what: both nulls give the same values, bit for bit, in draw order."""
    points, _, strata, groups = setting
    points = points.astype(np.float32)
    units, _ = units_of(np.arange(len(points)))
    sizes = [len(g) for g in groups]
    length = [LengthNull(points, units, strata, groups, 5, seed=2, workers=w) for w in (1, 2, 3)]
    size = [SizeNull(points, units, sizes, 5, seed=2, workers=w) for w in (1, 2, 3)]
    for g, k in enumerate(sizes):
        assert length[0].of_group(g).draws == 5
        assert length[0].of_group(g).values == length[1].of_group(g).values == length[2].of_group(g).values
        assert size[0].of_size(k).values == size[1].of_size(k).values == size[2].of_size(k).values
