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

Run: .venv/bin/python bench/vectors.py [--n 200000] [--esm-n 20000] [--repeat 2] [--keep]. Data goes to
bench/out/vectors/ (git-ignored) and is deleted afterwards unless --keep.
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

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out" / "vectors"
FASTA = ROOT / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
DIM = 1024


def status_mib(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    return status_mib("VmHWM")


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
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, *rest = args.part
        parts = {"floor_h5": part_floor_h5, "floor_esm": part_floor_esm, "import": part_import}
        print(json.dumps(parts[name](*rest)))
        return
    shutil.rmtree(OUT, ignore_errors=True)
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
