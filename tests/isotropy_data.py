"""Shared test data for the isotropy tests: real AntiBERTy vectors, a warehouse built from them, and the
reference IsoScore package evaluated in float64.

``tests/fixtures/isotropy_antiberty.npz`` (made by ``tests/fixtures/make_isotropy_golden.py``) holds
AntiBERTy's last-layer vectors of 99 real Swiss-Prot entries with their organisms, lengths and GO ids.
"""

from __future__ import annotations

import types
from functools import cache
from pathlib import Path

import IsoScore.IsoScore as reference
import numpy as np
import pyarrow as pa
import torch

from protiso.metrics.stats import SufficientStats
from protiso.warehouse import Warehouse

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "isotropy_antiberty.npz"
MODEL = "antiberty"


@cache
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return {key: data[key] for key in data.files}


class _Float64Torch(types.ModuleType):
    """``torch`` whose ``tensor()`` makes float64 tensors (the package builds n with torch.tensor(int))."""

    def __getattr__(self, name):
        return getattr(torch, name)

    def tensor(self, data, *args, **kwargs):
        return torch.tensor(data, *args, **kwargs).to(torch.float64)


def reference_float64(function, *args):
    """Run the IsoScore package's own code with every tensor in float64.

    As published, ``torch.sqrt(torch.tensor(n))`` is float32 (n is an integer tensor) and float32
    points give a float32 covariance, so the package is only accurate to ~1e-7..1e-5 relative.
    """
    reference.torch = _Float64Torch("torch64")
    try:
        return float(function(*args))
    finally:
        reference.torch = torch


def vectors(rows: np.ndarray) -> pa.Array:
    return pa.array(list(rows.astype(np.float32)), type=pa.list_(pa.float32()))


def build_warehouse(path: Path, residue_runs: int = 2, scale: float = 1.0) -> Warehouse:
    """A warehouse with the golden proteins, GO annotations, global vectors, residues and residue_stats.

    The residue statistics are split over ``residue_runs`` rows (as separate embedding runs write them);
    ``scale`` multiplies every vector (float32, as stored).
    """
    g = golden()
    if scale != 1.0:
        g = {**g, "global_vectors": g["global_vectors"].astype(np.float32) * np.float32(scale),
             "residue_vectors": g["residue_vectors"].astype(np.float32) * np.float32(scale)}
    layer = int(g["layer"])
    accessions = [str(a) for a in g["accessions"]]
    n = len(accessions)
    owners = np.repeat(g["residue_accessions"], g["residue_lengths"])
    positions = np.concatenate([np.arange(1, k + 1) for k in g["residue_lengths"]])
    wh = Warehouse.create(path)
    with wh.run("ingest", {"fixture": GOLDEN.name}) as run:
        run_id = run.id
        with wh.commit(run_id) as tx:
            tx.write_part("proteins", pa.table({
                "accession": accessions, "organism": [str(o) for o in g["organisms"]],
                "length": g["lengths"].astype(np.int32), "run_id": [run_id] * n,
            }))
            tx.write_part("protein_go", pa.table({
                "accession": [str(a) for a in g["go_accessions"]], "go_id": [str(x) for x in g["go_ids"]],
            }))
            tx.write_part("embeddings", pa.table({
                "accession": accessions, "model": [MODEL] * n, "layer": [layer] * n, "pooling": [str(g["pooling"])] * n,
                "embedding_set": ["raw"] * n, "embedding": vectors(g["global_vectors"]), "run_id": [run_id] * n,
            }))
            tx.write_part("residues", pa.table({
                "accession": [str(a) for a in owners], "model": [MODEL] * len(owners), "layer": [layer] * len(owners),
                "position": positions.astype(np.int32), "vector": vectors(g["residue_vectors"]),
            }))
            for i, chunk in enumerate(np.array_split(g["residue_vectors"], residue_runs)):
                count, dim, sum_x, sum_xxt = SufficientStats.from_points(chunk).to_flat()
                tx.execute("INSERT INTO residue_stats (run_id, model, layer, n, dim, sum_x, sum_xxt) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [f"embed-{i}", MODEL, layer, count, dim, sum_x, sum_xxt])
    return wh
