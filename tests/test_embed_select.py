"""Choosing the proteins to embed (protiso embed --sample/--seed, --accessions, --where) and the
rule for proteins longer than the model's limit (--long), on real Swiss-Prot slices with a tiny
ProtBert-layout model."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hub_models import protbert, read_fasta
from typer.testing import CliRunner

from protiso.cli import app
from protiso.embedding import EmbedOptions, embed_proteins
from protiso.errors import ProtisoError
from protiso.jobs.ingest_embed import ingest_and_embed
from protiso.sequences.ingest import ingest_files
from protiso.warehouse import Warehouse

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return protbert(tmp_path_factory.mktemp("select") / "prot_bert", seed=7)


@pytest.fixture
def wh(tmp_path, loaded_warehouse):
    """A writable copy of the loaded warehouse (Swiss-Prot 2014 head 300 + GO, the 100 .dat entries)."""
    shutil.copytree(loaded_warehouse, tmp_path / "w")
    with Warehouse.open(tmp_path / "w") as warehouse:
        yield warehouse


def options(model_dir, **values) -> EmbedOptions:
    return EmbedOptions(str(model_dir), device="cpu", **values)


def embedded(wh: Warehouse) -> set[str]:
    return set(wh.query("SELECT DISTINCT accession FROM embeddings").column("accession").to_pylist())


def accessions(wh: Warehouse, sql: str) -> set[str]:
    return set(wh.query(sql).column("accession").to_pylist())


def drawn(pool: set[str], n: int, seed: int) -> set[str]:
    """The documented draw, computed independently: the n accessions with the smallest md5('<seed>:' || acc)."""
    return set(sorted(pool, key=lambda a: (hashlib.md5(f"{seed}:{a}".encode()).hexdigest(), a))[:n])


def last_params(wh: Warehouse) -> dict:
    row = wh.query("SELECT params FROM runs WHERE kind = 'embed' ORDER BY started_at DESC LIMIT 1").to_pylist()[0]
    return json.loads(row["params"])


def test_a_seeded_sample_is_reproducible_recorded_and_skips_what_is_embedded(wh, model_dir):
    everyone = accessions(wh, "SELECT accession FROM proteins WHERE sequence IS NOT NULL")
    first = embed_proteins(wh, options(model_dir, sample=25, seed=1), progress=False)
    assert first.proteins == 25 and embedded(wh) == drawn(everyone, 25, 1)
    params = last_params(wh)
    assert (params["sample"], params["seed"], params["where"], params["accessions"]) == (25, 1, None, None)
    assert params["selection"] == {"accessions": None, "listed": None, "where": None, "sample": 25, "seed": 1,
                                   "candidates": len(everyone), "drawn": 25, "pending": 25, "unknown": 0,
                                   "unknown_first": []}
    assert "chose 25 of" in first.render() and "0 already embedded" in first.render()
    again = embed_proteins(wh, options(model_dir, sample=25, seed=1), progress=False)
    assert again.proteins == 0 and last_params(wh)["selection"]["pending"] == 0
    assert "25 already embedded" in again.render()
    other = embed_proteins(wh, options(model_dir, sample=25, seed=2), progress=False)
    new = drawn(everyone, 25, 2) - drawn(everyone, 25, 1)
    assert other.proteins == len(new) > 0 and embedded(wh) == drawn(everyone, 25, 1) | drawn(everyone, 25, 2)
    so_far = embedded(wh)
    assert drawn(everyone, 25, 1) < drawn(everyone, 50, 1)  # samples nest: a larger N adds the difference
    larger = embed_proteins(wh, options(model_dir, sample=50, seed=1), progress=False)
    assert larger.proteins == len(drawn(everyone, 50, 1) - so_far) > 0
    assert embedded(wh) == so_far | drawn(everyone, 50, 1)
    assert not options(model_dir).chosen  # without a selection: every pending protein (as ingest --model)


def test_where_reads_proteins_and_their_annotations(wh, model_dir):
    ecoli = accessions(wh, "SELECT accession FROM proteins WHERE organism LIKE 'Escherichia coli%'")
    assert 0 < len(ecoli) < 20
    summary = embed_proteins(wh, options(model_dir, where="organism LIKE 'Escherichia coli%'"), progress=False)
    assert summary.proteins == len(ecoli) and embedded(wh) == ecoli
    assert last_params(wh)["selection"]["where"] == "organism LIKE 'Escherichia coli%'"
    # GO: the go_ids helper column and an EXISTS subquery choose the same proteins.
    term = wh.con.execute("SELECT go_id FROM protein_go GROUP BY go_id ORDER BY count(*) DESC, go_id LIMIT 1 OFFSET 3"
                          ).fetchall()[0][0]
    annotated = accessions(wh, f"SELECT DISTINCT accession FROM protein_go WHERE go_id = '{term}'")
    assert len(annotated) > 10
    embed_proteins(wh, options(model_dir, where=f"list_contains(go_ids, '{term}')"), progress=False)
    assert embedded(wh) == ecoli | annotated
    name = wh.con.execute("SELECT name FROM go_terms WHERE go_id = ?", [term]).fetchall()[0][0].replace("'", "''")
    exists = ("EXISTS (SELECT 1 FROM protein_go g JOIN go_terms t USING (go_id) "
              f"WHERE g.accession = p.accession AND t.name = '{name}')")
    same = embed_proteins(wh, options(model_dir, where=exists), progress=False)
    assert same.proteins == 0 and same.selection.candidates == len(annotated)
    # Keywords (from the .dat entries), combined with columns and a seeded sample of the selection.
    keyword = wh.con.execute("SELECT keyword FROM protein_keywords GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
                             ).fetchall()[0][0]
    with_keyword = accessions(wh, f"SELECT accession FROM protein_keywords k JOIN proteins USING (accession) "
                                  f"WHERE keyword = '{keyword}' AND length > 100")
    chosen = embed_proteins(wh, options(model_dir, where=f"list_contains(keywords, '{keyword}') AND length > 100",
                                        sample=5, seed=3), progress=False)
    assert chosen.selection.candidates == len(with_keyword) > 5 and chosen.selection.drawn == 5
    assert drawn(with_keyword, 5, 3) <= embedded(wh)
    assert chosen.proteins == len(drawn(with_keyword, 5, 3) - ecoli - annotated)


def test_accessions_from_a_file(wh, model_dir, tmp_path):
    known = sorted(accessions(wh, "SELECT accession FROM proteins WHERE sequence IS NOT NULL"))[:4]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my proteins\n{known[0]}\n\n>sp|{known[1]}|SOME_NAME\n{known[2]} a note\n{known[0]}\n"
                       f"tr|{known[3]}|X\nQ0ZZZ9\n")
    summary = embed_proteins(wh, options(model_dir, accessions=str(listing)), progress=False)
    assert summary.proteins == 4 and embedded(wh) == set(known)
    assert "1 listed accessions are not in the warehouse: Q0ZZZ9" in summary.render()
    selection = last_params(wh)["selection"]
    assert (selection["accessions"], selection["listed"], selection["unknown"]) == (str(listing), 5, 1)
    assert selection["unknown_first"] == ["Q0ZZZ9"]
    listed = embed_proteins(wh, options(model_dir, accessions=[known[0], "Q0ZZZ8"], layers="0"), progress=False)
    assert listed.proteins == 1 and last_params(wh)["accessions"] == "2 listed"


def counts(wh: Warehouse) -> tuple:
    return wh.con.execute("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM parts), "
                          "(SELECT count(*) FROM rejects), (SELECT count(*) FROM embeddings)").fetchall()[0]


def test_bad_selections_fail_before_anything_is_written(wh, model_dir, tmp_path):
    before = counts(wh)
    for values, message in [
        (dict(where="TRUE; DROP TABLE runs"), "one boolean SQL expression"),
        (dict(where="TRUE) OR (1 = 1"), "one boolean SQL expression"),
        (dict(where="no_such_column = 1"), "cannot select proteins with --where"),
        (dict(where="organism = 'Nobody at all'"), "no protein with a sequence matches --where"),
        (dict(accessions=str(tmp_path / "missing.txt")), "no such file"),
        (dict(accessions=["Q0ZZZ9"]), "no protein with a sequence matches"),
        (dict(sample=0), "--sample must be a positive integer"),
        (dict(length_policy="drop"), "--long"),
    ]:
        with pytest.raises(ProtisoError, match=message) as error:
            embed_proteins(wh, options(model_dir, **values), progress=False)
        assert "\n" not in str(error.value)
        assert counts(wh) == before
        leftover = wh.con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'embed_source' "
                                  "UNION ALL SELECT count(*) FROM duckdb_tables() WHERE table_name = 'embed_selected'")
        assert [n for (n,) in leftover.fetchall()] == [0, 0]
    embed_proteins(wh, options(model_dir, sample=3), progress=False)  # the connection still works


def test_cli_embed(tmp_path, loaded_warehouse, model_dir):
    w = tmp_path / "w"
    shutil.copytree(loaded_warehouse, w)
    runner = CliRunner()
    args = ["embed", "-w", str(w), "--model", str(model_dir), "--device", "cpu", "--no-progress"]
    first = runner.invoke(app, [*args, "--sample", "6", "--seed", "4", "--layers", "all"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("embedded 6 proteins") and "--sample 6 --seed 4" in first.stdout
    again = runner.invoke(app, [*args, "--sample", "6", "--seed", "4", "--layers", "all"])
    assert again.exit_code == 0 and again.stdout.startswith("embedded 0 proteins"), again.output
    bad = runner.invoke(app, [*args, "--where", "x; DROP TABLE runs"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: --where must be one boolean SQL expression")
    missing = runner.invoke(app, ["embed", "-w", str(tmp_path / "nowhere"), "--model", str(model_dir)])
    assert missing.exit_code == 2 and "no warehouse" in missing.stderr
    alias = runner.invoke(app, [*args, "--sample", "2", "--seed", "9", "--length-policy", "chunk"])
    assert alias.exit_code == 0 and json_params(w)["length_policy"] == "chunk"


def json_params(w: Path) -> dict:
    with Warehouse.open(w) as wh:
        return last_params(wh)


# -- proteins longer than the model's limit (--long) ------------------------------------------------


def test_every_long_rule_is_counted_in_the_summary_and_recorded(tmp_path, model_dir):
    records = read_fasta(FIXTURES / "sp2014_head300.fasta")[:40]
    fasta = tmp_path / "p.fasta"
    fasta.write_text("".join(f">{a}\n{s}\n" for a, s in records))
    lengths = {a: len(s) for a, s in records}
    limit = 300
    long = {a for a, n in lengths.items() if n > limit}
    assert 5 < len(long) < len(lengths) - 5

    def fresh(name: str) -> Warehouse:
        wh = Warehouse.create(tmp_path / name)
        ingest_files(wh, [fasta], progress=False)
        return wh

    with fresh("t") as wh:
        truncated = embed_proteins(wh, options(model_dir, max_residues=limit), progress=False)  # the default rule
        assert truncated.long.proteins == len(long) and truncated.long.policy == "truncate"
        line = truncated.render().splitlines()[2]
        assert line.startswith(f"long proteins: {len(long):,} over prot_bert's limit of {limit} residues truncated")
        assert f"{sum(lengths[a] - limit for a in long):,} residues not embedded" in line
        recorded = last_params(wh)["long"]
        assert recorded["proteins"] == len(long) and recorded["residues_dropped"] == truncated.long.residues_dropped
        assert accessions(wh, "SELECT accession FROM embeddings WHERE length_policy = 'truncate'") == long
    with fresh("s") as wh:
        skipped = embed_proteins(wh, options(model_dir, max_residues=limit, length_policy="skip"), progress=False)
        assert skipped.proteins == len(lengths) - len(long) and embedded(wh) == set(lengths) - long
        assert f"long proteins: {len(long):,} over" in skipped.render() and "skipped" in skipped.render()
        assert last_params(wh)["long"]["residues_dropped"] == sum(lengths[a] for a in long)
        rejects = accessions(wh, "SELECT accession FROM rejects WHERE source = 'embed-long:prot_bert'")
        assert rejects == long
        # Skipped proteins stay pending: a later run under another rule embeds exactly them, every residue.
        windowed = embed_proteins(wh, options(model_dir, max_residues=limit, length_policy="window", residues="all"),
                                  progress=False)
        assert windowed.proteins == len(long) and embedded(wh) == set(lengths)
        assert windowed.long.pieces > len(long) and "overlapping windows" in windowed.render()
        assert windowed.residues == sum(lengths[a] for a in long)
        per_protein = dict(wh.con.execute("SELECT accession, count(*) FROM residues GROUP BY 1").fetchall())
        assert per_protein == {a: lengths[a] for a in long}
        assert accessions(wh, "SELECT accession FROM embeddings WHERE length_policy = 'window'") == long
        assert wh.con.execute("SELECT sum(n) FROM residue_stats WHERE run_id = ?",
                              [windowed.run_id]).fetchall()[0][0] == windowed.residues


def test_ingest_with_a_limited_model_reports_what_it_truncated(tmp_path, model_dir, shared_data):
    entries = shared_data / "swissprot-entries" / "swissprot_2012_100.dat"
    summary = ingest_and_embed(tmp_path / "w", [entries], embed=options(model_dir, max_residues=510), progress=False)
    text = summary.render()
    assert summary.embed.proteins == 100 and summary.embed.selection is None  # ingest --model: everything new
    assert summary.embed.long.proteins > 0
    assert f"long proteins: {summary.embed.long.proteins:,} over prot_bert's limit of 510 residues truncated" in text
