"""Post-processing: the transforms (protiso.metrics.postprocess) and derived embedding sets (protiso.postprocess)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from isotropy_data import build_warehouse, golden
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.jobs.postprocess import postprocess_embeddings
from protiso.metrics import isoscore
from protiso.metrics.postprocess import fit, fit_apply, fit_from_stats
from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse


def cloud(seed: int, n_points: int = 2000, dim: int = 16) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_points, dim)) @ (rng.standard_normal((dim, dim)) * np.geomspace(0.1, 5, dim)) + 4


def test_center_removes_the_mean_and_keeps_isoscore():
    points = cloud(0)
    out = fit_apply(points, "center")
    assert np.abs(out.astype(np.float64).mean(axis=0)).max() < 1e-5
    assert isoscore(out) == pytest.approx(isoscore(points), rel=1e-6)


def test_whiten_gives_identity_covariance():
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.standard_normal((16, 16)))
    points = rng.standard_normal((3000, 16)) * np.linspace(0.5, 2.0, 16) @ rotation + 4  # well conditioned
    out = fit_apply(points, "whiten").astype(np.float64)
    np.testing.assert_allclose(np.cov(out.T), np.eye(16), atol=1e-4)
    assert isoscore(out) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("points", [cloud(1), golden()["global_vectors"]], ids=["synthetic", "antiberty"])
@pytest.mark.parametrize("eps", [1e-6, 1e-2])
def test_whiten_spectrum_is_lambda_over_lambda_plus_floor(points, eps):
    values = np.clip(np.linalg.eigvalsh(np.cov(points.astype(np.float64).T)), 0, None)
    expected = np.sort(np.where(values > 0, values / (values + eps * values.mean()), 0.0))
    out = fit_apply(points, "whiten", eps=eps).astype(np.float64)
    got = np.sort(np.clip(np.linalg.eigvalsh(np.cov(out.T)), 0, None))
    np.testing.assert_allclose(got, expected, atol=2e-4)


@pytest.mark.parametrize("k", [1, 3])
def test_abtt_matches_mu_and_viswanath(k):
    points = cloud(2)
    centred = points - points.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    top = vt[:k]
    expected = centred - centred @ top.T @ top
    out = fit_apply(points, "abtt", k=k).astype(np.float64)
    np.testing.assert_allclose(out, expected, atol=1e-4 * np.abs(expected).max())
    assert np.abs(out @ top.T).max() < 1e-4 * np.abs(expected).max()


def test_fit_from_streamed_statistics_equals_fit_on_points():
    points = cloud(3)
    stats = SufficientStats(16)
    for chunk in np.array_split(points, 5):
        stats.add(chunk)
    for method in ("center", "whiten", "abtt"):
        np.testing.assert_allclose(fit_from_stats(stats, method, k=2).apply(points),
                                   fit(points, method, k=2).apply(points), atol=1e-5)


def test_transform_errors():
    points = cloud(4, 20, 4)
    with pytest.raises(ProtisoError, match="unknown post-processing method"):
        fit(points, "rotate")
    with pytest.raises(ProtisoError, match="k must be"):
        fit(points, "abtt", k=4)
    with pytest.raises(ProtisoError, match="at least 2"):
        fit(points[:1], "center")
    with pytest.raises(ProtisoError, match="no variance"):
        fit(np.ones((5, 4)), "whiten")
    with pytest.raises(ProtisoError, match="dimension"):
        fit(points, "center").apply(np.ones((2, 3)))


def raw_and_set(wh: Warehouse, name: str) -> tuple[np.ndarray, np.ndarray]:
    def load(embedding_set):
        table = wh.query("SELECT embedding FROM embeddings WHERE embedding_set = ? ORDER BY accession", [embedding_set])
        return np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    return load("raw"), load(name)


def test_derived_sets_are_stored_beside_raw(tmp_path):
    with build_warehouse(tmp_path / "w") as wh:
        summary = postprocess_embeddings(wh, "abtt")
        assert summary.embedding_sets == ["abtt-5"] and summary.rows == 99  # k = round(512 / 100)
        raw, derived = raw_and_set(wh, "abtt-5")
        np.testing.assert_allclose(derived, fit_apply(raw, "abtt", k=5), atol=1e-5)
        row = wh.query("SELECT count(*) AS n, count(local_isoscore) AS local, any_value(run_id) AS run, "
                       "any_value(pooling) AS pooling FROM embeddings WHERE embedding_set = 'abtt-5'").to_pylist()[0]
        assert row["n"] == 99 and row["local"] == 0 and row["run"] == summary.run_id
        assert row["pooling"] == str(golden()["pooling"])
        run = wh.query("SELECT kind, status, params FROM runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]
        params = json.loads(run["params"])
        assert run["kind"] == "postprocess" and run["status"] == "done"
        assert params["method"] == "abtt" and params["embedding_sets"] == ["abtt-5"] and params["source"] == "raw"


def test_rerun_replaces_the_derived_set(tmp_path):
    with build_warehouse(tmp_path / "w") as wh:
        postprocess_embeddings(wh, "center")
        postprocess_embeddings(wh, "whiten")
        again = postprocess_embeddings(wh, "center")
        assert again.replaced_parts == 1
        rows = wh.query("SELECT embedding_set, count(*) AS n FROM embeddings GROUP BY ALL").to_pylist()
        counts = {row["embedding_set"]: row["n"] for row in rows}
        assert counts == {"raw": 99, "centered": 99, "whitened": 99}
    with Warehouse.open(tmp_path / "w") as wh:  # the replaced file is collected at the next open
        files = sorted((tmp_path / "w" / "parquet").rglob("*.parquet"))
        assert len(files) == wh.query("SELECT count(*) AS n FROM parts").column("n")[0].as_py()


def test_errors(tmp_path):
    with build_warehouse(tmp_path / "w") as wh:
        with pytest.raises(ProtisoError, match="no embeddings in set 'centered'"):
            postprocess_embeddings(wh, "center", source="centered")
        with pytest.raises(ProtisoError, match="--k applies"):
            postprocess_embeddings(wh, "whiten", k=3)
        with pytest.raises(ProtisoError, match="unknown"):
            postprocess_embeddings(wh, "rotate")


def test_cli_postprocess(tmp_path):
    build_warehouse(tmp_path / "w").close()
    result = CliRunner().invoke(app, ["postprocess", "-w", str(tmp_path / "w"), "--method", "abtt", "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "abtt-2" in result.output
    bad = CliRunner().invoke(app, ["postprocess", "-w", str(tmp_path / "w"), "--method", "spin"])
    assert bad.exit_code == 2 and "unknown post-processing method" in bad.output
    with Warehouse.open(tmp_path / "w") as wh:
        n = wh.query("SELECT count(*) AS n FROM embeddings WHERE embedding_set = 'abtt-2'").column("n")[0].as_py()
    assert n == 99
