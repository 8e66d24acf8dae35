"""Where protiso's SQL and report templates live, installed or in a source checkout.

``sql/`` and ``reports/`` sit at the top of the repository; a wheel ships them inside the
package as ``protiso/sql`` and ``protiso/reports`` (see pyproject.toml's package-dir).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

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


def sql_text(folder: str, name: str) -> str:
    """The text of ``sql/<folder>/<name>``."""
    return (root("sql") / folder / name).read_text(encoding="utf-8")
