"""Opening input files (plain or gzip, by content) and telling their format.

The first non-empty line decides (``>``: fasta, ``ID   ``: dat, ``format-version:`` / ``[Term]``: obo, a
UniProt TSV header: tsv, ``go_id`` + ``name``: go-terms, ``child`` + ``parent``: go-graph), else the
extension, else the file is an unknown format. Text is UTF-8: a byte-order mark is dropped, UTF-16 is
refused, and invalid bytes reach the readers as lone surrogates so that each rejects the record holding
them (``invalid_utf8``); nothing is stored as U+FFFD.
"""

from __future__ import annotations

import gzip
import re
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
ENCODING = "utf-8-sig"        # UTF-8; a leading byte-order mark is dropped
ENCODING_ERRORS = "surrogateescape"  # an invalid byte 0xNN becomes U+DCNN, rejected by the readers
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ESCAPED = re.compile("[\udc80-\udcff]")


def _check_not_utf16(path: Path, head: bytes) -> None:
    if head[:2] in UTF16_BOMS:
        raise ProtisoError(f"{path}: the file is UTF-16 text (byte-order mark {head[:2].hex(' ').upper()}); "
                           "protiso reads UTF-8: save it as UTF-8 (e.g. Excel: 'CSV UTF-8' / 'UTF-8 text')")


def open_text(path: Path) -> IO[str]:
    """Open ``path`` as UTF-8 text (see the module docstring), decompressing gzip (recognised by its
    magic bytes, not its name)."""
    try:
        with open(path, "rb") as probe:
            head = probe.read(2)
        if head == GZIP_MAGIC:
            try:
                with gzip.open(path, "rb") as probe:
                    head = probe.read(2)
            except READ_ERRORS:
                head = b""  # a damaged gzip file: its reader reports where it breaks off
            _check_not_utf16(path, head)
            return gzip.open(path, "rt", encoding=ENCODING, errors=ENCODING_ERRORS)
        _check_not_utf16(path, head)
        return open(path, "rt", encoding=ENCODING, errors=ENCODING_ERRORS)
    except OSError as error:
        raise ProtisoError(f"{path}: cannot read: {error.strerror or error}") from None


def invalid_utf8(line: str, line_no: int) -> str | None:
    """Why ``line`` (read by ``open_text``) is not valid UTF-8: line, byte within the line and its value;
    None when it is valid."""
    if line.isascii():
        return None
    found = _ESCAPED.search(line)
    if found is None:
        return None
    byte = len(line[:found.start()].encode("utf-8", ENCODING_ERRORS)) + 1
    return (f"invalid UTF-8 at line {line_no}, byte {byte} (0x{ord(found.group()) - 0xDC00:02X}): "
            f"{shown(line.rstrip())[:80]}")


def shown(text: str) -> str:
    """``text`` with any invalid byte written as ``\\xNN`` (safe to store, print and put in Arrow)."""
    if text.isascii() or _ESCAPED.search(text) is None:
        return text
    return text.encode("utf-8", ENCODING_ERRORS).decode("utf-8", "backslashreplace")


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
