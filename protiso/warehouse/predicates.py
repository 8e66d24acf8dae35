"""User-given filters: ``--where`` (exactly one boolean SQL expression, never a second statement) and
the ``--accessions`` list (``read_accessions``).

``check_predicate(text, option)`` parses the text with DuckDB's own parser, both wrapped in
parentheses and bare, in ``SELECT * FROM t WHERE …``; each must be exactly one SELECT statement.
So ``organism LIKE 'Homo%'`` passes, while ``TRUE)); DROP TABLE isotropy; --`` or ``x; y`` (a
second statement) and ``x) OR (y`` (text that only parses inside the caller's parentheses) are
one-line errors. Whether the columns exist is left to the query that uses the predicate.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from protiso.errors import ProtisoError


def check_predicate(text: str | None, option: str = "--where") -> str | None:
    """``text`` stripped if it is one boolean SQL expression (None stays None); else a ProtisoError."""
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise ProtisoError(f"{option} needs a boolean SQL expression, e.g. \"organism LIKE 'Homo%'\"")
    expression = text.strip()
    for query in (f"SELECT * FROM t WHERE ({expression})", f"SELECT * FROM t WHERE {expression}"):
        try:
            statements = duckdb.extract_statements(query)
        except duckdb.Error as error:
            reason = str(error).splitlines()[0]
            raise ProtisoError(f"{option} must be one boolean SQL expression: {reason}") from None
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise ProtisoError(f"{option} must be one boolean SQL expression, not several statements")
    return expression


_HEADER = re.compile(r"^(?:sp|tr)\|([^|\s]+)\|")
_FIELD = re.compile(r"[\s,;]+")


def read_accessions(spec: str | Sequence[str] | None) -> list[str] | None:
    """The ``--accessions`` list: a file (one accession a line) or a sequence of accessions.

    In a file, blank lines and lines starting with ``#`` are skipped, and each line's first word
    (up to whitespace, a comma or a semicolon, so CSV and TSV files work) is the accession, without
    quotes, a leading ``>`` or a UniProt header prefix (``sp|P12345|NAME_HUMAN`` -> ``P12345``).
    Duplicates are dropped; the order is kept.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise ProtisoError(f"--accessions {spec}: no such file")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise ProtisoError(f"--accessions {spec}: cannot read it ({error})") from None
        words = [_FIELD.split(line.strip())[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]
        source = spec
    else:
        words = [str(item).strip() for item in spec]
        source = "the accessions list"
    out = []
    for word in words:
        word = word.strip("\"'").lstrip(">")
        match = _HEADER.match(word)
        out.append(match.group(1) if match else word)
    out = list(dict.fromkeys(word for word in out if word))
    if not out:
        raise ProtisoError(f"--accessions: {source} holds no accession")
    return out
