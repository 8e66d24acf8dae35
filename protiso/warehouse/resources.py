"""Where protiso's SQL and report templates live, installed or in a source checkout, and the SQL's
``{{ name }}`` placeholders filled from the metric registry (``protiso.metrics.registry``).

``sql/`` and ``reports/`` sit at the top of the repository; a wheel ships them inside the
package as ``protiso/sql`` and ``protiso/reports`` (see pyproject.toml's package-dir).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from protiso.errors import ProtisoError
from protiso.metrics import registry

_PACKAGE = Path(__file__).resolve().parent.parent  # the protiso package


@cache
def root(kind: str) -> Path:
    """The directory holding ``kind`` (``sql`` or ``reports``)."""
    for candidate in (_PACKAGE / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"protiso's {kind}/ directory is missing from the installation")


def sql_files(folder: str) -> list[str]:
    """Names of the ``.sql`` files in ``sql/<folder>``, sorted."""
    directory = root("sql") / folder
    if not directory.is_dir():
        return []
    return sorted(p.name for p in directory.glob("*.sql"))


_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def sql_source(folder: str, name: str) -> str:
    """The text of ``sql/<folder>/<name>`` as written, placeholders unfilled."""
    return (root("sql") / folder / name).read_text(encoding="utf-8")


def sql_text(folder: str, name: str, **values: str) -> str:
    """The text of ``sql/<folder>/<name>``, its ``{{ name }}`` placeholders filled from the active metric
    registry (``Registry.placeholders``), ``values`` and ``sql/fragments/<name>.sql`` (shared column lists)."""
    text = sql_source(folder, name)
    if "{{" not in text:
        return text
    filled = {**registry.active().placeholders(), **values}

    def fill(match: re.Match) -> str:
        if match.group(1) not in filled and f"{match.group(1)}.sql" in sql_files("fragments"):
            return sql_source("fragments", f"{match.group(1)}.sql").rstrip("\n")
        if match.group(1) not in filled:
            raise ProtisoError(f"sql/{folder}/{name}: unknown placeholder {match.group(0)}")
        return filled[match.group(1)]

    return _PLACEHOLDER.sub(fill, text)
