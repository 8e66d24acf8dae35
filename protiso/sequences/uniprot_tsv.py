"""UniProt TSV exports -> proteins (when a ``Sequence`` column is present), GO annotations, keywords.

Known columns (case and spacing ignored): ``Entry`` (required), entry and protein names, organism and its
id, gene names, ``Length``, ``Sequence``, ``Keywords`` and the Gene Ontology columns; others are ignored.
Without ``Sequence`` the file gives annotations only. Per-item work runs as Arrow kernels per batch. A row
with the wrong number of columns, an empty ``Entry``, a bad number, a malformed GO item or invalid UTF-8 is
rejected whole; an invalid header line stops the ingest. docs/architecture.md (module notes) lists the columns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from protiso.errors import ProtisoError
from protiso.sequences.batches import BATCH_SIZE, GO_ID_PATTERN, SCHEMAS, Chunk
from protiso.sequences.detect import READ_ERRORS, invalid_utf8, open_text, read_error, shown

COLUMNS = {
    "entry": "accession", "entry name": "entry_name", "protein names": "protein_name",
    "organism": "organism", "organism (id)": "taxon_id", "organism id": "taxon_id",
    "gene names (primary)": "gene_primary", "gene names": "gene_names", "length": "length",
    "sequence": "sequence", "keywords": "keywords",
    "gene ontology ids": "go_ids", "gene ontology (go)": "go_named",
    "gene ontology (molecular function)": "go_molecular_function",
    "gene ontology (biological process)": "go_biological_process",
    "gene ontology (cellular component)": "go_cellular_component",
}
_NAMED_GO = r"\[(?P<go_id>" + GO_ID_PATTERN + r")\]$"    # "term name [GO:0003824]"


def column_map(header: str) -> dict[str, int]:
    """field -> column index for the recognised columns of a header line."""
    found: dict[str, int] = {}
    for index, name in enumerate(header.rstrip("\r\n").split("\t")):
        key = re.sub(r"\s+\)", ")", " ".join(name.split()).lower())
        if key in COLUMNS and COLUMNS[key] not in found:
            found[COLUMNS[key]] = index
    return found


def _trim(values) -> pa.Array:
    return pc.ascii_trim_whitespace(pa.array(values, pa.string()))


def _blank_to_null(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _numbers(arr: pa.Array, label: str, reasons: list[str | None]) -> pa.Array:
    """Parse a column of non-negative integers; flag rows with anything else."""
    arr = _blank_to_null(arr)
    ok = pc.fill_null(pc.match_substring_regex(arr, r"^\d+$"), True)
    for index in pc.indices_nonzero(pc.invert(ok)).to_pylist():
        reasons[index] = reasons[index] or f"{label} {arr[index].as_py()!r} is not a number"
    return pc.cast(pc.if_else(ok, arr, pa.scalar(None, pa.string())), pa.int64())


def _items(arr: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Split ';'-separated cells: (row index, trimmed non-empty item) arrays."""
    lists = pc.split_pattern(arr, ";")
    flat = pc.ascii_trim_whitespace(pc.list_flatten(lists))
    parents = pc.list_parent_indices(lists)
    keep = pc.not_equal(flat, "")
    return pc.filter(parents, keep), pc.filter(flat, keep)


def _go(arr: pa.Array, named: bool, label: str, reasons: list[str | None]) -> tuple[pa.Array, pa.Array]:
    """(row index, GO id) of one GO column; malformed items flag their row."""
    parents, items = _items(arr)
    if named:
        parsed = pc.extract_regex(items, _NAMED_GO)
        go_ids, ok = pc.struct_field(parsed, "go_id"), pc.is_valid(parsed)
    else:
        go_ids = items
        ok = pc.match_substring_regex(items, "^" + GO_ID_PATTERN + "$")
    for index in pc.indices_nonzero(pc.invert(ok)).to_pylist():
        row = parents[index].as_py()
        reasons[row] = reasons[row] or f"malformed GO item {items[index].as_py()[:60]!r} in column {label!r}"
    return pc.filter(parents, ok), pc.filter(go_ids, ok)


def _convert(rows: list[list[str]], lines: list[int], cols: dict[str, int], names: list[str]) -> list[Chunk]:
    """Turn one batch of split rows into chunks."""
    n = len(rows)
    columns = list(zip(*rows))
    reasons: list[str | None] = [None] * n
    acc = _trim(columns[cols["accession"]])
    for index in pc.indices_nonzero(pc.equal(acc, "")).to_pylist():
        reasons[index] = "empty Entry (accession)"

    def text(key: str) -> pa.Array | None:
        return _blank_to_null(_trim(columns[cols[key]])) if key in cols else None

    taxon = _numbers(text("taxon_id"), "Organism (ID)", reasons) if "taxon_id" in cols else None
    length = _numbers(text("length"), "Length", reasons) if "length" in cols and "sequence" in cols else None
    go_parts = []
    for key in ("go_molecular_function", "go_biological_process", "go_cellular_component", "go_named", "go_ids"):
        if key in cols:
            parents, go_ids = _go(_trim(columns[cols[key]]), key != "go_ids", names[cols[key]], reasons)
            ontology = key[3:] if key.startswith("go_") and key not in ("go_named", "go_ids") else None
            go_parts.append((parents, go_ids, pa.nulls(len(go_ids), pa.string()) if ontology is None
                             else pa.array([ontology] * len(go_ids), pa.string())))
    good = pa.array([r is None for r in reasons])
    line_arr = pa.array(lines, pa.int64())
    chunks = []
    bad = [i for i, r in enumerate(reasons) if r is not None]
    if bad:
        chunks.append(Chunk("rejects", pa.RecordBatch.from_arrays(
            [pa.array([lines[i] for i in bad], pa.int64()), pa.array([acc[i].as_py() or None for i in bad]),
             pa.array([reasons[i] for i in bad], pa.string())], schema=SCHEMAS["rejects"])))
    if "sequence" in cols:
        gene = text("gene_primary") if "gene_primary" in cols else None
        if gene is None and "gene_names" in cols:
            gene = _blank_to_null(pc.list_element(pc.split_pattern(text("gene_names"), " "), 0))
        values = {"accession": acc, "entry_name": text("entry_name"), "protein_name": text("protein_name"),
                  "organism": text("organism"), "taxon_id": taxon, "gene": gene,
                  "sequence": pa.array(columns[cols["sequence"]], pa.string()), "declared_length": length,
                  "record": line_arr}
        schema = SCHEMAS["proteins"]
        arrays = [pc.cast(values[f.name], f.type) if values.get(f.name) is not None else pa.nulls(n, f.type)
                  for f in schema]
        chunks.append(Chunk("proteins", pa.RecordBatch.from_arrays(arrays, schema=schema).filter(good)))
    if go_parts:
        # One row per (row, GO id): the IDs column repeats what the per-ontology columns say.
        pairs = pa.table({"row": pa.concat_arrays([p for p, _, _ in go_parts]),
                          "go_id": pa.concat_arrays([g for _, g, _ in go_parts]),
                          "ontology": pa.concat_arrays([o for _, _, o in go_parts])})
        pairs = pairs.group_by(["row", "go_id"], use_threads=False).aggregate([("ontology", "max")])
        parents = pairs.column("row").combine_chunks()
        batch = pa.RecordBatch.from_arrays(
            [pc.array_take(acc, parents), pairs.column("go_id").combine_chunks(),
             pairs.column("ontology_max").combine_chunks(), pc.array_take(line_arr, parents)],
            schema=SCHEMAS["protein_go"])
        chunks.append(Chunk("protein_go", batch.filter(pc.array_take(good, parents))))
    if "keywords" in cols:
        parents, words = _items(_trim(columns[cols["keywords"]]))
        batch = pa.RecordBatch.from_arrays(
            [pc.array_take(acc, parents), words, pc.array_take(line_arr, parents)], schema=SCHEMAS["protein_keywords"])
        chunks.append(Chunk("protein_keywords", batch.filter(pc.array_take(good, parents))))
    if chunks:
        chunks[0] = Chunk(chunks[0].kind, chunks[0].batch, n)
    else:
        chunks.append(Chunk("rejects", pa.RecordBatch.from_pylist([], schema=SCHEMAS["rejects"]), n))
    return chunks


def read_tsv(path: Path, batch_size: int = BATCH_SIZE) -> Iterator[Chunk]:
    """Stream a UniProt TSV export as ``proteins``/``protein_go``/``protein_keywords``/``rejects`` chunks."""
    line_no = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    wrong: list[tuple[int, str | None, str]] = []
    with open_text(path) as handle:
        try:
            header = ""
            for line in handle:
                line_no += 1
                if line.strip():
                    header = line
                    break
            bad = invalid_utf8(header, line_no)
            if bad is not None:
                raise ProtisoError(f"{path}: TSV header is not UTF-8: {bad}")
            names = header.rstrip("\r\n").split("\t")
            cols = column_map(header)
            if "accession" not in cols:
                raise ProtisoError(f"{path}: line {line_no}: no 'Entry' column in the TSV header")
            width = len(names)
            for line in handle:
                line_no += 1
                parts = line.rstrip("\r\n").split("\t")
                bad = None if line.isascii() else invalid_utf8(line, line_no)
                if bad is not None:
                    wrong.append((line_no, shown(parts[0]).strip() or None, bad))
                elif len(parts) == width:
                    rows.append(parts)
                    lines.append(line_no)
                elif line.strip():
                    wrong.append((line_no, parts[0].strip() or None,
                                  f"expected {width} tab-separated columns, found {len(parts)}"))
                if len(rows) + len(wrong) >= batch_size:
                    yield from _flush(rows, lines, wrong, cols, names)
                    rows, lines, wrong = [], [], []
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None
    yield from _flush(rows, lines, wrong, cols, names)


def _flush(rows, lines, wrong, cols, names) -> Iterator[Chunk]:
    if wrong:
        yield Chunk("rejects", pa.RecordBatch.from_pylist(
            [dict(zip(("record", "accession", "reason"), w)) for w in wrong], schema=SCHEMAS["rejects"]), len(wrong))
    if rows:
        yield from _convert(rows, lines, cols, names)
