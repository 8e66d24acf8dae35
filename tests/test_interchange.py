"""Vectors made elsewhere in, vectors out: `protiso import-vectors` and `protiso export`.

Fixtures are written in each tool's own layout (``torch.save`` of the dict ESM's ``extract.py``
saves, h5py files as bio_embeddings' pipeline and the ProtTrans notebooks write them, plain numpy and
Arrow files) for real proteins (``tests/fixtures/sp2014_head300.fasta``). The reference vectors
come from a seeded numpy generator and their IsoScore from the reference ``IsoScore`` package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from IsoScore.IsoScore import IsoScore
from isotropy_data import reference_float64
from pyarrow import feather
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.interchange.ids import names_for
from protiso.jobs.export_vectors import export_vectors
from protiso.jobs.import_vectors import ImportOptions, import_vectors
from protiso.jobs.isotropy import compute_isotropy
from protiso.metrics.isotropy import isoscore
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

FASTA = Path(__file__).resolve().parent / "fixtures" / "sp2014_head300.fasta"
DIM = 24
runner = CliRunner()


def read_fasta(path: Path) -> list[tuple[str, str]]:
    records, name, lines = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            if name is not None:
                records.append((name, "".join(lines)))
            name, lines = line[1:].split()[0], []
        else:
            lines.append(line.strip())
    records.append((name, "".join(lines)))
    return records


PROTEINS = read_fasta(FASTA)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("interchange") / "w"
    with Warehouse.create(path) as wh:
        ingest_files(wh, [FASTA], progress=False)
    return path


@pytest.fixture
def wh_path(template, tmp_path) -> Path:
    """A fresh copy of the 300-protein warehouse (closed)."""
    path = tmp_path / "w"
    shutil.copytree(template, path)
    return path


def reference_vectors(n: int, dim: int = DIM, seed: int = 7) -> np.ndarray:
    """Anisotropic float32 vectors: a seeded random mix with decaying scales plus an offset."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((dim, dim)) * np.geomspace(2.0, 0.05, dim)[:, None]
    return (rng.standard_normal((n, dim)) @ mix + rng.standard_normal(dim)).astype(np.float32)


def md5(sequence: str) -> str:
    return hashlib.md5(sequence.encode()).hexdigest()


def uniprot_header(accession: str) -> str:
    return f"sp|{accession}|{accession}_HUMAN Serine/threonine-protein kinase OS=Homo sapiens OX=9606 GN=X PE=1 SV=1"


# -- writers in each tool's layout ----------------------------------------------------------


def write_esm(folder: Path, vectors: np.ndarray, layer: int = 6, per_tok: dict | None = None,
              truncation: int = 1022) -> Path:
    """As ESM's extract.py: {label}.pt per FASTA record (label = the whole header; '/' makes folders)."""
    folder.mkdir(parents=True, exist_ok=True)
    for row, (accession, sequence) in enumerate(PROTEINS[:len(vectors)]):
        label = uniprot_header(accession)
        result = {"label": label, "mean_representations": {layer: torch.from_numpy(vectors[row]).clone()}}
        if per_tok is not None and accession in per_tok:
            result["representations"] = {layer: torch.from_numpy(per_tok[accession][:truncation]).clone()}
            result["mean_representations"] = {layer: result["representations"][layer].mean(0).clone()}
        output = folder / f"{label}.pt"
        output.parent.mkdir(parents=True, exist_ok=True)
        torch.save(result, output)
    return folder


def write_bio_embeddings_h5(path: Path, vectors: np.ndarray) -> Path:
    """As bio_embeddings' pipeline: datasets keyed by the sequence's MD5, original_id attributes."""
    with h5py.File(path, "w") as handle:
        for row, (accession, sequence) in enumerate(PROTEINS[:len(vectors)]):
            dataset = handle.create_dataset(md5(sequence), data=vectors[row])
            dataset.attrs["original_id"] = accession
    return path


def write_prottrans_h5(path: Path, vectors: np.ndarray) -> Path:
    """As the ProtTrans notebooks: datasets keyed by the FASTA header ('/' and '.' replaced by '_')."""
    with h5py.File(path, "w") as handle:
        for row, (accession, _) in enumerate(PROTEINS[:len(vectors)]):
            handle.create_dataset(uniprot_header(accession).replace("/", "_").replace(".", "_"), data=vectors[row])
    return path


def write_simple_h5(path: Path, vectors: np.ndarray) -> Path:
    """As bio_embeddings with simple_remapping: keys 0, 1, 2, ... and the FASTA id in original_id."""
    with h5py.File(path, "w") as handle:
        for row, (accession, _) in enumerate(PROTEINS[:len(vectors)]):
            handle.create_dataset(str(row), data=vectors[row]).attrs["original_id"] = uniprot_header(accession)
    return path


def write_npy(path: Path, vectors: np.ndarray) -> Path:
    np.save(path, vectors)
    path.with_suffix(".txt").write_text("".join(f"{a}\n" for a, _ in PROTEINS[:len(vectors)]))
    return path


def write_npz(path: Path, vectors: np.ndarray) -> Path:
    np.savez(path, ids=np.array([a for a, _ in PROTEINS[:len(vectors)]]), embeddings=vectors)
    return path


def write_parquet(path: Path, vectors: np.ndarray) -> Path:
    table = pa.table({"protein_id": [a for a, _ in PROTEINS[:len(vectors)]],
                      "vector": pa.array(list(vectors), pa.list_(pa.float32()))})
    pq.write_table(table, path)
    return path


def write_arrow(path: Path, vectors: np.ndarray) -> Path:
    table = pa.table({"accession": [a for a, _ in PROTEINS[:len(vectors)]],
                      "emb": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])})
    feather.write_feather(table, path)
    return path


WRITERS = {
    "esm": lambda tmp, v: write_esm(tmp / "esm_out", v),
    "h5-md5": lambda tmp, v: write_bio_embeddings_h5(tmp / "reduced_embeddings_file.h5", v),
    "h5-prottrans": lambda tmp, v: write_prottrans_h5(tmp / "per_protein_embeddings.h5", v),
    "h5-simple": lambda tmp, v: write_simple_h5(tmp / "simple_remapping.h5", v),
    "npy": lambda tmp, v: write_npy(tmp / "vectors.npy", v),
    "npz": lambda tmp, v: write_npz(tmp / "vectors.npz", v),
    "parquet": lambda tmp, v: write_parquet(tmp / "vectors.parquet", v),
    "arrow": lambda tmp, v: write_arrow(tmp / "vectors.arrow", v),
}


def state(path: Path) -> dict:
    """Everything an import may change: catalog rows and the files under the warehouse directory."""
    with Warehouse.open(path) as wh:
        con = wh.con
        out = {table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
               for table in ("runs", "parts", "residue_stats", "rejects")}
    out["files"] = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                          if p.is_file() and not p.name.startswith("protiso.duckdb"))
    return out


def global_isoscore(wh: Warehouse, model: str) -> float:
    compute_isotropy(wh, models=[model], scopes=["global"])
    rows = wh.con.execute("SELECT isoscore FROM isotropy WHERE model = ? AND scope = 'global' AND group_by = 'all' "
                          "ORDER BY computed_at DESC LIMIT 1", [model]).fetchall()
    return rows[0][0]


# -- ids --------------------------------------------------------------------------------------


def test_names_for_reads_uniprot_headers_versions_and_uniref() -> None:
    assert names_for("P12345")[0] == "P12345"
    assert names_for("sp|P12345|NAME_HUMAN Some name OS=Homo sapiens")[:2] == ["sp|P12345|NAME_HUMAN", "P12345"]
    assert "Q9XYZ1" in names_for("tr|Q9XYZ1|Q9XYZ1_ECOLI")
    assert "P12345" in names_for("P12345.2") and "P12345" in names_for("P12345_2")
    assert "P12345" in names_for("UniRef50_P12345")
    assert names_for("   ") == []


# -- every format gives the reference IsoScore -------------------------------------------------


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_each_format_imports_and_gives_the_reference_isoscore(kind, wh_path, tmp_path) -> None:
    vectors = reference_vectors(len(PROTEINS))
    expected = reference_float64(IsoScore, vectors.astype(np.float64))
    source = WRITERS[kind](tmp_path, vectors)
    with Warehouse.open(wh_path) as wh:
        summary = import_vectors(wh, ImportOptions(str(source), model="ref-model"), progress=False)
        assert summary.vectors == summary.proteins == len(PROTEINS)
        stored = wh.query("SELECT accession, embedding FROM embeddings WHERE model = 'ref-model'").to_pylist()
        by_accession = {row["accession"]: np.asarray(row["embedding"], np.float32) for row in stored}
        for row, (accession, _) in enumerate(PROTEINS):
            assert by_accession[accession].tobytes() == vectors[row].tobytes()
        assert abs(global_isoscore(wh, "ref-model") - expected) < 1e-6
        run = wh.con.execute("SELECT kind, status, model, layer, params FROM runs WHERE run_id = ?",
                             [summary.run_id]).fetchall()[0]
    params = json.loads(run[4])
    assert run[:3] == ("import", "done", "ref-model")
    assert params["path"] == str(source.resolve()) and params["format"] == summary.format
    assert params["model"] == "ref-model" and params["summary"]["vectors"] == len(PROTEINS)
    assert run[3] == ("6" if kind == "esm" else "-1")


def test_md5_keys_name_every_protein_with_that_sequence(wh_path, tmp_path) -> None:
    accession, sequence = PROTEINS[0]
    with Warehouse.open(wh_path) as wh:
        with wh.commit(None) as tx:
            tx.write_part("proteins", pa.table({"accession": ["TWIN01"], "sequence": [sequence],
                                                "length": [len(sequence)], "seq_hash": [md5(sequence)]}))
        path = tmp_path / "keys.h5"
        with h5py.File(path, "w") as handle:
            handle.create_dataset(md5(sequence), data=reference_vectors(1)[0])
        summary = import_vectors(wh, ImportOptions(str(path), model="m", layer=3), progress=False)
        rows = wh.con.execute("SELECT accession, layer FROM embeddings ORDER BY accession").fetchall()
    assert summary.proteins == 2 and rows == [(accession, 3), ("TWIN01", 3)]


# -- per-residue vectors -----------------------------------------------------------------------


def test_esm_per_residue_fills_residues_and_statistics_equal_to_brute_force(wh_path, tmp_path) -> None:
    rng = np.random.default_rng(3)
    chosen = PROTEINS[:40]
    per_tok = {a: (rng.standard_normal((len(s), DIM)) * np.linspace(0.2, 3, DIM)).astype(np.float32)
               for a, s in chosen}
    truncation = 120
    folder = write_esm(tmp_path / "esm_per_tok", reference_vectors(40), per_tok=per_tok, truncation=truncation)
    assert any(p.parent != folder for p in folder.rglob("*.pt"))  # '/' in headers made folders, as extract.py does
    with Warehouse.open(wh_path) as wh:
        summary = import_vectors(wh, ImportOptions(str(folder), model="esm-t"), progress=False)
        kept = [m[:truncation] for m in per_tok.values()]
        assert summary.residues == summary.residues_stored == sum(len(m) for m in kept)
        stored = wh.query("SELECT accession, position, residue, vector FROM residues ORDER BY accession, position")
        assert stored.num_rows == summary.residues
        sequences = dict(chosen)
        for accession, position, residue in zip(*(stored.column(c).to_pylist() for c in
                                                  ("accession", "position", "residue"))):
            assert residue == sequences[accession][position - 1]
        n, dim, sum_x, sum_xxt = wh.con.execute("SELECT n, dim, sum_x, sum_xxt FROM residue_stats WHERE run_id = ?",
                                                [summary.run_id]).fetchall()[0]
        brute = np.concatenate(kept).astype(np.float64)
        assert (n, dim) == (len(brute), DIM)
        np.testing.assert_allclose(sum_x, brute.sum(axis=0), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(np.reshape(sum_xxt, (DIM, DIM)), brute.T @ brute, rtol=1e-12, atol=1e-9)
        rows = wh.query("SELECT accession, embedding, length_policy, local_isoscore, local_n FROM embeddings").to_pylist()
    assert len(rows) == 40
    for row in rows:
        matrix = per_tok[row["accession"]][:truncation]
        assert row["local_n"] == len(matrix)
        assert row["local_isoscore"] == pytest.approx(isoscore(matrix), abs=1e-12)
        assert row["length_policy"] == ("truncate" if len(sequences[row["accession"]]) > truncation else "none")
        assert np.asarray(row["embedding"], np.float32).tobytes() == torch.from_numpy(matrix).mean(0).numpy().tobytes()


def test_per_residue_h5_without_means_gets_computed_means(wh_path, tmp_path) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "embeddings_file.h5"
    matrices = {}
    with h5py.File(path, "w") as handle:  # bio_embeddings' per-residue file in half precision
        for accession, sequence in PROTEINS[:10]:
            matrices[accession] = rng.standard_normal((len(sequence), 8)).astype(np.float16)
            handle.create_dataset(md5(sequence), data=matrices[accession]).attrs["original_id"] = accession
    with Warehouse.open(wh_path) as wh:
        summary = import_vectors(wh, ImportOptions(str(path), model="half", residues="none"), progress=False)
        rows = wh.query("SELECT accession, pooling, embedding FROM embeddings").to_pylist()
        assert wh.con.execute("SELECT count(*) FROM residues").fetchall()[0][0] == 0
    assert summary.residues == sum(len(m) for m in matrices.values()) and summary.residues_stored == 0
    for row in rows:
        mean = matrices[row["accession"]].astype(np.float64).mean(axis=0).astype(np.float32)
        assert np.asarray(row["embedding"], np.float32).tobytes() == mean.tobytes()
        assert row["pooling"] == "mean over residue vectors (computed at import)"


# -- export -> import round trip ---------------------------------------------------------------


@pytest.mark.parametrize("suffix,residues", [(".h5", False), (".h5", True), (".npz", False),
                                             (".parquet", False), (".parquet", True)])
def test_export_then_import_is_bit_exact(suffix, residues, wh_path, tmp_path) -> None:
    rng = np.random.default_rng(11)
    per_tok = {a: rng.standard_normal((len(s), DIM)).astype(np.float32) for a, s in PROTEINS[:15]}
    folder = write_esm(tmp_path / "esm", reference_vectors(30), layer=12, per_tok=per_tok)
    target = tmp_path / "copy"
    shutil.copytree(wh_path, target)
    with Warehouse.open(wh_path) as wh:
        import_vectors(wh, ImportOptions(str(folder), model="esm-x"), progress=False)
        out = tmp_path / f"export{suffix}"
        summary = export_vectors(wh, out, "esm-x", residues=residues)
        embeddings_sql = "SELECT accession, layer, pooling, embedding FROM embeddings ORDER BY accession"
        residues_sql = "SELECT accession, layer, position, residue, vector FROM residues ORDER BY accession, position"
        before = wh.query(embeddings_sql), wh.query(residues_sql)
    assert summary.proteins == 30 and summary.layer == 12
    assert summary.residues == (sum(min(len(m), 1022) for m in per_tok.values()) if residues else 0)
    with Warehouse.open(target) as wh:
        import_vectors(wh, ImportOptions(str(out), model="esm-x"), progress=False)
        after = wh.query(embeddings_sql), wh.query(residues_sql)
    assert after[0].equals(before[0])
    assert after[1].equals(before[1]) if residues else after[1].num_rows == 0


def test_export_h5_reads_with_plain_h5py(wh_path, tmp_path) -> None:
    vectors = reference_vectors(20)
    with Warehouse.open(wh_path) as wh:
        import_vectors(wh, ImportOptions(str(write_npz(tmp_path / "v.npz", vectors)), model="m", layer=4),
                       progress=False)
        export_vectors(wh, tmp_path / "out.h5", "m")
    with h5py.File(tmp_path / "out.h5") as handle:
        assert handle.attrs["model"] == "m" and int(handle.attrs["layer"]) == 4
        for row, (accession, _) in enumerate(PROTEINS[:20]):
            assert handle[accession][:].tobytes() == vectors[row].tobytes()
            assert handle[accession].attrs["original_id"] == accession
    assert not list(tmp_path.glob(".out.h5.tmp-*"))


def test_export_errors_name_what_exists(wh_path, tmp_path) -> None:
    with Warehouse.open(wh_path) as wh:
        with pytest.raises(ProtisoError, match="no raw vectors of model nope"):
            export_vectors(wh, tmp_path / "x.h5", "nope")
        import_vectors(wh, ImportOptions(str(write_npz(tmp_path / "v.npz", reference_vectors(5))), model="m",
                                         layer=1), progress=False)
        with pytest.raises(ProtisoError, match="must end in"):
            export_vectors(wh, tmp_path / "x.csv", "m")
        with pytest.raises(ProtisoError, match="no raw vectors at layer 2"):
            export_vectors(wh, tmp_path / "x.h5", "m", layer=2)
        with pytest.raises(ProtisoError, match="npz holds one matrix"):
            export_vectors(wh, tmp_path / "x.npz", "m", residues=True)
    assert not (tmp_path / "x.npz").exists()


# -- bad imports: one line, nothing written ----------------------------------------------------


def _bad_unknown(tmp: Path) -> tuple[Path, str]:
    path = tmp / "unknown.npz"
    ids = [a for a, _ in PROTEINS[:5]]
    ids[3] = "NOTAPROTEIN"
    np.savez(path, ids=np.array(ids), embeddings=reference_vectors(5))
    return path, "'NOTAPROTEIN': matches no protein"


def _bad_mixed(tmp: Path) -> tuple[Path, str]:
    path = tmp / "mixed.h5"
    with h5py.File(path, "w") as handle:
        for row, (accession, _) in enumerate(PROTEINS[:6]):
            handle.create_dataset(accession, data=np.ones(DIM + (row == 4), np.float32) * (row + 1))
    return path, "mixed dimensions"


def _bad_nan(tmp: Path) -> tuple[Path, str]:
    vectors = reference_vectors(8)
    vectors[6, 2] = np.nan
    return write_esm(tmp / "nan_esm", vectors), "NaN or infinity"


def _bad_duplicate(tmp: Path) -> tuple[Path, str]:
    path = tmp / "dup.parquet"
    ids = [a for a, _ in PROTEINS[:5]] + [uniprot_header(PROTEINS[2][0])]
    pq.write_table(pa.table({"id": ids, "embedding": pa.array(list(reference_vectors(6)), pa.list_(pa.float32()))}),
                   path)
    return path, "duplicate ids"


def _bad_truncated(tmp: Path) -> tuple[Path, str]:
    path = write_bio_embeddings_h5(tmp / "truncated.h5", reference_vectors(50))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path, "not a readable HDF5 file"


def _bad_empty(tmp: Path) -> tuple[Path, str]:
    folder = tmp / "empty_dir"
    folder.mkdir()
    return folder, "no .pt files"


def _bad_corrupt_pt(tmp: Path) -> tuple[Path, str]:
    folder = write_esm(tmp / "corrupt_esm", reference_vectors(len(PROTEINS)))
    victim = sorted(folder.rglob("*.pt"))[-3]  # read by the read-ahead thread, after parts were written
    victim.write_bytes(victim.read_bytes()[:100])
    return folder, "not a readable torch file"


def _bad_nan_late_chunk(tmp: Path) -> tuple[Path, str]:
    vectors = reference_vectors(len(PROTEINS))
    vectors[-1, 0] = np.inf
    return write_npy(tmp / "late.npy", vectors), "NaN or infinity"


@pytest.mark.parametrize("make", [_bad_unknown, _bad_mixed, _bad_nan, _bad_duplicate, _bad_truncated, _bad_empty,
                                  _bad_corrupt_pt, _bad_nan_late_chunk], ids=lambda f: f.__name__[5:])
def test_bad_import_is_one_line_naming_the_file_and_changes_nothing(make, wh_path, tmp_path, monkeypatch) -> None:
    import protiso.jobs.import_vectors as job

    monkeypatch.setattr(job, "CHUNK_BYTES", 4096)  # many chunks: parts are on disk before the error
    path, reason = make(tmp_path)
    before = state(wh_path)
    result = runner.invoke(app, ["import-vectors", str(path), "-w", str(wh_path), "--model", "bad", "--no-progress"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0], lines
    assert path.name in lines[0] or str(path) in lines[0]
    assert state(wh_path) == before


def test_skip_unknown_counts_rejects_and_rerun_adds_nothing(wh_path, tmp_path) -> None:
    path, _ = _bad_unknown(tmp_path)
    with Warehouse.open(wh_path) as wh:
        summary = import_vectors(wh, ImportOptions(str(path), model="m", skip_unknown=True), progress=False)
        assert (summary.vectors, summary.rejected) == (4, ["NOTAPROTEIN"])
        rejects = wh.con.execute("SELECT run_id, source, record, reason FROM rejects").fetchall()
        assert rejects == [(summary.run_id, str(path), "NOTAPROTEIN",
                            "matches no protein of the warehouse by accession or sequence MD5")]
        again = import_vectors(wh, ImportOptions(str(path), model="m", skip_unknown=True), progress=False)
        assert (again.vectors, again.skipped) == (0, 4)
        assert wh.con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0] == 4


def test_layer_option_picks_an_esm_layer_and_checks_stored_dimensions(wh_path, tmp_path) -> None:
    folder = tmp_path / "two_layers"
    folder.mkdir()
    for accession, _ in PROTEINS[:5]:
        torch.save({"label": accession, "mean_representations": {3: torch.ones(4), 6: torch.full((8,), 0.5)}},
                   folder / f"{accession}.pt")
    with Warehouse.open(wh_path) as wh:
        assert import_vectors(wh, ImportOptions(str(folder), model="e", layer=-1), progress=False).layers == [6]
        with pytest.raises(ProtisoError, match="has no layer 5"):
            import_vectors(wh, ImportOptions(str(folder), model="e", layer=5), progress=False)
        npz = write_npz(tmp_path / "v.npz", reference_vectors(5, dim=7))
        with pytest.raises(ProtisoError, match="already holds vectors of dimension 8 at layer 6"):
            import_vectors(wh, ImportOptions(str(npz), model="e", layer=6), progress=False)


# -- the commands ------------------------------------------------------------------------------


def test_cli_import_then_export_round_trip(wh_path, tmp_path) -> None:
    source = write_bio_embeddings_h5(tmp_path / "reduced.h5", reference_vectors(25))
    done = runner.invoke(app, ["import-vectors", str(source), "-w", str(wh_path), "-m", "prot_t5", "--layer", "24",
                               "--pooling", "mean over residues (bio_embeddings reduce)", "--no-progress"])
    assert done.exit_code == 0, done.output
    assert "imported 25 vectors for 25 proteins as prot_t5" in done.stdout
    out = tmp_path / "out.parquet"
    done = runner.invoke(app, ["export", "-w", str(wh_path), "-m", "prot_t5", "-o", str(out)])
    assert done.exit_code == 0, done.output
    table = pq.read_table(out)
    assert table.num_rows == 25 and table.schema.metadata[b"protiso.layer"] == b"24"
    with Warehouse.open(wh_path) as wh:
        rows = wh.con.execute("SELECT DISTINCT layer, pooling FROM embeddings").fetchall()
    assert rows == [(24, "mean over residues (bio_embeddings reduce)")]


def test_num_layers_is_recorded_for_the_report_and_a_bad_value_is_one_line(wh_path, tmp_path) -> None:
    """--num-layers N goes into the run's params, where the report's local-isotropy query reads the model's
    last layer; 0 is refused in one line before anything is written."""
    source = write_bio_embeddings_h5(tmp_path / "reduced.h5", reference_vectors(25))
    before = state(wh_path)
    bad = runner.invoke(app, ["import-vectors", str(source), "-w", str(wh_path), "-m", "prot_t5", "--layer", "24",
                              "--num-layers", "0", "--no-progress"])
    assert bad.exit_code == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --num-layers"), lines
    assert state(wh_path) == before
    done = runner.invoke(app, ["import-vectors", str(source), "-w", str(wh_path), "-m", "prot_t5", "--layer", "24",
                               "--num-layers", "24", "--no-progress"])
    assert done.exit_code == 0, done.output
    with Warehouse.open(wh_path) as wh:
        sql = wh.sql_text("report_local_isotropy")
        layers = sql[sql.index("layers AS (") + len("layers AS ("):sql.index("), widths AS")]
        assert wh.con.execute(layers).fetchall() == [("prot_t5", 24)]
