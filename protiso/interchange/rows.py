"""Records matched to proteins -> the warehouse's ``embeddings`` / ``residues`` rows and residue statistics.

``RowBuilder`` is the import's compute step, apart from reading (the format modules) and writing
(``protiso.jobs.import_vectors``). It checks every record as rows are built, so a bad one stops the import
before its commit: the layers the first record fixes, per-protein vectors from the file or the float64
mean of the residue vectors, one dimension per layer (at least 2), no NaN or infinity, no all-zero vector
(it has no direction), no more residue vectors than residues, one record per protein. Residue vectors feed
float64 ``SufficientStats`` as the embedding stage does. docs/architecture.md (module notes) states each rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from protiso.embedding.stage_io import keeps_residues
from protiso.errors import ProtisoError
from protiso.interchange.ids import Match
from protiso.interchange.source import Record, float_vectors, list_array
from protiso.metrics.isotropy import isoscore
from protiso.metrics.stats import SufficientStats

COMPUTED_POOLING = "mean over residue vectors (computed at import)"
IMPORTED_POOLING = "imported (rule not recorded)"
FOLD_ROWS = 16384  # residue vectors gathered before one float64 X^T X product
MIN_DIM = 2  # 0- and 1-dimensional vectors are refused (see the module docstring)


class _Stats:
    """Float64 statistics of one layer's residue vectors, folded in blocks of about FOLD_ROWS rows."""

    def __init__(self, dim: int) -> None:
        self.stats = SufficientStats(dim)
        self.blocks: list[np.ndarray] = []
        self.rows = 0

    def add(self, matrix: np.ndarray) -> None:
        self.blocks.append(matrix)
        self.rows += len(matrix)
        if self.rows >= FOLD_ROWS:
            self.fold()

    def fold(self) -> SufficientStats:
        if self.blocks:
            self.stats.add(np.concatenate(self.blocks), checked=True)
            self.blocks, self.rows = [], 0
        return self.stats


@dataclass
class _Layer:
    """Rows of one layer being built for the current chunk."""

    embeddings: dict[str, list] = field(default_factory=lambda: {k: [] for k in (
        "accession", "seq_hash", "length_policy", "local_isoscore", "local_n")})
    vectors: list[np.ndarray] = field(default_factory=list)
    owners: list[Record] = field(default_factory=list)
    residues: list[pa.RecordBatch] = field(default_factory=list)
    residue_counts: list[tuple[str, int]] = field(default_factory=list)  # (accession, residues) stored


class RowBuilder:
    """Builds rows chunk by chunk and keeps the import's running checks and statistics."""

    def __init__(self, model: str, run_id: str, requested_layer: int | None, source_layer: int | None,
                 pooling: str | None, source_pooling: str | None, fraction: float,
                 stored_dim: Callable[[int], int | None]) -> None:
        self.model, self.run_id = model, run_id
        self.requested, self.source_layer = requested_layer, source_layer
        self.pooling_option, self.source_pooling = pooling, source_pooling
        self.fraction = fraction
        self.stored_dim = stored_dim  # layer -> dim of vectors the model already holds (or None)
        self.mapping: list[tuple[int | None, int]] | None = None  # (key in the record, stored layer)
        self.first_keys: set | None = None
        self.has_global: bool | None = None
        self.pooling: str | None = None
        self.dims: dict[int, int] = {}
        self.stats: dict[int, _Stats] = {}
        self.seen: dict[str, str] = {}  # accession -> label of the record that named it
        self.imported: set[str] = set()  # accessions given at least one new vector
        self.counts = {"vectors": 0, "skipped": 0, "residues": 0, "residues_stored": 0}

    # -- the rules fixed by the first record ------------------------------------------------

    def _plan(self, record: Record) -> list[tuple[int | None, int]]:
        keys = set(record.global_) | set(record.residues)
        if self.mapping is None:
            if keys == {None}:
                layer = self.requested if self.requested is not None else \
                    (self.source_layer if self.source_layer is not None else -1)
                self.mapping = [(None, layer)]
            elif self.requested is None:
                self.mapping = [(key, key) for key in sorted(keys)]
            else:
                key = max(keys) if self.requested == -1 else self.requested
                if key not in keys:
                    raise ProtisoError(f"{record.where()}: has no layer {self.requested} (layers: "
                                       f"{', '.join(map(str, sorted(keys)))})")
                self.mapping = [(key, key)]
            self.first_keys = keys
            self.has_global = bool(record.global_)
            self.pooling = self.pooling_option or (
                (self.source_pooling or IMPORTED_POOLING) if self.has_global else COMPUTED_POOLING)
        if self.requested is None and keys != self.first_keys:
            raise ProtisoError(f"{record.where()}: holds layers {_layers(keys)}, the first record "
                               f"{_layers(self.first_keys)}")
        for key, _ in self.mapping:
            if key not in keys:
                raise ProtisoError(f"{record.where()}: has no layer {key} (the first record has it)")
        if bool(record.global_) != self.has_global:
            raise ProtisoError(f"{record.where()}: {'has' if record.global_ else 'lacks'} per-protein vectors, "
                               f"unlike the first record; a file must hold them for every record or for none")
        return self.mapping

    @property
    def layers(self) -> list[int]:
        return [layer for _, layer in self.mapping or []]

    def _dim(self, layer: int, dim: int, record: Record) -> None:
        if dim < MIN_DIM:
            raise ProtisoError(f"{record.where()}: vectors of dimension {dim} at layer {layer}; protiso needs at least "
                               f"{MIN_DIM} (a direction, a covariance, a PCA)")
        expected = self.dims.get(layer)
        if expected is None:
            stored = self.stored_dim(layer)
            if stored is not None and stored != dim:
                raise ProtisoError(f"{record.where()}: vectors of dimension {dim}, but {self.model} already holds "
                                   f"vectors of dimension {stored} at layer {layer}")
            self.dims[layer] = dim
        elif dim != expected:
            raise ProtisoError(f"{record.where()}: vectors of dimension {dim}, earlier records {expected} "
                               f"(mixed dimensions at layer {layer})")

    # -- one chunk --------------------------------------------------------------------------

    def build(self, records: list[Record], matches: list[list[Match]], sequences) -> dict[int, tuple]:
        """Layer -> (embeddings table, residues table or None) for one chunk of matched records.

        ``sequences(accessions)`` returns stored sequences (for residue letters), asked only when the
        chunk stores residue vectors.
        """
        layers: dict[int, _Layer] = {}
        for record, found in zip(records, matches):
            for match in found:
                if match.accession in self.seen:
                    raise ProtisoError(f"{record.where()}: names protein {match.accession}, as record "
                                       f"{self.seen[match.accession]!r} did (duplicate ids)")
                self.seen[match.accession] = record.label
            for key, layer in self._plan(record):
                self._add(record, found, key, layer, layers.setdefault(layer, _Layer()))
        wanted = sorted({a for part in layers.values() for a, _ in part.residue_counts})
        letters = sequences(wanted) if wanted else {}
        return {layer: (self._embeddings_table(layer, part), self._residue_table(layer, part, letters))
                for layer, part in layers.items()}

    def _add(self, record: Record, found: list[Match], key, layer: int, part: _Layer) -> None:
        residues = record.residues.get(key)
        if residues is not None:
            residues = float_vectors(residues, record, "residue vectors")
            if len(residues) == 0:
                raise ProtisoError(f"{record.where()}: holds no residue vectors at layer {layer} (shape "
                                   f"{tuple(residues.shape)})")
            self._dim(layer, residues.shape[1], record)
            if not np.isfinite(residues).all():
                row = int(np.flatnonzero(~np.isfinite(residues).all(axis=1))[0])
                raise ProtisoError(f"{record.where()}: residue vector {row + 1} at layer {layer} holds NaN or infinity")
            if not residues.any(axis=1).all():
                row = int(np.flatnonzero(~residues.any(axis=1))[0])
                raise ProtisoError(f"{record.where()}: residue vector {row + 1} at layer {layer} is all zeros (a zero "
                                   "vector has no direction)")
        vector = record.global_.get(key)
        if vector is not None:
            vector = float_vectors(np.asarray(vector).reshape(-1), record)
            self._dim(layer, vector.shape[0], record)
            if not vector.any():
                raise ProtisoError(f"{record.where()}: the vector at layer {layer} is all zeros (a zero vector has no "
                                   "direction: cosine and IsoScore are undefined for it)")
        else:
            vector = residues.mean(axis=0, dtype=np.float64).astype(np.float32)
        fresh = [m for m in found if layer not in m.stored_layers]
        self.counts["skipped"] += len(found) - len(fresh)
        if not fresh:
            return
        score = None
        if residues is not None:
            for match in fresh:
                if match.length is not None and len(residues) > match.length:
                    raise ProtisoError(f"{record.where()}: {len(residues)} residue vectors, but {match.accession} "
                                       f"has {match.length} residues")
            score = isoscore(residues) if len(residues) >= 2 else None
            stats = self.stats.setdefault(layer, _Stats(residues.shape[1]))
        for match in fresh:
            columns = part.embeddings
            columns["accession"].append(match.accession)
            columns["seq_hash"].append(match.seq_hash)
            columns["local_isoscore"].append(score)
            columns["local_n"].append(None if residues is None else len(residues))
            columns["length_policy"].append("imported" if residues is None else
                                            "none" if len(residues) == match.length else "truncate")
            part.vectors.append(vector)
            part.owners.append(record)
            self.imported.add(match.accession)
            self.counts["vectors"] += 1
            if residues is not None:
                stats.add(residues)
                self.counts["residues"] += len(residues)
                if keeps_residues(match.accession, self.fraction, 0):
                    part.residues.append(_residue_batch(match.accession, residues))
                    part.residue_counts.append((match.accession, len(residues)))
                    self.counts["residues_stored"] += len(residues)

    def _embeddings_table(self, layer: int, part: _Layer) -> pa.Table | None:
        if not part.vectors:
            return None
        matrix = np.stack(part.vectors)
        finite = np.isfinite(matrix).all(axis=1)
        if not finite.all():
            record = part.owners[int(np.flatnonzero(~finite)[0])]
            raise ProtisoError(f"{record.where()}: the vector at layer {layer} holds NaN or infinity")
        rows = len(part.vectors)
        columns = part.embeddings
        return pa.table({
            "accession": pa.array(columns["accession"], pa.string()),
            "seq_hash": pa.array(columns["seq_hash"], pa.string()),
            "model": pa.array([self.model] * rows, pa.string()),
            "layer": pa.array(np.full(rows, layer, dtype=np.int32)),
            "pooling": pa.array([self.pooling] * rows, pa.string()),
            "embedding_set": pa.array(["raw"] * rows, pa.string()),
            "length_policy": pa.array(columns["length_policy"], pa.string()),
            "embedding": list_array(matrix),
            "local_isoscore": pa.array(columns["local_isoscore"], pa.float64()),
            "local_n": pa.array(columns["local_n"], pa.int32()),
            "run_id": pa.array([self.run_id] * rows, pa.string()),
        })

    def _residue_table(self, layer: int, part: _Layer, letters: dict[str, str]) -> pa.Table | None:
        if not part.residues:
            return None
        table = pa.Table.from_batches(part.residues)
        rows = table.num_rows
        residue = [letter for a, n in part.residue_counts   # NULL where the sequence is unknown
                   for letter in (letters[a][:n] if letters.get(a) else [None] * n)]
        return pa.table({
            "accession": table.column("accession"),
            "model": pa.array([self.model] * rows, pa.string()),
            "layer": pa.array(np.full(rows, layer, dtype=np.int32)),
            "position": table.column("position"),
            "residue": pa.array(residue, pa.string()),
            "vector": table.column("vector"),
            "run_id": pa.array([self.run_id] * rows, pa.string()),
        })

    def statistics(self) -> dict[int, SufficientStats]:
        """Layer -> float64 statistics of every residue vector imported so far."""
        return {layer: stats.fold() for layer, stats in self.stats.items()}


def _residue_batch(accession: str, residues: np.ndarray) -> pa.RecordBatch:
    count = len(residues)
    return pa.RecordBatch.from_arrays(
        [pa.array([accession] * count, pa.string()), pa.array(np.arange(1, count + 1, dtype=np.int32)),
         list_array(residues)],
        names=["accession", "position", "vector"])


def _layers(keys) -> str:
    return ", ".join("none" if k is None else str(k) for k in sorted(keys, key=lambda k: (k is not None, k)))
