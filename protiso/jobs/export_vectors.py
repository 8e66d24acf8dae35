"""Export stored vectors to the files other tools read (``protiso export``).

``export_vectors(wh, output, model=...)`` writes one embedding set to ``.h5``, ``.npz`` or ``.parquet``,
the formats ``protiso import-vectors`` reads back exactly; streamed in batches, the file appears only
when complete, and the warehouse is only read. docs/architecture.md (module notes) has the details.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from protiso.errors import ProtisoError
from protiso.interchange.arrays import NpzWriter, ParquetWriter
from protiso.interchange.h5 import H5Writer
from protiso.jobs.options import ExportOptions
from protiso.options import changed
from protiso.warehouse import Warehouse, faults, versions
from protiso.warehouse.connection import alive

WRITERS = {".h5": H5Writer, ".hdf5": H5Writer, ".npz": NpzWriter, ".parquet": ParquetWriter}
BATCH_ROWS = 4096


@dataclass
class ExportSummary:
    """What one ``export_vectors`` call wrote."""

    output: str
    model: str
    layer: int
    embedding_set: str
    pooling: str
    dim: int
    proteins: int
    residues: int  # residue vectors written (with ``residues``)
    bytes: int
    seconds: float

    def render(self) -> str:
        extra = f" and {self.residues:,} residue vectors" if self.residues else ""
        return (f"wrote {self.output}: {self.proteins:,} vectors{extra} of {self.model} layer {self.layer} "
                f"({self.embedding_set}, dim {self.dim}) in {self.seconds:,.1f} s ({self.bytes / 1e6:,.1f} MB)\n"
                f"pooling: {self.pooling}")


def export_vectors(wh: Warehouse, options: ExportOptions | str | Path, model: str | None = None,
                   **changes) -> ExportSummary:
    """Write stored vectors as ``options`` says (``ExportOptions``; or an output path and ``model`` with keyword
    ``changes`` to its fields); see the module docstring."""
    if not isinstance(options, ExportOptions):
        options = ExportOptions(options, model)
    elif model is not None:
        changes["model"] = model
    options = changed(ExportOptions, options, changes).check()
    output, model, layer, force = options.output, options.model, options.layer, options.force
    embedding_set, residues, control = options.embedding_set, options.residues, options.control
    started = time.perf_counter()
    writer_class = WRITERS.get(output.suffix.lower())
    if writer_class is None:
        raise ProtisoError(f"{output}: the file name must end in {', '.join(WRITERS)}")
    check_output(output, force)
    layer, pooling, rows, dim = _choose(wh, model, layer, embedding_set, control)
    meta = {"model": model, "layer": layer, "embedding_set": embedding_set, "pooling": pooling, "control": control,
            "protiso": versions().get("protiso", "")}
    _remove_stale_temps(output)
    stored_rows = _residue_count(wh, model, layer) if residues else 0
    _check_space(output, (rows + stored_rows) * dim * 4 + rows * writer_class.row_overhead)
    tmp = temp_beside(output)
    written = stored = 0
    try:
        writer = writer_class(tmp, meta, dim=dim, rows=rows, residues=residues)
        try:
            params = {"model": model, "layer": layer, "embedding_set": embedding_set, "pooling": pooling,
                      "control": control}
            residue_groups = _residue_groups(wh, model, layer, control) if residues else None
            for batch in _stream(wh, "export_embeddings", params):
                accessions = batch.column("accession").to_pylist()
                vectors = _matrix(batch.column("embedding"), dim)
                matrices = None
                if residue_groups is not None:
                    matrices = [residue_groups.take(accession) for accession in accessions]
                    stored += sum(len(m) for m in matrices if m is not None)
                writer.add(accessions, batch.column("seq_hash").to_pylist(), vectors, matrices)
                written += len(accessions)
                faults.point("export-batch")
        finally:
            writer.close()
        os.replace(tmp, output)
    except OSError as error:  # a full disk (ENOSPC), the folder made unwritable meanwhile, ...
        quietly_remove(tmp)
        raise ProtisoError(f"cannot write {output}: {_os_reason(error)}; nothing was written") from None
    except BaseException:
        quietly_remove(tmp)
        raise
    return ExportSummary(str(output), model, layer, embedding_set, pooling, dim, written, stored,
                         output.stat().st_size, time.perf_counter() - started)


def temp_beside(output: Path) -> Path:
    """Where ``output`` is written before it is renamed into place (a name ``_remove_stale_temps`` knows)."""
    return output.with_name(f".{output.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def check_output(output: Path, force: bool) -> None:
    """Refuse, in one line, an output that exists (without ``force``) or a folder that is missing or unwritable."""
    if output.is_symlink() or output.exists():
        if output.is_dir() and not output.is_symlink():
            raise ProtisoError(f"{output} is a directory; name a file")
        if not force:
            what = "a symlink" if output.is_symlink() else "a file"
            raise ProtisoError(f"{output} exists ({what}); pass --force to replace it")
    folder = output.parent
    if not folder.is_dir():
        raise ProtisoError(f"{output}: no such directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ProtisoError(f"{output}: the folder {folder} is not writable by this user")


def _check_space(output: Path, needed: int) -> None:
    """Refuse, in one line, a folder whose file system cannot hold ``needed`` bytes (plus 5 %)."""
    try:
        free = shutil.disk_usage(output.parent).free
    except OSError:
        return
    if free < needed * 1.05:
        raise ProtisoError(f"cannot write {output}: it needs about {needed / 1e6:,.1f} MB and its file system has "
                           f"{free / 1e6:,.1f} MB free; free some space or choose another folder")


_TEMP = re.compile(r"\.(?P<name>.+)\.tmp-(?:(?P<pid>\d+)-)?[0-9a-f]{8}")
STALE_S = 3600.0  # a temp file of an older protiso (no process id in its name) untouched this long is stale


def _remove_stale_temps(output: Path) -> None:
    """Remove what killed exports to ``output`` left: temp files whose process is gone (see the module docstring)."""
    try:
        entries = list(output.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if match is None or match.group("name") != output.name or not entry.is_file() or entry.is_symlink():
            continue
        pid = match.group("pid")
        try:
            stale = not alive(int(pid)) if pid else time.time() - entry.stat().st_mtime > STALE_S
        except OSError:
            continue
        if stale:
            quietly_remove(entry)


def quietly_remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _os_reason(error: OSError) -> str:
    """The reason of an OSError in a few words (HDF5's own carry ``errno = N`` inside a long message)."""
    code = error.errno or (int(found.group(1)) if (found := re.search(r"errno = (\d+)", str(error))) else None)
    if code:
        return os.strerror(code)
    return " ".join(str(error).split()) or type(error).__name__


def _residue_count(wh: Warehouse, model: str, layer: int) -> int:
    return wh.con.execute(wh.sql_text("export_residue_count"), {"model": model, "layer": layer}).fetchall()[0][0]


def _choose(wh: Warehouse, model: str, layer: int | None, embedding_set: str,
            control: str = "none") -> tuple[int, str, int, int]:
    """(layer, pooling, rows, dim) of the one set the options name, or an error saying what exists."""
    sets = wh.query(wh.sql_text("export_sets"), {"model": model, "embedding_set": embedding_set,
                                                  "control": control}).to_pylist()
    if not sets:
        known = wh.con.execute(wh.sql_text("export_models")).fetchall()
        listing = ", ".join(f"{m} ({s}{'' if c == 'none' else ', control ' + c})" for m, s, c in known) or "none"
        what = embedding_set if control == "none" else f"{embedding_set} {control}-control"
        raise ProtisoError(f"{wh.path}: no {what} vectors of model {model}; stored: {listing}")
    layers = sorted({row["layer"] for row in sets})
    if layer is None:
        if len(layers) > 1:
            raise ProtisoError(f"{model} has vectors at layers {', '.join(map(str, layers))}; pass --layer")
        layer = layers[0]
    chosen = [row for row in sets if row["layer"] == layer]
    if not chosen:
        raise ProtisoError(f"{model} has no {embedding_set} vectors at layer {layer} "
                           f"(layers: {', '.join(map(str, layers))})")
    if len(chosen) > 1:
        raise ProtisoError(f"{model} layer {layer} holds vectors of {len(chosen)} poolings "
                           f"({'; '.join(str(row['pooling']) for row in chosen)}); export them from SQL")
    row = chosen[0]
    if row["min_dim"] != row["max_dim"]:
        raise ProtisoError(f"{model} layer {layer}: vectors of dimensions {row['min_dim']} to {row['max_dim']}")
    if row["n"] != row["proteins"]:
        dup = wh.con.execute(wh.sql_text("export_duplicate"), {"model": model, "layer": layer,
                                                               "embedding_set": embedding_set,
                                                               "pooling": row["pooling"],
                                                               "control": control}).fetchall()
        raise ProtisoError(f"{model} layer {layer}: {dup[0][0]} has {dup[0][1]} vectors; an export holds one "
                           "per protein")
    return layer, row["pooling"], row["n"], row["max_dim"]


def _stream(wh: Warehouse, query: str, params: dict) -> Iterator[pa.RecordBatch]:
    cursor = wh.con.cursor()  # its own connection: two streams run side by side
    try:
        yield from cursor.sql(wh.sql_text(query), params=params).to_arrow_reader(BATCH_ROWS)
    finally:
        cursor.close()


def _matrix(column: pa.ChunkedArray | pa.Array, dim: int) -> np.ndarray:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    offsets = array.offsets.to_numpy()
    values = array.values.to_numpy(zero_copy_only=False)
    return values[offsets[0]:offsets[-1]].reshape(len(array), dim).astype(np.float32, copy=False)


class _ResidueGroups:
    """The residues stream (sorted by accession) read alongside the sorted embeddings, one protein at a time."""

    def __init__(self, batches: Iterator[pa.RecordBatch], model: str, layer: int) -> None:
        self.rows = self._rows(batches)
        self.model, self.layer = model, layer
        self.current = next(self.rows, None)

    @staticmethod
    def _rows(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
        """(accession, positions, vectors) runs of one accession within a batch."""
        for batch in batches:
            accessions = batch.column("accession").to_pylist()
            positions = batch.column("position").to_numpy()
            vectors = batch.column("vector")
            offsets = vectors.offsets.to_numpy()
            values = vectors.values.to_numpy(zero_copy_only=False)
            start = 0
            for end in range(1, len(accessions) + 1):
                if end == len(accessions) or accessions[end] != accessions[start]:
                    dim = int(offsets[start + 1] - offsets[start])
                    yield (accessions[start], positions[start:end],
                           values[offsets[start]:offsets[end]].reshape(end - start, dim))
                    start = end

    def take(self, accession: str) -> np.ndarray | None:
        """The residue vectors of ``accession`` (None: none stored); accessions come in sorted order."""
        while self.current is not None and self.current[0] < accession:
            self.current = next(self.rows, None)  # residues of a protein without a vector in the set
        parts, positions = [], []
        while self.current is not None and self.current[0] == accession:
            positions.append(self.current[1])
            parts.append(self.current[2])
            self.current = next(self.rows, None)
        if not parts:
            return None
        positions = np.concatenate(positions)
        if not np.array_equal(positions, np.arange(1, len(positions) + 1)):
            raise ProtisoError(f"{self.model} layer {self.layer}: the residue vectors of {accession} do not run "
                               "1..n once each (stored by more than one run?)")
        return np.concatenate(parts).astype(np.float32, copy=False)


def _residue_groups(wh: Warehouse, model: str, layer: int, control: str = "none") -> _ResidueGroups:
    return _ResidueGroups(_stream(wh, "export_residues", {"model": model, "layer": layer, "control": control}),
                          model, layer)
