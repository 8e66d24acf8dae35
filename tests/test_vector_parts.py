"""Issue 23 item 2: vectors stored as fixed-size lists in every part, older parts migrated on open, export fixed-size.

Real AntiBERTy vectors of 99 Swiss-Prot proteins (``fixtures/isotropy_antiberty.npz``): written through
``Commit.write_part`` and ``import-vectors``, then turned back into parts as protiso 0.3 wrote them
(variable-length lists, zstd) to check that an open rewrites them with identical vectors, also after a
SIGKILL in the middle of the rewrite.
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from protiso import ProtisoError, Warehouse
from protiso.jobs.export_vectors import export_vectors
from protiso.jobs.import_vectors import ImportOptions, import_vectors
from protiso.warehouse import contracts, vector_parts

from conftest import FIXTURES, REPO

DATA = np.load(FIXTURES / "isotropy_antiberty.npz")
ACCESSIONS = [str(a) for a in DATA["accessions"]]
VECTORS = DATA["global_vectors"].astype(np.float32)


def _build(path) -> None:
    """A warehouse with embeddings of two layers in two parts each, NULL vectors, and residues."""
    rl, ra, rv = DATA["residue_lengths"], DATA["residue_accessions"], DATA["residue_vectors"]
    n = len(ACCESSIONS)
    with Warehouse.create(path) as wh:
        with wh.run("embed", {}) as run, run.commit() as tx:
            for layer in (4, 8):
                for rows in (slice(0, 50), slice(50, n)):
                    accessions = ACCESSIONS[rows]
                    vectors = [None if layer == 8 and a == ACCESSIONS[3] else list(v) for a, v in
                               zip(accessions, VECTORS[rows] * layer)]
                    k = len(accessions)
                    tx.write_part("embeddings", pa.table({
                        "accession": accessions, "model": ["antiberty"] * k, "layer": [layer] * k,
                        "pooling": ["mean"] * k, "embedding_set": ["raw"] * k,
                        "embedding": pa.array(vectors, pa.list_(pa.float32()))}), {"model": "antiberty"})
            tx.write_part("residues", pa.table({
                "accession": [str(a) for a in np.repeat(ra, rl)], "model": ["antiberty"] * len(rv),
                "layer": [8] * len(rv), "position": np.concatenate([np.arange(1, k + 1) for k in rl]).astype(np.int32),
                "residue": ["X"] * len(rv), "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(rv.astype(np.float32).reshape(-1)), rv.shape[1])}))


def _parts(path) -> list:
    """(table, file) of the catalogued vector parts, read without opening (which would migrate them)."""
    con = duckdb.connect(str(path / "protiso.duckdb"), read_only=True)
    rows = con.execute("SELECT table_name, path FROM parts WHERE table_name IN ('embeddings', 'residues') "
                       "ORDER BY committed_at, part_id").fetchall()
    con.close()
    return [(table, path / relative) for table, relative in rows]


def _contents(path) -> tuple:
    """What readers see: both views in full, and every vector matrix through the direct reader."""
    with Warehouse.open(path, read_only=True) as wh:
        views = tuple(wh.query(f"SELECT * FROM {t}").to_pylist() for t in contracts.VECTORS)
        matrices = tuple(wh.vectors(model="antiberty", layer=layer).numpy().copy() for layer in (4,))
        residues = wh.residues(str(DATA["residue_accessions"][0])).numpy().copy()
    return views, matrices, residues


def _make_old(path) -> None:
    """Write every vector part again as protiso 0.3 did (list<float>, zstd) and forget the migration."""
    for table, part in _parts(path):
        data = pq.read_table(part)
        name = contracts.VECTORS[table]
        column = data.column(name).cast(pa.list_(pa.float32()))
        data = data.set_column(data.schema.get_field_index(name), pa.field(name, column.type), column)
        pq.write_table(data, part, compression="zstd", row_group_size=64 * 1024)
    con = duckdb.connect(str(path / "protiso.duckdb"))
    con.execute("DELETE FROM protiso_state WHERE key = 'vector_parts'")
    con.execute("DELETE FROM schema_migrations WHERE version = 11")
    con.close()


def _layouts(path) -> set[str]:
    return {str(pq.read_schema(p).field(contracts.VECTORS[t]).type) for t, p in _parts(path)}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("vector_parts") / "w"
    _build(path)
    return path


def test_parts_hold_fixed_size_vectors_uncompressed(built) -> None:
    dims = {VECTORS.shape[1], DATA["residue_vectors"].shape[1]}
    assert _layouts(built) == {f"fixed_size_list<element: float not null>[{d}]" for d in dims}
    for table, part in _parts(built):
        meta = pq.ParquetFile(part).metadata
        codecs = {meta.schema.column(i).path: meta.row_group(0).column(i).compression for i in range(meta.num_columns)}
        vector = f"{contracts.VECTORS[table]}.list.element"
        assert codecs.pop(vector) == "UNCOMPRESSED" and set(codecs.values()) == {"ZSTD"}
    with Warehouse.open(built, read_only=True) as wh:
        # DuckDB (and so the plain shell) reads them as FLOAT[]; list and array functions work as before
        kind, same = wh.con.execute("SELECT any_value(typeof(embedding)), min(list_cosine_similarity(embedding, "
                                    "embedding)) FROM embeddings WHERE layer = 4").fetchall()[0]   # (parts with a NULL vector:
        # DuckDB 2.0's list_cosine_similarity refuses them, old list<float> parts alike)
        nulls = wh.con.execute("SELECT count(*) FILTER (embedding IS NULL) FROM embeddings").fetchall()[0][0]
        assert kind == "FLOAT[]" and same == pytest.approx(1.0, abs=1e-6) and nulls == 1
        dim = VECTORS.shape[1]
        cosine = wh.con.execute(f"SELECT array_cosine_similarity(embedding::FLOAT[{dim}], embedding::FLOAT[{dim}]) "
                                "FROM embeddings WHERE layer = 4 LIMIT 1").fetchall()[0][0]
        assert cosine == pytest.approx(1.0, abs=1e-6)
        got = wh.vectors(model="antiberty", layer=4)          # parts of one commit: in part id order
        order = [ACCESSIONS.index(a) for a in got.ids.to_pylist()]
        np.testing.assert_array_equal(got.numpy(), VECTORS[order] * 4)


def test_an_old_warehouse_migrates_on_open_with_identical_vectors(built, tmp_path) -> None:
    import shutil

    path = tmp_path / "old"
    shutil.copytree(built, path)
    before = _contents(path)
    _make_old(path)
    assert all(not layout.startswith("fixed") for layout in _layouts(path))
    with Warehouse.open(path) as wh:
        assert not vector_parts.pending(wh.con)
    assert _layouts(path) == _layouts(built)
    after = _contents(path)
    assert after[0] == before[0]
    for got, want in zip((*after[1], after[2]), (*before[1], before[2])):
        np.testing.assert_array_equal(got, want)


def test_a_migration_killed_midway_leaves_a_warehouse_that_opens(built, tmp_path) -> None:
    import shutil

    path = tmp_path / "killed"
    shutil.copytree(built, path)
    before = _contents(path)
    _make_old(path)
    env = dict(os.environ, PYTHONPATH=str(REPO), PROTISO_FAULT_AT="vector-part:2")
    done = subprocess.run([sys.executable, "-c", f"from protiso import Warehouse; Warehouse.open({str(path)!r})"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    layouts = [str(pq.read_schema(p).field(contracts.VECTORS[t]).type).startswith("fixed") for t, p in _parts(path)]
    assert sum(layouts) == 2 and len(layouts) == 5          # two parts rewritten, three still to do
    after = _contents(path)                                 # a reader's open finishes the job
    assert all(layout.startswith("fixed") for layout in _layouts(path))
    assert after[0] == before[0] and not list(path.rglob(".tmp-*"))
    for got, want in zip((*after[1], after[2]), (*before[1], before[2])):
        np.testing.assert_array_equal(got, want)


def test_export_gives_polars_pandas_and_numpy_a_matrix(built, tmp_path) -> None:
    out = tmp_path / "x.parquet"
    with Warehouse.open(built, read_only=True) as wh:
        export_vectors(wh, out, model="antiberty", layer=4)
    frame = pl.read_parquet(out)
    matrix = frame.get_column("embedding").to_numpy()
    assert matrix.dtype == np.float32 and matrix.shape == VECTORS.shape
    want = VECTORS[[ACCESSIONS.index(a) for a in frame.get_column("accession").to_list()]] * 4
    np.testing.assert_array_equal(matrix, want)
    column = pq.read_table(out).column("embedding").combine_chunks()
    assert column.type == contracts.vector_type(VECTORS.shape[1])
    np.testing.assert_array_equal(column.values.to_numpy().reshape(len(column), -1), want)
    np.testing.assert_array_equal(np.stack(pq.read_table(out).to_pandas()["embedding"].to_numpy()), want)
    shell = duckdb.connect().execute(f"SELECT count(*), min(len(embedding)) FROM '{out}'").fetchall()[0]
    assert shell == (len(ACCESSIONS), VECTORS.shape[1])


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_plain_pages_read_the_floats_pyarrow_decodes(tmp_path, version) -> None:
    """``plain_pages.fill`` against pyarrow on real vectors: several row groups and pages, v1 and v2 data
    pages; a NULL vector, a compressed chunk or nullable components make it decline (pyarrow decodes)."""
    from protiso.warehouse import plain_pages

    def write(name: str, column: pa.Array, **options) -> tuple:
        file = tmp_path / name
        data = pa.table({"accession": ACCESSIONS, "embedding": column})
        pq.write_table(data, file, row_group_size=40, data_page_size=20_000, data_page_version=version,
                       **{"compression": "none", "use_dictionary": ["accession"], **options})
        return file, pq.ParquetFile(file).metadata

    file, meta = write("plain.parquet", contracts.vector_array(VECTORS))
    assert meta.num_row_groups == 3 and meta.row_group(0).column(1).total_compressed_size > 3 * 20_000
    for group, start in enumerate((0, 40, 80)):
        rows = meta.row_group(group).num_rows
        out = np.full((rows, VECTORS.shape[1]), np.nan, dtype=np.float32)
        assert plain_pages.fill(file, meta, group, 1, out)
        np.testing.assert_array_equal(out, VECTORS[start:start + rows])
        for first, count in ((0, 1), (7, rows - 9), (rows - 5, 5)):       # stretches that start and end inside pages
            part = np.full((count, VECTORS.shape[1]), np.nan, dtype=np.float32)
            assert plain_pages.fill(file, meta, group, 1, part, first)
            np.testing.assert_array_equal(part, VECTORS[start + first:start + first + count])
        assert not plain_pages.fill(file, meta, group, 1, np.empty((2, VECTORS.shape[1]), np.float32), rows - 1)
    with_null = pa.FixedSizeListArray.from_arrays(pa.array(VECTORS.reshape(-1)), type=contracts.vector_type(
        VECTORS.shape[1]), mask=pa.array(np.arange(len(VECTORS)) == 5))
    for name, column, options in (("null.parquet", with_null, {}),
                                  ("zstd.parquet", contracts.vector_array(VECTORS), {"compression": "zstd"}),
                                  ("dict.parquet", contracts.vector_array(VECTORS), {"use_dictionary": True})):
        file, meta = write(name, column, **options)
        out = np.empty((meta.row_group(0).num_rows, VECTORS.shape[1]), dtype=np.float32)
        assert not plain_pages.fill(file, meta, 0, 1, out), name
        # a stretch after the NULL vector (row 5) would read shifted floats: declined too
        assert not plain_pages.fill(file, meta, 0, 1, out[:10], 20), name


def test_import_and_postprocess_write_fixed_size_parts(tmp_path) -> None:
    from protiso.jobs.postprocess import postprocess_embeddings

    np.savez(tmp_path / "v.npz", ids=np.array(ACCESSIONS), embeddings=VECTORS)
    with Warehouse.create(tmp_path / "w") as wh:
        import_vectors(wh, ImportOptions(str(tmp_path / "v.npz"), model="m", layer=6), progress=False)
        postprocess_embeddings(wh, "center")
        raw, centered = wh.vectors(model="m"), wh.vectors(model="m", set="centered")
    files = _parts(tmp_path / "w")
    assert len(files) == 2 and all(contracts.is_fixed(pq.read_schema(p).field("embedding").type) for _, p in files)
    np.testing.assert_array_equal(raw.numpy(), VECTORS[[ACCESSIONS.index(a) for a in raw.ids.to_pylist()]])
    order = [centered.ids.to_pylist().index(a) for a in raw.ids.to_pylist()]
    np.testing.assert_allclose(centered.numpy()[order], raw.numpy() - raw.numpy().astype(np.float64).mean(axis=0),
                               atol=1e-4)


def test_an_unreadable_old_part_stops_the_migration_in_one_line(built, tmp_path) -> None:
    """A truncated old part: opening names it in one line with the remedy (the catalog's footer check comes
    before the migration), rewrites nothing into a temp file; once the file is whole again the next open
    finishes the migration with the vectors unchanged."""
    import shutil

    path = tmp_path / "broken"
    shutil.copytree(built, path)
    before = _contents(path)
    _make_old(path)
    _, part = _parts(path)[-1]
    whole = part.read_bytes()
    part.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ProtisoError) as error:
        Warehouse.open(path)
    message = str(error.value)
    assert "\n" not in message and str(part.relative_to(path)) in message and "protiso repair" in message
    assert not list(path.rglob(".tmp-*")) and part.read_bytes() == whole[: len(whole) // 2]
    part.write_bytes(whole)
    with Warehouse.open(path) as wh:
        assert not vector_parts.pending(wh.con)
    after = _contents(path)
    assert all(layout.startswith("fixed") for layout in _layouts(path)) and after[0] == before[0]
    for got, want in zip((*after[1], after[2]), (*before[1], before[2])):
        np.testing.assert_array_equal(got, want)


def test_a_null_vector_is_named_when_row_groups_are_read_in_stretches(built, monkeypatch) -> None:
    """Stretches of a row group holding a NULL vector are decoded by pyarrow (plain pages decline them):
    the NULL is named, and the stretches before it read the right rows."""
    from protiso.warehouse import matrix

    monkeypatch.setattr(matrix, "STRETCH_BYTES", 2 * VECTORS.shape[1] * 4)   # two rows a stretch
    with Warehouse.open(built, read_only=True) as wh:
        np.testing.assert_array_equal(wh.vectors(model="antiberty", layer=4, accessions=ACCESSIONS[:3]).numpy(),
                                      VECTORS[:3] * 4)
        with pytest.raises(ProtisoError, match=f"the stored vector of {ACCESSIONS[3]} is NULL"):
            wh.vectors(model="antiberty", layer=8)
        plan = matrix.plan(wh, "embeddings", "embedding", {"model": "antiberty", "layer": 8}, "test")
        blocks = matrix.windows(plan, max_rows=2, check=False)
        first = next(blocks)[1].copy()
        np.testing.assert_array_equal(first, VECTORS[[ACCESSIONS.index(a) for a in plan.ids[:2].to_pylist()]] * 8)
