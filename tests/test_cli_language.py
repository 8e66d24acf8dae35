"""One command-line language: -w and -m/--model everywhere, readable metavars with their choices, "did you
mean" for model names and warehouse paths, report -o refusing what it does not write, hints that fit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import report_warehouse
from protiso.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def helps() -> dict[str, str]:
    out = {}
    for name in COMMANDS:
        result = invoke(name, "--help")
        assert result.exit_code == 0, result.output
        out[name] = result.stdout
    return out


@pytest.fixture(scope="module")
def help_texts() -> dict[str, str]:
    return helps()


def test_every_help_has_readable_metavars(help_texts) -> None:
    assert len(help_texts) >= 14
    for name, text in help_texts.items():
        assert not re.search(r"<[a-z][\w\[\], |]*>", text), f"{name}: {re.search(r'<[a-z][^>]*>', text)[0]}"
        assert not re.search(r"\{[a-z_]+\}", text), name
        assert "-w, --warehouse DIR" in text, name          # -w on every command, init and run included
        assert "--models" not in text, name                 # the old spelling is accepted, not shown


def _choices(text: str, option: str) -> tuple[str, ...]:
    found = re.search(re.escape(option) + r" \[([^\]]+)\]", text)
    assert found, option
    return tuple(found[1].split("|"))


def test_choices_in_help_are_the_library_s(help_texts) -> None:
    from protiso.align.scoring import MODES
    from protiso.embedding.lengths import LENGTH_POLICIES
    from protiso.engines import ENGINES
    from protiso.interchange.source import FORMATS as VECTOR_FORMATS
    from protiso.jobs.options import GROUPINGS, SCOPES
    from protiso.metrics.postprocess import METHODS
    from protiso.report.options import FORMATS as FIGURE_FORMATS
    from protiso.sequences.detect import FORMATS as SEQUENCE_FORMATS
    from protiso.warehouse.output import FORMATS as SQL_FORMATS

    assert _choices(help_texts["sql"], "--format") == SQL_FORMATS
    assert _choices(help_texts["ingest"], "--format") == ("auto", *SEQUENCE_FORMATS)
    assert _choices(help_texts["import-vectors"], "--format") == VECTOR_FORMATS
    for command in ("ingest", "embed"):
        assert _choices(help_texts[command], "--length-policy") == LENGTH_POLICIES
        assert _choices(help_texts[command], "--engine") == ENGINES
    assert _choices(help_texts["report"], "--figure-format") == FIGURE_FORMATS
    assert _choices(help_texts["postprocess"], "--method") == METHODS
    assert _choices(help_texts["isotropy"], "--scope") == SCOPES
    assert _choices(help_texts["isotropy"], "--by") == GROUPINGS
    assert _choices(help_texts["align"], "--mode") == MODES


def test_model_is_one_option_everywhere(help_texts) -> None:
    takes_models = {name for name, text in help_texts.items() if re.search(r"--models?\b", text)}
    assert {"ingest", "embed", "import-vectors", "export", "isotropy", "postprocess", "report"} <= takes_models
    for name in takes_models:
        assert "-m, --model MODEL" in help_texts[name], name


def test_old_models_spelling_and_repeats_reach_the_command(tmp_path: Path) -> None:
    w = tmp_path / "w"
    assert invoke("init", "-w", w).exit_code == 0
    one_line_error(invoke("isotropy", "-w", w, "--models", "typo"), "unknown model 'typo' in --model;",
                   "no embeddings yet", f"protiso embed -w {w}")
    one_line_error(invoke("isotropy", "-w", w, "--models=a,b", "-m", "c", "--model", "a"),
                   "unknown models 'a', 'b', 'c' in --model")
    one_line_error(invoke("report", "-w", w, "-o", tmp_path / "r.html", "--models", "x"), "model(s) x not in")


def test_init_takes_w_and_still_the_old_positional(tmp_path: Path) -> None:
    made = invoke("init", "-w", tmp_path / "a")
    assert made.exit_code == 0 and (tmp_path / "a" / "protiso.duckdb").is_file(), made.output
    old = invoke("init", tmp_path / "b")
    assert old.exit_code == 0 and (tmp_path / "b" / "protiso.duckdb").is_file(), old.output
    one_line_error(invoke("init"), "protiso init -w DIR")
    one_line_error(invoke("init", "-w", tmp_path / "c", tmp_path / "d"), "once")
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()
    assert "Usage: protiso init [OPTIONS]\n" in invoke("init", "--help").stdout    # the positional is hidden


def test_mistyped_model_gets_did_you_mean(tmp_path: Path) -> None:
    w = tmp_path / "w"
    assert invoke("init", "-w", w).exit_code == 0
    one_line_error(invoke("embed", "-w", w, "--model", "unirep64"), "unknown model 'unirep64' (did you mean unirep-64?)")
    one_line_error(invoke("embed", "-w", w, "-m", "AntiBERT"), "(did you mean antiberty?)")
    line = one_line_error(invoke("embed", "-w", w, "-m", "zzzz"), "unknown model 'zzzz'")
    assert "did you mean" not in line


def test_missing_warehouse_suggests_the_path_first(tmp_path: Path) -> None:
    assert invoke("init", "-w", tmp_path / "study1").exit_code == 0
    line = one_line_error(invoke("tables", "-w", tmp_path / "studyl"),
                          f"no warehouse at {tmp_path / 'studyl'} (did you mean {tmp_path / 'study1'}?)")
    assert line.index("check the path") < line.index(f"protiso init -w {tmp_path / 'studyl'}")
    one_line_error(invoke("tables", "-w", tmp_path / "other"), "check the path")


def test_report_refuses_an_extension_it_does_not_write(tmp_path: Path) -> None:
    w = tmp_path / "w"
    assert invoke("init", "-w", w).exit_code == 0
    for name in ("x.pdf", "x.png", "x"):
        one_line_error(invoke("report", "-w", w, "-o", tmp_path / name), name, ".html")
        assert not (tmp_path / name).exists()
    assert invoke("report", "-w", w, "-o", tmp_path / "x.HTML").exit_code == 0


def test_missing_lines_group_and_name_the_command_that_fits(tmp_path: Path, fixtures_dir: Path) -> None:
    w = tmp_path / "w"
    assert invoke("init", "-w", w).exit_code == 0
    empty = invoke("report", "-w", w, "-o", tmp_path / "r.html")
    assert empty.exit_code == 0, empty.output
    lines = [line for line in empty.stdout.splitlines() if line.startswith("missing ")]
    assert 3 <= len(lines) <= 5 and len(lines) == len(set(lines))
    assert lines[0].endswith(f": protiso ingest FASTA -w {w} --model MODEL; then protiso isotropy -w {w}")
    assert "proteins" in lines[0].split(": protiso")[0] and "embeddings" in lines[0]
    assert all(": protiso " in line for line in lines)
    assert "protiso embed" not in empty.stdout                    # no proteins yet: ingest, not embed

    assert invoke("ingest", fixtures_dir / "uniprot_headers.fasta", "-w", w, "--no-progress").exit_code == 0
    after = invoke("report", "-w", w, "-o", tmp_path / "r.html")
    lines = [line for line in after.stdout.splitlines() if line.startswith("missing ")]
    assert lines[0].endswith(f": protiso embed -w {w} --model MODEL; then protiso isotropy -w {w}")
    assert "protiso ingest" not in after.stdout and "proteins;" not in after.stdout
    assert f"protiso align -w {w}" in after.stdout


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    """36 proteins with AntiBERTy vectors and residue statistics, no stored residue vectors."""
    path = tmp_path_factory.mktemp("language") / "w"
    report_warehouse.build(path)
    return path


def test_isotropy_residue_hint_names_embed(embedded: Path) -> None:
    result = invoke("isotropy", "-w", embedded, "-m", "antiberty", "--by", "organism", "--scope", "local",
                    "--null-draws", "0", "--embedding-set", "raw")
    assert result.exit_code == 0, result.output
    hint = [line for line in result.stdout.splitlines() if "no stored residue vectors" in line]
    assert hint and f"protiso embed -w {embedded} --model M --residues" in hint[0], result.stdout
    assert "ingest" not in hint[0]


def test_report_model_typo_gets_did_you_mean(embedded: Path, tmp_path: Path) -> None:
    one_line_error(invoke("report", "-w", embedded, "-o", tmp_path / "r.html", "-m", "antibert"),
                   "model(s) antibert not in the warehouse", "(did you mean antiberty?)")
    assert not (tmp_path / "r.html").exists()
