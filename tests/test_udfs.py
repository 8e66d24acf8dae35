"""protiso.warehouse.udfs: the isotropy SQL functions on a plain DuckDB connection and on a warehouse."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from IsoScore.IsoScore import IsoScore
from isotropy_data import build_warehouse, golden, reference_float64, vectors

from protiso.metrics import effective_dims, eigen_spectrum, isoscore, isoscore_star, mean_pairwise_cosine
from protiso.warehouse import udfs


@pytest.fixture()
def con():
    connection = duckdb.connect()
    udfs.register(connection)
    g = golden()
    connection.register("golden", pa.table({
        "organism": [str(o) for o in g["organisms"]], "embedding": vectors(g["global_vectors"]),
    }))
    yield connection
    connection.close()


def scalar(con, sql, params=None):
    return con.execute(sql, params).fetchone()[0]


def test_group_by_matches_reference_per_group(con):
    g = golden()
    rows = con.execute(
        "SELECT organism, isoscore(list(embedding)), effective_dims(list(embedding)), "
        "isoscore_star(list(embedding), 0.2), mean_pairwise_cosine(list(embedding)), count(*) "
        "FROM golden GROUP BY ALL HAVING count(*) >= 5 ORDER BY organism"
    ).fetchall()
    assert len(rows) >= 3
    for organism, iso, dims, star, cosine, count in rows:
        points = g["global_vectors"][g["organisms"] == organism]
        assert len(points) == count
        assert iso == pytest.approx(reference_float64(IsoScore, points), rel=1e-12)
        assert dims == pytest.approx(effective_dims(points), rel=1e-12)
        assert star == pytest.approx(isoscore_star(points, 0.2), rel=1e-12)
        assert cosine == pytest.approx(mean_pairwise_cosine(points), abs=1e-12)


def test_whole_set_equals_reference_and_brute_force(con):
    points = golden()["global_vectors"].astype(np.float64)
    assert scalar(con, "SELECT isoscore(list(embedding)) FROM golden") == pytest.approx(
        float(IsoScore(points)), rel=3e-6)  # published package: float32 sqrt(n), see test_isotropy
    unit = points / np.linalg.norm(points, axis=1, keepdims=True)
    brute = ((unit @ unit.T).sum() - len(points)) / (len(points) * (len(points) - 1))
    assert scalar(con, "SELECT mean_pairwise_cosine(list(embedding)) FROM golden") == pytest.approx(brute, abs=1e-9)
    spectrum = scalar(con, "SELECT eigen_spectrum(list(embedding)) FROM golden")
    np.testing.assert_allclose(spectrum, eigen_spectrum(points), atol=1e-12)
    assert len(spectrum) == points.shape[1] and sum(spectrum) == pytest.approx(1.0)


@pytest.mark.parametrize("cast", ["FLOAT[]", "DOUBLE[]", "FLOAT[512]", "DOUBLE[512]"])
def test_float_double_lists_and_arrays(con, cast):
    value = scalar(con, f"SELECT isoscore(list(embedding::{cast})) FROM golden")
    assert value == pytest.approx(isoscore(golden()["global_vectors"]), rel=1e-12)


def test_many_groups_across_chunks(con):
    rng = np.random.default_rng(0)
    points = rng.standard_normal((9000, 3))
    con.register("small", pa.table({"g": np.arange(9000) % 3000, "v": vectors(points)}))
    rows = dict(con.execute("SELECT g, isoscore(list(v)) FROM small GROUP BY g").fetchall())
    assert len(rows) == 3000
    for group in (0, 1234, 2999):
        assert rows[group] == pytest.approx(isoscore(points[np.arange(9000) % 3000 == group].astype(np.float32)),
                                            rel=1e-12)


def test_zeta_per_row(con):
    rows = con.execute(
        "SELECT z, isoscore_star(v, z) FROM (SELECT list(embedding) AS v FROM golden), "
        "(VALUES (0.0), (0.5), (1.0), (NULL)) t(z) ORDER BY z NULLS LAST"
    ).fetchall()
    points = golden()["global_vectors"]
    assert [r[1] for r in rows[:3]] == pytest.approx([isoscore_star(points, z) for z in (0.0, 0.5, 1.0)], rel=1e-12)
    assert rows[3][1] is None


@pytest.mark.parametrize("sql", [
    "SELECT isoscore(NULL)",
    "SELECT isoscore([])",
    "SELECT isoscore([[1.0, 2.0]])",
    "SELECT isoscore([[1.0, 2.0], NULL])",
    "SELECT isoscore([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]])",
    "SELECT effective_dims([[1.0, 2.0], [1.0, 2.0]])",
    "SELECT eigen_spectrum([[1.0, 2.0], [1.0, 2.0]])",
    "SELECT mean_pairwise_cosine([[1.0, 2.0]])",
    "SELECT isoscore_star([[1.0, 2.0], [3.0, 1.0]], NULL)",
    "SELECT isoscore(list(v)) FROM (SELECT [1.0, 2.0] AS v) WHERE false",
])
def test_null_rules(con, sql):
    assert scalar(con, sql) is None


def test_null_vectors_are_skipped(con):
    with_null = scalar(con, "SELECT isoscore([[1.0, 2.0], NULL, [2.0, 5.0], [3.0, 1.0]])")
    assert with_null == pytest.approx(isoscore(np.array([[1.0, 2.0], [2.0, 5.0], [3.0, 1.0]])), rel=1e-12)


@pytest.mark.parametrize("sql,message", [
    ("SELECT isoscore([[1.0, 2.0], [1.0, 2.0, 3.0]])", "different lengths"),
    ("SELECT isoscore([[1.0, 'nan'::DOUBLE], [1.0, 2.0]])", "NaN or infinity"),
    ("SELECT effective_dims([[1.0, 'inf'::DOUBLE], [1.0, 2.0]])", "NaN or infinity"),
    ("SELECT isoscore([[1.0, NULL], [1.0, 2.0]])", "NULL components"),
    ("SELECT isoscore([[], []]::FLOAT[][])", "length 0"),
    ("SELECT isoscore_star([[1.0, 2.0], [3.0, 1.0]], 2)", "zeta"),
    ("SELECT isoscore('abc')", "list of vectors"),
    ("SELECT isoscore([1.0, 2.0])", "list of vectors"),
    ("SELECT mean_pairwise_cosine([[0.0, 0.0], [1.0, 2.0]])", "zero"),
])
def test_errors_are_clear(con, sql, message):
    with pytest.raises(duckdb.Error, match=message):
        con.execute(sql).fetchall()


def test_register_is_idempotent_and_warehouse_has_them(tmp_path):
    connection = duckdb.connect()
    udfs.register(connection)
    udfs.register(connection)
    assert scalar(connection, "SELECT isoscore([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])") == 1.0
    with build_warehouse(tmp_path / "w") as wh:
        value = wh.query("SELECT isoscore(list(embedding)) AS v FROM embeddings").column("v")[0].as_py()
    assert value == pytest.approx(isoscore(golden()["global_vectors"]), rel=1e-12)
