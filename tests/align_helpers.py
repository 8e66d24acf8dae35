"""Shared helpers for the alignment tests: a warehouse holding real Swiss-Prot 2014 proteins, real-data
vectors for pair metrics, and parasail paths as Biopython alignments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from protiso.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SP300 = FIXTURES / "sp2014_head300.fasta"  # the first 300 proteins of swissprot_2014.fasta.gz
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def read_fasta(path: Path = SP300) -> list[tuple[str, str]]:
    records: list[tuple[str, list[str]]] = []
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            records.append((line[1:].split()[0], []))
        elif line.strip():
            records[-1][1].append(line.strip())
    return [(acc, "".join(parts)) for acc, parts in records]


def warehouse_with_proteins(path: Path) -> Warehouse:
    """A new warehouse at ``path`` with the 300 real proteins ingested by protiso's own ingest."""
    from protiso.sequences.ingest import ingest_files

    wh = Warehouse.create(path)
    ingest_files(wh, [SP300], progress=False)
    return wh


def composition_vectors(sequences: list[str]) -> np.ndarray:
    """Real-data vectors for pair metrics: amino-acid (20) + dipeptide (400) composition, float32."""
    index = {a: i for i, a in enumerate(AMINO)}
    out = np.zeros((len(sequences), 420), dtype=np.float64)
    for row, seq in enumerate(sequences):
        codes = [index[c] for c in seq if c in index]
        np.add.at(out[row], codes, 1.0 / max(len(codes), 1))
        pairs = [20 + 20 * a + b for a, b in zip(codes, codes[1:])]
        np.add.at(out[row], pairs, 1.0 / max(len(pairs), 1))
    return out.astype(np.float32)


def write_embeddings(wh: Warehouse, accessions: list[str], vectors: np.ndarray, model: str = "composition",
                     layer: int = 0, embedding_set: str = "raw", pooling: str = "mean") -> str:
    """Write vectors into ``embeddings`` as one committed part (what an embedding run would store)."""
    with wh.run("embed", {"test": "composition vectors"}, model=model, layer=layer, pooling=pooling) as run:
        run_id = run.id
        n = len(accessions)
        table = pa.table({
            "accession": accessions,
            "model": [model] * n,
            "layer": pa.array([layer] * n, pa.int32()),
            "pooling": [pooling] * n,
            "embedding_set": [embedding_set] * n,
            "embedding": pa.array(list(vectors.astype(np.float32)), type=pa.list_(pa.float32())),
            "run_id": [run_id] * n,
        })
        with run.commit() as tx:
            tx.write_part("embeddings", table, partition={"model": model, "layer": layer})
    return run_id


def biopython_alignment(a: str, b: str, cigar: np.ndarray, beg_a: int, beg_b: int, local: bool):
    """The Biopython ``Alignment`` of a parasail CIGAR (leading gap runs dropped in local mode)."""
    from Bio.Align import Alignment

    runs = [(int(x) >> 4, int(x) & 0xF) for x in cigar]
    if local:
        while runs and runs[0][1] in (1, 2):
            n, op = runs.pop(0)
            beg_a, beg_b = (beg_a + n, beg_b) if op == 1 else (beg_a, beg_b + n)
    i, j = beg_a, beg_b
    coords = [(i, j)]
    for n, op in runs:
        if op in (7, 8):
            i, j = i + n, j + n
        elif op == 1:
            i += n
        elif op == 2:
            j += n
        else:
            raise ValueError(f"unexpected CIGAR op {op}")
        coords.append((i, j))
    return Alignment([a, b], np.array(coords, dtype=np.int64).T)
