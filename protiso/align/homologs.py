"""Likely homologs among the proteins of an alignment sample: MMseqs2 and Pfam / InterPro families.

Two stated sources, each a set of index pairs (i < j): ``mmseqs`` (an all-against-all ``mmseqs
easy-search``, E-value at most ``evalue``) and ``xrefs`` (a shared Pfam or InterPro entry in
``protein_xrefs``); ``source`` picks ``auto``, one or ``both``, and each pair records its evidence.
docs/architecture.md (module notes) has the search settings and why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from protiso.errors import ProtisoError

if TYPE_CHECKING:
    from protiso.warehouse import Warehouse

SOURCES = ("auto", "mmseqs", "xrefs", "both")
DEFAULT_EVALUE = 1e-3
SENSITIVITY = 6.5
MAX_SEQS = 300
MMSEQS_INSTALL = "apt-get install mmseqs2, or conda install -c bioconda mmseqs2"


@dataclass
class Homologs:
    """Candidate homolog pairs of ``n`` proteins as sorted keys ``i * n + j`` (i < j), with their evidence."""

    n: int
    keys: np.ndarray
    evidence: np.ndarray                       # per key: "mmseqs" | "xrefs" | "mmseqs+xrefs"
    sources: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Evidence of each of ``keys`` (None where the pair is no candidate)."""
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        hit = (self.keys[pos] == keys) if len(self.keys) else np.zeros(len(keys), bool)
        return np.where(hit, self.evidence[pos] if len(self.keys) else None, None)


def mmseqs_path() -> str | None:
    return shutil.which("mmseqs")


def mmseqs_pairs(texts: list[str], evalue: float = DEFAULT_EVALUE, threads: int = 1,
                 sensitivity: float = SENSITIVITY, max_seqs: int = MAX_SEQS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, evalue) of every hit between two different sequences of ``texts`` (as MMseqs2 reports them,
    both directions), from one ``mmseqs easy-search`` of ``texts`` against themselves."""
    exe = mmseqs_path()
    if exe is None:
        raise ProtisoError(f"mmseqs (MMseqs2) is not installed: {MMSEQS_INSTALL}")
    with tempfile.TemporaryDirectory(prefix="protiso-mmseqs-") as tmp:
        root = Path(tmp)
        fasta = root / "sample.fasta"
        with open(fasta, "w") as out:
            for k, text in enumerate(texts):
                out.write(f">{k}\n{text}\n")
        hits = root / "hits.m8"
        command = [exe, "easy-search", str(fasta), str(fasta), str(hits), str(root / "tmp"),
                   "--threads", str(max(1, threads)), "-e", repr(float(evalue)), "-s", str(sensitivity),
                   "--max-seqs", str(max_seqs), "--format-output", "query,target,evalue", "-v", "1"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()
            raise ProtisoError(f"mmseqs easy-search failed (exit {done.returncode}): {last[-1] if last else ''}")
        if not hits.exists() or hits.stat().st_size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        table = np.loadtxt(hits, dtype=np.float64, ndmin=2)
    i, j, e = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2]
    keep = (i != j) & (e <= evalue)
    return i[keep], j[keep], e[keep]


def xref_pairs(wh: Warehouse, accessions: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(i, j), i < j, of the proteins of ``accessions`` (indices into it) that share a Pfam or InterPro entry."""
    wh.con.register("protiso_homolog_sample",
                    pa.table({"accession": accessions, "idx": pa.array(np.arange(len(accessions)))}))
    try:
        groups = wh.query(wh.sql_text("align_xref_groups")).column("members").to_pylist()
    finally:
        wh.con.unregister("protiso_homolog_sample")
    n = len(accessions)
    keys = []
    for members in groups:
        m = np.asarray(sorted(members), dtype=np.int64)
        a, b = np.triu_indices(len(m), k=1)
        keys.append(m[a] * n + m[b])
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    unique = np.unique(np.concatenate(keys))
    return unique // n, unique % n


def has_xrefs(wh: Warehouse) -> bool:
    return bool(wh.con.execute("SELECT count(*) > 0 FROM protein_xrefs").fetchall()[0][0])


def find_homologs(wh: Warehouse, accessions: pa.Array, texts: list[str], source: str = "auto",
                  evalue: float = DEFAULT_EVALUE, threads: int = 1) -> Homologs:
    """Candidate homolog pairs among the proteins ``accessions`` (sequences ``texts``); see the module."""
    if source not in SOURCES:
        raise ProtisoError(f"--homolog-source must be one of {', '.join(SOURCES)}, not {source!r}")
    n = len(accessions)
    notes: list[str] = []
    use_mmseqs = source in ("mmseqs", "both") or (source == "auto" and mmseqs_path() is not None)
    use_xrefs = source in ("xrefs", "both") or (source == "auto" and has_xrefs(wh))
    if source == "auto" and mmseqs_path() is None:
        if not use_xrefs:
            raise ProtisoError("homolog-enriched pairs need MMseqs2 (mmseqs is not on PATH: "
                               f"{MMSEQS_INSTALL}) or Pfam/InterPro cross-references (ingest UniProt .dat files)")
        notes.append(f"mmseqs is not installed ({MMSEQS_INSTALL}): homolog candidates come from "
                     "Pfam/InterPro cross-references only")
    parts: dict[str, np.ndarray] = {}
    if use_mmseqs:
        i, j, _ = mmseqs_pairs(texts, evalue, threads)
        parts["mmseqs"] = np.unique(np.minimum(i, j) * n + np.maximum(i, j))
    if use_xrefs:
        i, j = xref_pairs(wh, accessions)
        if source in ("xrefs", "both") and i.size == 0 and not has_xrefs(wh):
            raise ProtisoError("no Pfam/InterPro cross-references in the warehouse (protein_xrefs is empty): "
                               "ingest UniProt .dat files, or use --homolog-source mmseqs")
        parts["xrefs"] = i * n + j
    keys = np.unique(np.concatenate(list(parts.values()))) if parts else np.zeros(0, np.int64)
    in_mm = np.isin(keys, parts.get("mmseqs", np.zeros(0, np.int64)))
    in_x = np.isin(keys, parts.get("xrefs", np.zeros(0, np.int64)))
    evidence = np.where(in_mm & in_x, "mmseqs+xrefs", np.where(in_mm, "mmseqs", "xrefs")).astype(object)
    counts = {name: int(v.size) for name, v in parts.items()}
    return Homologs(n, keys.astype(np.int64), evidence, list(parts), counts, notes)
