"""User-given SQL filters (``--where``): exactly one boolean expression, never a second statement.

``check_predicate(text, option)`` parses the text with DuckDB's own parser, both wrapped in
parentheses and bare, in ``SELECT * FROM t WHERE …``; each must be exactly one SELECT statement.
So ``organism LIKE 'Homo%'`` passes, while ``TRUE)); DROP TABLE isotropy; --`` or ``x; y`` (a
second statement) and ``x) OR (y`` (text that only parses inside the caller's parentheses) are
one-line errors. Whether the columns exist is left to the query that uses the predicate.
"""

from __future__ import annotations

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
