"""protiso.align: exact scores and statistics against Biopython on real Swiss-Prot 2014 proteins,
recorded parameters, deterministic sampling, resume after kill -9, bad inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from align_helpers import biopython_alignment, warehouse_with_proteins
from Bio.Align import Alignment

from protiso.align import AlignerWarning, AlignOptions, LocalAlignRunner, Scoring, align
from protiso.align.aligners import ParasailAligner, SequenceSet
from protiso.errors import ProtisoError
from protiso.metrics.pairs import average_ranks
from protiso.warehouse import Warehouse

GLOBAL = dict(matrix="PAM250", mode="global", open_score=-10.0, extend_score=-1.0)
LOCAL = dict(matrix="BLOSUM62", mode="local", open_score=-11.0, extend_score=-1.0)
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    warehouse = warehouse_with_proteins(tmp_path_factory.mktemp("align") / "w")
    yield warehouse
    warehouse.close()


def _rows(wh: Warehouse, run_id: str) -> list[dict]:
    return wh.query("SELECT * FROM alignments WHERE run_id = ? ORDER BY accession_a, accession_b",
                    [run_id]).to_pylist()


def _sequences(wh: Warehouse) -> dict[str, str]:
    return dict(wh.con.execute("SELECT accession, sequence FROM proteins").fetchall())


def _bio_scores(task: tuple) -> list[float]:
    scoring, pairs = task
    aligner = Scoring(**scoring).biopython_aligner()
    return [aligner.score(a, b) for a, b in pairs]


def _biopython_scores(scoring: dict, pairs: list[tuple[str, str]], workers: int = 2) -> np.ndarray:
    """Biopython PairwiseAligner(...).score of every pair, on ``workers`` processes."""
    chunks = [pairs[k:k + 500] for k in range(0, len(pairs), 500)]
    with ProcessPoolExecutor(workers) as pool:
        return np.array([s for part in pool.map(_bio_scores, [(scoring, c) for c in chunks]) for s in part])


def _check_scores(wh: Warehouse, n_proteins: int, scoring: dict) -> int:
    summary = align(wh, proteins=n_proteins, seed=11, workers=2, block_size=5000, progress=False,
                    **scoring)
    rows = _rows(wh, summary.run_id)
    assert len(rows) == n_proteins * (n_proteins - 1) // 2 == summary.n_pairs
    seqs = _sequences(wh)
    expected = _biopython_scores(scoring, [(seqs[r["accession_a"]], seqs[r["accession_b"]]) for r in rows])
    got = np.array([r["score"] for r in rows])
    assert np.array_equal(got, expected), f"{int((got != expected).sum())} scores differ"
    assert summary.aligner == "parasail"
    return len(rows)


@pytest.mark.parametrize("scoring", [GLOBAL, LOCAL], ids=["pam250-global", "blosum62-local"])
def test_scores_equal_biopython_100_proteins(wh, scoring):
    assert _check_scores(wh, 100, scoring) == 4950


@pytest.mark.slow
@pytest.mark.parametrize("scoring", [GLOBAL, LOCAL], ids=["pam250-global", "blosum62-local"])
def test_scores_equal_biopython_300_proteins(wh, scoring):
    """The acceptance check: all 44,850 pairs of the 300 Swiss-Prot proteins."""
    assert _check_scores(wh, 300, scoring) == 44850


def _n_optimal(alignments) -> float:
    try:
        return len(alignments)
    except OverflowError:  # more than 2**63 co-optimal alignments
        return float("inf")


@pytest.mark.parametrize("scoring, n_proteins", [
    (GLOBAL, 40), (LOCAL, 40), (dict(GLOBAL, open_score=-3.0, extend_score=-3.0), 25),
    (dict(LOCAL, open_score=-2.0, extend_score=-4.0), 12), (dict(GLOBAL, open_score=0.0, extend_score=0.0), 15),
], ids=["pam250-global", "blosum62-local", "linear-gaps", "extend-above-open", "free-gaps"])
@pytest.mark.filterwarnings("ignore::protiso.align.AlignerWarning")
def test_paths_are_optimal_and_counted_like_biopython(wh, scoring, n_proteins):
    """Every stored pair's statistics belong to an optimal alignment, counted as Biopython counts them: the
    parasail path, handed to Biopython as an Alignment, scores the optimum and has the stored identity,
    positives, gaps and length (a path that does not re-score was re-aligned by Biopython: then the stored
    row is Biopython's alignment). Where Biopython's optimal alignment is unique, the two agree exactly."""
    summary = align(wh, proteins=n_proteins, seed=5, workers=1, progress=False, **scoring)
    stored = {(r["accession_a"], r["accession_b"]): r for r in _rows(wh, summary.run_id)}
    seqs = _sequences(wh)
    sc = Scoring(**scoring)
    aligner = sc.biopython_aligner()
    names = sorted({a for pair in stored for a in pair})
    engine = None
    if summary.aligner == "parasail":
        engine = ParasailAligner(sc, SequenceSet.from_codes([seqs[n] for n in names],
                                                           [sc.encode(seqs[n])[1] for n in names]))
    unique = differ = rejected = 0
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            row = stored[(a, b)]
            optimal = aligner.align(seqs[a], seqs[b])
            path = optimal[0]
            if engine is not None:
                score, cigar, beg_q, beg_r = engine.path(i, j)
                assert score == optimal.score
                if engine.swap:  # parasail aligned (b, a)
                    candidate = biopython_alignment(seqs[b], seqs[a], cigar, beg_q, beg_r, local=True)
                    candidate = Alignment([seqs[a], seqs[b]], candidate.coordinates[::-1])
                else:
                    candidate = biopython_alignment(seqs[a], seqs[b], cigar, beg_q, beg_r, sc.mode == "local")
                if candidate.counts(aligner).score == optimal.score:
                    path = candidate
                else:
                    rejected += 1
            counts = path.counts(aligner)
            assert counts.score == optimal.score == row["score"]
            assert counts.identities / path.length == row["identity"]
            assert counts.positives / path.length == row["similarity"]
            assert (counts.gaps, path.length) == (row["gaps"], row["alignment_length"])
            if _n_optimal(optimal) == 1:
                unique += 1
                theirs = optimal[0].counts(aligner)
                assert (theirs.identities, theirs.positives, optimal[0].length) == \
                    (counts.identities, counts.positives, path.length)
            else:
                differ += counts.identities != optimal[0].counts().identities
    assert rejected == summary.fallbacks
    if scoring in (GLOBAL, LOCAL):
        assert unique > 0 and summary.aligner == "parasail"
    print(f"{scoring}: aligner {summary.aligner}, {unique} unique optima agree; {differ} co-optimal pairs with "
          f"another identity than Biopython's first alignment; {rejected} parasail paths rejected")


def test_parameters_recorded(wh):
    summary = align(wh, proteins=12, seed=2, workers=1, progress=False, **LOCAL)
    row = wh.query("SELECT * FROM alignment_runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]
    assert (row["matrix"], row["mode"], row["open_score"], row["extend_score"], row["engine"]) == \
        ("BLOSUM62", "local", -11.0, -1.0, "parasail")
    assert (row["n_proteins"], row["n_pairs"], row["seed"]) == (12, 66, 2)
    params = json.loads(row["params"])
    assert params["scoring"]["open_score"] == -11.0 and params["scoring"]["alphabet"].startswith("ARND")
    assert params["sample"]["proteins"] == 12 and params["block_size"] == 20000
    run = wh.query("SELECT kind, status, params FROM runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]
    assert run["kind"] == "align" and run["status"] == "done"
    assert json.loads(run["params"])["plan_key"] == params["plan_key"]


def test_sampling_is_deterministic(wh):
    first = align(wh, proteins=10, seed=7, workers=1, progress=False, **GLOBAL)
    again = align(wh, proteins=10, seed=7, workers=1, progress=False, **GLOBAL)
    other = align(wh, proteins=10, seed=8, workers=1, progress=False, **GLOBAL)
    key = lambda s: [(r["accession_a"], r["accession_b"], r["score"]) for r in _rows(wh, s.run_id)]  # noqa: E731
    assert key(first) == key(again) != key(other)
    assert all(a < b for a, b, _ in key(first))


def test_random_pairs(wh):
    summary = align(wh, pairs=500, seed=3, workers=2, block_size=100, progress=False, **GLOBAL)
    rows = _rows(wh, summary.run_id)
    pairs = {(r["accession_a"], r["accession_b"]) for r in rows}
    assert len(rows) == len(pairs) == 500 and all(a < b for a, b in pairs)
    seqs = _sequences(wh)
    expected = _biopython_scores(GLOBAL, [(seqs[a], seqs[b]) for a, b in sorted(pairs)], workers=1)
    assert np.array_equal([r["score"] for r in rows], expected)


def test_normalized_score_and_filters(wh):
    summary = align(wh, proteins=15, seed=4, min_length=100, max_length=400, workers=1, progress=False,
                    **GLOBAL)
    seqs = _sequences(wh)
    aligner = Scoring(**GLOBAL).biopython_aligner()
    for r in _rows(wh, summary.run_id):
        a, b = seqs[r["accession_a"]], seqs[r["accession_b"]]
        assert 100 <= len(a) <= 400 and 100 <= len(b) <= 400
        self_mean = (aligner.score(a, a) + aligner.score(b, b)) / 2
        assert r["normalized_score"] == pytest.approx(r["score"] / self_mean, rel=1e-15)
    where = align(wh, proteins=5, seed=1, where="length < 150 AND accession > 'A0A2'", workers=1, progress=False,
                  **GLOBAL)
    rows = _rows(wh, where.run_id)
    assert len(rows) == 10
    assert all(len(seqs[r[k]]) < 150 and r[k] > "A0A2" for r in rows for k in ("accession_a", "accession_b"))


def test_biopython_fallback_engine(wh):
    with pytest.warns(AlignerWarning, match="Biopython"):
        summary = align(wh, proteins=8, seed=1, workers=1, progress=False,
                        matrix="PAM250", mode="global", open_score=-10.5, extend_score=-0.5)
    assert summary.aligner == "biopython"
    engine = wh.con.execute("SELECT engine FROM alignment_runs WHERE run_id = ?", [summary.run_id]).fetchall()
    assert engine == [("biopython",)]
    seqs = _sequences(wh)
    aligner = Scoring("PAM250", "global", -10.5, -0.5).biopython_aligner()
    for r in _rows(wh, summary.run_id):
        assert r["score"] == aligner.score(seqs[r["accession_a"]], seqs[r["accession_b"]])
    # The two engines agree on integer scoring (scores exactly; statistics where the optimum is unique).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fast = align(wh, proteins=8, seed=1, workers=1, progress=False, **GLOBAL)
    slow = align(wh, proteins=8, seed=1, workers=1, progress=False, aligner="biopython", **GLOBAL)
    assert [r["score"] for r in _rows(wh, fast.run_id)] == [r["score"] for r in _rows(wh, slow.run_id)]


def test_unknown_residues_map_to_x():
    text, codes, mapped = AlignOptions().scoring().encode("acdUoX", "P1")
    assert text == "ACDXXX" and mapped == 2 and len(codes) == 6
    with pytest.raises(ProtisoError, match="P2.*not in matrix"):
        AlignOptions(matrix="BLASTN").scoring().encode("ACGTQ", "P2")


def test_average_ranks_match_scipy_definition():
    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0, -1.0])
    assert average_ranks(x).tolist() == [5.0, 2.0, 5.0, 3.0, 5.0, 1.0]


@pytest.mark.parametrize("kwargs, message", [
    (dict(matrix="NOPE"), "unknown substitution matrix 'NOPE'"),
    (dict(open_score=5.0), "gap open score must be <= 0"),
    (dict(extend_score=1.0), "gap extend score must be <= 0"),
    (dict(mode="semiglobal"), "alignment mode must be"),
    (dict(proteins=1), "at least 2"),
    (dict(fraction=0.001), "the sample has 0 protein"),
    (dict(where="no_such_column = 1"), "cannot select proteins with --where"),
    (dict(proteins=2, pairs=3), "give only one of"),
    (dict(resume="align-nonexistent"), "no alignment run 'align-nonexistent'"),
])
def test_bad_input(wh, kwargs, message):
    with pytest.raises(ProtisoError, match=message):
        align(wh, workers=1, progress=False, **kwargs)


def test_empty_warehouse(tmp_path):
    with Warehouse.create(tmp_path / "empty") as empty:
        with pytest.raises(ProtisoError, match="has no proteins"):
            align(empty, proteins=5, workers=1, progress=False)


def _protiso(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "protiso", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def test_cli_errors_are_one_line(tmp_path):
    path = tmp_path / "w"
    warehouse_with_proteins(path).close()
    for args in (["--matrix", "FOO"], ["--open", "10"], ["--proteins", "1"]):
        out, err = _protiso("align", "-w", str(path), *args).communicate(timeout=120)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err


def test_resume_after_kill(tmp_path):
    """kill -9 in the middle of a run; the rerun resumes, recomputing no committed block."""
    path = tmp_path / "w"
    warehouse_with_proteins(path).close()
    args = ["align", "-w", str(path), "--proteins", "200", "--seed", "9", "--block-size", "250",
            "--workers", "1", "--no-progress"]
    process = _protiso(*args)
    parts_dir = path / "parquet" / "alignments"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts_dir.rglob("*.parquet"))) < 4:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with Warehouse.open(path) as wh:
        status = wh.con.execute("SELECT status FROM runs WHERE kind = 'align'").fetchall()
        committed = {r[0]: r[1] for r in wh.con.execute("SELECT path, rows FROM parts").fetchall()
                     if "alignments" in r[0]}
        assert status == [("interrupted",)] and 0 < len(committed) < 80  # its process is gone
    out, err = _protiso(*args).communicate(timeout=600)
    assert "resumed" in out and f"{sum(committed.values()):,} were already committed" in out, out + err
    with Warehouse.open(path) as wh:
        after = {r[0]: r[1] for r in wh.con.execute("SELECT path, rows FROM parts").fetchall() if "alignments" in r[0]}
        assert set(committed) <= set(after) and len(after) == 80  # 19,900 pairs / 250
        n, distinct = wh.con.execute(
            "SELECT count(*), count(DISTINCT (accession_a, accession_b)) FROM alignments").fetchall()[0]
        assert n == distinct == 200 * 199 // 2
        assert wh.con.execute("SELECT status FROM runs WHERE kind = 'align'").fetchall() == [("done",)]
        seqs = _sequences(wh)
        rows = wh.query("SELECT accession_a, accession_b, score FROM alignments USING SAMPLE 300 ROWS").to_pylist()
    expected = _biopython_scores(GLOBAL, [(seqs[r["accession_a"]], seqs[r["accession_b"]]) for r in rows], 1)
    assert np.array_equal([r["score"] for r in rows], expected)
    with Warehouse.open(path) as wh:
        run_id = wh.con.execute("SELECT run_id FROM alignment_runs").fetchall()[0][0]
        with pytest.raises(ProtisoError, match="already complete"):
            align(wh, resume=run_id, progress=False)


def test_explicit_resume_after_interrupt(wh):
    """An interrupted run is marked failed and `resume=RUN_ID` finishes it with its recorded parameters."""
    from protiso.align.worker import BlockRunner

    class Interrupted(BlockRunner):
        def run(self, tasks):
            for k, result in enumerate(super().run(tasks)):
                if k == 2:
                    raise KeyboardInterrupt
                yield result

    with pytest.raises(KeyboardInterrupt):
        align(wh, proteins=30, seed=21, block_size=50, workers=1, progress=False,
              runner=LocalAlignRunner(Interrupted), **LOCAL)
    run_id, status = wh.con.execute("SELECT run_id, status FROM runs WHERE kind = 'align' "
                                    "ORDER BY started_at DESC LIMIT 1").fetchall()[0]
    assert status == "failed" and len(_rows(wh, run_id)) == 100
    summary = align(wh, resume=run_id, workers=1, progress=False)  # GLOBAL defaults ignored
    assert (summary.run_id, summary.resumed, summary.pairs_resumed, summary.pairs_aligned) == (run_id, True, 100, 335)
    rows = _rows(wh, run_id)
    assert len({(r["accession_a"], r["accession_b"]) for r in rows}) == len(rows) == 435
    seqs = _sequences(wh)
    aligner = Scoring(**LOCAL).biopython_aligner()
    assert all(r["score"] == aligner.score(seqs[r["accession_a"]], seqs[r["accession_b"]]) for r in rows[::7])


def test_resume_refuses_changed_proteins(tmp_path):
    from protiso.align.worker import BlockRunner
    from protiso.sequences.ingest import ingest_files

    class Interrupted(BlockRunner):
        def run(self, tasks):
            yield next(iter(super().run(tasks)))
            raise KeyboardInterrupt

    with warehouse_with_proteins(tmp_path / "w") as wh:
        with pytest.raises(KeyboardInterrupt):
            align(wh, fraction=0.05, seed=3, block_size=20, workers=1, progress=False, runner=LocalAlignRunner(Interrupted))
        run_id = wh.con.execute("SELECT run_id FROM alignment_runs").fetchall()[0][0]
        extra = tmp_path / "extra.fasta"
        extra.write_text(">ZZZ999\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ\n")
        ingest_files(wh, [extra], progress=False)
        with pytest.raises(ProtisoError, match=f"cannot resume {run_id}: the proteins it sampled changed"):
            align(wh, resume=run_id, workers=1, progress=False)


# -- pairs over --max-cells (protiso.align.long_pairs) -------------------------------------------


@pytest.mark.parametrize("scoring", [GLOBAL, LOCAL, dict(GLOBAL, open_score=-3.0, extend_score=-3.0)],
                         ids=["pam250-global", "blosum62-local", "linear-gaps"])
def test_long_pairs_are_exact_in_linear_memory(wh, scoring):
    """Pairs over max_cells (here 100,000 cells: most pairs of 30 real proteins) are aligned without a
    traceback: every score equals Biopython's, and the counts are those of an optimal alignment (checked
    against all of Biopython's optimal alignments where there are at most 300; equal to Biopython's
    where the optimum is unique)."""
    summary = align(wh, proteins=30, seed=8, workers=1, max_cells=100_000, progress=False,
                    **scoring)
    rows = _rows(wh, summary.run_id)
    seqs = _sequences(wh)
    assert len(rows) == summary.n_pairs == 435 and summary.skipped == 0
    long = [r for r in rows if len(seqs[r["accession_a"]]) * len(seqs[r["accession_b"]]) > 100_000]
    assert summary.linear == len(long) > 100
    sc = Scoring(**scoring)
    aligner = sc.biopython_aligner()
    checked = 0
    for row in long:
        optimal = aligner.align(seqs[row["accession_a"]], seqs[row["accession_b"]])
        assert row["score"] == optimal.score
        n = _n_optimal(optimal)
        if n > 300:
            continue
        found = {(c.identities / al.length, c.positives / al.length, al.length, c.gaps)
                 for al in optimal for c in [al.counts(aligner)]}
        assert (row["identity"], row["similarity"], row["alignment_length"], row["gaps"]) in found, row
        checked += 1  # (where the optimum is unique, that is Biopython's alignment)
    assert checked > 20 or scoring["open_score"] == scoring["extend_score"]  # linear gaps: too many co-optima
    params = json.loads(wh.query("SELECT params FROM runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]["params"])
    assert params["max_cells"] == 100_000 and params["linear_pairs"] == summary.linear
    assert params["skipped_pairs"] == 0 and "memory_rule" in params["definitions"]


def test_self_scores_of_long_proteins(wh):
    """normalized_score needs each protein aligned with itself; over max_cells that score is the matrix
    diagonal summed (or a linear-memory alignment) and equals Biopython's."""
    rows = {r[0]: r[1] for r in wh.con.execute("SELECT accession, sequence FROM proteins").fetchall()}
    names = sorted(rows)[:40]
    sc = Scoring(**GLOBAL)
    seqs = SequenceSet.from_codes([sc.encode(rows[n])[0] for n in names], [sc.encode(rows[n])[1] for n in names])
    idx = np.arange(len(names))
    aligner = sc.biopython_aligner()
    expected = [aligner.score(rows[n], rows[n]) for n in names]
    for max_cells in (1_000, 100_000):
        got = ParasailAligner(sc, seqs, max_cells=max_cells).align_pairs(idx, idx).score
        assert list(got) == expected


def test_pairs_too_long_even_for_linear_memory_are_skipped_and_listed(wh):
    """Rule 3: a pair whose linear-memory alignment would still exceed 6 * max_cells bytes has no row, a
    rejects row saying why, and a count in the run; the run is done."""
    summary = align(wh, proteins=6, seed=4, workers=1, max_cells=500, progress=False)
    assert summary.skipped == 15 and summary.pairs_aligned == 0 and not _rows(wh, summary.run_id)
    rejects = wh.query("SELECT source, accession, reason FROM rejects WHERE run_id = ?", [summary.run_id]).to_pylist()
    assert len(rejects) == 15 and all(r["source"] == "align" for r in rejects)
    assert all("over --max-cells 500; even linear memory needs" in r["reason"] for r in rejects)
    run = wh.query("SELECT status, params FROM runs WHERE run_id = ?", [summary.run_id]).to_pylist()[0]
    assert run["status"] == "done" and json.loads(run["params"])["skipped_pairs"] == 15
    assert "15 pair(s) skipped" in summary.render()


@pytest.mark.filterwarnings("ignore::protiso.align.AlignerWarning")
def test_long_pairs_with_a_biopython_only_scoring_are_skipped(wh):
    summary = align(wh, proteins=8, seed=4, workers=1, max_cells=100_000, progress=False,
                    **dict(GLOBAL, open_score=-10.5))
    rows = _rows(wh, summary.run_id)
    seqs = _sequences(wh)
    assert summary.aligner == "biopython" and summary.skipped > 0 and len(rows) == 28 - summary.skipped
    assert all(len(seqs[r["accession_a"]]) * len(seqs[r["accession_b"]]) <= 100_000 for r in rows)
    reasons = wh.query("SELECT reason FROM rejects WHERE run_id = ?", [summary.run_id]).column("reason").to_pylist()
    assert len(reasons) == summary.skipped and all("needs Biopython's traceback" in r for r in reasons)


def test_max_cells_must_be_positive(wh):
    for bad in (0, -5):
        with pytest.raises(ProtisoError, match="--max-cells must be a positive number"):
            align(wh, proteins=3, workers=1, max_cells=bad, progress=False)
