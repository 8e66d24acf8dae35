"""Opening input files (plain or gzip, by content) and telling their format.

The format is decided by the first non-empty line:

====================================  ==========
first non-empty line                  format
====================================  ==========
``>...``                              fasta
``ID   NAME ...``                     dat (UniProtKB flat file)
``format-version:`` / ``[Term]``      obo
tab-separated header with ``Entry``   tsv (UniProt TSV export)
header with ``go_id`` and ``name``    go-terms
header with ``child`` and ``parent``  go-graph
====================================  ==========

When the content says nothing, the file extension decides (``.fasta``/``.fa``/``.faa``,
``.dat``, ``.obo``), so that the reader can give a specific error; otherwise the file is
rejected as an unknown format.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO, Sequence

from protiso.errors import ProtisoError

FORMATS = ("fasta", "dat", "tsv", "go-terms", "go-graph", "obo")
GZIP_MAGIC = b"\x1f\x8b"
_EXTENSIONS = {".fasta": "fasta", ".fa": "fasta", ".faa": "fasta", ".fas": "fasta",
               ".dat": "dat", ".swiss": "dat", ".obo": "obo"}
# What reading a damaged file raises: EOFError (gzip stream cut short), BadGzipFile/OSError, zlib.error.
READ_ERRORS = (EOFError, OSError, zlib.error)


def open_text(path: Path) -> IO[str]:
    """Open ``path`` as text, decompressing gzip (recognised by its magic bytes, not its name)."""
    try:
        with open(path, "rb") as probe:
            magic = probe.read(2)
        if magic == GZIP_MAGIC:
            return gzip.open(path, "rt", encoding="utf-8", errors="replace")
        return open(path, "rt", encoding="utf-8", errors="replace")
    except OSError as error:
        raise ProtisoError(f"{path}: cannot read: {error.strerror or error}") from None


def read_error(path: Path, line: int, error: BaseException) -> ProtisoError:
    """The user-facing error for a file that breaks off or is corrupt while being read."""
    if isinstance(error, EOFError) or "gzip" in type(error).__name__.lower() or isinstance(error, zlib.error):
        what = "truncated or corrupt gzip file"
    else:
        what = "read error"
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return ProtisoError(f"{path}: {what} near line {line + 1}: {detail}; nothing was ingested")


def first_line(path: Path) -> str:
    """The first non-empty line of ``path`` (without its newline), or '' for an empty file."""
    line_no = 0
    with open_text(path) as handle:
        try:
            for line in handle:
                line_no += 1
                if line.strip():
                    return line.rstrip("\r\n")
        except READ_ERRORS as error:
            raise read_error(path, line_no, error) from None
    return ""


def _header_columns(line: str) -> list[str]:
    return [" ".join(c.split()).lower() for c in line.split("\t")]


def format_from_content(line: str) -> str | None:
    """The format a first non-empty line announces, or None."""
    if line.startswith(">"):
        return "fasta"
    if line.startswith("ID   ") and len(line.split()) >= 2:
        return "dat"
    if line.startswith(("format-version:", "[Term]", "[Typedef]")):
        return "obo"
    columns = _header_columns(line)
    if "entry" in columns:
        return "tsv"
    if "go_id" in columns and "name" in columns:
        return "go-terms"
    if "child" in columns and "parent" in columns:
        return "go-graph"
    return None


def format_from_name(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _EXTENSIONS.get(suffixes[-1]) if suffixes else None


def detect_format(path: Path) -> str:
    """The format of ``path`` by content, else by extension; ProtisoError when neither tells."""
    path = Path(path)
    if not path.is_file():
        raise ProtisoError(f"{path}: no such file")
    line = first_line(path)
    found = format_from_content(line) or format_from_name(path)
    if found is None:
        shown = repr(line[:60]) if line else "the file is empty"
        raise ProtisoError(
            f"{path}: unknown format (first line: {shown}); expected FASTA, UniProt .dat or TSV, "
            f"GO terms/graph TSV or OBO, or give --format {'|'.join(FORMATS)}"
        )
    return found


def detect_formats(paths: Sequence[Path], fmt: str | None = None) -> list[str]:
    """The format of each path: ``fmt`` for all when given (and not 'auto'), else detected per file."""
    if fmt not in (None, "auto") and fmt not in FORMATS:
        raise ProtisoError(f"unknown format {fmt!r}; choose auto or one of {', '.join(FORMATS)}")
    out = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise ProtisoError(f"{path}: no such file")
        out.append(detect_format(path) if fmt in (None, "auto") else fmt)
    return out
