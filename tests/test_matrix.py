"""``Warehouse.vectors`` / ``Warehouse.residues``: the direct Parquet reader gives exactly the rows of the SQL views.

Real AntiBERTy vectors of 99 Swiss-Prot proteins (``fixtures/isotropy_antiberty.npz``) are written as
several parts per layer, beside a model whose vectors have other lengths in the same part, and read back
through both paths: the SQL view (DuckDB) and the reader; ids, order and every float must agree.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from protiso import ProtisoError, Warehouse
from protiso.jobs.isotropy import compute_isotropy
from protiso.metrics.isotropy import isoscore

from conftest import FIXTURES

DATA = np.load(FIXTURES / "isotropy_antiberty.npz")
ACCESSIONS = [str(a) for a in DATA["accessions"]]
VECTORS = DATA["global_vectors"]


def _embeddings(accessions: list[str], model: str, layer: int, vectors: list) -> pa.Table:
    n = len(accessions)
    return pa.table({"accession": accessions, "model": [model] * n, "layer": [layer] * n, "pooling": ["mean"] * n,
                     "embedding_set": ["raw"] * n, "embedding": pa.array(vectors, pa.list_(pa.float32()))})


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    path = tmp_path_factory.mktemp("matrix") / "w"
    rl, ra, rv = DATA["residue_lengths"], DATA["residue_accessions"], DATA["residue_vectors"]
    positions = np.concatenate([np.arange(1, n + 1) for n in rl]).astype(np.int32)
    owners = [str(a) for a in np.repeat(ra, rl)]
    order = np.random.default_rng(1).permutation(len(positions))      # stored out of position order
    with Warehouse.create(path) as new:
        with new.run("ingest", {}) as run, run.commit() as tx:
            tx.write_part("proteins", pa.table({"accession": ACCESSIONS, "length": DATA["lengths"].astype(np.int32),
                                                "organism": [str(o) for o in DATA["organisms"]]}))
        with new.run("embed", {}) as run, run.commit() as tx:
            for layer in (4, 8):
                scaled = VECTORS * layer
                tx.write_part("embeddings", _embeddings(ACCESSIONS[:40], "antiberty", layer, list(scaled[:40])))
                # the rest of this layer shares a part with another model's 3-dim and 5-dim vectors
                odd = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0, 5.0]]
                mixed = pa.concat_tables([_embeddings(ACCESSIONS[40:70], "antiberty", layer, list(scaled[40:70])),
                                          _embeddings(ACCESSIONS[:2], f"odd-{layer}", layer, odd),
                                          _embeddings(ACCESSIONS[70:], "antiberty", layer, list(scaled[70:]))])
                tx.write_part("embeddings", mixed)
            tx.write_part("residues", pa.table({
                "accession": [owners[i] for i in order], "model": ["antiberty"] * len(order),
                "layer": [8] * len(order), "position": positions[order], "residue": ["X"] * len(order),
                "vector": pa.array(list(rv[order]), pa.list_(pa.float32()))}))
        compute_isotropy(new, scopes=("global",), models=["antiberty"])
    with Warehouse.open(path, read_only=True) as opened:
        yield opened


def _sql(wh: Warehouse, where: str) -> tuple[list[str], np.ndarray]:
    table = wh.query(f"SELECT accession, embedding FROM embeddings WHERE {where}")
    return table["accession"].to_pylist(), np.array(table["embedding"].to_pylist(), dtype=np.float32)


@pytest.mark.parametrize("layer", [4, 8])
def test_vectors_are_the_rows_of_the_embeddings_view_in_its_order(wh: Warehouse, layer: int) -> None:
    got = wh.vectors(model="antiberty", layer=layer)
    ids, matrix = _sql(wh, f"model = 'antiberty' AND layer = {layer} AND embedding_set = 'raw'")
    assert got.ids.to_pylist() == ids and sorted(ids) == sorted(ACCESSIONS)
    assert got.matrix.dtype == np.float32 and got.matrix.flags.c_contiguous
    np.testing.assert_array_equal(got.numpy(), matrix)
    assert got.key == {"model": "antiberty", "layer": layer, "embedding_set": "raw", "control": "none",
                       "pooling": "mean"}


def test_accessions_and_where_narrow_the_proteins(wh: Warehouse) -> None:
    chosen = ACCESSIONS[35:45] + ["NOT_THERE"]
    got = wh.vectors(model="antiberty", layer=4, accessions=chosen)
    assert sorted(got.ids.to_pylist()) == sorted(ACCESSIONS[35:45])
    rows = dict(zip(ACCESSIONS, VECTORS * 4))
    np.testing.assert_array_equal(got.numpy(), np.stack([rows[a] for a in got.ids.to_pylist()]))
    long = wh.vectors(model="antiberty", layer=8, where="length > 300 AND organism LIKE '%sapiens%'")
    ids, matrix = _sql(wh, "model = 'antiberty' AND layer = 8 AND accession IN (SELECT accession FROM proteins "
                           "WHERE length > 300 AND organism LIKE '%sapiens%')")
    assert 0 < len(ids) < len(ACCESSIONS) and long.ids.to_pylist() == ids
    np.testing.assert_array_equal(long.numpy(), matrix)


def test_the_vectors_of_a_model_with_other_lengths_in_the_same_part(wh: Warehouse) -> None:
    small = wh.vectors(model="odd-4", layer=4, accessions=[ACCESSIONS[0]])
    np.testing.assert_array_equal(small.numpy(), [[1.0, 2.0, 3.0]])
    with pytest.raises(ProtisoError, match=r"different lengths \(3 and 5, " + ACCESSIONS[1]):
        wh.vectors(model="odd-4", layer=4)


def test_choices_that_are_unclear_or_absent_are_one_line_errors(wh: Warehouse) -> None:
    with pytest.raises(ProtisoError, match=r"holds several layers \(4, 8\); pass layer=") as error:
        wh.vectors(model="antiberty")
    assert "\n" not in str(error.value)
    with pytest.raises(ProtisoError, match="no embeddings of model esm2 layer 4 .*the warehouse has antiberty layer 4"):
        wh.vectors(model="esm2", layer=4)
    with pytest.raises(ProtisoError, match=r"control shuffled"):
        wh.vectors(model="antiberty", layer=4, control="shuffled")
    with pytest.raises(ProtisoError, match="where="):
        wh.vectors(model="antiberty", layer=4, where="no_such_column > 1")


def test_conversions_share_the_matrix(wh: Warehouse) -> None:
    pl = pytest.importorskip("polars")
    got = wh.vectors(model="antiberty", layer=8)
    frame = got.pandas()
    assert list(frame.index[:3]) == got.ids.to_pylist()[:3] and frame.index.name == "accession"
    assert np.shares_memory(frame.to_numpy(), got.matrix)
    assert np.shares_memory(got.torch().numpy(), got.matrix)
    table = got.polars()
    assert table.schema["embedding"] == pl.Array(pl.Float32, 512)
    as_numpy = table.get_column("embedding").to_numpy()
    assert as_numpy.shape == (99, 512) and as_numpy.dtype == np.float32
    np.testing.assert_array_equal(as_numpy, got.matrix)


def test_residues_of_one_protein_by_position(wh: Warehouse) -> None:
    accession = str(DATA["residue_accessions"][1])
    got = wh.residues(accession, model="antiberty")
    first = int(DATA["residue_lengths"][0])
    expected = DATA["residue_vectors"][first:first + int(DATA["residue_lengths"][1])]
    assert got.ids.to_pylist() == list(range(1, len(expected) + 1))
    np.testing.assert_array_equal(got.numpy(), expected)
    assert got.key["layer"] == 8 and got.residues.to_pylist()[0] == "X"
    with pytest.raises(ProtisoError, match="no stored residues of P00000"):
        wh.residues("P00000")


def test_the_isotropy_job_reads_the_same_matrix(wh: Warehouse) -> None:
    stored = wh.query("SELECT layer, isoscore, n_points FROM isotropy WHERE model = 'antiberty' "
                      "AND group_by = 'all' AND embedding_set = 'raw' ORDER BY layer").to_pylist()
    assert [r["layer"] for r in stored] == [4, 8]
    for row in stored:
        points = wh.vectors(model="antiberty", layer=row["layer"]).numpy()
        assert row["n_points"] == len(points) == 99
        assert row["isoscore"] == pytest.approx(isoscore(points), rel=1e-12)


def test_a_nan_is_named(tmp_path) -> None:
    with Warehouse.create(tmp_path / "w") as new:
        vectors = VECTORS[:3].copy()
        vectors[2, 7] = np.nan
        with new.run("embed", {}) as run, run.commit() as tx:
            tx.write_part("embeddings", _embeddings(ACCESSIONS[:3], "antiberty", 4, list(vectors)))
        with pytest.raises(ProtisoError, match=f"the vector of {ACCESSIONS[2]} contains NaN"):
            new.vectors()


def test_control_reads_null_or_absent_as_none() -> None:
    from protiso.warehouse.matrix import _key_mask

    parts = pa.table({"accession": ["A", "B", "C"], "control": [None, "none", "shuffled"]})
    assert _key_mask(parts, {"control": "none"}, None).to_pylist() == [True, True, False]
    assert _key_mask(parts, {"control": "shuffled"}, pa.array(["B", "C"])).to_pylist() == [False, False, True]
    older = pa.table({"accession": ["A", "B"]})
    assert _key_mask(older, {"control": "none"}, None).to_pylist() == [True, True]
    assert _key_mask(older, {"control": "shuffled"}, None).to_pylist() == [False, False]


def test_windows_give_the_same_rows_block_by_block(wh: Warehouse) -> None:
    from protiso.warehouse import matrix

    plan = matrix.plan(wh, "embeddings", "embedding", {"model": "antiberty", "embedding_set": "raw"}, "test")
    whole = matrix.read(plan)
    blocks = [(base, block.copy()) for base, block in matrix.windows(plan, max_rows=45)]
    assert len(blocks) >= 3 and [b for b, _ in blocks] == list(np.cumsum([0] + [len(x) for _, x in blocks[:-1]]))
    np.testing.assert_array_equal(np.concatenate([x for _, x in blocks]), whole)
    assert whole.shape == (2 * 99, 512)
    stretched = matrix.windows(plan, max_rows=17)               # the 40-row fixed-size parts are cut at rows 17, 34
    blocks = [block.copy() for _, block in stretched]
    # the mixed part's 30 + 29 rows of list<float> stay one block
    assert max(len(b) for b in blocks) == 59 and sum(len(b) == 17 for b in blocks) >= 4
    np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_stretches_of_row_groups_read_in_parallel(wh: Warehouse, monkeypatch) -> None:
    from protiso.warehouse import matrix

    plan = matrix.plan(wh, "embeddings", "embedding", {"model": "antiberty", "embedding_set": "raw"}, "test")
    whole = matrix.read(plan)
    monkeypatch.setattr(matrix, "STRETCH_BYTES", 9 * 512 * 4)
    seen: list[tuple[int, int]] = []
    again = matrix.read(plan, done=lambda a, b: seen.append((a, b)))
    np.testing.assert_array_equal(again, whole)
    assert len(seen) > len(plan.tasks) and seen[0][0] == 0 and all(b == c for (_, b), (c, _) in zip(seen, seen[1:]))


def test_residues_of_a_protein_alone_in_its_part(tmp_path) -> None:
    """Statistics settle every key of the part (one protein, one model, one layer): only the ids are read."""
    rl, ra, rv = DATA["residue_lengths"], DATA["residue_accessions"], DATA["residue_vectors"]
    k, accession = int(rl[0]), str(ra[0])
    with Warehouse.create(tmp_path / "w") as new:
        with new.run("embed", {}) as run, run.commit() as tx:
            tx.write_part("residues", pa.table({
                "accession": [accession] * k, "model": ["antiberty"] * k, "layer": [8] * k,
                "position": np.arange(k, 0, -1, dtype=np.int32), "residue": ["X"] * k,
                "vector": pa.array(list(rv[:k][::-1]), pa.list_(pa.float32()))}))
        got = new.residues(accession)
    assert got.ids.to_pylist() == list(range(1, k + 1))
    np.testing.assert_array_equal(got.numpy(), rv[:k].astype(np.float32))


def test_row_groups_whose_statistics_settle_a_key_are_not_tested(tmp_path) -> None:
    """``_pinned``: a key every row holds (by min = max and no NULLs, or all NULL for 'none') needs no read;
    a key no row can hold skips the row group; anything else is read and tested."""
    import pyarrow.parquet as pq

    from protiso.warehouse.matrix import _pinned

    file = tmp_path / "keys.parquet"
    pq.write_table(pa.table({"layer": [4, 4, 4, 4], "model": ["m", "m", "m", "n"],
                             "control": [None, None, "none", "shuffled"]}), file, row_group_size=2)
    meta = pq.ParquetFile(file).metadata
    first, second = meta.row_group(0), meta.row_group(1)
    assert _pinned(first, 0, "layer", 4) is True and _pinned(first, 0, "layer", 5) is False
    assert _pinned(first, 1, "model", "m") is True and _pinned(second, 1, "model", "m") is False
    assert _pinned(first, 2, "control", "none") is True and _pinned(first, 2, "control", "shuffled") is None
    assert _pinned(second, 2, "control", "none") is False
    assert _pinned(first, None, "control", "none") is True and _pinned(first, None, "control", "shuffled") is None
