"""Vectors of a row group (or a stretch of its rows) read straight from the file into a matrix, when stored PLAIN.

A part's vector column (``contracts``: fixed-size lists of required floats, uncompressed, no dictionary)
holds, page after page, a Thrift page header, the repetition and definition levels and then the
floats themselves, in row order. ``fill`` parses the headers (Thrift compact protocol, the few fields
needed) and reads each page's floats with one ``readinto`` into the caller's rows (any stretch of rows
of the row group): one copy, as ``np.load`` makes, instead of decoding into Arrow and copying again.
It returns False (and the caller decodes with pyarrow) for anything else: another codec or encoding, a
dictionary page, a page holding a NULL vector (its floats would no longer line up with its rows).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

_DATA, _DICTIONARY, _DATA_V2 = 0, 2, 3
_PLAIN = 0


class _Reader:
    """A Thrift compact-protocol reader over bytes: only what page headers use."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def varint(self) -> int:
        shift = out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if b < 0x80:
                return out
            shift += 7

    def int(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def struct(self) -> dict[int, object]:
        """Field id -> value (ints as ints, nested structs as dicts, other values skipped)."""
        out: dict[int, object] = {}
        field = 0
        while True:
            head = self.byte()
            if head == 0:
                return out
            kind, delta = head & 0x0F, head >> 4
            field = field + delta if delta else self.int()
            out[field] = self.value(kind)

    def value(self, kind: int) -> object:
        if kind in (1, 2):
            return kind == 1
        if kind == 3:
            return self.byte()
        if kind in (4, 5, 6):
            return self.int()
        if kind == 7:
            self.pos += 8
            return None
        if kind == 8:
            size = self.varint()
            self.pos += size
            return None
        if kind in (9, 10):
            head = self.byte()
            size = head >> 4 if head >> 4 != 15 else self.varint()
            for _ in range(size):
                self.value(head & 0x0F)
            return None
        if kind == 11:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.value(types >> 4)
                    self.value(types & 0x0F)
            return None
        if kind == 12:
            return self.struct()
        raise ValueError(f"unknown Thrift type {kind}")


def plain_chunk(meta: pq.FileMetaData, group: int, column: int) -> bool:
    """Whether column chunk ``column`` of row group ``group`` is uncompressed floats with no dictionary
    (what ``fill`` reads; a page holding a NULL vector can still make it decline)."""
    chunk = meta.row_group(group).column(column)
    return (sys.byteorder == "little" and chunk.compression == "UNCOMPRESSED" and chunk.physical_type == "FLOAT"
            and not chunk.has_dictionary_page)


def fill(path: Path, meta: pq.FileMetaData, group: int, column: int, out: np.ndarray, first: int = 0) -> bool:
    """Read the floats of rows ``first`` .. ``first + len(out)`` of column chunk ``column`` of row group
    ``group`` into ``out`` (rows x dim float32, C-contiguous); False, with ``out`` in an unknown state, when
    the chunk is not plain required floats. Pages before the rows are skipped by their headers."""
    chunk = meta.row_group(group).column(column)
    rows = meta.row_group(group).num_rows
    if (not plain_chunk(meta, group, column) or first < 0 or first + out.shape[0] > rows
            or not out.flags.c_contiguous):
        return False
    target = memoryview(out.reshape(-1)).cast("B")
    lo = first * (out.shape[1] if out.ndim == 2 else 1) * out.itemsize    # byte of the chunk's floats to start at
    hi = lo + len(target)
    seen, at, end = 0, chunk.data_page_offset, chunk.data_page_offset + chunk.total_compressed_size
    with open(path, "rb", buffering=0) as handle:
        while at < end and seen < hi:
            handle.seek(at)
            head = handle.read(256)
            reader = _Reader(head)
            try:
                header = reader.struct()
            except (IndexError, ValueError):
                return False
            kind, size = header.get(1), header.get(3)
            body = at + reader.pos
            if kind == _DATA and isinstance(header.get(5), dict) and header[5].get(2) == _PLAIN:
                handle.seek(body)
                rep = int.from_bytes(handle.read(4), "little")
                handle.seek(body + 4 + rep)
                skip = 4 + rep + 4 + int.from_bytes(handle.read(4), "little")
            elif kind == _DATA_V2 and isinstance(header.get(8), dict) and header[8].get(4) == _PLAIN:
                skip = header[8].get(5, 0) + header[8].get(6, 0)
            else:
                return False
            count = size - skip
            values = header[5].get(1) if kind == _DATA else header[8].get(1)     # levels, NULL vectors included
            nulls = header[8].get(2, 0) if kind == _DATA_V2 else 0
            if count < 0 or nulls or values is None or values * out.itemsize != count:
                return False        # a page with a NULL vector: rows and floats no longer line up
            a, b = max(seen, lo), min(seen + count, hi)       # this page's floats that ``out`` wants
            if a < b:
                handle.seek(body + skip + a - seen)
                if handle.readinto(target[a - lo:b - lo]) != b - a:
                    return False
            seen += count
            at = body + size
    return seen >= hi
