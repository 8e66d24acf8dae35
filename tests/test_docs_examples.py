"""Every example in README.md and docs/*.md runs, and gives what the text says.

The warehouse is built the way the docs build it: the bash blocks marked ``<!-- test: setup N -->``
(ingest of all of Swiss-Prot 2014 and the flat-file entries, embedding a seeded sample, isotropy,
post-processing, alignments) run in order of N through bash, with ``$W`` a fresh directory and
``../shared/data`` the real data. The README's quickstart block runs on its own warehouse, on a
300-protein FASTA slice. Then every SQL statement shown — ```sql blocks, ``protiso sql -w W "..."``
and ``duckdb ... -c "..."`` in shell blocks — runs against the docs warehouse and must return rows;
``duckdb -c`` statements run on a plain DuckDB connection without protiso's functions, as the shell
would. Where the docs show output — a table right after the block (``│ a │ b │`` lines) or a
``# 123 ...`` comment after a statement — every value shown must be in the result. Python blocks
marked ``<!-- test: python -->`` run beside the docs warehouse (``my-warehouse``, also reachable as ``W``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from protiso.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / ".." / "shared" / "data"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FIXTURE_FASTA = REPO / "tests" / "fixtures" / "sp2014_head300.fasta"
_MARK = re.compile(r"<!--\s*test:\s*(setup\s+(\d+)|python|quickstart)\s*-->")


@dataclass
class Block:
    page: str
    line: int
    lang: str
    text: str
    mark: str | None          # "setup", "python", "quickstart" or None
    order: int | None
    output: str | None        # a language-less block right after this one


def blocks() -> list[Block]:
    out: list[Block] = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").split("\n")
        i, mark, order = 0, None, None
        while i < len(lines):
            found = _MARK.search(lines[i])
            if found:
                mark = found.group(1).split()[0]
                order = int(found.group(2)) if found.group(2) else None
            if lines[i].startswith("```"):
                lang, start = lines[i][3:].strip(), i
                i += 1
                body = []
                while not lines[i].startswith("```"):
                    body.append(lines[i])
                    i += 1
                block = Block(page.name if page.parent == REPO else f"docs/{page.name}", start + 1, lang,
                              "\n".join(body), mark, order, None)
                if lang == "" and out and out[-1].page == block.page and out[-1].line + len(
                        out[-1].text.split("\n")) + 2 == block.line:
                    out[-1].output = block.text
                else:
                    out.append(block)
                mark, order = None, None
            i += 1
    return out


BLOCKS = blocks()


def run_bash(text: str, warehouse: Path, cwd: Path) -> None:
    env = dict(os.environ, HF_HUB_OFFLINE="1", W=str(warehouse),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    script = "set -euo pipefail\n" + text.replace("../shared/data", str(DATA.resolve()))
    script = re.sub(r"(?m)^W=\S+$", "", script)        # the docs' W=... keeps the test's warehouse
    result = subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=3600)
    assert result.returncode == 0, f"{text}\n--- stderr ---\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def docs_warehouse(tmp_path_factory) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to run the docs' shell blocks")
    root = tmp_path_factory.mktemp("docs")
    warehouse = root / "my-warehouse"
    setups = sorted((b for b in BLOCKS if b.mark == "setup"), key=lambda b: b.order)
    assert [b.order for b in setups] == list(range(1, len(setups) + 1)), "setup blocks must be numbered 1..n"
    for block in setups:
        run_bash(block.text, warehouse, root)
    (root / "W").symlink_to("my-warehouse")              # the README's name for it
    return warehouse


# ----------------------------------------------------------------------------------------------- SQL


@dataclass
class Example:
    where: str
    sql: str
    plain: bool               # run on a plain DuckDB connection (the duckdb shell)
    expect: list[str]         # values the docs say the result holds


_PROTISO_SQL = re.compile(r'protiso sql -w \S+\s+"((?:[^"\\]|\\.)*)"(?P<rest>[^\n]*)(?:\n\s*#\s*(?P<c>[^\n]*))?')
_DUCKDB_C = re.compile(r'duckdb (?:-readonly )?\S+ -c "((?:[^"\\]|\\.)*)"(?P<rest>[^\n]*)')


def _comment_values(comment: str | None) -> list[str]:
    """Numbers a ``# 516371 proteins, 435059 distinct`` comment states."""
    return re.findall(r"\d[\d.]*", comment or "")


def _table_values(output: str | None) -> list[list[str]]:
    rows = []
    for line in (output or "").split("\n"):
        if "│" in line:
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            if cells and not any(set(c) <= set("─┼┬┴ ") for c in cells):
                rows.append(cells)
    return rows


def examples() -> list[Example]:
    out = []
    for block in BLOCKS:
        where = f"{block.page}:{block.line}"
        if block.lang == "sql":
            for statement in duckdb.extract_statements(block.text):
                out.append(Example(where, statement.query.strip(), False, []))
        elif block.lang == "bash":
            for match in _PROTISO_SQL.finditer(block.text):
                out.append(Example(where, match.group(1).strip(), False, _comment_values(match.group("c"))))
            for match in _DUCKDB_C.finditer(block.text):
                comment = match.group("rest").split("#", 1)[1] if "#" in match.group("rest") else None
                out.append(Example(where, match.group(1).strip(), True, _comment_values(comment)))
    return out


EXAMPLES = examples()


def test_the_docs_show_sql_and_setup_blocks() -> None:
    assert len(EXAMPLES) >= 15
    assert any(e.plain for e in EXAMPLES)
    assert {b.page for b in BLOCKS if b.mark == "setup"} >= {"docs/ingest.md"}
    assert any(b.mark == "quickstart" for b in BLOCKS)


def _render(value) -> list[str]:
    if isinstance(value, float):
        return [repr(value), f"{value:.1f}", f"{value:.3f}", f"{round(value)}", str(value)]
    return [str(value)]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.where}:{i}" for i, e in enumerate(EXAMPLES)])
def test_sql_example_runs_and_gives_what_the_text_says(example: Example, docs_warehouse: Path) -> None:
    if example.plain:
        con = duckdb.connect(str(docs_warehouse / "protiso.duckdb"), read_only=True)
        try:
            rows = con.sql(example.sql).fetchall()
        finally:
            con.close()
    else:
        with Warehouse.open(docs_warehouse, read_only=True) as wh:
            rows = [tuple(r.values()) for r in wh.query(example.sql).to_pylist()]
    assert rows, f"{example.where}: no rows from\n{example.sql}"
    shown = {text for row in rows for value in row for text in _render(value)}
    for value in example.expect:
        assert value in shown, f"{example.where}: the docs say {value}, the result is {rows[:5]}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.output and b.lang in ("bash", "sql")],
                         ids=lambda b: f"{b.page}:{b.line}")
def test_shown_output_is_in_the_result(block: Block, docs_warehouse: Path) -> None:
    statements = [e for e in EXAMPLES if e.where == f"{block.page}:{block.line}"]
    assert statements, f"{block.page}:{block.line} shows output but no statement"
    with Warehouse.open(docs_warehouse, read_only=True) as wh:
        rows = [tuple(r.values()) for r in wh.query(statements[-1].sql).to_pylist()]
    rendered = [{t for v in row for t in _render(v)} for row in rows]
    for cells in _table_values(block.output):
        assert any(set(cells) <= row for row in rendered), f"{block.page}:{block.line}: {cells} not in {rows[:5]}"


# ------------------------------------------------------------------------------ quickstart, Python


def test_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    block = next(b for b in BLOCKS if b.mark == "quickstart")
    shutil.copy(FIXTURE_FASTA, tmp_path / "my_proteins.fasta")
    run_bash(block.text, tmp_path / "W", tmp_path)       # `-w W`: the folder W beside my_proteins.fasta
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'data-metric="isoscore"' in html
    with Warehouse.open(tmp_path / "W", read_only=True) as wh:
        counts = wh.query("SELECT (SELECT count(*) FROM proteins) AS proteins, "
                          "(SELECT count(*) FROM embeddings) AS embedded").to_pylist()[0]
        assert counts["proteins"] == counts["embedded"] == 300
        assert wh.query("SELECT count(*) AS n FROM alignments").to_pylist()[0]["n"] == 200 * 199 // 2


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mark == "python"], ids=lambda b: f"{b.page}:{b.line}")
def test_python_example_runs(block: Block, docs_warehouse: Path) -> None:
    result = subprocess.run([sys.executable, "-c", block.text], capture_output=True, cwd=docs_warehouse.parent,
                            text=True, timeout=600, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr[-3000:]
