"""The memory budget of protiso's long warehouse steps (``--memory-budget``, default 4 GiB).

A budget bounds what protiso itself holds at once: vectors kept in RAM (beyond half the budget they
go to a memory-mapped temporary file instead), chunks of rows converted to float64, dim x dim
statistics, per-vector bookkeeping. DuckDB's own buffers come on top (its ``memory_limit`` setting).
Sizes read as bytes with an optional unit: ``4GiB``, ``512MiB``, ``2GB``, ``800M`` (M, G, K alone
are binary units), ``1e9``.
"""

from __future__ import annotations

import re

from protiso.errors import ProtisoError

DEFAULT_MEMORY_BUDGET = 4 * 2**30
MINIMUM_MEMORY_BUDGET = 64 * 2**20
_UNITS = {"": 1, "b": 1, "k": 2**10, "kib": 2**10, "kb": 10**3, "m": 2**20, "mib": 2**20, "mb": 10**6,
          "g": 2**30, "gib": 2**30, "gb": 10**9, "t": 2**40, "tib": 2**40, "tb": 10**12}
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-z]*)\s*", re.I)


def parse_memory_budget(value: str | int | float | None) -> int:
    """Bytes of a budget given as a number of bytes or a size such as ``4GiB``; None is the default."""
    if value is None:
        return DEFAULT_MEMORY_BUDGET
    if isinstance(value, (int, float)):
        size = float(value)
    else:
        match = _SIZE.fullmatch(value)
        if match is None or match.group(2).lower() not in _UNITS:
            raise ProtisoError(f"--memory-budget: cannot read {value!r} as a size (e.g. 4GiB, 512MiB, 2GB)")
        size = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if size < MINIMUM_MEMORY_BUDGET:
        raise ProtisoError(f"--memory-budget must be at least {format_bytes(MINIMUM_MEMORY_BUDGET)}, "
                           f"got {format_bytes(size)}")
    return int(size)


def format_bytes(size: float) -> str:
    """``1.5 GiB``-style text of a byte count."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"
