"""FASTA (plain or gzip) -> Arrow batches of proteins.

UniProt headers (``>sp|P12345|NAME_HUMAN Protein name OS=... OX=9606 GN=... PE=1 SV=2``, ``tr|`` too) give
accession, entry name, protein name, organism, taxon, gene, existence and version; any other header
``>ID rest`` gives accession and protein name. A malformed UniProt header, an empty header, a bad
OX/PE/SV value or invalid UTF-8 rejects its record with the reason. Sequence lines are kept raw;
normalisation happens at staging.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from protiso.errors import ProtisoError
from protiso.sequences.batches import BATCH_SIZE, Buffers, Chunk
from protiso.sequences.detect import READ_ERRORS, invalid_utf8, open_text, read_error, shown

UNIPROT_ACCESSION = re.compile(
    r"(?:[OPQ][0-9][A-Z0-9]{3}[0-9]|[A-NR-Z][0-9](?:[A-Z][A-Z0-9]{2}[0-9]){1,2})(?:-\d+)?"
)
_UNIPROT = re.compile(r"(sp|tr)\|([^|\s]*)\|([^|\s]*)(?:\s+(.*))?")
_FIELDS = re.compile(r"\s(OS|OX|GN|PE|SV)=")
_INT_FIELDS = {"OX": "taxon id", "PE": "protein existence level", "SV": "sequence version"}

# (accession, entry_name, protein_name, organism, taxon_id, gene, protein_existence, sequence_version)
Header = tuple[str, str | None, str | None, str | None, int | None, str | None, int | None, int | None]


class HeaderError(ValueError):
    """A header that cannot be parsed; args[0] is the reason, args[1] a best-guess accession."""


def parse_header(text: str) -> Header:
    """Parse a FASTA header line (with or without the leading '>')."""
    text = text[1:] if text.startswith(">") else text
    text = text.strip()
    if not text:
        raise HeaderError("empty header", None)
    if text.startswith(("sp|", "tr|")):
        return _parse_uniprot(text)
    accession, _, rest = text.partition(" ")
    rest = rest.strip()
    return (accession, None, rest or None, None, None, None, None, None)


def _parse_uniprot(text: str) -> Header:
    match = _UNIPROT.fullmatch(text)
    guess = text.split("|")[1] if text.count("|") >= 1 else None
    if match is None or not match.group(2) or not match.group(3):
        raise HeaderError("malformed UniProt header (expected >sp|ACCESSION|ENTRY_NAME description)", guess or None)
    _, accession, entry_name, description = match.groups()
    if not UNIPROT_ACCESSION.fullmatch(accession):
        raise HeaderError(f"malformed UniProt header: {accession!r} is not a UniProt accession", accession)
    parts = _FIELDS.split(" " + (description or ""))
    name = parts[0].strip() or None
    fields = dict(zip(parts[1::2], (value.strip() for value in parts[2::2])))
    numbers: dict[str, int | None] = {}
    for key, label in _INT_FIELDS.items():
        value = fields.get(key)
        if value is None:
            numbers[key] = None
        elif value.isdigit():
            numbers[key] = int(value)
        else:
            raise HeaderError(f"malformed UniProt header: {key}={value!r} is not a {label}", accession)
    return (accession, entry_name, name, fields.get("OS") or None, numbers["OX"], fields.get("GN") or None,
            numbers["PE"], numbers["SV"])


def read_fasta(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream ``path``'s records as ``proteins`` (raw sequences) and ``rejects`` chunks."""
    out = Buffers("proteins", "rejects")
    header: str | None = None
    header_line = 0
    lines: list[str] = []
    line_no = 0

    def finish() -> None:
        out.records += 1
        sequence = "".join(lines)
        if not (header.isascii() and sequence.isascii()):  # rare: look for invalid UTF-8 line by line
            bad = next(filter(None, (invalid_utf8(text, header_line + k)
                                     for k, text in enumerate([header, *lines]))), None)
            if bad is not None:
                try:
                    accession = parse_header(shown(header))[0]
                except HeaderError as error:
                    accession = error.args[1]
                out.add("rejects", (header_line, accession, bad))
                return
        try:
            fields = parse_header(header)
        except HeaderError as error:
            out.add("rejects", (header_line, error.args[1], f"{error.args[0]}: {header.strip()[:80]!r}"))
            return
        out.add("proteins", (*fields, sequence, None, header_line))

    with open_text(path) as handle:
        try:
            for line in handle:
                line_no += 1
                if line.startswith(">"):
                    if header is not None:
                        finish()
                        if out.records >= batch_size:
                            yield from out.flush()
                    header, header_line, lines = line, line_no, []
                elif header is not None:
                    lines.append(line)
                elif line.strip():
                    raise ProtisoError(f"{path}: line {line_no}: sequence data before the first '>' header "
                                       "(not a FASTA file?)")
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None
    if header is not None:
        finish()
    yield from out.flush()
