"""Issue 22's group statistics at scale, measured side by side in one run: what the added null, p/q-value and
length-matched work costs against today's job, and against a naive per-resample recomputation.

Every GO term with >= 10 proteins (true-path) of one set of vectors, through `protiso isotropy --by go_term`:

* today: the job as the base commit (--base, default the merge base with main) runs it, size null of
  --draws random groups per size, from a copy of that commit's tree (git archive), on a warehouse that
  commit built (a newer schema cannot be opened by it, so this tree's lines run on a copy, ``-now``,
  which this tree migrates);
* now, --null size: the same job with this tree (scale-free IsoScore* towards the whole set's covariance,
  stored draws, p-values, BH q-values per namespace, Monte-Carlo error, roots left out);
* now, --null length: the length-matched null (--draws draws, 10 length strata) instead;
* naive: per resample, a random group drawn and its IsoScore recomputed from its vectors
  (protiso.metrics.isoscore), size- and length-matched, on a seeded sample of the groups and 3 draws,
  extrapolated to every group and --draws draws.

Target (issue 22): each "now" line within 2x of today's job time. The machine may be shared, so the
comparison is of CPU seconds (all threads of the part's process and of the worker processes that drew its
nulls, --workers); wall seconds are printed beside.

Full scale (the Swiss-Prot-scale warehouse of bench/scale_analytics.py, 435,059 x 1024; minutes, GBs):

    python bench/statistics.py --dir /tmp/protiso_stats_full --full

Reduced (the first --proteins Swiss-Prot 2014 sequences with their GO annotations, the real GO graph,
one synthetic anisotropic float32 vector of width --dim per protein; seconds):

    python bench/statistics.py --dir /tmp/protiso_stats --proteins 5000 --dim 128
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TREE = Path(os.environ.get("PROTISO_TREE", REPO))
# this file is named like the standard library's statistics: keep bench/ off the import path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(TREE))
DATA = REPO / ".." / "shared" / "data" / "swissprot-2014"
MODEL, LAYER, POOLING = "synthetic", 1, "mean"
MIN_PROTEINS = 10


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that ended (the null's worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def worker_mib() -> float:
    """Peak RSS of the largest child that ended (a null-draw worker), in MiB; 0 if none."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def peak_mib() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# -- the reduced warehouse (built by the base tree, so that it can run on it) -------------------------


def _slice(root: Path, proteins: int) -> list[Path]:
    """The first ``proteins`` sequences of Swiss-Prot 2014 and their annotation lines, as files under root."""
    fasta, annotations = root / "slice.fasta", root / "slice_annotations.tsv"
    kept: set[str] = set()
    with gzip.open(DATA / "swissprot_2014.fasta.gz", "rt") as src, open(fasta, "w") as out:
        for line in src:
            if line.startswith(">"):
                if len(kept) == proteins:
                    break
                kept.add(line[1:].split()[0])
            out.write(line)
    with gzip.open(DATA / "swissprot_2014_annotations.tsv.gz", "rt") as src, open(annotations, "w") as out:
        out.write(next(src))
        for line in src:
            if line.split("\t", 1)[0] in kept:
                out.write(line)
    return [fasta, annotations, DATA / "go_2014_terms.tsv.gz", DATA / "go_2014_graph.tsv.gz"]


def part_build(path: str, root: str, proteins: str, dim: str) -> dict:
    import pyarrow as pa

    from protiso.sequences.ingest import ingest_files
    from protiso.warehouse import Warehouse

    started = time.perf_counter()
    with Warehouse.create(Path(path)) as wh:
        ingest_files(wh, _slice(Path(root), int(proteins)), progress=False)
        accessions = [r[0] for r in wh.con.execute(
            "SELECT min(accession) FROM proteins GROUP BY seq_hash ORDER BY 1").fetchall()]
        width = int(dim)
        rng = np.random.default_rng(0)
        mix = (rng.standard_normal((width, width)) / np.sqrt(width) * np.geomspace(3.0, 0.05, width)).astype(np.float32)
        block = rng.standard_normal((len(accessions), width), dtype=np.float32) @ mix + rng.standard_normal(width)
        column = pa.ListArray.from_arrays(pa.array(np.arange(len(accessions) + 1, dtype=np.int32) * width),
                                          pa.array(block.astype(np.float32).reshape(-1)))
        with wh.run("embed", {"bench": "synthetic anisotropic float32", "dim": width}) as run, run.commit() as tx:
            tx.write_part("embeddings", pa.table({
                "accession": accessions, "model": [MODEL] * len(accessions), "layer": [LAYER] * len(accessions),
                "pooling": [POOLING] * len(accessions), "embedding_set": ["raw"] * len(accessions),
                "embedding": column, "run_id": [run.id] * len(accessions)}))
    return {"seconds": time.perf_counter() - started, "vectors": len(accessions)}


# -- parts, each in its own process ------------------------------------------------------------------


def part_job(path: str, budget: str, draws: str, null: str, workers: str = "auto") -> dict:
    import dataclasses
    import inspect

    from protiso.errors import ProtisoError
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.warehouse import Warehouse

    try:                                 # since issue 20 the job's fields live on IsotropyOptions
        from protiso.jobs.options import IsotropyOptions
        fields = {f.name for f in dataclasses.fields(IsotropyOptions)}
    except ImportError:
        fields = set(inspect.signature(compute_isotropy).parameters)
    extra = {"null": null} if null != "size" else {}
    if extra and "null" not in fields:
        return {"skipped": "this tree has no --null"}
    try:
        wh = Warehouse.open(path)
    except ProtisoError as exc:
        return {"skipped": str(exc)}
    with wh:
        if "workers" in fields and workers != "auto":
            extra["workers"] = int(workers)
        start, cpu = time.perf_counter(), cpu_seconds()
        summary = compute_isotropy(wh, by=["go_term"], scopes=["global"], models=[MODEL], embedding_set="raw",
                                   min_points=MIN_PROTEINS, null_draws=int(draws),
                                   memory_budget=parse_memory_budget(budget), **extra)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        groups = wh.con.execute("SELECT count(*) FROM isotropy WHERE run_id = ? AND group_by = 'go_term'",
                                [summary.run_id]).fetchall()[0][0]
        return {"seconds": seconds, "cpu": cpu, "peak_mib": peak_mib(), "groups": groups, "run_id": summary.run_id,
                "worker_mib": worker_mib()}


def part_naive(path: str, run_id: str, sample: str, null: str) -> dict:
    """Per resample, a random group of the group's size (or length composition) and its IsoScore from its
    vectors, for a seeded sample of the job's groups and 3 draws each; seconds per group and draw."""
    from protiso.metrics import isoscore
    from protiso.metrics.length_null import length_strata
    from protiso.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        table = wh.query("SELECT e.accession, e.embedding, p.length FROM embeddings e JOIN proteins p USING (accession) "
                         "WHERE e.model = ? AND e.embedding_set = 'raw' ORDER BY e.accession", [MODEL])
        names = table.column("accession").to_pylist()
        points = np.asarray(table.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False),
                            dtype=np.float32).reshape(len(names), -1)
        lengths = np.asarray(table.column("length").to_numpy(zero_copy_only=False), dtype=np.float64)
        groups = wh.con.execute("SELECT group_value, n_proteins FROM isotropy WHERE run_id = ? AND group_by = 'go_term'",
                                [run_id]).fetchall()
        members = dict(wh.con.execute(
            "SELECT g.group_value, list(g.accession) FROM protein_groups('go_term') g "
            "SEMI JOIN (SELECT accession FROM embeddings WHERE model = ?) e USING (accession) GROUP BY 1",
            [MODEL]).fetchall())
    index = {a: i for i, a in enumerate(names)}
    strata = length_strata(lengths)
    bins = [np.flatnonzero(strata == b) for b in range(strata.max() + 1)]
    rng = np.random.default_rng(7)
    chosen = [groups[i] for i in rng.choice(len(groups), min(int(sample), len(groups)), replace=False)]
    start = time.process_time()
    for name, size in chosen:
        mine = np.array([index[a] for a in members[name]])
        counts = np.bincount(strata[mine], minlength=len(bins))
        for _ in range(3):
            if null == "length":
                drawn = np.concatenate([rng.choice(b, c, replace=False) for b, c in zip(bins, counts) if c])
            else:
                drawn = rng.choice(len(names), size, replace=False)
            isoscore(points[np.sort(drawn)])
    seconds = time.process_time() - start
    return {"per_group_draw": seconds / (3 * len(chosen)), "sampled": len(chosen), "groups": len(groups)}


def part_draw(path: str, draws: str, workers: str = "1") -> dict:
    """CPU and wall seconds per draw of each null alone (no job around them) on every GO term's proteins, in
    ``workers`` processes (CPU seconds include theirs), with the rows the length null's plan expects to move
    per draw."""
    from protiso.jobs.budget import parse_memory_budget
    from protiso.jobs.isotropy_groups import group_members
    from protiso.jobs.isotropy_read import scan_embeddings
    from protiso.metrics.length_null import LengthNull, length_strata
    from protiso.metrics.size_null import SizeNull, units_of
    from protiso.warehouse import Warehouse

    with Warehouse.open(path) as wh:
        scan = scan_embeddings(wh, {"model": MODEL, "layer": LAYER, "embedding_set": "raw", "pooling": POOLING},
                               "vectors", parse_memory_budget("4GiB"), True, "vectors")
        groups = group_members(wh, scan.accessions, "go_term", MIN_PROTEINS)
        length = dict(wh.con.execute("SELECT accession, length FROM proteins").fetchall())
    names = scan.accessions.to_numpy(zero_copy_only=False)
    units, _ = units_of(names)
    lengths = np.array([length[a] for a in np.unique(names)], dtype=np.float64)
    whole, out = scan.stats.sufficient(), {"groups": len(groups.members), "vectors": len(names)}
    crew = {"workers": int(workers)} if workers != "1" else {}        # older trees draw in this process only
    for name, make in (("size", lambda: SizeNull(scan.points, units, [len(m) for m in groups.members], int(draws),
                                                 2, whole=whole, **crew)),
                       ("length", lambda: LengthNull(scan.points, units, length_strata(lengths), groups.members,
                                                     int(draws), 2, whole=whole, relations=groups.relations, **crew))):
        cpu, wall = cpu_seconds(), time.perf_counter()
        null = make()
        out[name] = {"cpu_per_draw": (cpu_seconds() - cpu) / int(draws),
                     "wall_per_draw": (time.perf_counter() - wall) / int(draws)}
        if name == "length":
            out["length_rows_per_draw"] = null.plan.rows
    scan.close()
    return out


PARTS = {"build": part_build, "job": part_job, "naive": part_naive, "draw": part_draw}


def run_part(tree: Path, *args: str) -> dict:
    env = dict(os.environ, PROTISO_TREE=str(tree), PYTHONPATH=str(tree), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, __file__, "--part", *args], capture_output=True, text=True, cwd=tree,
                          env=env)
    if done.returncode != 0:
        raise SystemExit(f"part {args[0]} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def base_tree(commit: str, into: Path) -> Path:
    """A copy of ``commit``'s tree (git archive), with its sql/ and reports/ beside its package."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/protiso_stats"), help="where the warehouse lives")
    parser.add_argument("--full", action="store_true",
                        help="the Swiss-Prot-scale warehouse of bench/scale_analytics.py (built there by the base tree)")
    parser.add_argument("--proteins", type=int, default=5000, help="reduced scale: first N Swiss-Prot 2014 sequences")
    parser.add_argument("--dim", type=int, default=128, help="reduced scale: vector width")
    parser.add_argument("--draws", type=int, default=30, help="null draws (the job's --null-draws default)")
    parser.add_argument("--base", default=None, help="today's commit (default: git merge-base HEAD main)")
    parser.add_argument("--memory-budget", default="4GiB")
    parser.add_argument("--sample", type=int, default=20, help="groups the naive recomputation measures")
    parser.add_argument("--out", type=Path, help="also write the table here (default bench/out/statistics.txt)")
    parser.add_argument("--workers", default="auto",
                        help="processes that draw the nulls in this tree's lines (auto: the job's default, one per "
                        "CPU for draws worth it); CPU seconds always include theirs")
    parser.add_argument("--draw-only", type=Path, metavar="WAREHOUSE",
                        help="only time --draws draws of each null alone with this tree on WAREHOUSE (migrates it)")
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        name, *rest = args.part
        print(json.dumps(PARTS[name](*rest)))
        return
    if args.draw_only:
        workers = "1" if args.workers == "auto" else args.workers
        found = run_part(REPO, "draw", str(args.draw_only), str(args.draws), workers)
        print(f"{found['vectors']:,} vectors, {found['groups']:,} GO terms; CPU (wall) seconds per draw: size null "
              f"{found['size']['cpu_per_draw']:.1f} ({found['size']['wall_per_draw']:.1f}), length null "
              f"{found['length']['cpu_per_draw']:.1f} ({found['length']['wall_per_draw']:.1f}), planned "
              f"{found['length_rows_per_draw']:,.0f} rows per length draw; {workers} worker(s); load "
              f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return
    base = args.base or subprocess.run(["git", "-C", str(REPO), "merge-base", "HEAD", "main"], capture_output=True,
                                       text=True, check=True).stdout.strip()
    out_path = args.out or REPO / "bench" / "out" / f"statistics{'_full' if args.full else ''}.txt"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)
        out_path.write_text("\n".join(lines) + "\n")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="protiso-base-") as tmp:
        old = base_tree(base, Path(tmp) / "tree")
        (Path(tmp) / "shared").symlink_to((REPO / ".." / "shared").resolve())   # the base tree's ../shared/data
        if args.full:
            built = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                                    "sys.path.insert(0, 'bench'); import scale_analytics as s; "
                                    f"print(s.build(Path({str(args.dir)!r}), s.DIM, None))"],
                                   cwd=old, env=dict(os.environ, PYTHONPATH=str(old)), capture_output=True, text=True)
            if built.returncode != 0:
                raise SystemExit(built.stderr[-4000:])
            path = Path(built.stdout.strip().splitlines()[-1])
            what = "Swiss-Prot scale (bench/scale_analytics.py)"
        else:
            path = args.dir / f"wh-{args.proteins}-{args.dim}"
            if not path.exists():
                args.dir.mkdir(parents=True, exist_ok=True)
                run_part(old, "build", str(path), str(args.dir), str(args.proteins), str(args.dim))
            what = f"first {args.proteins:,} Swiss-Prot 2014 sequences, width {args.dim}"
        say(f"machine: {os.cpu_count()} cores, load {', '.join(f'{x:.1f}' for x in os.getloadavg())}; base {base[:10]}")
        say(f"warehouse {path} ({what}); every GO term with >= {MIN_PROTEINS} proteins, {args.draws} null draws\n")
        row = "{:<58} {:>8} {:>8} {:>9}  {}"
        say(row.format("step", "seconds", "CPU s", "peak MiB", "comparison of CPU seconds (target)"))
        today = run_part(old, "job", str(path), args.memory_budget, str(args.draws), "size")
    if "skipped" in today:
        say(row.format("today (base commit), size null", "-", "-", "-", f"skipped: {today['skipped']}"))
    else:
        say(row.format(f"today (base commit), size null, {today['groups']:,} GO terms", f"{today['seconds']:.1f}",
                       f"{today['cpu']:.1f}", f"{today['peak_mib']:.0f}", ""))
    results = {}
    mine = path.with_name(path.name + "-now")             # this tree migrates what it opens: the base's stays
    if not mine.exists():
        shutil.copytree(path, mine)
    for null in ("size", "length"):
        now = run_part(REPO, "job", str(mine), args.memory_budget, str(args.draws), null, args.workers)
        if "skipped" in now:
            say(row.format(f"now, --null {null}", "-", "-", "-", f"skipped: {now['skipped']}"))
            continue
        results[null] = now
        ratio = (f"{now['cpu'] / today['cpu']:.2f}x today (<= 2x); wall {now['seconds'] / today['seconds']:.2f}x"
                 if "seconds" in today else "")
        if now.get("worker_mib"):
            ratio += f"; largest null worker {now['worker_mib']:.0f} MiB"
        say(row.format(f"now, --null {null} + p, q, MC error, {now['groups']:,} GO terms", f"{now['seconds']:.1f}",
                       f"{now['cpu']:.1f}", f"{now['peak_mib']:.0f}", ratio))
    for null in results:
        naive = run_part(REPO, "naive", str(mine), results[null]["run_id"], str(args.sample), null)
        total = naive["per_group_draw"] * naive["groups"] * args.draws
        say(row.format(f"naive per-resample recomputation, {null} null", "", f"{total:.1f}", "",
                       f"extrapolated from {naive['sampled']} groups x 3 draws: "
                       f"{total / results[null]['cpu']:.1f}x the job"))
    say(f"total {time.perf_counter() - started:.0f} s; load at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
