"""One formula, every layer: IsoScore, effective dims and IsoScore* agree wherever protiso computes them.

The same point clouds go through numpy (``protiso.metrics.isotropy``), the mergeable
``SufficientStats``, the stage's torch moments (``isoscore_moments``), the Python SQL UDFs
(``protiso.warehouse.udfs``) and the plain-SQL macros of ``sql/macros/isotropy_stats.sql`` fed one
statistics row per point, and each must match the reference ``IsoScore`` package evaluated in
float64 (or, where the package is undefined, the written degenerate rules: None / NULL). The stage's
Arrow schemas are checked against the table contracts in ``sql/tables/``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest
import torch
from IsoScore.IsoScore import IsoScore, IsoScore_star
from isotropy_data import reference_float64

from protiso.embedding.collect import EMBEDDINGS_SCHEMA, RESIDUES_SCHEMA, isoscore_moments
from protiso.metrics.isotropy import (
    effective_dims,
    isoscore,
    isoscore_from_pr,
    isoscore_star,
    isoscore_star_fixed,
    participation_ratio,
    scatter_matrix,
)
from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse

ZETA = 0.3
REL = 1e-9
ABS = 1e-12  # rank-1 clouds score 0 up to rounding


@dataclass(frozen=True)
class Cloud:
    points: np.ndarray
    defined: bool = True  # False: IsoScore and effective dims are undefined (None) by protiso's rules


def _rotation(rng: np.random.Generator, dim: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q


def _clouds() -> dict[str, Cloud]:
    rng = np.random.default_rng(20240611)
    anisotropic = rng.standard_normal((300, 12)) * np.geomspace(4.0, 0.05, 12) @ _rotation(rng, 12) + 0.3
    direction = rng.standard_normal(16)
    rank_one = rng.standard_normal((40, 1)) * direction + rng.standard_normal(16)
    few_points = rng.standard_normal((6, 24)) * np.geomspace(2.0, 0.1, 24) - 0.5
    return {
        "anisotropic": Cloud(anisotropic),
        "rank-1": Cloud(rank_one),
        "fewer-points-than-dims": Cloud(few_points),
        "two-points": Cloud(rng.standard_normal((2, 10))),
        "constant": Cloud(np.tile([0.1, -0.7, 2.3, 0.0], (5, 1)), defined=False),
        "one-point": Cloud(rng.standard_normal((1, 5)), defined=False),
    }


CLOUDS = _clouds()


def expected(cloud: Cloud) -> dict[str, float | None]:
    """The reference package in float64; the written rules where it is undefined."""
    points = cloud.points
    n_points, dim = points.shape
    score = reference_float64(IsoScore, points) if cloud.defined else None
    fixed = reference_float64(IsoScore_star, points, np.eye(dim), ZETA) if n_points >= 2 else None
    # scale-free: the package's formula with C0 = (tr C / dim) I; no variance, no target: undefined
    target = np.trace(np.atleast_2d(np.cov(points.T))) / dim * np.eye(dim) if n_points >= 2 else None
    star = reference_float64(IsoScore_star, points, target, ZETA) if cloud.defined else None
    return {
        "isoscore": score,
        "effective_dims": None if score is None else score * (dim - 1) + 1,  # PR = IsoScore (n - 1) + 1
        "isoscore_star": star,
        "isoscore_star_fixed": fixed,
    }


# -- the implementations: each returns the quantities it exposes ------------------------------------


def numpy_points(points: np.ndarray, con) -> dict:
    return {"isoscore": isoscore(points), "effective_dims": effective_dims(points),
            "isoscore_star": isoscore_star(points, ZETA), "isoscore_star_fixed": isoscore_star_fixed(points, ZETA)}


def numpy_covariance(points: np.ndarray, con) -> dict:
    pr = participation_ratio(scatter_matrix(points) / (len(points) - 1))
    return {"effective_dims": pr, "isoscore": isoscore_from_pr(pr, points.shape[1])}


def sufficient_stats(points: np.ndarray, con) -> dict:
    stats = SufficientStats.from_points(points[:1]) + SufficientStats.from_points(points[1:])  # merged
    return {"isoscore": stats.isoscore(), "effective_dims": stats.effective_dims(),
            "isoscore_star": stats.isoscore_star(ZETA), "isoscore_star_fixed": stats.isoscore_star_fixed(ZETA)}


def torch_moments(points: np.ndarray, con) -> dict:
    """The stage's per-protein rule: moments on the device, then the one PR -> IsoScore step."""
    if len(points) < 2:
        return {"isoscore": None, "effective_dims": None}
    trace, frob2, tolerance = (float(t) for t in isoscore_moments(torch.from_numpy(points)))
    pr = None if trace <= tolerance else trace * trace / frob2
    return {"isoscore": isoscore_from_pr(pr, points.shape[1]), "effective_dims": pr}


def _query(con, sql: str, name: str, table: pa.Table) -> tuple:
    con.register(name, table)
    try:
        (row,) = con.execute(sql).fetchall()
        return row
    finally:
        con.unregister(name)


def sql_udfs(points: np.ndarray, con) -> dict:
    row = _query(con, f"SELECT isoscore(list(v)), effective_dims(list(v)), isoscore_star(list(v), {ZETA}), "
                      f"isoscore_star_fixed(list(v), {ZETA}) FROM cloud", "cloud",
                 pa.table({"v": pa.array(list(points), pa.list_(pa.float64()))}))
    return dict(zip(("isoscore", "effective_dims", "isoscore_star", "isoscore_star_fixed"), row))


def sql_macros(points: np.ndarray, con) -> dict:
    """One statistics row per point (n = 1, x, x x^T), merged in SQL as residue_stats rows are."""
    dim = points.shape[1]
    rows = pa.table({
        "n": pa.array([1] * len(points), pa.int64()),
        "dim": pa.array([dim] * len(points), pa.int32()),
        "sum_x": pa.array(list(points), pa.list_(pa.float64())),
        "sum_xxt": pa.array([np.outer(x, x).ravel() for x in points], pa.list_(pa.float64())),
    })
    sql = (f"SELECT stats_isoscore(n, dim, sx, sxx), stats_effective_dims(n, dim, sx, sxx), "
           f"stats_isoscore_star(n, dim, sx, sxx, {ZETA}), stats_isoscore_star_fixed(n, dim, sx, sxx, {ZETA}) FROM ("
           "SELECT sum(n) AS n, any_value(dim) AS dim, stats_sum_lists(list(sum_x)) AS sx, "
           "stats_sum_lists(list(sum_xxt)) AS sxx FROM point_stats)")
    row = _query(con, sql, "point_stats", rows)
    return dict(zip(("isoscore", "effective_dims", "isoscore_star", "isoscore_star_fixed"), row))


IMPLEMENTATIONS = {f.__name__: f for f in (numpy_points, numpy_covariance, sufficient_stats, torch_moments,
                                           sql_udfs, sql_macros)}
# A covariance matrix's PR has no degenerate rules of its own: it applies to clouds that have variance.
CASES = [(c, i) for c in CLOUDS for i in IMPLEMENTATIONS if CLOUDS[c].defined or i != "numpy_covariance"]


@pytest.fixture(scope="module")
def warehouse_con(tmp_path_factory):
    """A real warehouse connection: protiso's UDFs registered and its SQL macros created."""
    wh = Warehouse.create(tmp_path_factory.mktemp("agreement") / "w")
    yield wh.con
    wh.close()


@pytest.mark.parametrize("cloud,implementation", CASES)
def test_every_layer_gives_the_same_isoscore(cloud, implementation, warehouse_con):
    got = IMPLEMENTATIONS[implementation](CLOUDS[cloud].points, warehouse_con)
    want = expected(CLOUDS[cloud])
    assert set(got) <= set(want) and "isoscore" in got
    for key, value in got.items():
        if want[key] is None:
            assert value is None, key
        else:
            assert value == pytest.approx(want[key], rel=REL, abs=ABS), key


@pytest.mark.parametrize("table,schema", [("embeddings", EMBEDDINGS_SCHEMA), ("residues", RESIDUES_SCHEMA)])
def test_stage_schemas_are_the_table_contracts(tmp_path, table, schema):
    with Warehouse.create(tmp_path / "w") as wh:
        contract = wh.contract(table)
    assert schema.names == contract.names
    assert schema.equals(contract), f"stage schema\n{schema}\n!= sql/tables/{table}.sql\n{contract}"
