"""The resumable embedding job against a real warehouse (tiny ProtBert-layout model, real sequences)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hub_models import FIXTURE_FASTA, protbert, read_fasta

from protiso.embedding import EmbedOptions, embed_proteins, parse_layers
from protiso.errors import ProtisoError
from protiso.metrics import isoscore, mean_pairwise_cosine
from protiso.models.base import ModelAdapter
from protiso.warehouse import Warehouse

RECORDS = read_fasta(FIXTURE_FASTA)
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return protbert(tmp_path_factory.mktemp("job") / "prot_bert", seed=4)


def add_proteins(wh: Warehouse, records: list[tuple[str, str]]) -> None:
    table = pa.table({
        "accession": [a for a, _ in records],
        "sequence": [s for _, s in records],
        "length": [len(s) for _, s in records],
        "seq_hash": [hashlib.md5(s.encode()).hexdigest() for _, s in records],
        "source": ["test"] * len(records),
    })
    with wh.commit(None) as tx:
        tx.write_part("proteins", table)


def make_warehouse(path: Path, records) -> Warehouse:
    wh = Warehouse.create(path)
    add_proteins(wh, records)
    return wh


def counts(wh: Warehouse) -> dict:
    return dict(
        embeddings=wh.con.execute("SELECT count(*) FROM embeddings").fetchall()[0][0],
        distinct=wh.con.execute("SELECT count(*) FROM (SELECT DISTINCT accession, layer FROM embeddings)").fetchall()[0][0],
        residues=wh.con.execute("SELECT count(*) FROM residues").fetchall()[0][0],
        parts=wh.con.execute("SELECT count(*) FROM parts WHERE table_name <> 'proteins'").fetchall()[0][0],
        runs=wh.con.execute("SELECT count(*) FROM runs WHERE kind = 'embed'").fetchall()[0][0],
        stats=wh.con.execute("SELECT count(*) FROM residue_stats").fetchall()[0][0],
    )


def test_job_embeds_records_parameters_and_statistics(tmp_path, model_dir):
    records = RECORDS[:12] + RECORDS[-3:]
    wh = make_warehouse(tmp_path / "w", records)
    summary = embed_proteins(wh, EmbedOptions(str(model_dir), layers="all", residues="all", device="cpu",
                             batch_tokens=2000, chunk_residues=1500), progress=False)
    assert summary.proteins == len(records) and summary.layers == [0, 1, 2]
    assert summary.residues == sum(len(s) for _, s in records) and summary.residues_per_second > 0
    c = counts(wh)
    assert c["embeddings"] == c["distinct"] == len(records) * 3
    assert c["residues"] == 3 * summary.residues
    run = wh.query("SELECT * FROM runs WHERE kind = 'embed'").to_pylist()[0]
    assert (run["model"], run["layer"], run["status"]) == ("prot_bert", "0,1,2", "done")
    assert run["revision"].startswith("sha256:") and run["pooling"] == "mean over residue tokens"
    params, versions = json.loads(run["params"]), json.loads(run["versions"])
    assert params["residues"] == "all" and params["length_policy"] == "truncate" and params["batch_tokens"] == 2000
    assert params["summary"]["proteins"] == len(records)
    assert params["cpu_kernels"] in {"oneDNN", "torch"} and params["resolved_device"] == "cpu"
    assert "torch" in versions and "transformers" in versions
    # One cumulative statistics row per (run, model, layer), equal to stacking the stored residues.
    assert c["stats"] == 3
    for layer in range(3):
        n, dim, sum_x, sum_xxt = wh.con.execute(
            "SELECT n, dim, sum_x, sum_xxt FROM residue_stats WHERE layer = ?", [layer]).fetchall()[0]
        vectors = np.stack(wh.query("SELECT vector FROM residues WHERE layer = ?", [layer])
                           .column("vector").to_numpy(zero_copy_only=False)).astype(np.float64)
        assert n == len(vectors) and dim == 32
        np.testing.assert_allclose(sum_x, vectors.sum(0), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(np.array(sum_xxt).reshape(32, 32), vectors.T @ vectors, rtol=1e-9, atol=1e-8)
    # Nothing left to do: a rerun embeds nothing and duplicates nothing.
    again = embed_proteins(wh, EmbedOptions(str(model_dir), layers="all", device="cpu"), progress=False)
    assert again.proteins == 0 and counts(wh)["embeddings"] == len(records) * 3
    wh.close()


def test_new_layers_and_new_proteins_embed_only_what_is_missing(tmp_path, model_dir):
    wh = make_warehouse(tmp_path / "w", RECORDS[:6])
    first = embed_proteins(wh, EmbedOptions(str(model_dir), device="cpu"), progress=False)
    assert first.layers == [2] and counts(wh)["embeddings"] == 6
    add_proteins(wh, RECORDS[6:9])
    second = embed_proteins(wh, EmbedOptions(str(model_dir), layers=[1, -1], device="cpu"), progress=False)
    assert second.proteins == 9  # 6 need layer 1 only, 3 need both
    rows = wh.query("SELECT accession, layer, count(*) AS n FROM embeddings GROUP BY ALL").to_pylist()
    assert all(r["n"] == 1 for r in rows) and len(rows) == 6 * 2 + 3 * 2
    stats = dict(wh.con.execute(
        "SELECT layer, sum(n) FROM residue_stats GROUP BY layer").fetchall())
    assert stats[2] == sum(len(s) for _, s in RECORDS[:9]) and stats[1] == stats[2]
    wh.close()


CRASH = textwrap.dedent("""
    import os, signal, sys
    import pyarrow as pa
    import protiso.embedding.job as job
    from protiso.warehouse import Warehouse
    original = job.commit_chunk
    calls = []
    def crashing(wh, run_id, model, result, cumulative, *rest):
        calls.append(1)
        if len(calls) == 3:  # die in the middle of the third commit: a part written, nothing catalogued
            with wh.commit(run_id) as tx:
                tx.write_part("embeddings", pa.Table.from_batches([result.embeddings]), {"model": model})
                os.kill(os.getpid(), signal.SIGKILL)
        original(wh, run_id, model, result, cumulative, *rest)
    job.commit_chunk = crashing
    wh = Warehouse.open(sys.argv[1])
    job.embed_proteins(wh, job.EmbedOptions(sys.argv[2], residues="all", device="cpu", chunk_residues=800), progress=False)
""")


def test_resume_after_kill_9_gives_exact_counts(tmp_path, model_dir):
    records = RECORDS[:20]
    wh = make_warehouse(tmp_path / "w", records)
    wh.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CRASH, str(tmp_path / "w"), str(model_dir)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    stray = list((tmp_path / "w").rglob("*.parquet"))
    wh = Warehouse.open(tmp_path / "w")
    assert len(list((tmp_path / "w").rglob("*.parquet"))) < len(stray)  # the uncatalogued part is gone
    partial = counts(wh)
    assert 0 < partial["embeddings"] < len(records) and partial["embeddings"] == partial["distinct"]
    summary = embed_proteins(wh, EmbedOptions(str(model_dir), residues="all", device="cpu"), progress=False)
    assert summary.proteins == len(records) - partial["embeddings"]
    final = counts(wh)
    assert final["embeddings"] == final["distinct"] == len(records)
    assert final["residues"] == sum(len(s) for _, s in records)
    assert wh.con.execute("SELECT count(*) FROM (SELECT DISTINCT accession, position FROM residues)"
                          ).fetchall()[0][0] == final["residues"]
    # The killed run's statistics cover exactly what it committed; both runs together cover everything.
    assert wh.con.execute("SELECT sum(n) FROM residue_stats").fetchall()[0][0] == final["residues"]
    # So do the global vectors' statistics (embedding_stats): one row per run, nothing lost or doubled.
    assert wh.con.execute("SELECT count(*), sum(n), sum(rows) FROM embedding_stats").fetchall()[0] == \
        (2, final["embeddings"], final["embeddings"])
    vectors = np.array(wh.query("SELECT embedding FROM embeddings").column(0).to_pylist(), dtype=np.float64)
    iso, cos = wh.con.execute("SELECT isoscore, mean_cosine FROM embedding_stats_isotropy()").fetchall()[0]
    assert iso == pytest.approx(isoscore(vectors), rel=1e-9)
    assert cos == pytest.approx(mean_pairwise_cosine(vectors), rel=1e-9)
    statuses = sorted(r[0] for r in wh.con.execute("SELECT status FROM runs WHERE kind = 'embed'").fetchall())
    assert statuses == ["done", "interrupted"]  # the killed run's process is gone (marked on open)
    wh.close()


def test_bad_input_fails_before_anything_is_written(tmp_path, model_dir):
    empty = Warehouse.create(tmp_path / "empty")
    with pytest.raises(ProtisoError, match="no protein sequences"):
        embed_proteins(empty, EmbedOptions(str(model_dir), device="cpu"), progress=False)
    assert counts(empty)["runs"] == 0
    empty.close()
    wh = make_warehouse(tmp_path / "w", RECORDS[:3] + [("P99999", "MKTJJ")])
    before = counts(wh)
    for model, match in [("no-such-model", "unknown model"), (str(tmp_path / "missing"), "no such file"),
                         ("proteinbert", "pretrained pickle"), (str(model_dir), "P99999")]:
        with pytest.raises(ProtisoError, match=match) as error:
            embed_proteins(wh, EmbedOptions(model, device="cpu"), progress=False)
        assert "\n" not in str(error.value)
        assert counts(wh) == before
    with pytest.raises(ProtisoError, match="length-policy"):
        embed_proteins(wh, EmbedOptions(str(model_dir), device="cpu", length_policy="drop"), progress=False)
    with pytest.raises(ProtisoError, match="--residues"):
        embed_proteins(wh, EmbedOptions(str(model_dir), device="cpu", residues="most"), progress=False)
    assert counts(wh) == before
    # skip_invalid records the protein in rejects once and embeds the rest.
    summary = embed_proteins(wh, EmbedOptions(str(model_dir), device="cpu", skip_invalid=True), progress=False)
    assert summary.rejected == ["P99999"] and summary.proteins == 3
    assert summary.render().splitlines()[0].startswith("embedded 3 proteins") and "P99999" in summary.render()
    again = embed_proteins(wh, EmbedOptions(str(model_dir), device="cpu", skip_invalid=True), progress=False)
    assert again.rejected == [] and again.proteins == 0
    assert wh.con.execute("SELECT count(*) FROM rejects WHERE accession = 'P99999'").fetchall()[0][0] == 1
    wh.close()


def test_cli_ingest_with_a_bad_model_or_sequence_leaves_the_warehouse_untouched(tmp_path, model_dir):
    from typer.testing import CliRunner

    from protiso.cli import app

    w = tmp_path / "w"
    good, bad, empty = tmp_path / "good.fasta", tmp_path / "bad.fasta", tmp_path / "empty.fasta"
    good.write_text("".join(f">{a}\n{s}\n" for a, s in RECORDS[:3]))
    bad.write_text(f">{RECORDS[3][0]}\n{RECORDS[3][1]}\n>P99999\nMKTUUUAL\n")  # U: not in AntiBERTy's vocabulary
    empty.write_text("")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(good), "-w", str(w), "--no-progress"]).exit_code == 0

    def snapshot():
        with Warehouse.open(w) as wh:
            return wh.con.execute("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM parts), "
                                  "(SELECT count(*) FROM proteins), (SELECT count(*) FROM rejects)").fetchall()

    before = snapshot()
    for args, message in [
        ([str(bad), "--model", "no-such-model"], "unknown model"),
        ([str(bad), "--model", "unirep-64", "--weights", str(tmp_path / "missing.npz")], "not found"),
        ([str(bad), "--model", "antiberty"], "P99999"),
        ([str(empty), "--model", str(model_dir)], "no fasta records"),
        ([str(bad), "--model", str(model_dir), "--length-policy", "drop"], "length"),
    ]:
        result = runner.invoke(app, ["ingest", *args, "-w", str(w), "--no-progress"])
        assert result.exit_code == 2, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and message in errors[0], result.output
        assert snapshot() == before
    # With --skip-invalid the same file goes in, and the protein the model cannot read is a reject.
    result = runner.invoke(app, ["ingest", str(bad), "-w", str(w), "--model", "antiberty", "--skip-invalid",
                                 "--device", "cpu", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "embedded 4 proteins" in result.stdout and "P99999" in result.stdout


class _Layers(ModelAdapter):
    """Just enough of an adapter to test layer parsing."""

    name, revision, dim, pooling, max_residues, alphabet = "m", "r", 4, "mean", None, frozenset("A")

    def __init__(self, num_layers: int, first_layer: int = 0):
        self.num_layers, self.first_layer = num_layers, first_layer

    def embed_batch(self, sequences, layers):  # pragma: no cover - not called
        raise NotImplementedError


def test_parse_layers():
    eight, two = _Layers(8), _Layers(2)
    assert parse_layers(None, eight) == [8] and parse_layers("last", eight) == [8]
    assert parse_layers("all", two) == [0, 1, 2] and parse_layers("0,-1", eight) == [0, 8]
    assert parse_layers("all", _Layers(4, first_layer=1)) == [1, 2, 3, 4]  # UniRep has no layer 0
    for bad in ("9", "x", [-10]):
        with pytest.raises(ProtisoError):
            parse_layers(bad, eight)
    with pytest.raises(ProtisoError, match="layer 0"):
        parse_layers("0", _Layers(4, first_layer=1))
