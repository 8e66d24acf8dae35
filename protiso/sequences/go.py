"""Gene Ontology inputs -> ``go_terms`` and ``go_graph`` batches.

Term names TSV (``go_id``, ``name``; optional ``namespace``, ``is_obsolete``; a missing namespace is filled
at ingest), graph TSV (``child``, ``parent``; optional ``distance``, ``relation``; orientation checked at
ingest) and OBO 1.2 (``[Term]`` stanzas, ``is_a:`` and ``relationship:`` edges). Rows with a malformed GO
id or distance, or invalid UTF-8, are rejected with their line. Accepted ids are ``GO:nnnnnnn`` and the
pseudo-roots ``obsolete_molecular_function`` etc.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from protiso.errors import ProtisoError
from protiso.sequences.batches import BATCH_SIZE, GO_ID_PATTERN, Buffers, Chunk
from protiso.sequences.detect import READ_ERRORS, invalid_utf8, open_text, read_error, shown

# GO ids, plus the pseudo-roots under which some GO dumps (e.g. the 2014 graph) hang obsolete terms.
_GO_ID = re.compile(GO_ID_PATTERN + r"|obsolete_(?:molecular_function|biological_process|cellular_component)")
_TRUE = {"true", "1", "yes", "t"}


def _is_go(value: str) -> bool:
    return _GO_ID.fullmatch(value) is not None


def _tsv_rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, int], list[str], str | None]]:
    """(line, column index by lower-case name, fields, why the row is not valid UTF-8 or None) for each
    data row of a TSV; checks the header."""
    line_no = 0
    with open_text(path) as handle:
        try:
            header: dict[str, int] | None = None
            for line in handle:
                line_no += 1
                if not line.strip():
                    continue
                fields = [f.strip() for f in line.rstrip("\r\n").split("\t")]
                bad = None if line.isascii() else invalid_utf8(line, line_no)
                if header is None:
                    if bad is not None:
                        raise ProtisoError(f"{path}: TSV header is not UTF-8: {bad}")
                    header = {name.lower(): i for i, name in enumerate(fields)}
                    missing = [name for name in required if name not in header]
                    if missing:
                        raise ProtisoError(f"{path}: line {line_no}: header lacks column(s) {', '.join(missing)}")
                    continue
                yield line_no, header, fields, bad
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None


def _field(fields: list[str], header: dict[str, int], name: str) -> str | None:
    index = header.get(name)
    return fields[index] if index is not None and index < len(fields) and fields[index] else None


def read_go_terms(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream a GO term names TSV as ``go_terms`` and ``rejects`` chunks."""
    out = Buffers("go_terms", "rejects")
    for line_no, header, fields, bad in _tsv_rows(path, ("go_id", "name")):
        out.records += 1
        go_id, name = _field(fields, header, "go_id"), _field(fields, header, "name")
        if bad is not None:
            out.add("rejects", (line_no, None if go_id is None else shown(go_id), bad))
        elif go_id is None or not _is_go(go_id):
            out.add("rejects", (line_no, go_id, f"malformed GO id {go_id!r}"))
        else:
            obsolete = _field(fields, header, "is_obsolete")
            out.add("go_terms", (go_id, name, _field(fields, header, "namespace"),
                                 None if obsolete is None else obsolete.lower() in _TRUE, line_no))
        if out.records >= batch_size:
            yield from out.flush()
    yield from out.flush()


def read_go_graph(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream a GO graph TSV (child, parent, distance, relation) as ``go_graph`` and ``rejects`` chunks."""
    out = Buffers("go_graph", "rejects")
    for line_no, header, fields, bad in _tsv_rows(path, ("child", "parent")):
        out.records += 1
        child, parent = _field(fields, header, "child"), _field(fields, header, "parent")
        distance = _field(fields, header, "distance") or "1"
        if bad is not None:
            out.add("rejects", (line_no, None if child is None else shown(child), bad))
        elif child is None or parent is None or not _is_go(child) or not _is_go(parent):
            out.add("rejects", (line_no, child, f"malformed GO id in edge {child!r} -> {parent!r}"))
        elif not distance.isdigit():
            out.add("rejects", (line_no, child, f"distance {distance!r} is not a number"))
        else:
            out.add("go_graph", (child, parent, int(distance), _field(fields, header, "relation") or "is_a", line_no))
        if out.records >= batch_size:
            yield from out.flush()
    yield from out.flush()


def read_obo(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream an OBO file's ``[Term]`` stanzas as ``go_terms``, ``go_graph`` and ``rejects`` chunks."""
    out = Buffers("go_terms", "go_graph", "rejects")
    line_no = 0
    term: dict | None = None

    def finish(t: dict) -> None:
        out.records += 1
        go_id = t.get("id")
        if t.get("bad") is not None:
            out.add("rejects", (t["line"], None if go_id is None else shown(go_id), t["bad"]))
            return
        if go_id is None or not _is_go(go_id):
            out.add("rejects", (t["line"], go_id, f"[Term] stanza without a valid GO id (id: {go_id!r})"))
            return
        out.add("go_terms", (go_id, t.get("name"), t.get("namespace"), t.get("is_obsolete", False), t["line"]))
        for relation, parent, edge_line in t["edges"]:
            if _is_go(parent):
                out.add("go_graph", (go_id, parent, 1, relation, edge_line))

    with open_text(path) as handle:
        try:
            for line in handle:
                line_no += 1
                text = line.strip()
                if text.startswith("["):
                    if term is not None:
                        finish(term)
                    term = {"line": line_no, "edges": []} if text == "[Term]" else None
                    if out.records >= batch_size:
                        yield from out.flush()
                    continue
                if term is not None and not line.isascii():
                    term["bad"] = term.get("bad") or invalid_utf8(line, line_no)
                if term is None or ":" not in text:
                    continue
                tag, _, value = text.partition(":")
                value = value.split(" ! ")[0].strip()
                if tag in ("id", "name", "namespace"):
                    term[tag] = value
                elif tag == "is_obsolete":
                    term["is_obsolete"] = value.lower() == "true"
                elif tag == "is_a":
                    term["edges"].append(("is_a", value.split()[0] if value else "", line_no))
                elif tag == "relationship" and len(value.split()) >= 2:
                    relation, parent = value.split()[:2]
                    term["edges"].append((relation, parent, line_no))
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None
    if term is not None:
        finish(term)
    yield from out.flush()
