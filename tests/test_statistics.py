"""Issue 22's statistics: scale-free IsoScore* of groups, p- and q-values of groups against their null
(size or length-matched), root GO terms, Monte-Carlo error, matched comparisons across layers and models,
and intervals over proteins, each against an independent computation."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from IsoScore.IsoScore import IsoScore_star
from isotropy_data import build_warehouse, golden, reference_float64, vectors

from protiso.jobs.isotropy import compute_isotropy
from protiso.warehouse import Warehouse


@pytest.fixture()
def warehouse(tmp_path):
    wh = build_warehouse(tmp_path / "w")
    yield wh
    wh.close()


def test_group_isoscore_star_shrinks_towards_the_whole_set_and_ignores_scale(tmp_path):
    g = golden()
    points = g["global_vectors"].astype(np.float64)
    got = {}
    for factor in (1.0, 100.0):
        wh = build_warehouse(tmp_path / f"w{factor}", scale=factor)
        compute_isotropy(wh, by=["organism"], scopes=["global"], min_points=5, null_draws=0)
        got[factor] = {(r["group_by"], r["group_value"]): r for r in wh.query(
            "SELECT * FROM isotropy WHERE scope = 'global'").to_pylist()}
        wh.close()
    whole_cov = np.cov((g["global_vectors"].astype(np.float32).astype(np.float64)).T)
    for key, row in got[1.0].items():
        other = got[100.0][key]
        assert other["isoscore_star"] == pytest.approx(row["isoscore_star"], abs=1e-9)
        assert row["isoscore_star_fixed"] != pytest.approx(other["isoscore_star_fixed"], abs=1e-3)
        if key[0] == "organism":
            assert row["isoscore_star_target"] == "whole set"
            mine = points[g["organisms"] == key[1]].astype(np.float32).astype(np.float64)
            want = reference_float64(IsoScore_star, mine, whole_cov, row["zeta"])
            assert row["isoscore_star"] == pytest.approx(want, rel=1e-8)
        else:
            assert row["isoscore_star_target"] == "scaled identity"


def test_group_moments_target_terms_in_both_forms_equal_the_package():
    """Groups above and below the dimension (moment form, Gram form; nested, so built from each other and
    from the whole set): IsoScore* towards the whole set's covariance equals the package with that C0."""
    from protiso.metrics.grouped import group_moments
    from protiso.metrics.stats import SufficientStats

    points = golden()["global_vectors"][:, :12].astype(np.float64) * 3.0 + 1.0
    members = [np.arange(0, 90), np.arange(0, 70), np.arange(5, 15), np.arange(40, 99, 2)]
    whole = SufficientStats.from_points(points)
    cov = np.cov(points.T)
    found = dict(group_moments(points, members, [(0, 1)], whole=whole, target=True))
    assert len(found) == 4
    for g, moments in found.items():
        mine = points[members[g]]
        assert moments.isoscore_star(0.25) == pytest.approx(reference_float64(IsoScore_star, mine, cov, 0.25), rel=1e-9)
        assert moments.isoscore_star_fixed(0.25) == pytest.approx(
            reference_float64(IsoScore_star, mine, np.eye(12), 0.25), rel=1e-9)
