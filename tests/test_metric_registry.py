"""The metric registry: a toy metric declared once in a test-only registry reaches the isotropy table,
``isotropy_latest``, the SQL functions (``protiso sql``) and the report's isotropy table, with no other file
changed; an existing warehouse opened with it gains the column and keeps its rows."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from isotropy_data import build_warehouse, golden
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.jobs.isotropy import compute_isotropy
from protiso.metrics import SufficientStats, isoscore, registry
from protiso.metrics.grouped import group_moments
from protiso.metrics.registry import Metric, ReportColumn, Sums
from protiso.report.document import build_context, render
from protiso.warehouse import Warehouse, catalog


def _entropy(values: np.ndarray | None) -> float | None:
    """Shannon entropy (nats) of the normalised eigenvalues; None for no variance."""
    if values is None or float(values.sum()) <= 0.0:
        return None
    p = values[values > 0] / float(values.sum())
    return float(-(p * np.log(p)).sum())


def entropy_on_points(points: np.ndarray) -> float | None:
    return _entropy(registry.DEFAULT["eigen_spectrum"].on_points(points))


def entropy_on_stats(sums: Sums) -> float | None:
    return _entropy(sums.moments.eigenvalues())


TOY = Metric("spectral_entropy", "DOUBLE", entropy_on_points, entropy_on_stats, ("n", "eigenvalues"),
             udf="spectral_entropy", report=ReportColumn("spectral entropy", style="fixed4"),
             doc="Shannon entropy of the normalised covariance eigenvalues")


def brute_force(points: np.ndarray) -> float:
    """Spectral entropy straight from numpy's covariance eigenvalues."""
    values = np.clip(np.linalg.eigvalsh(np.cov(np.asarray(points, dtype=np.float64), rowvar=False)), 0, None)
    p = values[values > 1e-12 * values.max()] / values.sum()
    return float(-(p * np.log(p)).sum())


@pytest.fixture()
def toy_registry():
    """The default registry with the toy metric, active for the test only."""
    with registry.using(registry.DEFAULT.extended(TOY)) as reg:
        yield reg


def test_toy_metric_reaches_table_functions_and_report(tmp_path, toy_registry):
    g = golden()
    path = tmp_path / "w"
    build_warehouse(path).close()             # made with the default registry: no toy column yet
    with Warehouse.open(path) as wh:          # opened with the toy registry: the column is added
        summary = compute_isotropy(wh, by=["organism"], min_points=5, null_draws=0)
        latest = {(r["scope"], r["group_by"], r["group_value"]): r
                  for r in wh.query("SELECT * FROM isotropy_latest").to_pylist()}
        udf = wh.query("SELECT spectral_entropy(list(embedding)) AS h FROM embeddings").column("h")[0].as_py()
        html = render(build_context(wh))
    assert summary.rows == len(latest)
    glob, local = latest[("global", "all", "all")], latest[("local", "all", "all")]
    assert glob["spectral_entropy"] == pytest.approx(brute_force(g["global_vectors"]), rel=1e-9)
    assert local["spectral_entropy"] == pytest.approx(brute_force(g["residue_vectors"]), rel=1e-9)
    assert glob["isoscore"] == pytest.approx(isoscore(g["global_vectors"]), rel=1e-12)   # the others as before
    assert udf == pytest.approx(brute_force(g["global_vectors"]), rel=1e-9)

    # groups (their moments keep the eigenvalues because a grouped metric needs them)
    groups = {k[2]: r for k, r in latest.items() if k[0] == "global" and k[1] == "organism"}
    assert groups
    for name, row in groups.items():
        points = g["global_vectors"][g["organisms"].astype(str) == name]
        assert row["n_points"] == len(points)
        assert row["spectral_entropy"] == pytest.approx(brute_force(points), rel=1e-9)

    # the report's isotropy table: a column with its heading, each number equal to isotropy_latest's
    assert "spectral entropy</th>" in html
    shown = re.findall(r'data-metric="spectral_entropy"([^>]*)data-value="([^"]*)"', html)
    by_scope = {re.search(r'data-scope="(\w+)"', attrs).group(1): json.loads(value) for attrs, value in shown}
    assert by_scope == pytest.approx({"global": glob["spectral_entropy"], "local": local["spectral_entropy"]},
                                     rel=1e-12)

    # `protiso sql` (another connection, opened read-only) has the function too
    result = CliRunner().invoke(app, ["sql", "-w", str(path), "-f", "json",
                                      "SELECT spectral_entropy(list(embedding)) AS h FROM embeddings"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["h"] == pytest.approx(udf, rel=1e-12)


def test_default_registry_is_untouched_and_old_rows_are_kept(tmp_path, toy_registry):
    path = tmp_path / "w"
    with build_warehouse(path) as wh:
        compute_isotropy(wh, scopes=["global"])
        before = wh.query("SELECT isoscore, spectral_entropy FROM isotropy").to_pylist()
    with registry.using(registry.DEFAULT):    # back to protiso's own metrics: the column stays, unused
        with Warehouse.open(path) as wh:
            html = render(build_context(wh))
            after = wh.query("SELECT isoscore, spectral_entropy FROM isotropy").to_pylist()
    assert after == before and before[0]["spectral_entropy"] is not None
    assert "spectral_entropy" not in html
    assert "spectral_entropy" not in catalog.FUNCTIONS and "spectral_entropy" not in registry.DEFAULT.function_names()


def test_group_moments_keep_the_eigenvalues_in_both_forms():
    """Gram-form groups (fewer vectors than dimensions) and moment-form groups (built from nothing, from the
    whole set, from a related group) keep the eigenvalues of their scatter, as numpy finds them."""
    points = golden()["global_vectors"][:, :40]                      # 99 real vectors, 40 dimensions
    rng = np.random.default_rng(3)
    members = [np.sort(rng.choice(len(points), size, replace=False)) for size in (12, 60, 70, 95)]
    members.append(np.union1d(members[1], members[0]))
    whole = SufficientStats.from_points(points)
    found = dict(group_moments(points, members, relations=[(1, 4)], whole=whole, spectrum=True))
    for g, index in enumerate(members):
        x = points[index].astype(np.float64)
        expected = np.sort(np.clip(np.linalg.eigvalsh((x - x.mean(0)).T @ (x - x.mean(0))), 0, None))[::-1]
        assert found[g].eigenvalues() == pytest.approx(expected, rel=1e-9, abs=1e-9 * expected[0])
    plain = dict(group_moments(points, members))
    with pytest.raises(ProtisoError, match="not kept"):
        plain[1].eigenvalues()


def test_a_registry_refuses_a_name_twice_and_unknown_sums():
    with pytest.raises(ProtisoError, match="declared twice"):
        registry.DEFAULT.extended(TOY, TOY)
    with pytest.raises(ProtisoError, match="unknown sums"):
        registry.DEFAULT.extended(Metric("toy", "DOUBLE", None, entropy_on_stats, ("sum_of_cubes",)))
