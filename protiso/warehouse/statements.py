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
from protiso.warehouse import resources

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
        hit = sorted({part.lower() for part in _target(_tokens(inner.query))} & {name.lower() for name in protected})
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


# -- the guard by meaning: run the statements in a transaction and compare protiso's objects before and after ----

_TRANSACTION = {T.TRANSACTION}


def run_guarded(con: duckdb.DuckDBPyConnection, sql: str, names: frozenset[str], tables: list[str]):
    """Run ``sql`` (one or more statements) in one transaction on ``con`` and commit it only if it left
    protiso's objects as they were: the definitions of every object named like one of ``names`` (any
    spelling: names match case-insensitively, whatever the schema prefix or quoting), the rows of the
    internal ``tables``, and no stored function shadowing one of protiso's or a built-in one. Whatever the
    statements spell or call (``IMPORT DATABASE``'s script, an ``ATTACH``-ed database copied in, a macro),
    what they change is what counts. Otherwise roll back and raise a one-line ProtisoError naming the object.
    Returns the relation of the last statement (a final SELECT runs after the commit)."""
    found = parse(sql)
    for statement in found:
        if statement.type in _TRANSACTION:
            raise ProtisoError("refused: protiso sql runs your statements in one transaction itself (so that it can "
                               "check them); leave out BEGIN, COMMIT and ROLLBACK, or pass --allow-internal")
    lowered = sorted({name.lower() for name in names})
    database = con.execute("SELECT current_database()").fetchall()[0][0]
    last = found[-1]
    reads_last = last.type == T.SELECT
    inside = found[:-1] if reads_last else found
    if not inside:
        return con.sql(last.query)
    before = _state(con, database, lowered, tables)
    con.execute("BEGIN")
    try:
        relation = None
        for statement in inside:
            relation = con.sql(statement.query)
        if relation is not None and not reads_last:
            relation = relation.to_arrow_table()  # materialised inside the transaction
        changed = _changes(before, _state(con, database, lowered, tables))
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise
    if changed:
        con.execute("ROLLBACK")
        raise ProtisoError(
            f"refused: this SQL {changed} (changing it by hand can break the warehouse or orphan its data); "
            "nothing was changed; pass --allow-internal to run it anyway")
    con.execute("COMMIT")
    if reads_last:
        return con.sql(last.query)
    return None if relation is None else con.from_arrow(relation)


def _state(con: duckdb.DuckDBPyConnection, database: str, names: list[str], tables: list[str]) -> dict:
    """Definitions of protiso's objects and the rows (count and hash) of its internal tables."""
    state = {}
    for kind, schema, name, definition in con.execute(
            resources.sql_text("queries", "guard_objects.sql"), {"db": database, "names": names}).fetchall():
        state[(kind, f"{schema}.{name}".removeprefix("main."))] = definition
    present = {name.lower() for (kind, name) in state if kind == "table"}
    db = '"' + database.replace('"', '""') + '"'
    for table in tables:
        if table.lower() in present:
            state[("rows of table", table)] = con.execute(
                f'SELECT system.main.count_star(), system.main.sum(system.main.hash(t)::HUGEINT) '
                f'FROM {db}.main."{table}" AS t').fetchall()[0]
    return state


def _changes(before: dict, after: dict) -> str | None:
    """What the statements did to protiso's objects, in words, or None."""
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            kind, name = key
            kind = kind.replace("_", " ")
            if key not in before and kind in ("macro", "table macro", "scalar", "table"):
                if kind != "table":
                    return f"creates {kind} {name}, which would shadow protiso's or DuckDB's own function {name}"
                return f"creates table {name}, named like one of protiso's own objects"
            if key not in after:
                return f"drops {kind} {name}, which protiso itself maintains"
            return f"changes {kind} {name}, which protiso itself maintains"
    return None
