"""Import benchmark: `protiso import-vectors` against a plain read loop of the same files (the floor).

Two inputs, synthetic float32 vectors (seeded, anisotropic) for real Swiss-Prot 2014 accessions
(``../shared/data/swissprot-2014/swissprot_2014.fasta.gz``, the first proteins with distinct sequences):

1. an HDF5 file of N x 1024 as bio_embeddings writes it (one dataset per protein keyed by the
   sequence's MD5, ``original_id`` attribute = accession); floor: ``for key in f: f[key][:]``;
2. an ESM ``extract.py``-style directory of M ``{label}.pt`` files (``{"label", "mean_representations":
   {33: tensor(1024)}}``); floor: ``torch.load(path, weights_only=True)`` per file.

Each contender runs in its own subprocess (peak RSS = the kernel's high-water mark of that process),
files warm in the page cache, the import into a fresh copy of a warehouse holding the proteins (copy
and ingest not timed). Module imports (torch, h5py, protiso) and opening the warehouse happen before
either clock starts; the import's clock covers the whole ``import_vectors`` call (matching, checks,
Parquet parts, the commit). Printed side by side: seconds, rows/s, peak RSS, and import / floor (target
<= 1.5x; RSS bounded: the import streams, so its peak stays far below the file's size).

Floor and import run alternately ``--repeat`` times (default 2) and the best time of each is shown,
with every round's ratio: on a shared machine single timings vary by tens of percent.

3. ``--matrix N`` (instead of 1 and 2): stored vectors back out as one float32 matrix. A warehouse of N x
   1024 seeded vectors (parts of 50,000 rows written by ``Commit.write_part`` as every job writes them:
   fixed-size lists, uncompressed, row groups of 65,536) is read by ``wh.vectors(model=, layer=)`` against the fastest plain pyarrow read of
   the same catalogued parts into one numpy matrix (``pq.read_table(parts, columns=["embedding"])``,
   threaded, flattened into a preallocated matrix; targets: time <= 1.25x, peak RSS growth <= 1.3x the
   matrix) and ``np.load`` of the same matrix as ``.npy``; then the scan throughput (MB/s of float32
   read into numpy per wall and per CPU second, best of --repeat) of the embedding column per storage
   choice: variable-length list (protiso 0.3's parts) or fixed-size list (nullable or required
   components), zstd / lz4 / none / byte-stream-split + zstd, with file sizes; the one protiso's parts
   use (``protiso.warehouse.contracts``) is marked.

Run: .venv/bin/python bench/vectors.py [--n 200000] [--esm-n 20000] [--repeat 2] [--keep]
     .venv/bin/python bench/vectors.py --matrix 200000 [--repeat 3]
Data goes to bench/out/vectors/ (git-ignored) and is deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _common import peak_mib, reset_peak, status_mib

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out" / "vectors"
FASTA = ROOT / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
DIM = 1024


# -- data ------------------------------------------------------------------------------------------


def proteins(n: int) -> list[tuple[str, str]]:
    """The first ``n`` Swiss-Prot 2014 proteins with distinct sequences (accession, sequence)."""
    out, seen, name, lines = [], set(), None, []

    def flush() -> None:
        sequence = "".join(lines)
        if name is not None and sequence not in seen:
            seen.add(sequence)
            out.append((name, sequence))

    with gzip.open(FASTA, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                flush()
                if len(out) >= n:
                    break
                name, lines = line[1:].split()[0], []
            else:
                lines.append(line.strip())
        else:
            flush()
    return out[:n]


def vectors(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mix = (rng.standard_normal((DIM, DIM)) / np.sqrt(DIM) * np.geomspace(3.0, 0.05, DIM)).astype(np.float32)
    return rng.standard_normal((n, DIM), dtype=np.float32) @ mix + rng.standard_normal(DIM).astype(np.float32)


def make_data(n: int, esm_n: int) -> dict:
    import h5py
    import torch

    from protiso.sequences.ingest import ingest_files
    from protiso.warehouse import Warehouse

    OUT.mkdir(parents=True, exist_ok=True)
    chosen = proteins(max(n, esm_n))
    fasta = OUT / "proteins.fasta"
    fasta.write_text("".join(f">{a}\n{s}\n" for a, s in chosen))
    with Warehouse.create(OUT / "template") as wh:
        ingest_files(wh, [fasta], progress=False)
    h5 = OUT / "reduced_embeddings_file.h5"
    with h5py.File(h5, "w") as handle:
        for start in range(0, n, 20_000):
            block = vectors(min(20_000, n - start), seed=start)
            for row, (accession, sequence) in enumerate(chosen[start:start + len(block)]):
                dataset = handle.create_dataset(hashlib.md5(sequence.encode()).hexdigest(), data=block[row])
                dataset.attrs["original_id"] = accession
    esm = OUT / "esm"
    esm.mkdir()
    block = torch.from_numpy(vectors(esm_n, seed=99))
    for row, (accession, _) in enumerate(chosen[:esm_n]):
        label = f"{accession}"
        torch.save({"label": label, "mean_representations": {33: block[row].clone()}}, esm / f"{label}.pt")
    return {"h5": str(h5), "esm": str(esm)}


def warm(path: Path) -> None:
    """Read every byte once so that both contenders find the files in the page cache."""
    for file in ([path] if path.is_file() else sorted(path.rglob("*.pt"))):
        with open(file, "rb") as handle:
            while handle.read(1 << 24):
                pass


# -- contenders (each in its own process) ----------------------------------------------------------


def part_floor_h5(path: str) -> dict:
    import h5py

    started = time.perf_counter()
    rows = 0
    with h5py.File(path, "r") as handle:
        for key in handle:
            handle[key][:]
            rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mib": peak_mib()}


def part_floor_esm(path: str) -> dict:
    import torch

    started = time.perf_counter()
    rows = 0
    for file in sorted(Path(path).glob("*.pt")):
        torch.load(file, map_location="cpu", weights_only=True)
        rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows, "peak_mib": peak_mib()}


def part_import(path: str, warehouse: str) -> dict:
    if Path(path).is_dir():
        import torch  # noqa: F401 - imported before the clock starts, as in the floor
    else:
        import h5py  # noqa: F401

    from protiso.jobs.import_vectors import ImportOptions, import_vectors
    from protiso.warehouse import Warehouse

    with Warehouse.open(warehouse) as wh:
        before = status_mib("VmRSS")
        started = time.perf_counter()
        summary = import_vectors(wh, ImportOptions(path, model="bench"), progress=False)
        seconds = time.perf_counter() - started
        stored = wh.con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0]
    assert stored == summary.vectors == summary.records, (stored, summary.vectors, summary.records)
    return {"seconds": seconds, "rows": summary.records, "peak_mib": peak_mib(), "rss_before_mib": before}


# -- 3. stored vectors as one matrix ----------------------------------------------------------------

MATRIX_MODEL, MATRIX_LAYER, PART_ROWS = "bench", 33, 50_000


def make_matrix_data(n: int) -> Path:
    """A warehouse of n x DIM vectors in 50,000-row parts, and the same matrix as matrix.npy beside it."""
    import pyarrow as pa

    from protiso.warehouse import Warehouse

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "matrix_w"
    matrix = np.lib.format.open_memmap(OUT / "matrix.npy", mode="w+", dtype=np.float32, shape=(n, DIM))
    with Warehouse.create(path) as wh, wh.run("embed", {"bench": "matrix"}) as run:
        for start in range(0, n, PART_ROWS):
            block = vectors(min(PART_ROWS, n - start), seed=start)
            matrix[start:start + len(block)] = block
            rows = len(block)
            with run.commit() as tx:
                tx.write_part("embeddings", pa.table({
                    "accession": [f"B{i:08d}" for i in range(start, start + rows)], "model": [MATRIX_MODEL] * rows,
                    "layer": [MATRIX_LAYER] * rows, "pooling": ["mean"] * rows, "embedding_set": ["raw"] * rows,
                    "embedding": pa.ListArray.from_arrays(pa.array(np.arange(rows + 1, dtype=np.int32) * DIM),
                                                          pa.array(block.reshape(-1)))}),
                    partition={"model": MATRIX_MODEL, "layer": MATRIX_LAYER})
    matrix.flush()
    return path


def _checksum(matrix: np.ndarray) -> float:
    return float(matrix.sum(dtype=np.float64))


def part_wh_vectors(path: str) -> dict:
    """The first call in a fresh process (it includes pyarrow's one-time set-up), then a second call."""
    from protiso.warehouse import Warehouse

    with Warehouse.open(path, read_only=True) as wh:
        before = status_mib("VmRSS")
        started = time.perf_counter()
        got = wh.vectors(model=MATRIX_MODEL, layer=MATRIX_LAYER)
        seconds = time.perf_counter() - started
        peak = peak_mib()
        checksum, matrix_mib = _checksum(got.matrix), got.matrix.nbytes / 2**20
        del got
        again_before = status_mib("VmRSS")
        reset_peak()
        again = wh.vectors(model=MATRIX_MODEL, layer=MATRIX_LAYER)
        again_growth = (peak_mib() - again_before) / matrix_mib
    return {"seconds": seconds, "rows": len(again), "peak_mib": peak, "rss_before_mib": before,
            "matrix_mib": matrix_mib, "checksum": checksum, "second_call_growth": again_growth}


def part_pyarrow(path: str) -> dict:
    """The floor: pyarrow reads the same catalogued parts (threaded), flattened into one matrix."""
    import pyarrow.parquet as pq

    from protiso.warehouse import Warehouse

    with Warehouse.open(path, read_only=True) as wh:
        parts = [str(p) for p in wh.part_paths("embeddings")]
    before = status_mib("VmRSS")
    started = time.perf_counter()
    table = pq.read_table(parts, columns=["embedding"], use_threads=True)
    matrix = np.empty((table.num_rows, DIM), dtype=np.float32)
    filled = 0
    for chunk in table.column("embedding").chunks:
        block = chunk.flatten().to_numpy().reshape(-1, DIM)
        matrix[filled:filled + len(block)] = block
        filled += len(block)
    del table
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": filled, "peak_mib": peak_mib(), "rss_before_mib": before,
            "matrix_mib": matrix.nbytes / 2**20, "checksum": _checksum(matrix)}


def part_npy(path: str) -> dict:
    before = status_mib("VmRSS")
    started = time.perf_counter()
    matrix = np.load(path)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(matrix), "peak_mib": peak_mib(), "rss_before_mib": before,
            "matrix_mib": matrix.nbytes / 2**20, "checksum": _checksum(matrix)}


STORAGE = [  # (label, layout: list | fixed | fixed-required, compression, byte-stream-split)
    ("list<float>, zstd (protiso 0.3's parts, a4b2ece)", "list", "zstd", False),
    ("list<float>, none", "list", "none", False),
    ("fixed_size_list<float, 1024>, zstd", "fixed", "zstd", False),
    ("fixed_size_list<float, 1024>, lz4", "fixed", "lz4", False),
    ("fixed_size_list<float, 1024>, none", "fixed", "none", False),
    ("fixed_size_list<float, 1024>, byte-stream-split + zstd", "fixed", "zstd", True),
    ("fixed_size_list<float not null, 1024>, zstd", "required", "zstd", False),
    ("fixed_size_list<float not null, 1024>, lz4", "required", "lz4", False),
    ("fixed_size_list<float not null, 1024>, none", "required", "none", False),
    ("fixed_size_list<float not null, 1024>, byte-stream-split + zstd", "required", "zstd", True),
]


def chosen(layout: str, compression: str, split: bool) -> bool:
    """Whether a storage choice is the one protiso's parts use (protiso.warehouse.contracts)."""
    from protiso.warehouse import contracts

    return layout == "required" and compression == contracts.VECTOR_COMPRESSION and not split


def part_storage(npy: str, repeat: str) -> dict:
    """Each layout written once from the matrix, then read back into numpy (pyarrow, threaded) ``repeat``
    times: MB/s of wall time and of CPU time (all threads; what a shared machine has to give)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from protiso.warehouse import contracts

    matrix = np.load(npy, mmap_mode="r")
    out = {}
    for label, layout, compression, split in STORAGE:
        file = OUT / f"storage-{len(out)}.parquet"
        values = pa.array(np.ascontiguousarray(matrix).reshape(-1))
        column = (pa.ListArray.from_arrays(pa.array(np.arange(len(matrix) + 1, dtype=np.int32) * DIM), values)
                  if layout == "list" else pa.FixedSizeListArray.from_arrays(
                      values, type=contracts.vector_type(DIM) if layout == "required" else pa.list_(pa.float32(), DIM)))
        kwargs = {"use_byte_stream_split": ["embedding.list.element"] if split else False}
        pq.write_table(pa.table({"embedding": column}), file, compression=compression, row_group_size=64 * 1024,
                       use_dictionary=False, **kwargs)
        del values, column
        best = cpu = None
        for _ in range(int(repeat)):
            started, started_cpu = time.perf_counter(), time.process_time()
            table = pq.read_table(file, columns=["embedding"], use_threads=True)
            got = np.concatenate([c.flatten().to_numpy().reshape(-1, DIM) for c in table.column(0).chunks])
            seconds, used = time.perf_counter() - started, time.process_time() - started_cpu
            best, cpu = (seconds, used) if best is None or seconds < best else (best, cpu)
            del table, got
        out[label] = {"seconds": best, "mb_per_s": matrix.nbytes / 1e6 / best, "mb_per_cpu_s": matrix.nbytes / 1e6 / cpu,
                      "file_mib": file.stat().st_size / 2**20, "chosen": chosen(layout, compression, split)}
        if out[label]["chosen"]:
            out[label + ", read as wh.vectors reads it (plain pages, one thread)"] = {
                **plain_read(file, matrix, int(repeat)), "file_mib": file.stat().st_size / 2**20, "chosen": True}
        file.unlink()
    return out


def plain_read(file: Path, matrix: np.ndarray, repeat: int) -> dict:
    """The file's floats read page by page straight into one matrix (``protiso.warehouse.plain_pages``)."""
    import pyarrow.parquet as pq

    from protiso.warehouse import plain_pages

    meta = pq.ParquetFile(file).metadata
    best = cpu = None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        got, row = np.empty(matrix.shape, dtype=np.float32), 0
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            assert plain_pages.fill(file, meta, group, 0, got[row:row + rows])
            row += rows
        seconds, used = time.perf_counter() - started, time.process_time() - started_cpu
        best, cpu = (seconds, used) if best is None or seconds < best else (best, cpu)
        assert np.array_equal(got[::997], matrix[::997])
        del got
    return {"seconds": best, "mb_per_s": matrix.nbytes / 1e6 / best, "mb_per_cpu_s": matrix.nbytes / 1e6 / cpu}


def compare_matrix(n: int, repeat: int) -> None:
    started = time.perf_counter()
    path = make_matrix_data(n)
    print(f"data: {n:,} x {DIM} float32 in {len(list((path / 'parquet').rglob('part-*.parquet')))} parts "
          f"(+ matrix.npy), made in {time.perf_counter() - started:,.0f} s")
    warm(OUT / "matrix.npy")
    for part in (path / "parquet").rglob("part-*.parquet"):
        warm(part)
    runs: dict[str, list[dict]] = {"pyarrow": [], "vectors": [], "npy": []}
    for _ in range(repeat):
        runs["pyarrow"].append(run_part("pyarrow", str(path)))
        runs["vectors"].append(run_part("wh_vectors", str(path)))
        runs["npy"].append(run_part("npy", str(OUT / "matrix.npy")))
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in runs.items()}
    assert best["pyarrow"]["checksum"] == best["vectors"]["checksum"] == best["npy"]["checksum"], best
    matrix_mib = best["npy"]["matrix_mib"]
    print(f"3. {n:,} x {DIM} float32 stored vectors as one matrix ({matrix_mib:,.0f} MiB; page cache warm; "
          f"best of {repeat}; peak = RSS growth during the call / matrix)")
    for key, label in (("pyarrow", "floor: pq.read_table(parts) + flatten into a matrix"),
                       ("vectors", "wh.vectors(model=, layer=)"), ("npy", "np.load(matrix.npy)")):
        r = best[key]
        growth = (r["peak_mib"] - r["rss_before_mib"]) / matrix_mib
        print(f"   {label:<52} {r['seconds']:7.2f} s {matrix_mib * 2**20 / 1e6 / r['seconds']:8,.0f} MB/s  "
              f"peak {growth:4.2f}x matrix")
    rounds = ", ".join(f"{v['seconds'] / f['seconds']:.2f}" for f, v in zip(runs["pyarrow"], runs["vectors"]))
    vec, floor = best["vectors"], best["pyarrow"]
    print(f"   wh.vectors / floor: time {vec['seconds'] / floor['seconds']:.2f}x (target <= 1.25x; each round: "
          f"{rounds}); peak {(vec['peak_mib'] - vec['rss_before_mib']) / matrix_mib:.2f}x matrix (target <= 1.3x; "
          f"a second call in the same process {vec['second_call_growth']:.2f}x: the first pays pyarrow's one-time "
          f"set-up, about 0.1 GB); np.load is {vec['seconds'] / best['npy']['seconds']:.1f}x faster than wh.vectors")
    storage = run_part("storage", str(OUT / "matrix.npy"), str(repeat))
    print(f"4. scan of the embedding column into numpy per storage choice (pyarrow, threaded, best of {repeat})")
    base = storage[STORAGE[0][0]]
    for label, r in storage.items():
        mark = "  <- chosen: protiso's parts" if r["chosen"] else ""
        print(f"   {label:<64} {r['mb_per_s']:7,.0f} MB/s {r['mb_per_cpu_s']:7,.0f} MB/CPU-s "
              f"({r['mb_per_s'] / base['mb_per_s']:4.1f}x a4b2ece's)  file {r['file_mib']:6,.0f} MiB{mark}")


def run_part(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--part", *args], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"part {args[0]} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(title: str, source: Path, floor_part: str, floor_label: str, repeat: int) -> None:
    """Floor and import alternately ``repeat`` times; the best time of each (the machine may be shared)."""
    warm(source)
    floors, imports = [], []
    target = OUT / f"w_{floor_part}"
    for _ in range(repeat):
        floors.append(run_part(floor_part, str(source)))
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(OUT / "template", target)
        imports.append(run_part("import", str(source), str(target)))
        shutil.rmtree(target)
    floor, imported = (min(runs, key=lambda r: r["seconds"]) for runs in (floors, imports))
    size = sum(f.stat().st_size for f in ([source] if source.is_file() else source.rglob("*.pt"))) / 2**20
    print(f"{title} ({size:,.0f} MiB on disk; best of {repeat})")
    for label, r in ((floor_label, floor), ("protiso import-vectors (to Parquet, all or nothing)", imported)):
        before = f" (before the call {r['rss_before_mib']:.0f} MiB)" if "rss_before_mib" in r else ""
        print(f"   {label:<52} {r['seconds']:7.1f} s {r['rows'] / r['seconds']:9,.0f} rows/s  "
              f"peak RSS {r['peak_mib']:6.0f} MiB{before}")
    times = ", ".join(f"{i['seconds'] / f['seconds']:.2f}" for f, i in zip(floors, imports))
    print(f"   import / floor: time {imported['seconds'] / floor['seconds']:.2f}x (target <= 1.5x; each round: {times}), "
          f"peak RSS {imported['peak_mib'] / floor['peak_mib']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="vectors in the .h5 file")
    parser.add_argument("--esm-n", type=int, default=20_000, help=".pt files in the ESM directory")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of floor + import (the best of each counts)")
    parser.add_argument("--keep", action="store_true", help="keep bench/out/vectors/ afterwards")
    parser.add_argument("--matrix", type=int, metavar="N", help="instead: N stored vectors read back as one matrix "
                        "(wh.vectors vs pyarrow vs np.load) and scan throughput per storage choice")
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, *rest = args.part
        parts = {"floor_h5": part_floor_h5, "floor_esm": part_floor_esm, "import": part_import,
                 "wh_vectors": part_wh_vectors, "pyarrow": part_pyarrow, "npy": part_npy, "storage": part_storage}
        print(json.dumps(parts[name](*rest)))
        return
    shutil.rmtree(OUT, ignore_errors=True)
    if args.matrix:
        try:
            compare_matrix(args.matrix, args.repeat)
        finally:
            if not args.keep:
                shutil.rmtree(OUT, ignore_errors=True)
        return
    started = time.perf_counter()
    paths = make_data(args.n, args.esm_n)
    print(f"data: {args.n:,} x {DIM} vectors (.h5) and {args.esm_n:,} .pt files for real Swiss-Prot 2014 "
          f"accessions, made in {time.perf_counter() - started:,.0f} s")
    try:
        compare(f"1. {args.n:,} x {DIM} float32 from one bio_embeddings-style .h5", Path(paths["h5"]), "floor_h5",
                "h5py loop: for key in f: f[key][:]", args.repeat)
        compare(f"2. {args.esm_n:,} x {DIM} float32 from an ESM extract.py directory", Path(paths["esm"]), "floor_esm",
                "torch.load(weights_only=True) per file", args.repeat)
    finally:
        if not args.keep:
            shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
