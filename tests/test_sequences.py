"""Readers, normalisation and format detection, checked against real files and independent parsers."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from Bio import SeqIO
from hypothesis import given, settings
from hypothesis import strategies as st

from protiso.errors import ProtisoError
from protiso.sequences import READERS, detect_format, normalise_array, normalise_sequence, seq_hash
from protiso.sequences.fasta import parse_header
from protiso.sequences.normalise import ALPHABET, SequenceError

ROOTS = {"GO:0003674", "GO:0008150", "GO:0005575"}


def read_all(path: Path, fmt: str | None = None, batch_size: int = 20_000) -> dict[str, list[dict]]:
    """Every row a reader yields, by kind, plus the record count under key '_records'."""
    out: dict[str, list] = {"_records": [0]}
    for chunk in READERS[fmt or detect_format(path)](path, batch_size):
        out.setdefault(chunk.kind, []).extend(chunk.batch.to_pylist())
        out["_records"][0] += chunk.records
    return out


def gzip_copy(src: Path, dst: Path) -> Path:
    with open(src, "rb") as fin, gzip.open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout)
    return dst


# -- normalisation ----------------------------------------------------------------------------


def test_normalise_rule():
    assert normalise_sequence("mkvL") == "MKVL"                       # lowercase normalised
    assert normalise_sequence("MKV*") == "MKV"                        # trailing stop stripped
    assert normalise_sequence("MK V\n 10 LA\r\n") == "MKVLA"          # whitespace and digits removed
    assert normalise_sequence("mkv*\n") == "MKV"                      # stop before the final newline
    assert normalise_sequence("XUBZO") == "XUBZO"
    for bad, reason in [("MK*V", "'*' at position 3"), ("MKJ", "'J' at position 3"), ("MK-V", "'-' at position 3"),
                        ("", "empty"), ("*", "empty"), ("12 \n", "empty"), ("MKV**", "'*' at position 4")]:
        with pytest.raises(SequenceError, match=reason.replace("*", r"\*")):
            normalise_sequence(bad)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=ALPHABET + ALPHABET.lower() + "*-. \n\t0123456789Jß", max_size=40), max_size=20))
def test_normalise_array_agrees_with_scalar(raws):
    result = normalise_array(pa.array(raws, pa.string()))
    for raw, seq, reason in zip(raws, result.sequences.to_pylist(), result.reasons.to_pylist()):
        try:
            expected, expected_reason = normalise_sequence(raw), None
        except SequenceError as error:
            expected, expected_reason = None, str(error)
        assert reason == expected_reason
        if expected is not None:
            assert seq == expected


def test_seq_hash_matches_duckdb_md5():
    seqs = ["MKV", "ACDEFGHIKLMNPQRSTVWYXUBZO", "M" * 5000]
    got = [duckdb.execute("SELECT md5(?)", [s]).fetchall()[0][0] for s in seqs]
    assert got == [seq_hash(s) for s in seqs] == [hashlib.md5(s.encode()).hexdigest() for s in seqs]


# -- FASTA ------------------------------------------------------------------------------------


def test_fasta_bare_headers_match_biopython(fixtures_dir, tmp_path):
    path = fixtures_dir / "sp2014_head300.fasta"
    rows = read_all(path)
    reference = list(SeqIO.parse(path, "fasta"))
    assert rows["_records"] == [300] and "rejects" not in rows
    assert [r["accession"] for r in rows["proteins"]] == [rec.id for rec in reference]
    assert [normalise_sequence(r["sequence"]) for r in rows["proteins"]] == [str(rec.seq) for rec in reference]
    lines = path.read_text().splitlines()
    assert all(lines[r["record"] - 1] == ">" + r["accession"] for r in rows["proteins"])
    # gzip gives the same rows, in small batches too
    gz = read_all(gzip_copy(path, tmp_path / "x.fasta.gz"), batch_size=7)
    assert gz["proteins"] == rows["proteins"]


def test_fasta_uniprot_headers_parsed(fixtures_dir, shared_data):
    rows = read_all(fixtures_dir / "uniprot_headers.fasta")["proteins"]
    dat = {rec.id: rec for rec in SeqIO.parse(shared_data / "swissprot-entries" / "swissprot_2012_100.dat", "swiss")}
    assert len(rows) == 8
    for row in rows:
        rec = dat[row["accession"]]
        assert row["entry_name"] == rec.name
        assert row["organism"] == rec.annotations["organism"].rstrip(".")
        assert row["taxon_id"] == int(rec.annotations["ncbi_taxid"][0])
        assert row["protein_existence"] == 1 and row["sequence_version"] == rec.annotations["sequence_version"]
        assert row["protein_name"] == rec.description.split("RecName: Full=")[1].split(";")[0]
        assert normalise_sequence(row["sequence"]) == str(rec.seq)
    assert rows[0]["gene"] == "CRU4" and rows[-1]["gene"] is None


def test_parse_header_variants():
    assert parse_header(">tr|A0A023GPI8|A0A023GPI8_CANAL Lectin OS=Canavalia lineata OX=28957 PE=1 SV=1")[:5] == (
        "A0A023GPI8", "A0A023GPI8_CANAL", "Lectin", "Canavalia lineata", 28957)
    assert parse_header(">sp|P12345-2|AATM_RABIT Isoform 2 of X OS=O. c. OX=9986")[0] == "P12345-2"
    assert parse_header(">XP_001.1 hypothetical protein [Homo sapiens]")[:3] == (
        "XP_001.1", None, "hypothetical protein [Homo sapiens]")


def test_fasta_malformed_headers_rejected(tmp_path):
    path = tmp_path / "bad.fasta"
    path.write_text(">sp|P12345\nMKV\n>\nMKV\n>sp|NOTANACC|X_HUMAN x\nMKV\n"
                    ">sp|P12345|X_HUMAN x OX=human\nMKV\n>ok1 fine\nmkv*\n")
    rows = read_all(path)
    assert rows["_records"] == [5]
    assert [r["accession"] for r in rows["proteins"]] == ["ok1"]
    reasons = {r["record"]: r["reason"] for r in rows["rejects"]}
    assert sorted(reasons) == [1, 3, 5, 7]
    assert "malformed UniProt header" in reasons[1] and reasons[3].startswith("empty header")
    assert "not a UniProt accession" in reasons[5] and "OX='human' is not a taxon id" in reasons[7]


def test_fasta_without_header_is_an_error(tmp_path):
    path = tmp_path / "seq.fasta"
    path.write_text("MKVLAAGIV\n>x\nMKV\n")
    with pytest.raises(ProtisoError, match=r"seq\.fasta: line 1: sequence data before the first '>' header"):
        read_all(path)


def test_truncated_gzip_names_file_and_line(shared_data, tmp_path):
    raw = (shared_data / "swissprot-2014" / "swissprot_2014.fasta.gz").read_bytes()[:300_000]
    path = tmp_path / "cut.fasta.gz"
    path.write_bytes(raw)
    with pytest.raises(ProtisoError, match=r"cut\.fasta\.gz: truncated or corrupt gzip file near line \d+") as info:
        read_all(path)
    assert "\n" not in str(info.value)


# -- UniProt flat file ------------------------------------------------------------------------


def test_dat_matches_biopython(shared_data, tmp_path):
    path = shared_data / "swissprot-entries" / "swissprot_2012_100.dat"
    rows = read_all(path)
    reference = list(SeqIO.parse(path, "swiss"))
    assert rows["_records"] == [100] and "rejects" not in rows and len(rows["proteins"]) == 100
    for row, rec in zip(rows["proteins"], reference):
        assert row["accession"] == rec.id and row["entry_name"] == rec.name
        assert row["organism"] == rec.annotations["organism"].rstrip(".")
        assert row["taxon_id"] == int(rec.annotations["ncbi_taxid"][0])
        assert row["protein_existence"] == rec.annotations["protein_existence"]
        assert row["sequence_version"] == rec.annotations["sequence_version"]
        assert normalise_sequence(row["sequence"]) == str(rec.seq) and row["declared_length"] == len(rec.seq)
        full = rec.description.split("Full=")[1].split(";")[0]
        assert row["protein_name"] == full
    go = {}
    for r in rows["protein_go"]:
        go.setdefault(r["accession"], set()).add(r["go_id"])
    keywords = {}
    for r in rows["protein_keywords"]:
        keywords.setdefault(r["accession"], set()).add(r["keyword"])
    for rec in reference:
        assert go.get(rec.id, set()) == {x[3:] for x in rec.dbxrefs if x.startswith("GO:GO:")}
        assert keywords.get(rec.id, set()) == set(rec.annotations.get("keywords", []))
    assert {r["ontology"] for r in rows["protein_go"]} == {"molecular_function", "biological_process",
                                                           "cellular_component"}
    # .dat.gz reads the same
    gz = read_all(gzip_copy(path, tmp_path / "e.dat.gz"))
    assert gz["protein_go"] == rows["protein_go"] and gz["proteins"] == rows["proteins"]


def test_dat_broken_entries_rejected(shared_data, tmp_path):
    text = (shared_data / "swissprot-entries" / "swissprot_2012_100.dat").read_text()
    entries = text.split("//\n")
    no_sq = entries[1].split("\nSQ   ")[0] + "\n"
    no_ac = "\n".join(line for line in entries[2].splitlines() if not line.startswith("AC")) + "\n"
    bad_go = entries[3].replace("DR   GO; GO:", "DR   GO; XX:", 1)
    cut = entries[4][: len(entries[4]) // 2]
    path = tmp_path / "broken.dat"
    path.write_text(entries[0] + "//\n" + no_sq + "//\n" + no_ac + "//\n" + bad_go + "//\n" + cut)
    rows = read_all(path)
    assert rows["_records"] == [5] and len(rows["proteins"]) == 1
    reasons = [r["reason"] for r in rows["rejects"]]
    assert any("no SQ" in r for r in reasons) and any("no AC" in r for r in reasons)
    assert any("malformed DR GO line" in r for r in reasons) and any("not closed by '//'" in r for r in reasons)
    # the rejected entries contribute no annotations
    assert {r["accession"] for r in rows["protein_go"]} <= {rows["proteins"][0]["accession"]}


# -- UniProt TSV ------------------------------------------------------------------------------


def test_tsv_annotations_only(fixtures_dir):
    path = fixtures_dir / "sp2014_head300_annotations.tsv"
    rows = read_all(path)
    assert rows["_records"] == [300] and "proteins" not in rows and "rejects" not in rows
    expected = set()
    ontology = {}
    lines = path.read_text().splitlines()
    for line in lines[1:]:
        entry, _, mf, bp, cc, ids = line.split("\t")
        for column, name in ((mf, "molecular_function"), (bp, "biological_process"), (cc, "cellular_component")):
            for item in filter(None, column.split("; ")):
                ontology[(entry, item[-11:-1])] = name
        expected |= {(entry, go_id) for go_id in ids.split("; ") if go_id}
    got = [(r["accession"], r["go_id"]) for r in rows["protein_go"]]
    assert len(got) == len(set(got)) and set(got) == expected
    assert all(r["ontology"] == ontology.get((r["accession"], r["go_id"])) for r in rows["protein_go"])
    assert all(lines[r["record"] - 1].startswith(r["accession"] + "\t") for r in rows["protein_go"])


def test_tsv_export_with_sequences(fixtures_dir, shared_data):
    rows = read_all(fixtures_dir / "uniprot_export.tsv")
    dat = {rec.id: rec for rec in SeqIO.parse(shared_data / "swissprot-entries" / "swissprot_2012_100.dat", "swiss")}
    assert rows["_records"] == [12] and len(rows["proteins"]) == 12
    for row in rows["proteins"]:
        rec = dat[row["accession"]]
        assert (row["entry_name"], row["taxon_id"], row["declared_length"]) == (
            rec.name, int(rec.annotations["ncbi_taxid"][0]), len(rec.seq))
        assert row["sequence"] == str(rec.seq)
    keywords = {(r["accession"], r["keyword"]) for r in rows["protein_keywords"]}
    assert keywords == {(a, k) for a, rec in dat.items() if a in {r["accession"] for r in rows["proteins"]}
                        for k in rec.annotations.get("keywords", [])}
    assert all(r["ontology"] is None for r in rows["protein_go"])


def test_tsv_bad_rows_rejected(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("Entry\tOrganism (ID)\tGene Ontology (molecular function)\tSequence\n"
                    "P1\t9606\tcatalytic activity [GO:0003824]\tMKV\n"
                    "P2\thuman\t\tMKV\n"
                    "P3\t9606\tbinding [GO:123]\tMKV\n"
                    "\t9606\t\tMKV\n"
                    "P5\t9606\n")
    rows = read_all(path)
    assert rows["_records"] == [5]
    assert [r["accession"] for r in rows["proteins"]] == ["P1"]
    assert [(r["accession"], r["go_id"], r["ontology"]) for r in rows["protein_go"]] == [
        ("P1", "GO:0003824", "molecular_function")]
    reasons = {r["record"]: r["reason"] for r in rows["rejects"]}
    assert "Organism (ID) 'human' is not a number" in reasons[3]
    assert "malformed GO item 'binding [GO:123]'" in reasons[4]
    assert "empty Entry" in reasons[5] and "expected 4 tab-separated columns, found 2" in reasons[6]


def test_tsv_without_entry_column_is_an_error(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("Accession\tEntry x\nA\tB\n")
    with pytest.raises(ProtisoError, match="no 'Entry' column"):
        read_all(path, "tsv")


# -- GO ---------------------------------------------------------------------------------------


def test_go_terms_and_graph(shared_data):
    terms = read_all(shared_data / "swissprot-2014" / "go_2014_terms.tsv.gz")
    assert terms["_records"] == [40415]
    ids = {r["go_id"] for r in terms["go_terms"]}
    assert ROOTS <= ids and len(ids) == 40414
    assert [r["reason"] for r in terms["rejects"]] == ["malformed GO id 'systematic_synonym'"]
    graph = read_all(shared_data / "swissprot-2014" / "go_2014_graph.tsv.gz")
    assert graph["_records"] == [79118] and "rejects" not in graph
    assert {r["relation"] for r in graph["go_graph"]} >= {"is_a", "part_of", "regulates"}


def test_obo(fixtures_dir):
    rows = read_all(fixtures_dir / "go_2014_slice.obo")
    text = (fixtures_dir / "go_2014_slice.obo").read_text()
    assert rows["_records"] == [text.count("[Term]")]     # the [Typedef] stanza is not a term
    assert len(rows["go_terms"]) == text.count("[Term]")
    assert {r["namespace"] for r in rows["go_terms"]} == {"molecular_function", "biological_process",
                                                          "cellular_component"}
    assert len(rows["go_graph"]) == text.count("is_a:") + text.count("relationship:")
    assert not ({r["child"] for r in rows["go_graph"]} & ROOTS)


# -- detection --------------------------------------------------------------------------------


def test_detect_formats(fixtures_dir, shared_data, tmp_path):
    sp = shared_data / "swissprot-2014"
    assert detect_format(fixtures_dir / "sp2014_head300.fasta") == "fasta"
    assert detect_format(sp / "swissprot_2014.fasta.gz") == "fasta"
    assert detect_format(shared_data / "swissprot-entries" / "swissprot_2012_100.dat") == "dat"
    assert detect_format(sp / "swissprot_2014_annotations.tsv.gz") == "tsv"
    assert detect_format(sp / "go_2014_terms.tsv.gz") == "go-terms"
    assert detect_format(sp / "go_2014_graph.tsv.gz") == "go-graph"
    assert detect_format(fixtures_dir / "go_2014_slice.obo") == "obo"
    # content beats the name; a gzip file is recognised by its bytes
    odd = gzip_copy(fixtures_dir / "sp2014_head300.fasta", tmp_path / "sequences.txt")
    assert detect_format(odd) == "fasta"
    # no telling content: the extension decides, so the reader can say what is wrong
    (tmp_path / "seqs.fa").write_text("\n\nMKVL\n")
    assert detect_format(tmp_path / "seqs.fa") == "fasta"


@pytest.mark.parametrize("content", ["col_a\tcol_b\n1\t2\n", "", "just some text\n", "PK\x03\x04binary"])
def test_unknown_format_names_the_file(tmp_path, content):
    path = tmp_path / "mystery.data"
    path.write_text(content)
    with pytest.raises(ProtisoError, match=r"mystery\.data: unknown format") as info:
        detect_format(path)
    assert "\n" not in str(info.value)


def test_invalid_utf8_is_located_in_bytes(tmp_path):
    """``open_text`` keeps invalid bytes as surrogates; ``invalid_utf8`` counts bytes, not characters, so
    the position is right after multi-byte letters; valid non-ASCII text passes."""
    from protiso.sequences.detect import invalid_utf8, open_text, shown

    path = tmp_path / "mixed.txt"
    path.write_bytes(b"\xef\xbb\xbf>P1 Prot\xc3\xa9ine \xce\xb1-helix\n>P2 Prot\xe9ine\n")
    with open_text(path) as handle:
        first, second = handle.readlines()
    assert first.startswith(">P1") and invalid_utf8(first, 1) is None  # BOM dropped, é and α are fine
    assert invalid_utf8(second, 2) == "invalid UTF-8 at line 2, byte 9 (0xE9): >P2 Prot\\xe9ine"
    assert shown(second) == ">P2 Prot\\xe9ine\n" and shown(first) == first
    late = ">P3 " + "\u00e9" * 3 + b"\xff".decode("utf-8", "surrogateescape")
    assert invalid_utf8(late, 7).startswith("invalid UTF-8 at line 7, byte 11 (0xFF)")
