"""A small real warehouse for report tests: UniProt entries, AntiBERTy vectors, alignments, isotropy rows.

Sequences, organisms and GO annotations come from the 100 Swiss-Prot flat-file entries in
``shared/data/swissprot-entries``; GO names from ``go_2014_terms.tsv.gz``. Vectors are real AntiBERTy
vectors stored in ``fixtures/report_antiberty.npz`` (made by ``fixtures/make_report_vectors.py``):
mean-pooled per protein, layers 4 and 8, with the layer-8 residue statistics of the first proteins.
Centred and whitened sets come from protiso.metrics.postprocess, isotropy rows from protiso.isotropy,
all-pairs PAM250 global alignments and their pair metrics from protiso.align.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pyarrow as pa

from protiso.warehouse import Warehouse

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
ENTRIES = DATA / "swissprot-entries" / "swissprot_2012_100.dat"
GO_TERMS = DATA / "swissprot-2014" / "go_2014_terms.tsv.gz"
VECTORS = Path(__file__).resolve().parent / "fixtures" / "report_antiberty.npz"
LAYERS = (4, 8)
MAX_LENGTH = 260
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def read_entries(limit: int = 36) -> list[dict]:
    """Up to ``limit`` entries no longer than MAX_LENGTH, with standard residues only."""
    from Bio import SeqIO

    out = []
    for record in SeqIO.parse(str(ENTRIES), "swiss"):
        sequence = str(record.seq)
        if len(sequence) > MAX_LENGTH or not set(sequence) <= STANDARD:
            continue
        organism = record.annotations.get("organism", "").split(" (")[0]
        go_ids = sorted({x[3:] for x in record.dbxrefs if x.startswith("GO:GO:")})
        out.append({"accession": record.id, "entry_name": record.name, "organism": organism,
                    "sequence": sequence, "go": go_ids,
                    "protein_name": record.description.split("Full=")[-1].split(";")[0]})
        if len(out) == limit:
            break
    return out


def go_names(go_ids: set[str]) -> list[tuple[str, str]]:
    out = []
    with gzip.open(GO_TERMS, "rt") as handle:
        next(handle)
        for line in handle:
            go_id, name = line.rstrip("\n").split("\t")[:2]
            if go_id in go_ids:
                out.append((go_id, name))
    return out


def load_vectors() -> tuple[list[str], dict[int, np.ndarray], np.ndarray]:
    """Accessions, per-protein vectors per layer, and layer-8 residue vectors (see fixtures/make_report_vectors.py)."""
    data = np.load(VECTORS)
    globals_ = {layer: data[f"layer{layer}"].astype(np.float32) for layer in LAYERS}
    return [str(a) for a in data["accessions"]], globals_, data["residues_layer8"].astype(np.float32)


def build(path: Path, model: str = "antiberty") -> dict:
    """Create the warehouse at ``path``; returns the raw material (entries, global vectors) for checks."""
    from protiso.jobs.align import align_and_measure
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.metrics import SufficientStats
    from protiso.metrics.postprocess import fit_apply

    entries = read_entries()
    accessions, globals_, residues = load_vectors()
    assert accessions == [e["accession"] for e in entries], "fixture vectors do not match the entries"
    wh = Warehouse.create(path)
    with wh:
        with wh.run("ingest", {"source": ENTRIES.name, "format": "swiss"}) as run, run.commit() as tx:
            tx.write_part("proteins", pa.Table.from_pylist([
                {k: e[k] for k in ("accession", "entry_name", "protein_name", "organism", "sequence")}
                | {"length": len(e["sequence"])} for e in entries]))
            tx.write_part("protein_go", pa.Table.from_pylist(
                [{"accession": e["accession"], "go_id": g} for e in entries for g in e["go"]]))
            names = go_names({g for e in entries for g in e["go"]})
            tx.write_part("go_terms", pa.Table.from_pylist([{"go_id": g, "name": n} for g, n in names]))
        with wh.run("embed", {"layers": list(LAYERS), "pooling": "mean"}, model=model,
                    revision="AntiBERTy_md_smooth", layer="4,8", pooling="mean") as embed, embed.commit() as tx:
            for layer in LAYERS:
                sets = {"raw": globals_[layer], "centered": fit_apply(globals_[layer], "center"),
                        "whitened": fit_apply(globals_[layer], "whiten")}
                for name, points in sets.items():
                    tx.write_part("embeddings", pa.table({
                        "accession": accessions, "model": [model] * len(entries), "layer": [layer] * len(entries),
                        "pooling": ["mean"] * len(entries), "embedding_set": [name] * len(entries),
                        "embedding": [list(map(float, v)) for v in points]}),
                        partition={"model": model, "layer": layer})
            n, dim, sum_x, sum_xxt = SufficientStats.from_points(residues).to_flat()
            tx.execute("INSERT INTO residue_stats (run_id, model, layer, n, dim, sum_x, sum_xxt) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [embed.id, model, 8, n, dim, sum_x, sum_xxt])
        compute_isotropy(wh, bootstrap=40)
        compute_isotropy(wh, by=("organism", "go_term", "length_bin"), embedding_set="raw", scopes=("global",),
                         min_points=2)
        align_and_measure(wh, proteins=len(entries), seed=1, matrix="PAM250", mode="global", open_score=-10, extend_score=-1,
              workers=1, progress=False)  # all pairs, then their pair metrics
    return {"entries": entries, "globals": globals_, "residues": residues}


_BUILT: dict[str, Path] = {}


def shared(tmp_path_factory) -> Path:
    """The warehouse built once per test session (report tests only read it)."""
    if "path" not in _BUILT:
        path = tmp_path_factory.mktemp("report-warehouse") / "wh"
        build(path)
        _BUILT["path"] = path
    return _BUILT["path"]
