"""Vectors in plain arrays: a ``.npy`` matrix with an id list, ``.npz``, and Parquet / Arrow tables.

Readers: ``.npy`` (memory-mapped, ids from ``--ids`` or ``STEM.txt`` / ``STEM.ids``), ``.npz`` (the one 1-D
string array holds the ids, the one 2-D numeric array the vectors; no pickle), Parquet / Arrow (the id
column by a list of usual names, the one list column per protein or per residue); all stream in blocks.
Writers for ``protiso export``: ``NpzWriter`` and ``ParquetWriter``. docs/architecture.md (module notes)
has the column and member rules.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.lib.format as npformat
import pyarrow as pa
import pyarrow.parquet as pq

from protiso.errors import ProtisoError
from protiso.interchange.ids import names_for
from protiso.interchange.source import Record, layer_number
from protiso.warehouse import contracts

BLOCK_ROWS = 4096
ID_COLUMNS = ("accession", "id", "protein_id", "identifier", "label", "name", "key", "original_id", "seq_hash", "md5")


def _records(path: Path, ids: list[str], block: np.ndarray, residues: list[np.ndarray | None] | None = None
             ) -> Iterator[Record]:
    for row, label in enumerate(ids):
        record = Record(path, label, tuple(names_for(label)))
        if block is not None:
            record.global_[None] = block[row]
        if residues is not None and residues[row] is not None:
            record.residues[None] = residues[row]
        yield record


def _texts(values: list) -> list[str]:
    """Ids as text: ``bytes`` ids (``dtype=S``) are decoded, not written as ``"b'P12345'"``."""
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _read_ids(path: Path) -> list[str]:
    if path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            if "allow_pickle" in reason:
                reason = "an array of Python objects; save the ids as strings (np.array(ids, dtype=str))"
            raise ProtisoError(f"{path}: not a readable id list ({reason})") from None
        if values.ndim != 1 or values.dtype.kind not in "US":
            raise ProtisoError(f"{path}: an id list must be a 1-D array of strings, got {values.dtype} {values.shape}")
        return _texts(values.tolist())
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.strip() for line in handle]
    except UnicodeDecodeError as error:
        raise ProtisoError(f"{path}: not UTF-8 text (byte {error.start + 1}); an id list holds one id per line") from None
    except OSError as error:
        raise ProtisoError(f"{path}: cannot be read ({error.strerror or error})") from None
    while lines and not lines[-1]:
        lines.pop()
    if "" in lines:
        raise ProtisoError(f"{path}: line {lines.index('') + 1} is empty; an id list holds one id per line")
    return lines


class NpySource:
    """A ``.npy`` matrix and its id list."""

    format = "npy"
    pooling = None
    layer = None

    def __init__(self, path: Path, ids: Path | None) -> None:
        self.path = path
        try:
            self.matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:  # EOFError: an empty file (click would say "Aborted!")
            reason = (str(error).strip().splitlines() or ["empty file"])[0]
            if "pickle" in reason:  # numpy's advice to load it unsafely is not protiso's
                reason = "it holds Python objects (dtype=object), which protiso does not load; save numbers"
            raise ProtisoError(f"{path}: not a readable .npy file ({reason})") from None
        if self.matrix.ndim != 2:
            raise ProtisoError(f"{path}: expected an (N, dim) matrix, got shape {self.matrix.shape}")
        if self.matrix.shape[0] == 0:
            raise ProtisoError(f"{path}: holds no records (0 rows); nothing to import")
        if ids is None:
            found = [p for p in (path.with_suffix(".txt"), path.with_suffix(".ids")) if p.is_file()]
            if not found:
                raise ProtisoError(f"{path}: no id list; pass --ids FILE (one id per line) or put "
                                   f"{path.with_suffix('.txt').name} beside it")
            ids = found[0]
        if not ids.is_file():
            raise ProtisoError(f"{ids}: no such id list")
        self.ids = _read_ids(ids)
        if len(self.ids) != self.matrix.shape[0]:
            raise ProtisoError(f"{ids}: {len(self.ids):,} ids for the {self.matrix.shape[0]:,} rows of {path.name}")

    def count(self) -> int:
        return len(self.ids)

    def records(self) -> Iterator[Record]:
        for start in range(0, len(self.ids), BLOCK_ROWS):
            block = np.asarray(self.matrix[start:start + BLOCK_ROWS])
            yield from _records(self.path, self.ids[start:start + BLOCK_ROWS], block)


def _member_header(archive: zipfile.ZipFile, name: str, path: Path):
    with archive.open(name) as handle:
        version = npformat.read_magic(handle)
        reader = npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0
        shape, fortran, dtype = reader(handle)
    return shape, fortran, dtype


class NpzSource:
    """An ``np.savez`` archive of ids and a matrix."""

    format = "npz"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.archive = zipfile.ZipFile(path)
            headers = {name[:-4]: _member_header(self.archive, name, path)
                       for name in self.archive.namelist() if name.endswith(".npy")}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise ProtisoError(f"{path}: not a readable .npz archive ({str(error).splitlines()[0]})") from None
        if any(dtype.hasobject for _, _, dtype in headers.values()):
            objects = sorted(name for name, (_, _, dtype) in headers.items() if dtype.hasobject)
            raise ProtisoError(f"{path}: array(s) {', '.join(objects)} need pickle; save ids as strings "
                               "(np.array(ids, dtype=str))")
        id_arrays = [n for n, (shape, _, dtype) in headers.items() if len(shape) == 1 and dtype.kind in "US"]
        matrices = [n for n, (shape, _, dtype) in headers.items() if len(shape) == 2 and dtype.kind in "fiu"]
        if len(id_arrays) != 1 or len(matrices) != 1:
            listing = ", ".join(f"{n} {dtype} {shape}" for n, (shape, _, dtype) in headers.items()) or "nothing"
            raise ProtisoError(f"{path}: expected one 1-D array of string ids and one 2-D matrix, found {listing}")
        self.ids = _texts(self._load(id_arrays[0]).tolist())
        if not self.ids:
            raise ProtisoError(f"{path}: holds no records ({id_arrays[0]} is empty); nothing to import")
        self.matrix_name = matrices[0]
        self.shape, self.fortran, self.dtype = headers[self.matrix_name]
        if len(self.ids) != self.shape[0]:
            raise ProtisoError(f"{path}: {len(self.ids):,} ids ({id_arrays[0]}) for the {self.shape[0]:,} rows "
                               f"of {self.matrix_name}")
        self.pooling = str(self._load("pooling")[()]) if "pooling" in headers else None
        self.layer = layer_number(self._load("layer"), f"{path}: layer") if "layer" in headers else None

    def _load(self, name: str) -> np.ndarray:
        with self.archive.open(name + ".npy") as handle:
            return npformat.read_array(handle, allow_pickle=False)

    def count(self) -> int:
        return len(self.ids)

    def records(self) -> Iterator[Record]:
        rows, dim = self.shape
        if self.fortran:  # column-major: only readable whole
            matrix = self._load(self.matrix_name)
            for start in range(0, rows, BLOCK_ROWS):
                yield from _records(self.path, self.ids[start:start + BLOCK_ROWS],
                                    np.ascontiguousarray(matrix[start:start + BLOCK_ROWS]))
            return
        with self.archive.open(self.matrix_name + ".npy") as handle:
            version = npformat.read_magic(handle)
            (npformat.read_array_header_1_0 if version == (1, 0) else npformat.read_array_header_2_0)(handle)
            for start in range(0, rows, BLOCK_ROWS):
                count = min(BLOCK_ROWS, rows - start)
                data = handle.read(count * dim * self.dtype.itemsize)
                if len(data) != count * dim * self.dtype.itemsize:
                    raise ProtisoError(f"{self.path}: {self.matrix_name} is truncated at row {start:,}")
                block = np.frombuffer(data, dtype=self.dtype).reshape(count, dim)
                yield from _records(self.path, self.ids[start:start + count], block)


def _is_list(kind: pa.DataType) -> bool:
    return pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)


def _is_string(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _offsets(array: pa.Array) -> np.ndarray:
    if pa.types.is_fixed_size_list(array.type):
        return (array.offset + np.arange(len(array) + 1)) * array.type.list_size
    return array.offsets.to_numpy()


class TableSource:
    """A Parquet or Arrow IPC file with an id column and a vector column."""

    format = "parquet"

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if _magic(path) == b"PAR1":
                self.parquet = pq.ParquetFile(path)
                schema = self.parquet.schema_arrow
                self.rows = self.parquet.metadata.num_rows
            else:
                self.parquet = None
                self.ipc = _open_ipc(path)
                schema = self.ipc.schema
                self.rows = None
        except (pa.ArrowException, OSError) as error:
            raise ProtisoError(f"{path}: not a readable Parquet or Arrow file ({str(error).splitlines()[0]})") from None
        if self.rows == 0:
            raise ProtisoError(f"{path}: holds no records (0 rows); nothing to import")
        strings = [f.name for f in schema if _is_string(f.type)]
        named = [name for name in ID_COLUMNS if name in strings]
        if not named and len(strings) != 1:
            raise ProtisoError(f"{path}: no id column (a string column named {', '.join(ID_COLUMNS[:3])}, ... "
                               f"or the only string column); string columns: {', '.join(strings) or 'none'}")
        self.id_column = named[0] if named else strings[0]
        lists = [f for f in schema if _is_list(f.type)]
        flat = [f.name for f in lists if not _is_list(f.type.value_type)]
        nested = [f.name for f in lists if _is_list(f.type.value_type)]
        if len(flat) > 1 or len(nested) > 1 or not lists:
            raise ProtisoError(f"{path}: expected one list column of vectors (and at most one list<list> of "
                               f"residue vectors); list columns: {', '.join(f.name for f in lists) or 'none'}")
        self.vector_column = flat[0] if flat else None
        self.residue_column = nested[0] if nested else None
        meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
        self.pooling = meta.get("protiso.pooling")
        self.layer = layer_number(meta["protiso.layer"], f"{path}: protiso.layer") if "protiso.layer" in meta \
            else None

    def count(self) -> int | None:
        return self.rows

    def _batches(self) -> Iterator[pa.RecordBatch]:
        columns = [c for c in (self.id_column, self.vector_column, self.residue_column) if c]
        if self.parquet is not None:
            yield from self.parquet.iter_batches(batch_size=BLOCK_ROWS, columns=columns)
            return
        if isinstance(self.ipc, pa.ipc.RecordBatchFileReader):
            batches = (self.ipc.get_batch(i) for i in range(self.ipc.num_record_batches))
        else:
            batches = iter(self.ipc)
        for batch in batches:
            yield batch.select(columns)

    def records(self) -> Iterator[Record]:
        rows = 0
        try:
            for batch in self._batches():
                ids = batch.column(self.id_column)
                if ids.null_count:
                    raise ProtisoError(f"{self.path}: column {self.id_column} has an empty (NULL) id")
                labels = _texts(ids.to_pylist())
                rows += len(labels)
                block = None if self.vector_column is None else \
                    _vectors(batch.column(self.vector_column), labels, self.path)
                residues = None if self.residue_column is None else \
                    _residues(batch.column(self.residue_column), labels, self.path)
                yield from _records(self.path, labels, block, residues)
        except (pa.ArrowException, OSError) as error:  # OSError: a truncated Arrow stream
            raise ProtisoError(f"{self.path}: cannot be read ({str(error).splitlines()[0]})") from None
        if rows == 0:
            raise ProtisoError(f"{self.path}: holds no records (0 rows); nothing to import")


def _magic(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(4)


def _open_ipc(path: Path):
    source = pa.memory_map(str(path))
    try:
        return pa.ipc.open_file(source)
    except pa.ArrowInvalid:
        return pa.ipc.open_stream(pa.memory_map(str(path)))


def _leaf(values: pa.Array, path: Path) -> np.ndarray:
    if values.null_count:
        raise ProtisoError(f"{path}: a vector has NULL components")
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
        raise ProtisoError(f"{path}: vectors must hold numbers, got {values.type}")
    return values.to_numpy(zero_copy_only=False)


def _vectors(column: pa.Array, labels: list[str], path: Path) -> list[np.ndarray]:
    """Per-row 1-D views of a list<number> column (a NULL vector is an error naming its id)."""
    if column.null_count:
        row = int(np.flatnonzero(~column.is_valid().to_numpy(zero_copy_only=False))[0])
        raise ProtisoError(f"{path}: record {labels[row]!r}: the vector is NULL")
    offsets = _offsets(column)
    leaf = _leaf(column.values, path)
    return [leaf[offsets[i]:offsets[i + 1]] for i in range(len(column))]


def _residues(column: pa.Array, labels: list[str], path: Path) -> list[np.ndarray | None]:
    """Per-row (residues, dim) matrices of a list<list<number>> column (NULL rows: None)."""
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    outer = _offsets(column)
    inner_array = column.values
    if inner_array.null_count:
        raise ProtisoError(f"{path}: a residue vector is NULL")
    inner = _offsets(inner_array)
    leaf = _leaf(inner_array.values, path)
    out: list[np.ndarray | None] = []
    for row in range(len(column)):
        if not valid[row]:
            out.append(None)
            continue
        first, last = int(outer[row]), int(outer[row + 1])
        lengths = np.diff(inner[first:last + 1])
        if last == first or (lengths != lengths[0]).any():
            raise ProtisoError(f"{path}: record {labels[row]!r}: residue vectors are empty or of different lengths")
        out.append(leaf[inner[first]:inner[last]].reshape(last - first, int(lengths[0])))
    return out


class NpzWriter:
    """Streams an (N, dim) float32 matrix and its ids into an ``.npz`` (see the module docstring)."""

    suffix = ".npz"
    row_overhead = 64  # bytes per protein besides its vector (its id)

    def __init__(self, path: Path, meta: dict[str, object], *, dim: int, rows: int, residues: bool) -> None:
        if residues:
            raise ProtisoError(f"{path}: .npz holds one matrix; export per-residue vectors to .h5 or .parquet")
        self.archive = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.meta, self.dim, self.rows = meta, dim, rows
        self.ids: list[str] = []
        self.handle = self.archive.open("embeddings.npy", "w", force_zip64=True)
        npformat.write_array_header_2_0(self.handle, {"descr": npformat.dtype_to_descr(np.dtype("<f4")),
                                                      "fortran_order": False, "shape": (rows, dim)})

    def add(self, accessions: list[str], hashes: list[str], vectors: np.ndarray, residues: None = None) -> None:
        self.handle.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
        self.ids.extend(accessions)

    def close(self) -> None:
        try:
            self.handle.close()
            arrays = {"ids": np.array(self.ids, dtype=str)}
            arrays.update({k: np.array(v) for k, v in self.meta.items() if v is not None})
            for name, value in arrays.items():
                with self.archive.open(name + ".npy", "w", force_zip64=True) as handle:
                    npformat.write_array(handle, value, allow_pickle=False)
            self.archive.close()
        except BaseException:  # a full disk: close the file once, quietly (ZipFile.__del__ would retry, noisily)
            sink, self.archive.fp = self.archive.fp, None
            if sink is not None:
                try:
                    sink.close()
                except OSError:
                    pass
            raise


class ParquetWriter:
    """Writes accession, seq_hash, embedding [, residues] (see the module docstring)."""

    suffix = ".parquet"
    row_overhead = 128  # bytes per protein besides its vector (accession, seq_hash, offsets)

    def __init__(self, path: Path, meta: dict[str, object], *, dim: int, rows: int, residues: bool) -> None:
        fields = [("accession", pa.string()), ("seq_hash", pa.string()), ("embedding", contracts.vector_type(dim))]
        if residues:
            fields.append(("residues", pa.list_(contracts.vector_type(dim))))
        metadata = {f"protiso.{k}": str(v) for k, v in meta.items() if v is not None}
        self.schema = pa.schema(fields, metadata=metadata)
        options = contracts.write_options("embeddings", self.schema)   # vectors stored as in the warehouse's parts
        self.writer = pq.ParquetWriter(path, self.schema, compression=options["compression"] | {"residues": "none"})

    def add(self, accessions: list[str], hashes: list[str], vectors: np.ndarray,
            residues: list[np.ndarray | None] | None = None) -> None:
        columns = [pa.array(accessions, pa.string()), pa.array(hashes, pa.string()), contracts.vector_array(vectors)]
        if "residues" in self.schema.names:
            columns.append(_nested(residues or [None] * len(accessions)))
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def _nested(matrices: list[np.ndarray | None]) -> pa.ListArray:
    counts = np.array([0 if m is None else len(m) for m in matrices], dtype=np.int32)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    present = [m for m in matrices if m is not None]
    dim = present[0].shape[1] if present else 0
    inner = contracts.vector_array(np.concatenate(present) if present else np.zeros((0, dim), np.float32))
    mask = pa.array([m is None for m in matrices])
    return pa.ListArray.from_arrays(offsets, inner, mask=mask)
