"""Which reader a path gets: ``detect_format`` and ``open_source``, over the format modules."""

from __future__ import annotations

from pathlib import Path

from protiso.errors import ProtisoError
from protiso.interchange import arrays
from protiso.interchange.esm import EsmSource
from protiso.interchange.h5 import H5Source
from protiso.interchange.source import FORMATS, Source

H5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")
TABLE_SUFFIXES = (".parquet", ".pq", ".arrow", ".feather", ".ipc")


def detect_format(path: Path) -> str:
    """The format of ``path`` from its kind and name: a directory is ESM output, else by suffix."""
    if path.is_dir():
        return "esm"
    name = path.name.lower()
    if name.endswith(H5_SUFFIXES):
        return "h5"
    if name.endswith(".npy"):
        return "npy"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith(TABLE_SUFFIXES):
        return "parquet"
    if name.endswith(".pt"):
        raise ProtisoError(f"{path}: one .pt file; pass the directory ESM extract.py wrote (one LABEL.pt per protein)")
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic == b"\x89HDF\r\n\x1a\n":
        return "h5"
    if magic.startswith(b"\x93NUMPY"):
        return "npy"
    if magic.startswith(b"PK"):
        return "npz"
    if magic.startswith((b"PAR1", b"ARROW1")):
        return "parquet"
    raise ProtisoError(f"{path}: cannot tell the format from its name or first bytes; pass --format "
                       f"({', '.join(FORMATS[1:])})")


def open_source(path: str | Path, fmt: str = "auto", ids: str | Path | None = None) -> Source:
    """Open ``path`` as ``fmt`` (``auto``: ``detect_format``); ``ids``: the id list of a ``.npy`` matrix."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ProtisoError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if not path.exists():
        raise ProtisoError(f"{path}: no such file or directory")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "npy" and path.is_file() and detect_format(path) == "npz":
        fmt = "npz"  # --format npy covers the numpy family
    if ids is not None and fmt != "npy":
        raise ProtisoError(f"{path}: --ids is for a .npy matrix; {fmt} files carry their ids")
    if fmt == "esm":
        return EsmSource(path)
    if path.is_dir():
        raise ProtisoError(f"{path}: a directory; --format {fmt} reads one file")
    if fmt == "h5":
        return H5Source(path)
    if fmt == "npy":
        return arrays.NpySource(path, None if ids is None else Path(ids))
    if fmt == "npz":
        return arrays.NpzSource(path)
    return arrays.TableSource(path)
