"""What a user's SQL does, before protiso runs it: whether it writes, and whether it changes protiso's own objects.

``protiso sql`` opens the warehouse read-only when every statement only reads (so several can run at
once, beside the plain ``duckdb -readonly`` shell, on a warehouse this user cannot write), and
refuses statements that would change protiso's own tables, views and macros (``runs``, ``parts``,
``proteins``, ...) unless asked to. DuckDB splits and types the statements
(``duckdb.extract_statements``); the object a statement changes is the first name after its leading
keywords, read from DuckDB's tokenizer, so comments, quoting and schema prefixes do not hide it.
"""

from __future__ import annotations

import duckdb

from protiso.errors import ProtisoError

T = duckdb.StatementType
WRITES = {T.INSERT, T.UPDATE, T.CREATE, T.DELETE, T.ALTER, T.DROP, T.MERGE_INTO, T.CREATE_FUNC, T.VACUUM,
          T.ANALYZE, T.COPY_DATABASE}
CHANGES = WRITES | {T.COPY}  # statements whose target is checked against protiso's names
_DML = {"DELETE", "UPDATE", "INSERT", "MERGE", "SELECT", "FROM", "VALUES"}


def parse(sql: str) -> list[duckdb.Statement]:
    """The statements of ``sql``; a syntax error is a one-line ProtisoError."""
    try:
        found = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise ProtisoError(str(error).strip().splitlines()[0]) from None
    if not found:
        raise ProtisoError("no SQL statement given")
    return found


def writes(sql: str) -> bool:
    """Whether any statement of ``sql`` changes the database (so it needs a writable open); a statement under
    EXPLAIN ANALYZE or PREPARE counts as itself."""
    return any(_writes(_unwrap(statement) or statement) for statement in parse(sql))


def _writes(statement: duckdb.Statement) -> bool:
    if statement.type == T.COPY:
        return _copy_direction(_tokens(statement.query)) == "FROM"
    return statement.type in WRITES


def check_protected(sql: str, protected: frozenset[str]) -> None:
    """Refuse, in one line, a statement that changes one of ``protected`` (protiso's own objects)."""
    for statement in parse(sql):
        inner = _unwrap(statement)
        if inner is None or inner.type not in CHANGES or (inner.type == T.COPY and not _writes(inner)):
            continue
        hit = sorted(set(_target(_tokens(inner.query))) & protected)
        if hit:
            kind = inner.type.name.replace("_", " ")
            raise ProtisoError(
                f"refused: {kind} on {hit[0]}, which protiso itself maintains (changing it by hand can break the "
                "warehouse or orphan its data); pass --allow-internal to run it anyway")


def _unwrap(statement: duckdb.Statement) -> duckdb.Statement | None:
    """The statement an EXPLAIN [ANALYZE] or PREPARE ... AS wraps, else the statement itself."""
    if statement.type not in (T.EXPLAIN, T.PREPARE):
        return statement
    text = statement.query
    tokens = _tokens(text, offsets=True)
    depth, start = 0, None
    for index, (kind, word, offset) in enumerate(tokens):
        if index == 0:
            continue
        if kind == "operator":
            depth += word.count("(") - word.count(")")
            continue
        if depth == 0 and not (statement.type == T.EXPLAIN and word.upper() == "ANALYZE") and \
                not (statement.type == T.PREPARE and (kind == "identifier" or word.upper() == "AS")):
            start = offset
            break
    if start is None:
        return None
    try:
        found = duckdb.extract_statements(text[start:])
    except duckdb.Error:
        return None
    return _unwrap(found[0]) if found else None


def _tokens(text: str, offsets: bool = False) -> list:
    """(kind, text) of each token of ``text``, comments left out; with ``offsets`` also its offset."""
    marks = duckdb.tokenize(text)
    out = []
    for index, (offset, kind) in enumerate(marks):
        end = marks[index + 1][0] if index + 1 < len(marks) else len(text)
        name = kind.name if hasattr(kind, "name") else str(kind).rsplit(".", 1)[-1]
        if name == "comment":
            continue
        word = text[offset:end].strip()
        out.append((name, word, offset) if offsets else (name, word))
    return out


def _name(word: str) -> str:
    return word[1:-1].replace('""', '"') if len(word) > 1 and word[0] == word[-1] == '"' else word


def _target(tokens: list[tuple[str, str]]) -> list[str]:
    """The parts of the (dotted) name a writing statement changes: the first name after its keywords."""
    start = 0
    if tokens and tokens[0][1].upper() == "WITH":  # WITH ... DELETE / UPDATE / INSERT: skip the CTEs
        depth = 0
        for index, (kind, word) in enumerate(tokens[1:], 1):
            if kind == "operator":
                depth += word.count("(") - word.count(")")
            elif depth == 0 and kind == "keyword" and word.upper() in _DML:
                start = index
                break
    words = [word.upper() for _, word in tokens]
    if "INDEX" in words[start:start + 4] and "ON" in words[start:]:  # CREATE [UNIQUE] INDEX name ON table
        start = words.index("ON", start)
    name: list[str] = []
    expect_part = False
    for kind, word in tokens[start:]:
        if kind == "identifier" and (not name or expect_part):
            name.append(_name(word))
            expect_part = False
        elif name and word == ".":
            expect_part = True
        elif name or kind != "keyword":
            break
    return name


def _copy_direction(tokens: list[tuple[str, str]]) -> str | None:
    """``TO`` or ``FROM``: which way a COPY statement goes."""
    depth = 0
    for kind, word in tokens[1:]:
        if kind == "operator":
            depth += word.count("(") - word.count(")")
        elif depth == 0 and word.upper() in ("TO", "FROM"):
            return word.upper()
    return None
