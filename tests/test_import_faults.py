"""Issue 24 items 5-7 and 9: bad inputs to import-vectors are one-line errors that leave the warehouse as it was
(no traceback, no hang, no Python warning), and a fuzz test feeds generated malformed inputs to every importer."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from test_interchange import PROTEINS, reference_vectors, state, template, uniprot_header  # noqa: F401
from typer.testing import CliRunner

from protiso.cli import app

IDS = [a for a, _ in PROTEINS[:6]]
V = reference_vectors(6, dim=8)


@pytest.fixture(scope="module")
def w(template) -> Path:
    """One warehouse for every bad input of this module: each must leave it exactly as it was."""
    return template


def run_import(w: Path, source: Path, *extra: str):
    return CliRunner().invoke(app, ["import-vectors", str(source), "-w", str(w), "-m", "bad", "--no-progress", *extra])


def assert_refused(w: Path, source: Path, *extra: str, fragment: str = "") -> str:
    before = state(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Python warning before the error counts as noise
        result = run_import(w, source, *extra)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
        (result.output, repr(result.exception))
    assert fragment in lines[0], lines[0]
    assert state(w) == before
    return lines[0]


def npz(tmp: Path, name: str = "v.npz", **arrays) -> Path:
    arrays = {"ids": np.array(IDS), "embeddings": V, **arrays}
    np.savez(tmp / name, **{k: v for k, v in arrays.items() if v is not None})
    return tmp / name


def parquet(tmp: Path, vectors: list, ids: list = IDS, metadata: dict | None = None) -> Path:
    table = pa.table({"accession": ids, "vector": pa.array(vectors, pa.list_(pa.float32()))})
    pq.write_table(table.replace_schema_metadata(metadata), tmp / "v.parquet")
    return tmp / "v.parquet"


def h5(tmp: Path, build) -> Path:
    with h5py.File(tmp / "v.h5", "w") as handle:
        build(handle)
    return tmp / "v.h5"


def esm(tmp: Path, tensor, layer=6) -> Path:
    folder = tmp / "esm"
    folder.mkdir()
    for accession in IDS[:2]:
        torch.save({"label": uniprot_header(accession), "mean_representations": {layer: tensor}},
                   folder / f"{accession}.pt")
    return folder


def truncated_ipc(tmp: Path) -> Path:
    table = pa.table({"accession": IDS, "vector": pa.array(list(V), pa.list_(pa.float32()))})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data = sink.getvalue().to_pybytes()
    (tmp / "v.arrow").write_bytes(data[: len(data) - 40])
    return tmp / "v.arrow"


BAD = {
    # item 7: layers that are not layer numbers
    "npz layer string": (lambda t: npz(t, layer=np.array("abc")), (), "layer"),
    "npz layer 1-D": (lambda t: npz(t, layer=np.array([1, 2])), (), "layer"),
    "npz layer 2**40": (lambda t: npz(t, layer=np.array(2**40)), (), "layer"),
    "h5 layer last": (lambda t: h5(t, lambda f: (f.attrs.__setitem__("layer", "last"),
                                                 [f.create_dataset(a, data=V[i]) for i, a in enumerate(IDS)])),
                      (), "layer"),
    "parquet layer abc": (lambda t: parquet(t, list(V), metadata={"protiso.layer": "abc"}), (), "layer"),
    "--layer 2**31": (lambda t: npz(t), ("--layer", "2147483648"), "--layer"),
    # zero-width and one-dimensional vectors, all-zero vectors
    "npz (N,0)": (lambda t: npz(t, embeddings=np.zeros((6, 0), np.float32)), (), "dimension 0"),
    "h5 (0,)": (lambda t: h5(t, lambda f: [f.create_dataset(a, data=np.zeros(0, np.float32)) for a in IDS]), (),
                "dimension 0"),
    "esm empty tensor": (lambda t: esm(t, torch.zeros(0)), (), "dimension 0"),
    "parquet empty lists": (lambda t: parquet(t, [[] for _ in IDS]), (), "dimension 0"),
    "npz 1-D vectors": (lambda t: npz(t, embeddings=V[:, :1].copy()), (), "dimension 1"),
    "npz beyond float32": (lambda t: npz(t, embeddings=np.vstack([V[:5], np.full((1, 8), 1e300)])), (),
                           "beyond float32's range"),
    "npz all-zero vector": (lambda t: npz(t, embeddings=np.vstack([V[:5], np.zeros((1, 8), np.float32)])), (),
                            "zero vector"),
    "h5 0 residues": (lambda t: h5(t, lambda f: [f.create_dataset(a, data=np.zeros((0, 8), np.float32))
                                                 for a in IDS]), (), "no residue vectors"),
    # item 6: 0-row inputs
    "npz 0 rows": (lambda t: npz(t, ids=np.array([], dtype=str), embeddings=np.zeros((0, 8), np.float32)), (),
                   "no records"),
    "parquet 0 rows": (lambda t: parquet(t, [], ids=[]), (), "no records"),
    # h5 links, ESM tensors numpy cannot hold, a truncated stream, bad id lists
    "h5 dangling soft link": (lambda t: h5(t, lambda f: (f.create_dataset(IDS[0], data=V[0]),
                                                         f.__setitem__(IDS[1], h5py.SoftLink("/nowhere")))),
                              (), IDS[1]),
    "h5 external link": (lambda t: h5(t, lambda f: (f.create_dataset(IDS[0], data=V[0]),
                                                    f.__setitem__(IDS[1], h5py.ExternalLink("gone.h5", "/x")))),
                         (), IDS[1]),
    "esm sparse tensor": (lambda t: esm(t, torch.eye(8)[0].to_sparse()), (), "sparse"),
    "esm meta tensor": (lambda t: esm(t, torch.empty(8, device="meta")), (), "meta"),
    "truncated arrow stream": (truncated_ipc, (), "v.arrow"),
    "ids object npy": (lambda t: (np.save(t / "v.npy", V), np.save(t / "ids.npy", np.array(IDS, dtype=object),
                                                                   allow_pickle=True), t / "v.npy")[-1],
                       ("--ids", "IDS_NPY"), "ids.npy"),
    "empty npy": (lambda t: ((t / "v.npy").write_bytes(b""), (t / "v.txt").write_text("x\n"), t / "v.npy")[-1],
                  ("--format", "npy"), "v.npy: not a readable .npy file"),
    "ids not utf-8": (lambda t: (np.save(t / "v.npy", V), (t / "v.txt").write_bytes(b"\xff\xfe\n" * 6),
                                 t / "v.npy")[-1], (), "v.txt"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_are_one_line_and_change_nothing(w, tmp_path, case):
    make, extra, fragment = BAD[case]
    source = make(tmp_path)
    extra = tuple(str(tmp_path / "ids.npy") if e == "IDS_NPY" else e for e in extra)
    assert_refused(w, source, *extra, fragment=fragment)


# -- ESM folders: FIFOs, symlinked and unreadable subfolders (items 5 and 9) ---------------------------------------


def test_a_fifo_named_like_a_pt_file_is_named_not_read(w, tmp_path):
    folder = esm(tmp_path, torch.from_numpy(V[0]))
    os.mkfifo(folder / "x.pt")
    assert_refused(w, folder, fragment="x.pt: not a regular file")


def test_symlinked_esm_subfolders_are_read(w, tmp_path):
    import shutil

    from test_interchange import write_esm

    real = write_esm(tmp_path / "real", V[:4], layer=6)
    folder = tmp_path / "esm"
    folder.mkdir()
    (folder / "linked").symlink_to(real, target_is_directory=True)
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a loop is walked once
    copy = tmp_path / "w"
    shutil.copytree(w, copy)
    result = run_import(copy, folder)
    assert result.exit_code == 0 and "imported 4 vectors for 4 proteins" in result.stdout, result.output


def test_an_unreadable_esm_subfolder_is_named(tmp_path):
    import subprocess
    import sys
    import tempfile

    from conftest import REPO

    if subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "true"]).returncode != 0:
        pytest.skip("cannot run as another user here")
    base = Path(tempfile.mkdtemp(prefix="protiso-esm-"))
    try:
        base.chmod(0o755)
        folder = esm(base, torch.from_numpy(V[0]))
        locked = folder / "locked"
        locked.mkdir()
        torch.save({"label": IDS[3], "mean_representations": {6: torch.from_numpy(V[3])}}, locked / "y.pt")
        for path in (base, folder, *folder.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        locked.chmod(0o700)  # root's: the other user cannot list it
        code = ("import sys; from protiso.interchange.esm import EsmSource; from protiso.errors import ProtisoError\n"
                "try:\n    EsmSource(__import__('pathlib').Path(sys.argv[1]))\nexcept ProtisoError as e:\n"
                "    print(e); sys.exit(2)")
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                               code, str(folder)], capture_output=True, text=True, cwd="/",
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert done.returncode == 2 and done.stdout.startswith(f"{locked}: cannot be listed"), done.stdout + done.stderr
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_npz_ids_saved_as_bytes_match_their_accessions(w, tmp_path):
    import shutil

    copy = tmp_path / "w"
    shutil.copytree(w, copy)
    source = npz(tmp_path, ids=np.array(IDS, dtype="S"))
    result = run_import(copy, source)
    assert result.exit_code == 0 and "imported 6 vectors for 6 proteins" in result.stdout, result.output


def test_a_model_whose_weights_hold_python_objects_is_one_line(w, tmp_path):
    """torch.load(weights_only=True) refuses the pickled object; protiso says so and never suggests
    weights_only=False."""
    import argparse

    from hub_models import protbert
    from safetensors.torch import load_file

    model = protbert(tmp_path / "pb")
    weights = load_file(str(model / "model.safetensors"))
    (model / "model.safetensors").unlink()
    weights["extra"] = argparse.Namespace(a=1)
    torch.save(weights, model / "pytorch_model.bin")
    result = CliRunner().invoke(app, ["embed", "-w", str(w), "--model", str(model), "--sample", "2"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "holds Python objects" in lines[0] and "weights_only" not in result.output


# -- item 8: a job checks its output paths before its first step ----------------------------------------------------


@pytest.mark.parametrize("output,fragment", [("nodir/r.html", "does not exist"), ("adir", "is a directory"),
                                             ("afile/r.html", "not a directory")])
def test_a_job_refuses_an_unwritable_report_before_ingesting(tmp_path, output, fragment):
    from test_interchange import FASTA

    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    spec = tmp_path / "job.toml"
    spec.write_text(f'[job]\nwarehouse = "w"\n[inputs]\nfiles = ["{FASTA}"]\n[report]\noutput = "{output}"\n')
    result = CliRunner().invoke(app, ["run", str(spec), "--no-progress"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and fragment in lines[0], result.output
    assert not (tmp_path / "w").exists()


# -- fuzz: generated malformed inputs across every importer ------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

FUZZ_EXAMPLES = 2  # per format and fault: 5 x 12 x 2 = 120 generated inputs
FORMATS = ["npz", "npy", "parquet", "h5", "esm"]
FAULTS = ["nan", "inf", "unknown id", "duplicate id", "empty id", "count", "truncate", "garbage", "wrong dims", "zero",
          "strings", "dim 1"]


def _quick_state(w: Path) -> tuple:
    """What an import could change, read cheaply: the catalog's rows and the files under W/parquet."""
    import duckdb

    with duckdb.connect(str(w / "protiso.duckdb"), read_only=True) as con:
        rows = tuple(con.execute(f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {t} AS t").fetchall()[0]
                     for t in ("runs", "parts", "residue_stats", "rejects", "embedding_stats"))
    return rows, tuple(sorted(str(p.relative_to(w)) for p in (w / "parquet").rglob("*")))


@st.composite
def malformed(draw, fmt: str, fault: str):
    """(format, fault, ids, vectors, cut): ``fault`` makes the input invalid by construction."""
    n = draw(st.integers(1, 5))
    dim = draw(st.integers(2, 6))
    ids = list(IDS[:n])
    vectors = np.asarray(draw(st.lists(st.lists(st.floats(-4, 4, width=32).filter(lambda x: abs(x) > 1e-3),
                                                 min_size=dim, max_size=dim), min_size=n, max_size=n)), np.float32)
    pick = __import__("random").Random(draw(st.integers(0, 2**32 - 1)))
    row = pick.randrange(n)
    cut = pick.uniform(0.05, 0.95)
    if fault in ("nan", "inf"):
        vectors[row, pick.randrange(dim)] = np.nan if fault == "nan" else np.inf
    elif fault == "unknown id":
        ids[row] = pick.choice(["NOTAPROTEIN", "zz_top", "P0000000", "sp|NOPE|NOPE_HUMAN"])
    elif fault == "duplicate id" and n > 1:
        ids[row] = ids[(row + 1) % n]
    elif fault == "duplicate id":
        ids, vectors = ids * 2, np.vstack([vectors, vectors])
    elif fault == "empty id":
        ids[row] = pick.choice(["", "   "])
    elif fault == "zero":
        vectors[row] = 0
    elif fault == "dim 1":
        vectors = vectors[:, :1].copy()
    return fmt, fault, ids, vectors, cut


def _write(fmt: str, fault: str, ids: list[str], vectors: np.ndarray, cut: float, tmp: Path) -> tuple[Path, tuple]:
    extra: tuple = ()
    if fault == "wrong dims":
        vectors = vectors.reshape(len(ids), vectors.shape[1], 1) if fmt != "esm" else vectors[:, :, None]
    if fault == "count":
        ids = ids + ["P99999"]
    if fault == "strings":
        vectors = vectors.astype(str)
    if fmt == "npz":
        path = tmp / "f.npz"
        np.savez(path, ids=np.array(ids, dtype=str), embeddings=vectors)
    elif fmt == "npy":
        path = tmp / "f.npy"
        np.save(path, vectors)
        (tmp / "f.txt").write_text("".join(f"{i}\n" for i in ids))
    elif fmt == "parquet":
        path = tmp / "f.parquet"
        values = [list(v) if fault != "wrong dims" else [list(x) for x in v] for v in vectors.tolist()]
        column = pa.array(values) if fault == "strings" else pa.array(values)
        ids_column = pa.array(ids[:len(values)] + ([] if len(ids) <= len(values) else []))
        if fault == "count":  # Parquet has no separate id list: a NULL vector instead
            column = pa.array(values + [None], column.type)
            ids_column = pa.array(ids)
        pq.write_table(pa.table({"accession": ids_column, "vector": column}), path)
    elif fmt == "h5":
        path = tmp / "f.h5"
        with h5py.File(path, "w") as handle:
            for index, (name, vector) in enumerate(zip(ids, vectors)):
                key = name.replace("/", "_") if name.strip() else f"blank{index}"
                if key in handle:  # a duplicate key: give it the original_id of the one before
                    key = f"{key}_dup{index}"
                data = vector.astype("S") if fault == "strings" else vector
                handle.create_dataset(key, data=data).attrs["original_id"] = name if name.strip() else " "
            if fault == "count":
                handle.create_dataset("P99999_extra", data=np.zeros((2, 2, 2), np.float32))
    else:
        path = tmp / "esm"
        path.mkdir()
        for index, (name, vector) in enumerate(zip(ids, vectors)):
            tensor = torch.tensor(vector.astype(np.float32)) if fault != "strings" else torch.zeros(3, dtype=torch.int64)
            torch.save({"label": name, "mean_representations": {6: tensor}}, path / f"r{index}.pt")
        if fault == "count":
            torch.save({"label": "P99999"}, path / "extra.pt")
    if fault == "truncate":
        target = path if fmt != "esm" else sorted(path.glob("*.pt"))[0]
        data = target.read_bytes()
        target.write_bytes(data[: max(1, int(len(data) * cut))])
    elif fault == "garbage":
        target = path if fmt != "esm" else sorted(path.glob("*.pt"))[0]
        target.write_bytes(bytes(np.random.default_rng(int(cut * 1e6)).integers(0, 256, 300, dtype=np.uint8)))
    return path, extra


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_fuzz_malformed_inputs_are_one_line_and_change_nothing(w, tmp_path_factory, fmt, fault):
    """Each format x fault gets FUZZ_EXAMPLES generated inputs (sizes, values, which row is bad, where a file is
    cut); each must be one error line and leave the warehouse as it was."""

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(case=malformed(fmt, fault))
    def check(case):
        _check_malformed(w, tmp_path_factory, case)

    check()


def _check_malformed(w, tmp_path_factory, case):
    fmt, fault, ids, vectors, cut = case
    tmp = tmp_path_factory.mktemp("fuzz")
    path, extra = _write(fmt, fault, ids, vectors, cut, tmp)
    before = _quick_state(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = run_import(w, path, *extra)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
        (fmt, fault, result.output, repr(result.exception))
    assert _quick_state(w) == before, (fmt, fault)
