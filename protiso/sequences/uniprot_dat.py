"""UniProtKB flat files (``.dat``, ``.dat.gz``) -> proteins, GO annotations and keywords.

A small streaming parser (Biopython's ``swiss`` parser does not report line numbers); an entry it
cannot read is rejected with the reason and its ``ID`` line. docs/architecture.md (module notes)
lists the fields read from each line type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from protiso.errors import ProtisoError
from protiso.sequences.batches import BATCH_SIZE, ONTOLOGY_BY_LETTER, Buffers, Chunk
from protiso.sequences.detect import READ_ERRORS, invalid_utf8, open_text, read_error, shown

_EVIDENCE = re.compile(r"\s*\{ECO:[^}]*\}")
_ID = re.compile(r"ID   (\S+)\s+.*?(\d+) AA\.")
_FULL = re.compile(r"DE   (RecName|SubName): Full=(.*?);?\s*$")
_GENE = re.compile(r"(?:^|\s)Name=([^;]+)")
_TAXON = re.compile(r"NCBI_TaxID=(\d+)")
_PE = re.compile(r"PE   (\d)")
_SEQ_VERSION = re.compile(r"sequence version (\d+)")
_GO = re.compile(r"DR   GO; (GO:\d{7}); ([FPC]):")
_XREF = re.compile(r"DR   (Pfam|InterPro); (\w+);")


@dataclass
class _Entry:
    line: int
    entry_name: str | None = None
    declared_length: int | None = None
    accessions: list[str] = field(default_factory=list)
    rec_name: str | None = None
    sub_name: str | None = None
    gene: str | None = None
    organism: list[str] = field(default_factory=list)
    taxon_id: int | None = None
    existence: int | None = None
    seq_version: int | None = None
    keywords: list[str] = field(default_factory=list)
    go: list[tuple[str, str]] = field(default_factory=list)
    xrefs: list[tuple[str, str]] = field(default_factory=list)
    sequence: list[str] | None = None
    problem: str | None = None

    def take(self, line_no: int, line: str) -> None:
        """Absorb one line of the entry."""
        code = line[:2]
        value = line[5:].rstrip("\r\n")
        if self.sequence is not None and code == "  ":
            self.sequence.append(value)
        elif code == "AC":
            self.accessions.extend(a for a in value.replace(";", " ").split() if a)
        elif code == "DE":
            match = _FULL.match(line.rstrip("\r\n"))
            if match:
                name = _EVIDENCE.sub("", match.group(2)).strip()
                if match.group(1) == "RecName" and self.rec_name is None:
                    self.rec_name = name
                elif match.group(1) == "SubName" and self.sub_name is None:
                    self.sub_name = name
        elif code == "GN" and self.gene is None:
            match = _GENE.search(_EVIDENCE.sub("", value))
            if match:
                self.gene = match.group(1).strip()
        elif code == "OS":
            self.organism.append(value.strip())
        elif code == "OX" and self.taxon_id is None:
            match = _TAXON.search(value)
            if match:
                self.taxon_id = int(match.group(1))
        elif code == "PE":
            match = _PE.match(line)
            self.existence = int(match.group(1)) if match else None
        elif code == "DT":
            match = _SEQ_VERSION.search(value)
            if match:
                self.seq_version = int(match.group(1))
        elif code == "KW":
            self.keywords.append(value.strip())
        elif code == "DR" and value.startswith("GO;"):
            match = _GO.match(line)
            if match is None:
                self.problem = self.problem or f"malformed DR GO line {line_no}: {value.strip()[:60]!r}"
            else:
                self.go.append((match.group(1), ONTOLOGY_BY_LETTER[match.group(2)]))
        elif code == "DR" and value.startswith(("Pfam;", "InterPro;")):
            match = _XREF.match(line)
            if match:
                self.xrefs.append((match.group(1), match.group(2)))
        elif code == "SQ":
            self.sequence = []

    def emit(self, out: Buffers) -> None:
        """Add this entry's rows (or its reject) to ``out``."""
        out.records += 1
        accession = self.accessions[0] if self.accessions else None
        problem = self.problem
        if accession is None:
            problem = "entry has no AC (accession) line"
        elif self.sequence is None:
            problem = problem or "entry has no SQ (sequence) block"
        if problem:
            out.add("rejects", (self.line, None if accession is None else shown(accession), problem))
            return
        organism = " ".join(self.organism).rstrip(".") or None
        out.add("proteins", (accession, self.entry_name, self.rec_name or self.sub_name, organism, self.taxon_id,
                             self.gene, self.existence, self.seq_version, "".join(self.sequence),
                             self.declared_length, self.line))
        for go_id, ontology in self.go:
            out.add("protein_go", (accession, go_id, ontology, self.line))
        for database, xref_id in self.xrefs:
            out.add("protein_xrefs", (accession, database, xref_id, self.line))
        text = _EVIDENCE.sub("", " ".join(self.keywords)).rstrip(".")
        for keyword in text.split(";"):
            if keyword.strip():
                out.add("protein_keywords", (accession, keyword.strip(), self.line))


def _start(line_no: int, line: str) -> _Entry:
    entry = _Entry(line_no)
    match = _ID.match(line)
    if match:
        entry.entry_name, entry.declared_length = match.group(1), int(match.group(2))
    else:
        entry.entry_name = line[5:].split()[0] if line[5:].split() else None
        entry.problem = f"malformed ID line: {line.strip()[:60]!r}"
    return entry


def read_dat(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream ``path``'s entries as ``proteins``, ``protein_go``, ``protein_keywords``, ``protein_xrefs`` and
    ``rejects`` chunks."""
    out = Buffers("proteins", "protein_go", "protein_keywords", "protein_xrefs", "rejects")
    entry: _Entry | None = None
    line_no = 0
    with open_text(path) as handle:
        try:
            for line in handle:
                line_no += 1
                reason = None if line.isascii() else invalid_utf8(line, line_no)
                if line.startswith("//"):
                    if entry is None:
                        raise ProtisoError(f"{path}: line {line_no}: '//' without an entry")
                    entry.problem = entry.problem or reason
                    entry.emit(out)
                    entry = None
                    if out.records >= batch_size:
                        yield from out.flush()
                elif line.startswith("ID   "):
                    if entry is not None:
                        entry.problem = f"entry is not closed by '//' before line {line_no}"
                        entry.emit(out)
                    entry = _start(line_no, line)
                elif entry is not None:
                    entry.take(line_no, line)
                elif line.strip():
                    raise ProtisoError(f"{path}: line {line_no}: expected an 'ID' line (not a UniProt flat file?)")
                if reason is not None and entry is not None:
                    entry.problem = entry.problem or reason
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None
    if entry is not None:
        entry.problem = "last entry is not closed by '//' (file cut short?)"
        entry.emit(out)
    yield from out.flush()
