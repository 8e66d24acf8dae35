"""The same job on the local engine and on a 2-node loopback Ray cluster: wall times and Ray's overhead.

The job: a seeded sample of N Swiss-Prot 2014 proteins (default 2,000) is ingested, embedded with
AntiBERTy (last layer, residue statistics of every residue), a seeded subset of them is aligned
all-pairs (PAM250 global), and isotropy is measured. It runs twice, into two warehouses:

* local: ``protiso.embedding.embed_proteins`` and ``protiso.align.align`` in this process (torch and the
  alignment pool use every core);
* ray: a cluster started here, loopback only — ``ray start --head --port P --num-cpus 1`` plus a second
  ``ray start --address 127.0.0.1:P --num-cpus 1`` worker-node process — and the Ray engine with one
  actor per node (one actor per GPU when GPUs are present).

Both runs cut the work into the same chunks, so their vectors are compared bit for bit (the check
allows 1e-6), alignment rows exactly, and isotropy and correlations to 1e-9. Wall time of each stage
and the ratio ray/local are printed; the cluster is stopped at the end (``ray stop --force``).

    python bench/scale.py                    # 2,000 proteins, 300 of them aligned (44,850 pairs)
    python bench/scale.py --n 300 --align 120
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
FASTA = REPO / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
RAY = Path(sys.executable).parent / "ray"
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")
# Ray (2.5x/2.6x) advertises the machine's outward address for 127.0.0.1 unless this is 0; `ray start`
# of a worker node refuses to run with it, so the worker node is started with Ray's address lookup
# pinned to loopback instead (the script below). Every process then listens on 127.0.0.1 only.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
WORKER_NODE = """
import os, sys
import ray._private.services as services
services.get_node_ip_address = lambda address=None: "127.0.0.1"
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
from ray.scripts.scripts import main
sys.argv = ["ray", "start", "--address", sys.argv[1], "--num-cpus", "1", "--disable-usage-stats", *sys.argv[2:]]
main()
"""


def sample(n: int, seed: int) -> list[tuple[str, str]]:
    """A seeded reservoir sample of n Swiss-Prot 2014 proteins made of the 20 standard residues
    (AntiBERTy's vocabulary has no X, B, Z, U or O)."""
    rng, chosen, seen = random.Random(seed), [], 0
    accession, chunks = None, []
    with gzip.open(FASTA, "rt") as handle:
        for line in [*handle, ">"]:
            if line.startswith(">"):
                if accession and set("".join(chunks).strip()) <= STANDARD:
                    seen += 1
                    if len(chosen) < n:
                        chosen.append((accession, "".join(chunks)))
                    elif (j := rng.randrange(seen)) < n:
                        chosen[j] = (accession, "".join(chunks))
                accession, chunks = (line[1:].split() or [None])[0], []
            else:
                chunks.append(line.strip())
    return chosen


def gpus() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except ImportError:
        return 0


def start_cluster(port: int, n_gpus: int, env: dict) -> None:
    head_gpus = ["--num-gpus", str(n_gpus)] if n_gpus else ["--num-gpus", "0"]
    subprocess.run([str(RAY), "start", "--head", "--port", str(port), "--num-cpus", "1", *head_gpus,
                    "--include-dashboard", "false", "--disable-usage-stats"],
                   env={**env, **LOOPBACK}, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", WORKER_NODE, f"127.0.0.1:{port}", "--num-gpus", "0"],
                   env=env, check=True, capture_output=True)


def stop_cluster(env: dict) -> None:
    subprocess.run([str(RAY), "stop", "--force"], env=env, capture_output=True)


def run_job(engine: str, root: Path, fasta: Path, args, address: str | None, n_gpus: int) -> dict:
    from protiso.embedding import EmbedOptions, embed_proteins
    from protiso.engines import align_runner, embed_runner
    from protiso.jobs.align import align_and_measure
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.sequences.ingest import ingest_files
    from protiso.warehouse import Warehouse

    times = {}
    with Warehouse.create(root / engine) as wh:
        ingest_files(wh, [fasta], progress=False)
        embed = EmbedOptions("antiberty", residues="none", chunk_residues=args.chunk_residues)
        aligned = dict(proteins=args.align, seed=args.seed, block_size=args.block_size, progress=True)
        tick = time.perf_counter()
        runner = embed_runner(engine, address=address, workers=n_gpus or 2, gpus_per_worker=1.0 if n_gpus else 0.0)
        embed_proteins(wh, embed, runner=runner, progress=True)
        times["embed"] = time.perf_counter() - tick
        tick = time.perf_counter()
        if engine == "local":
            align_and_measure(wh, **aligned)
        else:
            align_and_measure(wh, runner=align_runner("ray", address=address), workers=2, **aligned)
        times["align"] = time.perf_counter() - tick
        compute_isotropy(wh)
    return times


def compare(root: Path) -> dict:
    from protiso.warehouse import Warehouse

    out = {}
    rows = {}
    for engine in ("local", "ray"):
        with Warehouse.open(root / engine) as wh:
            rows[engine] = {
                "emb": wh.query("SELECT accession, embedding FROM embeddings ORDER BY accession").to_pydict(),
                "aln": wh.query("SELECT * EXCLUDE (run_id) FROM alignments ORDER BY accession_a, accession_b").to_pylist(),
                "iso": wh.query("SELECT scope, n_points, isoscore, effective_dims FROM isotropy ORDER BY scope").to_pylist(),
                "cor": wh.query("SELECT metric_x, metric_y, pearson, spearman, n FROM correlations ORDER BY ALL").to_pylist(),
            }
    a, b = rows["local"], rows["ray"]
    assert a["emb"]["accession"] == b["emb"]["accession"], "different proteins embedded"
    out["max |vector diff|"] = float(np.abs(np.array(a["emb"]["embedding"]) - np.array(b["emb"]["embedding"])).max())
    out["alignment rows identical"] = a["aln"] == b["aln"]
    out["alignment pairs"] = len(b["aln"])
    out["max |isotropy diff|"] = max(abs(x[k] - y[k]) for x, y in zip(a["iso"], b["iso"], strict=True)
                                     for k in ("isoscore", "effective_dims"))
    out["max |correlation diff|"] = max((abs(x[k] - y[k]) for x, y in zip(a["cor"], b["cor"], strict=True)
                                         for k in ("pearson", "spearman")), default=float("nan"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="proteins embedded")
    parser.add_argument("--align", type=int, default=300, help="proteins of the all-pairs alignment subset")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chunk-residues", type=int, default=20_000, help="residues per committed chunk (both engines)")
    parser.add_argument("--block-size", type=int, default=5_000, help="pairs per committed alignment block")
    parser.add_argument("--port", type=int, default=6390, help="the head node's GCS port (on 127.0.0.1)")
    parser.add_argument("--keep", type=Path, help="keep the two warehouses in this directory")
    args = parser.parse_args()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "token")}
    os.environ.update({k: v for k, v in env.items() if k in ("HF_HUB_OFFLINE", "RAY_AUTH_MODE")})
    os.environ.update(LOOPBACK)  # this driver too, before Ray is imported
    if env["RAY_AUTH_MODE"] == "token" and not (Path.home() / ".ray" / "auth_token").exists():
        subprocess.run([str(RAY), "get-auth-token", "--generate"], env=env, capture_output=True)
    records = sample(args.n, args.seed)
    root = args.keep or Path(tempfile.mkdtemp(prefix="protiso-scale-"))
    shutil.rmtree(root / "local", ignore_errors=True)
    shutil.rmtree(root / "ray", ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    fasta = root / "proteins.fasta"
    fasta.write_text("".join(f">{a}\n{s}\n" for a, s in records))
    n_gpus = gpus()
    residues = sum(min(len(s), 510) for _, s in records)
    print(f"{args.n} proteins ({residues:,} residues embedded), {args.align} aligned all-pairs "
          f"({args.align * (args.align - 1) // 2:,} pairs); GPUs: {n_gpus}; cores: {os.cpu_count()}", flush=True)

    local = run_job("local", root, fasta, args, None, n_gpus)
    tick = time.perf_counter()
    start_cluster(args.port, n_gpus, env)
    startup = time.perf_counter() - tick
    try:
        remote = run_job("ray", root, fasta, args, f"127.0.0.1:{args.port}", n_gpus)
    finally:
        stop_cluster(env)
    checks = compare(root)

    actors = f"{n_gpus} GPU actors" if n_gpus else "2 nodes x 1 CPU actor"
    print(f"\n{'stage':<10}{'local s':>10}{'ray s':>10}{'ray/local':>11}   (ray: {actors}; cluster start {startup:.1f} s)")
    for stage in ("embed", "align"):
        print(f"{stage:<10}{local[stage]:>10.1f}{remote[stage]:>10.1f}{remote[stage] / local[stage]:>11.2f}")
    total_local, total_ray = sum(local.values()), sum(remote.values())
    print(f"{'total':<10}{total_local:>10.1f}{total_ray:>10.1f}{total_ray / total_local:>11.2f}")
    print(f"embedding throughput: local {residues / local['embed']:,.0f} res/s, ray {residues / remote['embed']:,.0f} res/s")
    for key, value in checks.items():
        print(f"{key}: {value}")
    ok = checks["max |vector diff|"] <= 1e-6 and checks["alignment rows identical"]
    print("RESULT:", "identical" if ok else "DIFFERENT")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
