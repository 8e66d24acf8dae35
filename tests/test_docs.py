"""Docs checked by tests: every CLI command has help text and appears in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main
from typer.testing import CliRunner

from protiso.cli import app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands() -> dict:
    group = typer.main.get_command(app)
    return group.commands


def test_every_command_has_help_and_is_in_the_readme() -> None:
    commands = _commands()
    assert {"init", "ingest", "sql", "tables", "isotropy", "align", "report", "run"} <= set(commands)
    for name, command in commands.items():
        assert (command.help or "").strip(), f"`protiso {name}` has no help text"
        assert f"protiso {name}" in README, f"`protiso {name}` is not documented in README.md"
        for param in command.params:
            if isinstance(param, typer.core.TyperOption) or param.param_type_name == "option":
                assert (param.help or "").strip(), f"`protiso {name}` option {param.name} has no help"


def test_help_runs_for_every_command() -> None:
    runner = CliRunner()
    for name in _commands():
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


def test_readme_names_two_setup_commands_that_exist_in_the_makefile() -> None:
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8")
    assert "make demo" in README and "make test" in README
    assert "\ndemo:" in makefile and "\ntest:" in makefile
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_readme_links_every_docs_page_and_every_link_resolves() -> None:
    import re

    root = Path(__file__).resolve().parents[1]
    pages = {p.relative_to(root).as_posix() for p in (root / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\((docs/[\w.-]+\.md)\)", README))
    assert pages == linked, f"docs pages not linked from README: {pages - linked}; missing: {linked - pages}"
    for page in [root / "README.md", *(root / p for p in pages)]:
        for target in re.findall(r"\]\(([\w./-]+?)(?:#[\w-]+)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"
