"""What every vector reader yields (``Record``, ``Source``) and the checks readers share.

A reader turns one input (a file or an ESM output directory) into a stream of ``Record`` s, one per
protein as the file names it, reading one record (or one block of rows) at a time so that memory
stays bounded however large the input. Readers check the file's own layout (shapes, dtypes, the
keys its tool writes) and raise ``ProtisoError`` naming the file and the record; they know nothing
of the warehouse: matching names to proteins (``protiso.interchange.ids``), checking dimensions
across records and writing rows is the import job's (``protiso.jobs.import_vectors``).

Layers: ESM files key their vectors by layer number; every other format holds one layer and keys it
``None`` (the job stores it under ``--layer``, or the layer a protiso export recorded in the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa

from protiso.errors import ProtisoError

FORMATS = ("auto", "esm", "h5", "npy", "npz", "parquet")


@dataclass(slots=True)
class Record:
    """One protein's vectors as a file holds them.

    ``label``: the record's name in its file (HDF5 key, ESM label, id-column value), for messages.
    ``names``: the ids it may be matched by, most trusted first (an ``original_id`` attribute before
    an HDF5 key). ``global_``: layer -> 1-D per-protein vector; ``residues``: layer -> 2-D
    (residues, dim) matrix. Either may be empty, not both.
    """

    file: Path
    label: str
    names: tuple[str, ...]
    global_: dict[int | None, np.ndarray] = field(default_factory=dict)
    residues: dict[int | None, np.ndarray] = field(default_factory=dict)

    def where(self) -> str:
        """``FILE: record 'LABEL'``, the start of every message about this record."""
        return f"{self.file}: record {self.label!r}"

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.global_.values()) + sum(v.nbytes for v in self.residues.values())


class Source(Protocol):
    """An opened input: its format, what it says about itself, and its records."""

    path: Path
    format: str
    pooling: str | None  # the rule that made its per-protein vectors, when the file records it
    layer: int | None  # the layer of a layerless file, when the file records it (protiso exports)

    def count(self) -> int | None:
        """Records (files, datasets, rows) it holds, when known without reading them."""

    def records(self) -> Iterator[Record]:
        """The records, in a stable order, one at a time."""

    # Optional: ``more_names(records) -> list[tuple[str, ...]]``, further names for records whose names
    # matched nothing, costly to read for every record (HDF5 ``original_id`` attributes).


MAX_LAYER = 2**31 - 1  # layers are stored as INTEGER


def layer_number(value: object, where: str) -> int:
    """A layer a file records (a 0-d integer array, an integer, or its digits as text), or a one-line error."""
    if isinstance(value, np.ndarray):
        if value.shape != ():
            raise ProtisoError(f"{where}: the recorded layer must be one number, got an array of shape {value.shape}")
        value = value[()]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (bool, np.bool_)):
        value = None
    elif isinstance(value, (int, np.integer)):
        value = int(value)
    elif isinstance(value, (str, np.str_)) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    else:
        value = None
    if value is None or not -1 <= value <= MAX_LAYER:
        raise ProtisoError(f"{where}: the recorded layer must be a layer number (0 to {MAX_LAYER:,}, or -1); "
                           "pass --layer to say which layer the vectors are")
    return value


def float_vectors(values: np.ndarray, record: Record | None, what: str = "vectors") -> np.ndarray:
    """``values`` as float32 (exact for float16 and float32; float64 rounds), or an error naming the record."""
    if values.dtype == np.float32:
        return values
    if values.dtype.kind != "f" and values.dtype.kind not in "iu":
        where = record.where() if record is not None else what
        raise ProtisoError(f"{where}: {what} must be floating-point numbers, got dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # no RuntimeWarning before the one-line error
        out = values.astype(np.float32)
    if values.dtype.kind == "f" and not np.isfinite(out).all() and np.isfinite(values[~np.isfinite(out)]).any():
        where = record.where() if record is not None else what
        raise ProtisoError(f"{where}: {what} hold values beyond float32's range (about ±3.4e38), which protiso "
                           "stores them as")
    return out


def list_array(matrix: np.ndarray) -> pa.ListArray:
    """(n, d) float32 matrix -> Arrow ``list<float32>`` of n rows, one copy, no Python loop."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, d = matrix.shape
    offsets = pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(matrix.reshape(-1)))
