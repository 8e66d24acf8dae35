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
