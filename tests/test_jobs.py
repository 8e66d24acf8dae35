"""`protiso run JOB.toml`: every step of a declarative job, end to end on real proteins."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from protiso.cli import app
from protiso.errors import ProtisoError
from protiso.jobs import load_job
from protiso.warehouse import Warehouse

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "swissprot_embed_sample.fasta"

JOB = f"""
[job]
name = "small"
warehouse = "w"
[inputs]
files = ["{FIXTURE}", "protiso:sample/go_2014_terms.tsv.gz"]
[[embed]]
model = "antiberty"
residues = "0.2"
skip_invalid = true
[isotropy]
by = ["length_bin"]
bootstrap = 10
postprocess = ["center"]
[align]
proteins = 12
seed = 3
[report]
output = "small.html"
title = "small <job>"
"""


def test_job_runs_every_step_and_records_runs(tmp_path: Path) -> None:
    spec = tmp_path / "small.toml"
    spec.write_text(JOB)
    result = CliRunner().invoke(app, ["run", str(spec), "--no-progress"])
    assert result.exit_code == 0, result.output
    with Warehouse.open(tmp_path / "w") as wh:
        count = lambda sql: wh.con.execute(sql).fetchall()[0][0]  # noqa: E731
        proteins = count("SELECT count(*) FROM proteins")
        embedded = count("SELECT count(DISTINCT accession) FROM embeddings WHERE embedding_set = 'raw'")
        rejected = count("SELECT count(DISTINCT accession) FROM rejects WHERE run_id LIKE 'embed-%'")
        assert proteins == 35 and embedded + rejected == proteins and embedded > 20
        assert count("SELECT count(*) FROM embeddings WHERE embedding_set = 'centered'") == embedded
        assert count("SELECT count(*) FROM alignments") == 12 * 11 // 2
        # whole-set rows carry bootstrap CIs, groups were measured without them
        assert count("SELECT count(*) FROM isotropy WHERE group_by = 'all' AND scope = 'global' "
                     "AND isoscore_ci_low IS NOT NULL") >= 1
        kinds = {row[0] for row in wh.con.execute("SELECT DISTINCT kind FROM runs WHERE status = 'done'").fetchall()}
        assert {"ingest", "embed", "postprocess", "isotropy", "align"} <= kinds
    html = (tmp_path / "small.html").read_text()
    assert "small &lt;job&gt;" in html and "<job>" not in html


def test_bad_specs_are_one_line_errors(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[job]\nwarehouse = "w"\n[embedd]\nmodel = "x"\n')
    with pytest.raises(ProtisoError, match="unknown sections"):
        load_job(spec)
    spec.write_text('[job]\nwarehouse = "w"\n[[embed]]\nmodle = "x"\n')
    with pytest.raises(ProtisoError, match=r"\[embed\]"):
        load_job(spec)
    spec.write_text("[inputs]\nfiles = []\n")
    with pytest.raises(ProtisoError, match="warehouse"):
        load_job(spec)
    result = CliRunner().invoke(app, ["run", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "no such job file" in result.output


def _state(path: Path) -> tuple[int, int]:
    """(runs, proteins) of the warehouse at ``path``; (0, 0) when none was created."""
    if not (path / "protiso.duckdb").exists():
        return 0, 0
    with Warehouse.open(path) as wh:
        return tuple(wh.con.execute("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM proteins)").fetchone())


@pytest.mark.parametrize("embed", ['model = "no-such-model"', 'model = "antiberty"\nlayers = [9]',
                                   'model = "antiberty"\nlayers = "abc"', 'model = "antiberty"\nweights = "missing.pkl"\n'
                                   'residues = "most"'])
def test_run_with_a_bad_embed_step_commits_nothing(tmp_path: Path, embed: str) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text(f'[job]\nwarehouse = "w"\n[inputs]\nfiles = ["{FIXTURE}"]\n[[embed]]\n{embed}\n')
    result = CliRunner().invoke(app, ["run", str(spec), "--no-progress"])
    assert result.exit_code == 2 and result.output.startswith("error: ") and len(result.output.splitlines()) == 1
    assert _state(tmp_path / "w") == (0, 0)


def test_ingest_with_bad_layers_commits_nothing(tmp_path: Path) -> None:
    for layers in ("9", "-10", "abc"):
        result = CliRunner().invoke(app, ["ingest", str(FIXTURE), "-w", str(tmp_path / "w"), "--model", "antiberty",
                                          "--layers", layers, "--no-progress"])
        assert result.exit_code == 2 and "layer" in result.output, result.output
        assert _state(tmp_path / "w") == (0, 0)


@pytest.mark.parametrize("body, message", [
    ('[report]\noutptu = "r.html"\n', r"\[report\] unknown key\(s\) outptu"),
    ('[inputs]\nfile = ["x.fasta"]\n', r"\[inputs\] unknown key\(s\) file"),
    ('[inputs]\nfiles = "x.fasta"\n', r"\[inputs\] files must be list"),
    ('[isotropy]\nbootstrap = "ten"\n', r"\[isotropy\] bootstrap must be int"),
    ('[isotropy]\nby = ["organsim"]\n', r"unknown grouping 'organsim'"),
    ('[align]\nproteins = 10\nmatrix = "PAM999"\n', r"\[align\]"),
    ('[[embed]]\nmodel = "antiberty"\nresidues = "most"\n', r"\[embed\] --residues"),
])
def test_spec_keys_and_types_are_checked_before_anything_runs(tmp_path: Path, body: str, message: str) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[job]\nwarehouse = "w"\n' + body)
    with pytest.raises(ProtisoError, match=message):
        load_job(spec)


def test_paper_job_lists_proteinbert_states_its_pair_sample_and_fails_before_any_commit(tmp_path: Path) -> None:
    spec = Path(__file__).resolve().parents[1] / "ingest" / "paper.toml"
    job = load_job(spec, warehouse=tmp_path / "w")
    assert [step.model for step in job.embed] == ["Rostlab/prot_bert", "Rostlab/prot_bert_bfd", "Rostlab/prot_xlnet",
                                                  "proteinbert"]
    weights = Path(job.embed[-1].weights)
    assert weights.is_absolute() and weights.name == "epoch_92400_sample_23500000.pkl"
    assert job.align.proteins == 3580 and job.align.proteins * (job.align.proteins - 1) // 2 == 6_406_410
    if not all(path.exists() for path in job.inputs):
        pytest.skip("the shared Swiss-Prot 2014 files are not beside this checkout")
    result = CliRunner().invoke(app, ["run", str(spec), "-w", str(tmp_path / "w"), "--no-progress"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert str(weights) in result.output and "Rostlab/prot_bert" in result.output
    assert not (tmp_path / "w").exists()


def test_align_step_takes_the_long_pair_memory_rule(tmp_path: Path) -> None:
    spec = tmp_path / "cells.toml"
    base = f'[job]\nwarehouse = "w"\n[inputs]\nfiles = ["{FIXTURE}"]\n[align]\nproteins = 6\nseed = 1\n'
    spec.write_text(base + "max_cells = 0\n")
    with pytest.raises(ProtisoError, match=r"\[align\].*max-cells"):
        load_job(spec)
    spec.write_text(base + 'max_cells = "many"\n')
    with pytest.raises(ProtisoError, match="max_cells"):
        load_job(spec)
    spec.write_text(base + "max_cells = 20000\n")           # most pairs of these proteins are longer
    result = CliRunner().invoke(app, ["run", str(spec), "--no-progress"])
    assert result.exit_code == 0, result.output
    with Warehouse.open(tmp_path / "w", read_only=True) as wh:
        (params,) = wh.con.execute("SELECT params FROM runs WHERE kind = 'align'").fetchone()
        import json

        recorded = json.loads(params)
        assert recorded["max_cells"] == 20000 and recorded["linear_pairs"] >= 1
        aligned = wh.con.execute("SELECT count(*) FROM alignments").fetchone()[0]
        assert aligned == 15 - recorded["skipped_pairs"] and aligned >= recorded["linear_pairs"]


def test_demo_job_without_mmseqs_says_so_before_any_step(tmp_path: Path, monkeypatch) -> None:
    """The demo aligns homolog-enriched pairs and its inputs carry no cross-references: without MMseqs2 the job
    is a one-line error at once (it used to fail after the three embeddings), and nothing is created."""
    import protiso.align.homologs as homologs

    demo = Path(__file__).resolve().parent.parent / "ingest" / "demo.toml"
    warehouse = tmp_path / "w"
    monkeypatch.setattr(homologs, "mmseqs_path", lambda: "/usr/bin/mmseqs")
    assert load_job(demo, warehouse=warehouse).align is not None
    monkeypatch.setattr(homologs, "mmseqs_path", lambda: None)
    with pytest.raises(ProtisoError, match="needs MMseqs2 .*apt-get install mmseqs2"):
        load_job(demo, warehouse=warehouse)
    result = CliRunner().invoke(app, ["run", str(demo), "--warehouse", str(warehouse)])
    assert result.exit_code != 0 and "needs MMseqs2" in result.output and len(result.output.strip().splitlines()) == 1
    assert not warehouse.exists()
