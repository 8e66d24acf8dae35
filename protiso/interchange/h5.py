"""HDF5 files as bio_embeddings and the ProtTrans notebooks write them, read and written.

One dataset per protein at the top level (1-D: a per-protein vector; 2-D: a per-residue matrix), keyed
by sequence MD5 or by an id, with an ``original_id`` attribute where the tool keeps one. ``H5Writer``
(``protiso export -o FILE.h5``) writes the same layout keyed by accession, so an export imports back
exactly. docs/architecture.md (module notes) has the layout, the key escaping and the read path.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from protiso.errors import ProtisoError
from protiso.interchange.ids import names_for
from protiso.interchange.source import Record, layer_number

ORIGINAL_ID = "original_id"
GLOBAL_ATTR = "protiso_global"
META = ("model", "layer", "embedding_set", "pooling")


def key_for(accession: str) -> str:
    """The HDF5 key of ``accession``: injective, ``%`` -> ``%25`` and ``/`` -> ``%2F`` (``.`` and ``..``, which
    name groups, escaped whole)."""
    key = accession.replace("%", "%25").replace("/", "%2F")
    return key.replace(".", "%2E") if key in (".", "..") else key


def accession_for(key: str) -> str | None:
    """The accession a ``key_for`` key stands for, or None when the key has no escape in it."""
    if not _ESCAPE.search(key):
        return None
    return _ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), key)


_ESCAPE = re.compile(r"%(25|2F|2E)")


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = text.replace("Unable to synchronously open file ", "").replace("Unable to open file ", "")
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


class H5Source:
    """An HDF5 file with one dataset per protein."""

    format = "h5"

    def __init__(self, path: Path) -> None:
        # lazy: h5py only where an HDF5 file is read or written
        import h5py

        self.path = path
        try:
            with h5py.File(path, "r") as handle:
                self.keys = list(handle.keys())
                attrs = {name: handle.attrs[name] for name in META if name in handle.attrs}
        except OSError as error:
            raise ProtisoError(f"{path}: not a readable HDF5 file ({_reason(error)})") from None
        if not self.keys:
            raise ProtisoError(f"{path}: holds no datasets")
        self.pooling: str | None = _text(attrs["pooling"]) if "pooling" in attrs else None
        self.layer: int | None = layer_number(attrs["layer"], f"{path}: attribute layer") if "layer" in attrs \
            else None

    def count(self) -> int:
        return len(self.keys)

    def records(self) -> Iterator[Record]:
        # lazy: h5py only where an HDF5 file is read or written
        import h5py
        from h5py import h5a, h5d, h5s

        try:
            handle = h5py.File(self.path, "r")
        except OSError as error:
            raise ProtisoError(f"{self.path}: not a readable HDF5 file ({_reason(error)})") from None
        with handle:
            fid = handle.id
            for key in self.keys:
                try:
                    dataset = h5d.open(fid, key.encode())
                except (KeyError, ValueError, TypeError, OSError, RuntimeError) as error:
                    raise ProtisoError(_unopenable(self.path, handle, key, error)) from None
                try:
                    record = self._record(key, dataset, h5a, h5s)
                except OSError as error:
                    raise ProtisoError(f"{self.path}: dataset {key!r} cannot be read ({_reason(error)})") from None
                yield record

    def _record(self, key: str, dataset, h5a, h5s) -> Record:
        unescaped = accession_for(key)
        names = names_for(key) if unescaped is None else [unescaped, *names_for(key)]
        record = Record(self.path, key, tuple(dict.fromkeys(names)))
        dtype = dataset.dtype
        if dtype.kind not in "fiu":
            raise ProtisoError(f"{record.where()}: holds {dtype}, not numbers")
        shape = dataset.shape
        values = np.empty(shape, dtype=dtype)
        dataset.read(h5s.ALL, h5s.ALL, values)
        if len(shape) == 1:
            record.global_[None] = values
        elif len(shape) == 2:
            record.residues[None] = values
            stored = _read_attr(dataset, GLOBAL_ATTR, h5a)
            if stored is not None:
                record.global_[None] = np.asarray(stored)
        else:
            raise ProtisoError(f"{record.where()}: a {len(shape)}-D dataset {shape}; expected 1-D (per protein) "
                               "or 2-D (per residue)")
        return record

    def more_names(self, records: list[Record]) -> list[tuple[str, ...]]:
        """The names in the ``original_id`` attributes of records whose keys matched nothing."""
        # lazy: h5py only where an HDF5 file is read or written
        import h5py
        from h5py import h5a, h5d

        out = []
        with h5py.File(self.path, "r") as handle:
            for record in records:
                original = _read_attr(h5d.open(handle.id, record.label.encode()), ORIGINAL_ID, h5a)
                out.append(() if original is None else tuple(names_for(_text(original))))
        return out


def _unopenable(path: Path, handle, key: str, error: BaseException) -> str:
    """Why dataset ``key`` cannot be opened: a group, a link that leads nowhere, or HDF5's reason."""
    # lazy: h5py only where an HDF5 file is read or written
    import h5py

    try:
        link = handle.get(key, getlink=True)
    except (KeyError, ValueError, TypeError, OSError, RuntimeError):
        link = None
    if isinstance(link, h5py.SoftLink):
        return f"{path}: {key!r} is a soft link to {link.path}, which holds no dataset"
    if isinstance(link, h5py.ExternalLink):
        return f"{path}: {key!r} is an external link to {link.filename}:{link.path}, which cannot be read"
    try:
        if handle.get(key, getclass=True) is h5py.Group:
            return f"{path}: {key!r} is a group; expected one dataset per protein at the top level"
    except (KeyError, ValueError, TypeError, OSError, RuntimeError):
        pass
    return f"{path}: dataset {key!r} cannot be read ({_reason(error)})"


def _read_attr(dataset, name: str, h5a) -> object | None:
    try:
        attr = h5a.open(dataset, name.encode())
    except KeyError:
        return None
    out = np.zeros(attr.shape, dtype=attr.dtype)
    attr.read(out)
    return out[()] if attr.shape == () else out


class H5Writer:
    """Writes one dataset per accession (see the module docstring).

    HDF5 writes through ``_WriteOnce``, a Python file that keeps the first write error (ENOSPC on a
    full disk) and accepts, without writing, what follows: HDF5 itself never sees an error. Its own
    handling of one (each object it then frees retries the failed write) printed thousands of
    tracebacks and ended in a segmentation fault; instead ``close`` raises the error once.
    """

    suffix = ".h5"
    row_overhead = 2048  # bytes per protein besides its vectors (a dataset's header, its attributes)

    def __init__(self, path: Path, meta: dict[str, object], *, dim: int, rows: int, residues: bool) -> None:
        # lazy: h5py only where an HDF5 file is read or written
        import h5py

        self.sink = _WriteOnce(path)
        self.file = h5py.File(self.sink, "w")
        for name, value in meta.items():
            if value is not None:
                self.file.attrs[name] = value
        self.dim = dim

    def add(self, accessions: list[str], hashes: list[str], vectors: np.ndarray,
            residues: list[np.ndarray | None] | None = None) -> None:
        for row, accession in enumerate(accessions):
            matrix = None if residues is None else residues[row]
            data = vectors[row] if matrix is None else matrix
            dataset = self.file.create_dataset(key_for(accession), data=data)
            dataset.attrs[ORIGINAL_ID] = accession
            if matrix is not None:
                dataset.attrs[GLOBAL_ATTR] = vectors[row]
        self.sink.raise_error()  # stop at the first failed write rather than write the rest into nothing

    def close(self) -> None:
        try:
            self.file.close()
        finally:
            self.sink.close()


class _WriteOnce(io.RawIOBase):
    """A binary file whose first write error is kept (``raise_error``, ``close``) while later writes are dropped."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w+b", buffering=1 << 20)
        self.error: OSError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.handle.readinto(buffer)

    def write(self, data) -> int:
        if self.error is None:
            try:
                self.handle.write(data)
            except OSError as error:
                self.error = error
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.handle.seek(offset, whence)

    def tell(self) -> int:
        return self.handle.tell()

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self.handle.truncate(size)
            except OSError as error:
                self.error = error
        return self.handle.tell() if size is None else size

    def flush(self) -> None:
        if self.error is None and not self.handle.closed:
            try:
                self.handle.flush()
            except OSError as error:
                self.error = error

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
            if self.error is None:
                try:
                    os.fsync(self.handle.fileno())
                except OSError as error:
                    self.error = error
            try:
                self.handle.close()
            except OSError as error:
                self.error = self.error or error
        finally:
            super().close()
        self.raise_error()
