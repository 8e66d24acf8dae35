"""One options object per job: the CLI, a TOML job spec and the Python API build the same object, with the
same defaults (written once, in the dataclass), and every option field is reachable from the CLI and TOML."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from protiso.align import AlignOptions, LocalAlignRunner
from protiso.cli import app
from protiso.engines.ray_align import RayAlignRunner
from protiso.errors import ProtisoError
from protiso.jobs import load_job
from protiso.jobs.options import ExportOptions, IsotropyOptions
from protiso.options import changed
from protiso.report.options import ReportOptions
from protiso.warehouse import Warehouse


@pytest.fixture
def captured(tmp_path, monkeypatch):
    """(warehouse path, calls): every job function the CLI calls records its arguments instead of running."""
    import protiso.cli.align_commands
    import protiso.cli.vector_commands
    import protiso.jobs.align
    import protiso.jobs.export_vectors
    import protiso.jobs.isotropy
    import protiso.report.document

    Warehouse.create(tmp_path / "w").close()
    calls: list[tuple] = []
    summary = SimpleNamespace(render=lambda: "ok", output="r.html", bytes=0, seconds=0.0, figures=[],
                              missing_groups=[])

    def record(name):
        def job(wh, *args, **kwargs):
            calls.append((name, args, kwargs))
            return summary
        return job

    monkeypatch.setattr(protiso.jobs.isotropy, "compute_isotropy", record("isotropy"))
    monkeypatch.setattr(protiso.jobs.align, "align_and_measure", record("align"))
    monkeypatch.setattr(protiso.cli.align_commands, "align_and_measure", record("align"))  # imported at its top
    monkeypatch.setattr(protiso.report.document, "render_report", record("report"))
    monkeypatch.setattr(protiso.jobs.export_vectors, "export_vectors", record("export"))
    monkeypatch.setattr(protiso.cli.vector_commands, "export_vectors", record("export"))
    return tmp_path / "w", calls


def cli(captured, command: str, *args) -> tuple:
    """The options object (and runner) ``protiso COMMAND -w W ARGS`` hands to its job."""
    warehouse, calls = captured
    result = CliRunner().invoke(app, [command, "-w", str(warehouse), *map(str, args)])
    assert result.exit_code == 0, result.output
    name, positional, _ = calls.pop()
    assert name == command
    return positional


def toml(tmp_path: Path, body: str, monkeypatch=None):
    spec = tmp_path / "job.toml"
    spec.write_text(f'[job]\nwarehouse = "{tmp_path / "w"}"\n{body}')
    return load_job(spec)


def differs_everywhere(default, *changed_ones) -> None:
    """Every field of the options differs from its default in at least one of ``changed_ones``."""
    for field in dataclasses.fields(default):
        assert any(getattr(o, field.name) != getattr(default, field.name) for o in changed_ones), field.name


# -- the defaults: one object, whichever way it is built ------------------------------------------------------


def test_defaults_are_the_same_object_from_cli_toml_and_python(captured, tmp_path) -> None:
    out = tmp_path / "r.html"
    (iso,) = cli(captured, "isotropy")
    assert iso == IsotropyOptions() == toml(tmp_path, "[isotropy]\n").isotropy.options
    align, runner = cli(captured, "align")
    assert align == AlignOptions() == toml(tmp_path, "[align]\n").align and isinstance(runner, LocalAlignRunner)
    (report,) = cli(captured, "report", "-o", out)
    assert report == ReportOptions(out) == toml(tmp_path, f'[report]\noutput = "{out}"\n').report
    (export,) = cli(captured, "export", "-m", "m", "-o", tmp_path / "x.h5")
    assert export == ExportOptions(tmp_path / "x.h5", "m") == \
        toml(tmp_path, f'[[export]]\nmodel = "m"\noutput = "{tmp_path / "x.h5"}"\n').export[0]


def test_job_functions_take_the_options_object_and_write_no_defaults_of_their_own() -> None:
    from protiso.align import align
    from protiso.jobs.align import align_and_measure
    from protiso.jobs.export_vectors import export_vectors
    from protiso.jobs.isotropy import compute_isotropy
    from protiso.report.document import render_report

    allowed = {"wh", "options", "runner", "model", "resume", "progress", "pair_metrics", "changes"}
    for job in (compute_isotropy, align, align_and_measure, render_report, export_vectors):
        assert set(inspect.signature(job).parameters) <= allowed, job.__name__
    assert changed(IsotropyOptions, None, {"zeta": 0.3}) == IsotropyOptions(zeta=0.3)
    with pytest.raises(TypeError, match="no option"):
        changed(IsotropyOptions, None, {"zetta": 0.3})


def test_cli_help_shows_the_dataclass_defaults() -> None:
    """Each CLI option named after a field shows that field's default in help (None: no default shown)."""
    import click
    import typer

    from protiso.jobs.budget import parse_memory_budget

    commands = typer.main.get_command(app).commands
    cases = {"isotropy": IsotropyOptions(), "align": AlignOptions(), "report": ReportOptions("r.html"),
             "export": ExportOptions("x.h5", "m")}
    for command, defaults in cases.items():
        ctx = click.Context(commands[command])
        shown = 0
        for param in commands[command].params:
            if param.name not in {f.name for f in dataclasses.fields(defaults)} or param.default is None:
                continue
            value = getattr(defaults, param.name)
            got = parse_memory_budget(param.default) if param.name == "memory_budget" else param.default
            assert got == value or (isinstance(value, tuple) and tuple(got) == value), (command, param.name)
            help_text = param.get_help_record(ctx)[1]
            assert "[default: " in help_text or param.is_flag, (command, param.name)
            shown += 1
        assert shown >= 2, command


# -- every field reachable from the CLI and from TOML ---------------------------------------------------------


def test_every_isotropy_option_is_reachable(captured, tmp_path) -> None:
    (from_cli,) = cli(captured, "isotropy", "--by", "organism,go_term", "--bootstrap", 5, "--level", 0.9, "--zeta", 0.3,
                      "-m", "m1", "-m", "m2", "--embedding-set", "centered", "--scope", "global", "--control",
                      "shuffled", "--seed", 3, "--min-points", 4, "--memory-budget", "512MiB", "--null-draws", 7,
                      "--null", "length", "--strata", 5, "--workers", 2)
    from_toml = toml(tmp_path, '[isotropy]\nby = ["organism", "go_term"]\nbootstrap = 5\nlevel = 0.9\nzeta = 0.3\n'
                     'models = ["m1", "m2"]\nembedding_set = ["centered"]\nscopes = ["global"]\n'
                     'controls = ["shuffled"]\nseed = 3\nmin_points = 4\nmemory_budget = "512MiB"\nnull_draws = 7\n'
                     'null = "length"\nstrata = 5\nworkers = 2\npostprocess = ["center"]\n').isotropy
    assert from_cli == from_toml.options and from_toml.postprocess == ["center"]
    assert from_cli.memory_budget == 512 * 2**20
    differs_everywhere(IsotropyOptions(), from_cli)


ALIGN_CASES = [
    (["--fraction", 0.5, "--seed", 4, "--matrix", "BLOSUM62", "--mode", "local", "--open", -5, "--extend", -2,
      "--min-length", 10, "--max-length", 900, "--where", "length > 1", "--workers", 2, "--block-size", 100,
      "--max-cells", 1000, "--aligner", "biopython", "-m", "m"],
     'fraction = 0.5\nseed = 4\nmatrix = "BLOSUM62"\nmode = "local"\nopen = -5\nextend = -2\nmin_length = 10\n'
     'max_length = 900\nwhere = "length > 1"\nworkers = 2\nblock_size = 100\nmax_cells = 1000\n'
     'aligner = "biopython"\nmodel = "m"\n'),
    (["--proteins", 7, "--all-proteins"], "proteins = 7\nall_proteins = true\n"),
    (["--pairs", 9], "pairs = 9\n"),
    (["--pairs", "homolog-enriched", "--pair-count", 50, "--homolog-share", 0.25, "--homolog-source", "xrefs",
      "--homolog-evalue", 0.01],
     'pairs = "homolog-enriched"\npair_count = 50\nhomolog_share = 0.25\nhomolog_source = "xrefs"\n'
     'homolog_evalue = 0.01\n'),
]


def test_every_align_option_is_reachable(captured, tmp_path) -> None:
    built = []
    for args, body in ALIGN_CASES:
        from_cli, runner = cli(captured, "align", *args)
        assert from_cli == toml(tmp_path, "[inputs]\nfiles = []\n[align]\n" + body).align
        built.append(from_cli)
    differs_everywhere(AlignOptions(), *built)
    assert built[-1].design == "homolog-enriched" and built[2].pairs == 9
    _, runner = cli(captured, "align", "--engine", "ray", "--address", "auto")
    assert isinstance(runner, RayAlignRunner) and runner.address == "auto"


def test_every_report_and_export_option_is_reachable(captured, tmp_path) -> None:
    out, figures = tmp_path / "r.html", tmp_path / "figs"
    (from_cli,) = cli(captured, "report", "-o", out, "-m", "a", "-m", "b", "--title", "T", "--color-by", "organism",
                      "--figures", figures, "--figure-format", "png")
    assert from_cli == toml(tmp_path, f'[report]\noutput = "{out}"\nmodels = ["a", "b"]\ntitle = "T"\n'
                                      f'color_by = "organism"\nfigures = "{figures}"\nfigure_format = "png"\n').report
    differs_everywhere(ReportOptions(tmp_path / "x.html"), from_cli)
    exports = [cli(captured, "export", "-m", "m", "-o", tmp_path / "x.npz", "--layer", 3, "--set", "centered",
                   "--force", "--control", "shuffled")[0],
               cli(captured, "export", "-m", "n", "-o", tmp_path / "y.h5", "--residues")[0]]
    job = toml(tmp_path, f'[[export]]\nmodel = "m"\noutput = "{tmp_path / "x.npz"}"\nlayer = 3\n'
                         f'embedding_set = "centered"\nforce = true\ncontrol = "shuffled"\n'
                         f'[[export]]\nmodel = "n"\noutput = "{tmp_path / "y.h5"}"\nresidues = true\n')
    assert exports == job.export
    differs_everywhere(ExportOptions(tmp_path / "z.h5", "z"), *exports)


# -- TOML: unknown keys and bad values are one-line errors naming the key --------------------------------------


@pytest.mark.parametrize("body, message", [
    ("[isotropy]\nzetta = 0.1\n", r"\[isotropy\] unknown key\(s\) zetta; known: by, "),
    ("[isotropy]\nnull_draws = -1\n", r"\[isotropy\] --null-draws must be >= 0"),
    ("[isotropy]\nworkers = 0\n", r"\[isotropy\] --workers must be a whole number >= 1; got 0"),
    ("[isotropy]\nzeta = 2.0\n", r"\[isotropy\] .*zeta must be in \[0, 1\]"),
    ("[align]\nopen_score = -3\n", r"\[align\] unknown key\(s\) open_score; known: .*open, extend"),
    ("[align]\npairs = \"some\"\n", r"\[align\] --pairs must be a number of pairs"),
    ("[align]\nworkers = 0\n", r"\[align\] --workers must be at least 1"),
    ("[report]\noutput = \"r.pdf\"\n", r"\[report\] .*written as HTML"),
    ("[report]\ncolor_by = \"shoe size\"\n", r"\[report\] --color-by"),
    ("[[export]]\nmodel = \"m\"\n", r"\[export\] .*output"),
    ("[[export]]\nmodel = \"m\"\noutput = \"x.h5\"\nset = \"raw\"\n", r"\[export\] unknown key\(s\) set"),
    ("[[export]]\nmodel = \"m\"\noutput = \"x.h5\"\nlayer = \"top\"\n", r"\[export\] layer must be int"),
])
def test_bad_tables_are_one_line_errors(tmp_path, body, message) -> None:
    with pytest.raises(ProtisoError, match=message) as error:
        toml(tmp_path, body)
    assert "\n" not in str(error.value)
