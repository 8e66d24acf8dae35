"""Local covariance spectra: the metric equals numpy's eigen-decomposition of the brute-force covariance,
the stored row round-trips, and the report's query finds the same 50 / 90 / 99 % components."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from protiso.metrics.spectra import SHARES, Spectrum, spectrum_row
from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse, resources


def residues(n: int = 400, dim: int = 24, seed: int = 3) -> np.ndarray:
    """Anisotropic float32 "residue vectors": a few strong directions, an offset mean."""
    rng = np.random.default_rng(seed)
    scales = np.geomspace(5.0, 0.01, dim)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return ((rng.normal(size=(n, dim)) * scales) @ basis + 0.7).astype(np.float32)


def brute_force_shares(points: np.ndarray) -> np.ndarray:
    values = np.clip(np.linalg.eigvalsh(np.cov(points.astype(np.float64), rowvar=False)), 0.0, None)[::-1]
    return values / values.sum()


def test_spectrum_equals_eigvalsh_of_the_brute_force_covariance():
    points = residues()
    # statistics of two embedding runs, merged as residue_stats_merged() merges them
    stats = SufficientStats.from_points(points[:150]).merge(SufficientStats.from_points(points[150:]))
    spectrum = Spectrum.of(stats)
    assert (spectrum.n, spectrum.dim) == points.shape
    np.testing.assert_allclose(spectrum.eigenvalues, brute_force_shares(points), rtol=1e-7, atol=1e-12)
    assert np.all(np.diff(spectrum.eigenvalues) <= 0) and spectrum.eigenvalues.sum() == pytest.approx(1.0, abs=1e-12)
    cumulative = np.cumsum(brute_force_shares(points))
    for share in SHARES:
        assert spectrum.components(share) == int(np.argmax(cumulative >= share)) + 1


def test_fewer_vectors_than_dimensions_pad_with_zeros():
    points = residues(n=5, dim=12)
    spectrum = Spectrum.of(SufficientStats.from_points(points))
    assert spectrum.eigenvalues.shape == (12,)
    np.testing.assert_allclose(spectrum.eigenvalues, brute_force_shares(points), atol=1e-9)
    assert np.all(spectrum.eigenvalues[4:] < 1e-9)  # rank n - 1 = 4
    assert spectrum.components(1.0) <= 12


def test_degenerate_statistics_give_no_spectrum_and_no_row():
    when = datetime(2025, 1, 1)
    one = SufficientStats.from_points(np.ones((1, 4)))
    constant = SufficientStats.from_points(np.full((50, 4), 3.0))
    for stats in (SufficientStats(4), one, constant):
        assert Spectrum.of(stats) is None
        assert spectrum_row("m", 1, stats, when) is None
    with pytest.raises(ValueError):
        Spectrum.of(SufficientStats.from_points(residues(dim=4))).components(0.0)


def test_stored_row_and_the_report_query_agree_with_the_metric(tmp_path):
    """isotropy_insert_spectrum.sql stores spectrum_row; report_spectrum.sql reads (scope local) the newest
    spectrum of each model's highest layer and counts the same components as Spectrum.components."""
    wh = Warehouse.create(tmp_path / "w")
    con = wh.con
    insert = resources.sql_text("queries", "isotropy_insert_spectrum.sql")
    newest = SufficientStats.from_points(residues(seed=1))
    cases = [("run-a", "m", 8, SufficientStats.from_points(residues(seed=2)), datetime(2025, 1, 1)),  # older
             ("run-b", "m", 8, newest, datetime(2025, 1, 2)),
             ("run-b", "m", 4, SufficientStats.from_points(residues(seed=4)), datetime(2025, 1, 2)),  # lower layer
             ("run-b", "other", 8, SufficientStats.from_points(residues(seed=5)), datetime(2025, 1, 2))]
    for run_id, model, layer, stats, when in cases:
        con.execute(insert, {**spectrum_row(model, layer, stats, when), "run_id": run_id})
    stored = con.execute("SELECT n, dim, eigenvalues FROM local_spectra WHERE run_id = 'run-b' AND model = 'm' "
                         "AND layer = 8").fetchall()[0]
    expect = Spectrum.of(newest)
    assert stored[:2] == (expect.n, expect.dim)
    assert stored[2] == expect.eigenvalues.tolist()  # DOUBLE[] keeps every bit

    query = resources.sql_text("queries", "report_spectrum.sql")
    result = con.execute(query, {"models": ["m"]})
    names = [d[0] for d in result.description]
    found = [dict(zip(names, row)) for row in result.fetchall()]
    assert {r["scope"] for r in found} == {"local"}  # no per-protein embeddings here
    assert {(r["model"], r["layer"]) for r in found} == {("m", 8)}
    assert [r["k"] for r in found] == list(range(1, expect.dim + 1))
    assert [r["eigenvalue"] for r in found] == expect.eigenvalues.tolist()
    np.testing.assert_allclose([r["cumulative"] for r in found], expect.cumulative, rtol=0, atol=1e-14)
    for share in SHARES:
        assert found[0][f"dims_{round(share * 100)}"] == expect.components(share)
    every = con.execute(query, {"models": None}).fetchall()
    assert {(r[1], r[2]) for r in every} == {("m", 8), ("other", 8)}
    wh.close()
