"""Issue 14, hostile and awkward input: --where injection, byte-order marks, invalid UTF-8, --models typos,
--workers < 1, and align's workers outliving a kill -9 of their parent. Every case runs the CLI as a user
would and checks the one-line error (exit 2) or the stored rows."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from align_helpers import SP300, warehouse_with_proteins
from conftest import FIXTURES, REPO, run_protiso

from protiso.errors import ProtisoError
from protiso.sequences import READERS, detect_format
from protiso.warehouse import Warehouse

BOM = b"\xef\xbb\xbf"


def _one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _read(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for chunk in READERS[detect_format(path)](path, 20_000):
        out.setdefault(chunk.kind, []).extend(chunk.batch.to_pylist())
    return out


@pytest.fixture(scope="module")
def w300(tmp_path_factory) -> Path:
    """A closed on-disk warehouse holding the 300 real Swiss-Prot 2014 proteins."""
    path = tmp_path_factory.mktemp("hardening") / "w"
    warehouse_with_proteins(path).close()
    return path


# -- 7: --where is one boolean expression ------------------------------------------------------


def test_where_injection_drops_nothing(w300):
    """The issue's reproduction: the isotropy table (and every other) survives; one-line error, no run."""
    with Warehouse.open(w300) as wh:
        tables = {r[0] for r in wh.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        runs = wh.con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    assert "isotropy" in tables
    for where in ("TRUE)); DROP TABLE isotropy; --", "TRUE)); DROP TABLE isotropy; …",
                  "TRUE) OR (TRUE", "length > 0; DROP TABLE isotropy", "TRUE --"):
        result = run_protiso("align", "-w", str(w300), "--proteins", "5", "--where", where, "--no-progress")
        _one_line_error(result, "--where must be one boolean SQL expression")
    with Warehouse.open(w300) as wh:
        after = {r[0] for r in wh.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert after == tables and wh.con.execute("SELECT count(*) FROM runs").fetchall()[0][0] == runs


def test_where_one_expression_still_filters(w300):
    from protiso.align import align

    with Warehouse.open(w300) as wh:
        summary = align(wh, proteins=4, where=" length BETWEEN 100 AND 200 /* short ones */ ", workers=1,
                        progress=False)
        lengths = wh.con.execute("SELECT DISTINCT p.length FROM alignments a JOIN proteins p "
                                 "ON p.accession IN (a.accession_a, a.accession_b) WHERE a.run_id = ?",
                                 [summary.run_id]).fetchall()
    assert summary.n_pairs == 6 and all(100 <= n <= 200 for (n,) in lengths)


# -- 14: --models and --workers ------------------------------------------------------------------


def test_isotropy_unknown_model_is_an_error(w300):
    with Warehouse.open(w300) as wh:
        runs = wh.con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    result = run_protiso("isotropy", "-w", str(w300), "--models", "typo")
    _one_line_error(result, "unknown model 'typo' in --model", "no embeddings yet")
    with Warehouse.open(w300) as wh:
        assert wh.con.execute("SELECT count(*) FROM runs").fetchall()[0][0] == runs  # no run recorded


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_workers_below_one_are_refused(w300, tmp_path, workers):
    align = run_protiso("align", "-w", str(w300), "--proteins", "5", "--workers", workers, "--no-progress")
    _one_line_error(align, f"--workers must be at least 1; got {workers}")
    ray_align = run_protiso("align", "-w", str(w300), "--proteins", "5", "--engine", "ray", "--workers", workers,
                            "--no-progress")
    _one_line_error(ray_align, f"--workers must be at least 1; got {workers}")
    for engine in ("ray", "local"):  # without --model too: nothing is ingested, no warehouse is created
        fresh = tmp_path / f"fresh-{engine}"
        ingest = run_protiso("ingest", str(SP300), "-w", str(fresh), "--engine", engine, "--workers", workers,
                             "--no-progress")
        _one_line_error(ingest, f"--workers must be at least 1; got {workers}")
        assert not fresh.exists()


# -- 10: a UTF-8 byte-order mark -------------------------------------------------------------------


def _go_slice(src: Path, dst: Path, lines: int = 300) -> Path:
    with gzip.open(src, "rt", encoding="utf-8") as handle:
        dst.write_text("".join(line for _, line in zip(range(lines), handle)), encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, shared_data) -> dict[str, Path]:
    """Real data slices of every format, without a BOM."""
    folder = tmp_path_factory.mktemp("inputs")
    return {
        "fasta": SP300,
        "tsv": FIXTURES / "sp2014_head300_annotations.tsv",
        "dat": shared_data / "swissprot-entries" / "swissprot_2012_100.dat",
        "go-terms": _go_slice(shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz", folder / "terms.tsv"),
        "go-graph": _go_slice(shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz", folder / "graph.tsv"),
        "obo": FIXTURES / "go_2014_slice.obo",
    }


def _with_bom(src: Path, dst: Path, gz: bool) -> Path:
    data = BOM + src.read_bytes()
    dst.write_bytes(gzip.compress(data) if gz else data)
    return dst


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("fmt", ["fasta", "tsv", "dat", "go-terms", "go-graph", "obo"])
def test_bom_is_accepted_by_every_reader(inputs, tmp_path, fmt, gz):
    src = inputs[fmt]
    bom = _with_bom(src, tmp_path / (src.name + (".gz" if gz else "")), gz)
    assert detect_format(bom) == fmt
    assert _read(bom) == _read(src)  # the same rows, the first record included


def test_bom_ingest_from_the_cli(inputs, tmp_path):
    files = [_with_bom(inputs["fasta"], tmp_path / "bom.fasta", False),
             _with_bom(inputs["tsv"], tmp_path / "bom.tsv.gz", True)]
    result = run_protiso("ingest", *map(str, files), "-w", str(tmp_path / "w"), "--no-progress")
    assert result.returncode == 0, result.stderr
    with Warehouse.open(tmp_path / "w") as wh:
        assert wh.con.execute("SELECT count(*) FROM proteins").fetchall()[0][0] == 300
        assert wh.con.execute("SELECT count(*) FROM rejects").fetchall()[0][0] == 0
        first = wh.con.execute("SELECT sequence FROM proteins WHERE accession = 'A0A183'").fetchall()
        assert first == [("MSQQKQQSWKPPNVPKCSPPQRSNPCLAPYSTPCGAPHSEGCHSSSQRPEVQKPRRARQKLRCLSRGTTYHCKEEECEGD",)]
        assert wh.con.execute("SELECT count(*) FROM protein_go").fetchall()[0][0] > 0


def test_utf16_is_a_one_line_error(tmp_path):
    path = tmp_path / "excel.tsv"
    path.write_bytes(b"\xff\xfe" + FIXTURES.joinpath("uniprot_export.tsv").read_text().encode("utf-16-le"))
    with pytest.raises(ProtisoError, match="UTF-16"):
        detect_format(path)
    _one_line_error(run_protiso("ingest", str(path), "-w", str(tmp_path / "w")), "UTF-16", "save it as UTF-8")


# -- 14: invalid UTF-8 rejects its record, with line and byte; nothing becomes U+FFFD -------------


def _latin1_copy(src: Path, dst: Path, target_line: int, old: bytes, new: bytes) -> Path:
    lines = src.read_bytes().splitlines(keepends=True)
    assert old in lines[target_line - 1]
    lines[target_line - 1] = lines[target_line - 1].replace(old, new, 1)
    dst.write_bytes(b"".join(lines))
    return dst


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_invalid_utf8_fasta_header_rejects_the_record(tmp_path, gz):
    src = FIXTURES / "uniprot_headers.fasta"  # line 1: ">sp|P15455|CRU4_ARATH 12S seed storage protein CRU4 OS=..."
    bad = _latin1_copy(src, tmp_path / "latin1.fasta", 1, b"12S seed", b"12S s\xe9ed")
    if gz:
        bad = tmp_path / "latin1.fasta.gz"
        bad.write_bytes(gzip.compress((tmp_path / "latin1.fasta").read_bytes()))
    result = run_protiso("ingest", str(bad), "-w", str(tmp_path / "w"), "--no-progress")
    assert result.returncode == 0, result.stderr
    with Warehouse.open(tmp_path / "w") as wh:
        assert wh.con.execute("SELECT count(*) FROM proteins").fetchall()[0][0] == 7
        assert wh.con.execute("SELECT count(*) FROM proteins WHERE accession = 'P15455'").fetchall()[0][0] == 0
        assert wh.con.execute("SELECT count(*) FROM proteins WHERE contains(protein_name, '\ufffd') "
                              "OR contains(organism, '\ufffd')").fetchall()[0][0] == 0
        rejects = wh.con.execute("SELECT record, accession, reason FROM rejects").fetchall()
    byte = len(b">sp|P15455|CRU4_ARATH 12S s") + 1
    assert rejects == [("1", "P15455", rejects[0][2])]  # record: the line, as text
    assert rejects[0][2].startswith(f"invalid UTF-8 at line 1, byte {byte} (0xE9): >sp|P15455|CRU4_ARATH "
                                    "12S s\\xe9ed storage protein")


def test_invalid_utf8_in_tsv_dat_and_go_rows(inputs, tmp_path):
    tsv = _latin1_copy(inputs["tsv"], tmp_path / "a.tsv", 3, b"\t", b"\xff\t")
    dat_src = inputs["dat"]
    de_line = next(n for n, line in enumerate(dat_src.read_bytes().splitlines(), 1) if line.startswith(b"DE   "))
    dat = _latin1_copy(dat_src, tmp_path / "e.dat", de_line, b"Full=", b"Full=\xc3(")
    terms = _latin1_copy(inputs["go-terms"], tmp_path / "terms.tsv", 5, b"\t", b"\t\xe9")
    for path, kind, total in ((tsv, "protein_go", None), (dat, "proteins", 99), (terms, "go_terms", 298)):
        rows = _read(path)
        reject, = rows["rejects"]
        assert reject["reason"].startswith("invalid UTF-8 at line "), reject
        if total is not None:
            assert len(rows[kind]) == total
        assert not any("\ufffd" in str(value) for row in rows[kind] for value in row.values())
    header = _latin1_copy(inputs["tsv"], tmp_path / "h.tsv", 1, b"Entry", b"Entr\xe9e\tEntry")
    with pytest.raises(ProtisoError, match=r"h.tsv: TSV header is not UTF-8: invalid UTF-8 at line 1, byte 5 \(0xE9\)"):
        _read(header)


# -- 13: a very long sequence in align: bounded memory, exact scores, no crash --------------------------


def test_align_very_long_sequence_from_the_cli(tmp_path):
    """A 300,000-residue protein (real Swiss-Prot sequences end to end) used to crash parasail (its
    traceback of itself alone would need 180 GB). Now its pairs exceed --max-cells and are aligned in
    linear memory, its self-score is the matrix diagonal, and the whole run stays small."""
    from align_helpers import AMINO, read_fasta

    from protiso.align import AlignOptions

    real = [(acc, seq) for acc, seq in read_fasta() if set(seq) <= set(AMINO)]
    long_seq = ""
    while len(long_seq) < 300_000:
        long_seq += "".join(seq for _, seq in real)
    long_seq = long_seq[:300_000]
    fasta = tmp_path / "long.fasta"
    others = [(acc, seq) for acc, seq in real if 200 <= len(seq) <= 400][:3]  # 300,000 x 200+ > 50M cells
    fasta.write_text(">LONG1 concatenated Swiss-Prot 2014 sequences\n" +
                     "\n".join(long_seq[k:k + 60] for k in range(0, len(long_seq), 60)) + "\n" +
                     "".join(f">{acc}\n{seq}\n" for acc, seq in others))
    assert run_protiso("ingest", str(fasta), "-w", str(tmp_path / "w"), "--no-progress").returncode == 0
    code = ("import resource, sys\nfrom protiso.cli import app\nrc = 0\n"
            "try:\n    app(sys.argv[1:], prog_name='protiso')\nexcept SystemExit as exit:\n    rc = exit.code\n"
            # VmHWM: this process image's own peak. ru_maxrss would inherit the forking pytest's peak.
            "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
            "print('maxrss_kb', hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code, "align", "-w", str(tmp_path / "w"), "--proteins", "4",
                             "--workers", "1", "--no-progress"], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "3 pair(s) over --max-cells aligned in linear memory" in result.stdout, result.stdout
    maxrss_mb = int(result.stderr.split("maxrss_kb")[1].split()[0]) / 1024
    assert maxrss_mb < 1500, f"align peaked at {maxrss_mb:.0f} MB"
    with Warehouse.open(tmp_path / "w") as wh:
        rows = wh.query("SELECT * FROM alignments ORDER BY accession_a, accession_b").to_pylist()
    assert len(rows) == 6
    aligner = AlignOptions().scoring().biopython_aligner()
    sequences = dict(others) | {"LONG1": long_seq}
    for row in rows:
        a, b = sequences[row["accession_a"]], sequences[row["accession_b"]]
        if "LONG1" in (row["accession_a"], row["accession_b"]):
            assert row["score"] == aligner.score(a, b)
            assert row["alignment_length"] >= 300_000 and row["gaps"] == 2 * row["alignment_length"] - len(a) - len(b)
            assert row["normalized_score"] == row["score"] / ((aligner.score(a, a) if len(a) < 1000 else
                                                                sum(aligner.substitution_matrix[c][c] for c in a)) +
                                                               (aligner.score(b, b) if len(b) < 1000 else
                                                                sum(aligner.substitution_matrix[c][c] for c in b))) * 2


# -- 1: kill -9 of `protiso align` leaves no worker behind -------------------------------------------


def _children(pid: int) -> set[int]:
    """Live (non-zombie) descendants of ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_kill_9_of_align_leaves_no_worker(w300):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen([sys.executable, "-m", "protiso", "align", "-w", str(w300), "--proteins", "300",
                                "--seed", "5", "--workers", "2", "--block-size", "500", "--no-progress"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    workers: set[int] = set()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(workers) < 3:  # 2 workers + the resource tracker
            time.sleep(0.2)
            workers = _children(process.pid)
        assert len(workers) >= 2, "the align workers never started"
        time.sleep(1.0)  # let them get busy aligning
        workers = _children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        left = [pid for pid in workers if _alive(pid)]
    finally:
        for pid in _children(process.pid) | workers:  # only what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} process(es) outlived the killed align by 10 s"
