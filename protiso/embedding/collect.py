"""Turn the stage's per-sequence outputs into Arrow record batches and residue statistics.

Adapters return vectors as numpy arrays or as torch tensors left on their device; everything
here runs in torch on that device (float64 for statistics and local IsoScore), so on a GPU
neither the d x d statistics nor the per-protein IsoScore fall back to the CPU. Only global
vectors (stacked, one transfer) and the residue vectors of sampled proteins leave the device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import torch

from protiso.embedding.stage_io import StageOptions, StageResult, keeps_residues
from protiso.errors import ProtisoError
from protiso.metrics.isotropy import isoscore_from_pr
from protiso.metrics.stats import SufficientStats
from protiso.models.base import ModelAdapter, SequenceOutput
from protiso.warehouse import contracts

EMBEDDINGS_SCHEMA = contracts.schema("embeddings")   # sql/tables/embeddings.sql
RESIDUES_SCHEMA = contracts.schema("residues")
FOLD_ROWS = 16384  # residue vectors gathered before one X^T X product
_EPS = float(np.finfo(np.float64).eps)


@dataclass
class UniqueSequence:
    """One distinct sequence of a chunk and what the stage collects for it."""

    sequence: str  # as stored
    rows: list[int]  # input rows that hold it
    policy: str = "none"
    bounds: list[tuple[int, int]] = field(default_factory=list)  # pieces embedded
    keep: list[tuple[int, int]] = field(default_factory=list)  # residues each piece gives vectors to
    parts: dict[int, SequenceOutput] = field(default_factory=dict)


def vectors_array(matrix: np.ndarray) -> pa.ListArray:
    """(n, d) float32 matrix -> Arrow list<float32> array of n rows, without a Python loop."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, d = matrix.shape if matrix.ndim == 2 else (0, 0)
    offsets = pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32) if n else np.zeros(1, np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1)))


def as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))


def isoscore_moments(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tr S, ||S||_F^2, zero tolerance) of the centred scatter S of ``vectors``, float64, on their device.

    Same rules as ``protiso.metrics.isotropy.trace_and_frobenius``: the Gram matrix when there are
    fewer points than dimensions, and a trace below the tolerance means no variance.
    """
    x = vectors.to(torch.float64)
    centred = x - x.mean(dim=0, keepdim=True)
    mat = centred @ centred.T if x.shape[0] < x.shape[1] else centred.T @ centred
    tolerance = x.shape[0] * x.shape[1] * (8 * _EPS * x.abs().max()) ** 2
    return torch.trace(mat), (mat * mat).sum(), tolerance


def _combine(unique: UniqueSequence, layer: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(global vector, residue vectors) of one sequence, joining pieces when there are several.

    ``window``: each window's kept residues (``UniqueSequence.keep``), stitched in order; the global
    vector is their mean. ``chunk``: residues concatenated, globals averaged weighted by length.
    """
    parts = [unique.parts[i] for i in range(len(unique.bounds))]
    if len(parts) == 1:
        return as_tensor(parts[0].global_[layer]), as_tensor(parts[0].residues[layer])
    if unique.policy == "window":
        residues = torch.cat([as_tensor(p.residues[layer])[lo - start:hi - start]
                              for p, (start, _), (lo, hi) in zip(parts, unique.bounds, unique.keep)])
        return residues.to(torch.float64).mean(dim=0).to(torch.float32), residues
    weights = [float(end - start) for start, end in unique.bounds]
    globals_ = [as_tensor(p.global_[layer]).to(torch.float64) for p in parts]
    global_ = (sum(w * g for w, g in zip(weights, globals_)) / sum(weights)).to(torch.float32)
    return global_, torch.cat([as_tensor(p.residues[layer]) for p in parts])


class _Stats:
    """Float64 n, sum x, sum x x^T on the vectors' device, fed in blocks of about FOLD_ROWS rows."""

    def __init__(self) -> None:
        self.n, self.sum_x, self.sum_xxt = 0, None, None
        self.blocks: list[torch.Tensor] = []
        self.weights: list[float] = []
        self.rows = 0

    def add(self, vectors: torch.Tensor, weight: int) -> None:
        self.blocks.append(vectors)
        self.weights.append(float(weight))
        self.rows += len(vectors)
        if self.rows >= FOLD_ROWS:
            self.fold()

    def fold(self) -> None:
        if not self.blocks:
            return
        x = torch.cat(self.blocks).to(torch.float64)
        w = torch.cat([torch.full((len(b),), wt, dtype=torch.float64, device=x.device)
                       for b, wt in zip(self.blocks, self.weights)])
        if self.sum_x is None:
            self.sum_x = torch.zeros(x.shape[1], dtype=torch.float64, device=x.device)
            self.sum_xxt = torch.zeros((x.shape[1], x.shape[1]), dtype=torch.float64, device=x.device)
        self.n += int(sum(len(b) * wt for b, wt in zip(self.blocks, self.weights)))
        self.sum_x += w @ x
        self.sum_xxt += (x * w[:, None]).T @ x
        self.blocks, self.weights, self.rows = [], [], 0

    def result(self) -> SufficientStats:
        self.fold()
        return SufficientStats(self.sum_x.shape[0], self.n, self.sum_x.cpu().numpy(), self.sum_xxt.cpu().numpy())


class Collector:
    """Collects finished sequences into output columns and statistics, freeing their vectors."""

    def __init__(self, adapter: ModelAdapter, accessions: list[str], hashes: list[str | None],
                 layers: list[int], options: StageOptions) -> None:
        self.adapter, self.accessions, self.hashes = adapter, accessions, hashes
        self.layers, self.options = layers, options
        self.row_unique: list[int] = [0] * len(accessions)  # row -> index of its distinct sequence
        self.policies: list[str] = ["none"] * len(accessions)
        self.globals: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
        self.moments: dict[int, list[tuple]] = {layer: [] for layer in layers}
        self.residue_dims: dict[int, int] = {}
        self.lengths: list[int] = []
        self.stats = {layer: _Stats() for layer in layers}
        self.residue_batches: list[pa.RecordBatch] = []
        self.keep = [keeps_residues(a, options.residues, options.seed) for a in accessions]

    def finish(self, unique: UniqueSequence) -> None:
        """Record one sequence whose pieces are all embedded, then drop its vectors."""
        index = len(self.lengths)
        for layer in self.layers:
            global_, residues = _combine(unique, layer)
            self.globals[layer].append(global_)
            self.moments[layer].append(isoscore_moments(residues) if len(residues) >= 2 else None)
            self.residue_dims[layer] = residues.shape[1]  # ProteinBERT: 128-d residues beside 512-d globals
            self.stats[layer].add(residues, len(unique.rows))
            kept = [row for row in unique.rows if self.keep[row]]
            if kept:
                host = residues.detach().to("cpu", torch.float32).numpy()
                for row in kept:
                    self.residue_batches.append(
                        _residue_batch(self.adapter.name, self.accessions[row], unique.sequence, layer, host,
                                       self.options.run_id, self.options.control))
        self.lengths.append(len(residues))
        for row in unique.rows:
            self.row_unique[row] = index
            self.policies[row] = unique.policy
        unique.parts.clear()

    def _scores(self, layer: int, dim: int) -> list[float | None]:
        found = [m for m in self.moments[layer] if m is not None]
        values = torch.stack([torch.stack(m) for m in found]).cpu().numpy() if found else np.zeros((0, 3))
        scores, it = [], iter(values)
        for m in self.moments[layer]:
            if m is None or dim < 2:
                scores.append(None)
                continue
            trace, frob2, tolerance = next(it)
            scores.append(None if trace <= tolerance else isoscore_from_pr(float(trace * trace / frob2), dim))
        return scores

    def result(self) -> StageResult:
        n_rows, n_layers = len(self.accessions), len(self.layers)
        where = np.asarray(self.row_unique, dtype=np.int64)
        vectors, scores, counts = [], [], []
        lengths = np.asarray(self.lengths, dtype=np.int32)
        for layer in self.layers:
            if not self.globals[layer]:
                continue
            stacked = torch.stack(self.globals[layer]).to("cpu", torch.float32).numpy()
            bad = ~np.isfinite(stacked).all(axis=1)
            if bad.any():
                row = int(np.flatnonzero(bad[where])[0])
                raise ProtisoError(f"{self.accessions[row]}: {self.adapter.name} produced NaN or infinity at "
                                   f"layer {layer} (try --device cpu for full precision)")
            vectors.append(stacked[where])
            per_unique = self._scores(layer, self.residue_dims.get(layer, stacked.shape[1]))
            scores.extend(per_unique[i] for i in where)
            counts.append(lengths[where])
        columns = {
            "accession": self.accessions * n_layers,
            "seq_hash": self.hashes * n_layers,
            "model": [self.adapter.name] * n_rows * n_layers,
            "layer": [layer for layer in self.layers for _ in range(n_rows)],
            "pooling": [self.adapter.pooling] * n_rows * n_layers,
            "embedding_set": [self.options.embedding_set] * n_rows * n_layers,
            "control": [self.options.control] * n_rows * n_layers,
            "length_policy": self.policies * n_layers,
            "embedding": np.concatenate(vectors) if vectors else np.zeros((0, 0), np.float32),
            "local_isoscore": scores,
            "local_n": np.concatenate(counts) if counts else np.zeros(0, np.int32),
            "run_id": [self.options.run_id] * n_rows * n_layers,
        }
        arrays = [vectors_array(columns[f.name]) if f.name == "embedding" else pa.array(columns[f.name], f.type)
                  for f in EMBEDDINGS_SCHEMA]
        embeddings = pa.RecordBatch.from_arrays(arrays, schema=EMBEDDINGS_SCHEMA)
        if self.residue_batches:
            table = pa.Table.from_batches(self.residue_batches, schema=RESIDUES_SCHEMA).combine_chunks()
            residues = table.to_batches()[0]
        else:
            residues = pa.RecordBatch.from_pylist([], schema=RESIDUES_SCHEMA)
        stats = {layer: s.result() for layer, s in self.stats.items() if s.blocks or s.sum_x is not None}
        return StageResult(embeddings=embeddings, residues=residues, stats=stats)


def _residue_batch(model: str, accession: str, sequence: str, layer: int, residues: np.ndarray,
                   run_id: str | None, control: str = "none") -> pa.RecordBatch:
    count = len(residues)
    return pa.RecordBatch.from_arrays(
        [
            pa.array([accession] * count, pa.string()),
            pa.array([model] * count, pa.string()),
            pa.array(np.full(count, layer, dtype=np.int32)),
            pa.array([control] * count, pa.string()),
            pa.array(np.arange(1, count + 1, dtype=np.int32)),
            pa.array(list(sequence[:count]), pa.string()),
            vectors_array(residues),
            pa.array([run_id] * count, pa.string()),
        ],
        schema=RESIDUES_SCHEMA,
    )
