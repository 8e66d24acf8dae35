"""The embedding stage: batching, deduplication, length policies, residue sampling, statistics."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from hub_models import FIXTURE_FASTA, protbert, read_fasta, sample_batch

from protiso.embedding.stage import (
    StageOptions,
    embed_record_batch,
    forward_with_split,
    keeps_residues,
    parse_residues,
    plan_pieces,
    stitch_ranges,
    token_batches,
)
from protiso.embedding.lengths import window_starts
from protiso.errors import ProtisoError
from protiso.metrics.isotropy import isoscore
from protiso.models.registry import load_model

RECORDS = read_fasta(FIXTURE_FASTA)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return protbert(tmp_path_factory.mktemp("stage") / "prot_bert", seed=3)


@pytest.fixture(scope="module")
def adapter(model_dir):
    return load_model(str(model_dir), device="cpu")


class Counting:
    """Wraps an adapter, recording every batch it is asked to embed."""

    def __init__(self, inner, oom_above: int | None = None):
        self.inner, self.oom_above, self.calls, self.ooms = inner, oom_above, [], 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_batch(self, sequences, layers):
        if self.oom_above is not None and len(sequences) > self.oom_above:
            self.ooms += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        self.calls.append(list(sequences))
        return self.inner.embed_batch(sequences, layers)


def frame(result):
    return result.embeddings.to_pandas().sort_values(["accession", "layer"]).reset_index(drop=True)


def test_token_batches_respect_the_budget_and_cover_everything():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 900, size=300).tolist()
    batches = token_batches(lengths, batch_tokens=2000, specials=2)
    seen = sorted(i for batch in batches for i in batch)
    assert seen == list(range(300))
    for batch in batches:
        padded = (max(lengths[i] for i in batch) + 2) * len(batch)
        assert padded <= 2000 or len(batch) == 1
    order = [lengths[i] for batch in batches for i in batch]
    assert order == sorted(lengths, reverse=True)


def test_token_budget_batching_equals_one_at_a_time(adapter):
    records = RECORDS[:20]
    options = dict(layers=(0, 2), residues=1.0)
    packed = Counting(adapter)
    together = embed_record_batch(packed, sample_batch(records), StageOptions(batch_tokens=3000, **options))
    alone = embed_record_batch(adapter, sample_batch(records), StageOptions(batch_tokens=1, **options))
    assert max(len(call) for call in packed.calls) > 1
    a, b = frame(together), frame(alone)
    np.testing.assert_allclose(np.stack(a.embedding), np.stack(b.embedding), atol=2e-6)
    ra = together.residues.to_pandas().sort_values(["accession", "layer", "position"])
    rb = alone.residues.to_pandas().sort_values(["accession", "layer", "position"])
    np.testing.assert_allclose(np.stack(ra.vector), np.stack(rb.vector), atol=2e-6)


def test_identical_sequences_are_embedded_once(adapter):
    shared = RECORDS[-3:]
    assert len({s for _, s in shared}) == 1
    counting = Counting(adapter)
    result = embed_record_batch(counting, sample_batch(shared + RECORDS[:2]), StageOptions(layers=(2,)))
    embedded = [s for call in counting.calls for s in call]
    assert len(embedded) == 3 and embedded.count(shared[0][1]) == 1
    rows = frame(result)
    assert len(rows) == 5
    vectors = np.stack(rows[rows.accession.isin([a for a, _ in shared])].embedding)
    assert np.array_equal(vectors[0], vectors[1]) and np.array_equal(vectors[0], vectors[2])
    # ... but every accession's residues count in the statistics.
    assert result.stats[2].n == sum(len(s) for _, s in shared + RECORDS[:2])


def test_statistics_equal_stacking_every_residue_vector(adapter):
    records = RECORDS[:12] + RECORDS[-3:]
    result = embed_record_batch(adapter, sample_batch(records), StageOptions(layers=(1, 2), residues=1.0))
    residues = result.residues.to_pandas()
    for layer in (1, 2):
        stacked = np.stack(residues[residues.layer == layer].vector).astype(np.float64)
        stats = result.stats[layer]
        assert stats.n == len(stacked) == sum(len(s) for _, s in records)
        np.testing.assert_allclose(stats.sum_x, stacked.sum(0), rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(stats.sum_xxt, stacked.T @ stacked, rtol=1e-10, atol=1e-8)


def test_local_isoscore_is_the_isoscore_of_the_proteins_residues(adapter):
    records = RECORDS[:5]
    result = embed_record_batch(adapter, sample_batch(records), StageOptions(layers=(2,), residues=1.0))
    rows, residues = frame(result), result.residues.to_pandas()
    for _, row in rows.iterrows():
        mine = np.stack(residues[residues.accession == row.accession].vector)
        assert row.local_n == len(mine)
        assert row.local_isoscore == pytest.approx(isoscore(mine.astype(np.float64)), rel=1e-9)


def test_plan_pieces():
    assert plan_pieces(100, None, "truncate") == ("none", [(0, 100)])
    assert plan_pieces(100, 100, "chunk") == ("none", [(0, 100)])
    assert plan_pieces(101, 50, "truncate") == ("truncate", [(0, 50)])
    assert plan_pieces(101, 50, "chunk") == ("chunk_mean", [(0, 34), (34, 68), (68, 101)])
    with pytest.raises(ProtisoError):
        plan_pieces(101, 50, "drop")


def test_chunk_and_truncate_policies(model_dir):
    limited = load_model(str(model_dir), device="cpu", max_residues=50)
    accession, sequence = next(r for r in RECORDS if 120 <= len(r[1]) <= 150)
    short = next(r for r in RECORDS if len(r[1]) < 50)
    batch = sample_batch([(accession, sequence), short])
    chunked = embed_record_batch(limited, batch, StageOptions(layers=(2,), residues=1.0, length_policy="chunk"))
    truncated = embed_record_batch(limited, batch, StageOptions(layers=(2,), residues=1.0, length_policy="truncate"))
    rows = frame(chunked).set_index("accession")
    assert rows.loc[accession, "length_policy"] == "chunk_mean"
    assert rows.loc[short[0], "length_policy"] == "none"
    _, bounds = plan_pieces(len(sequence), 50, "chunk")
    pieces = [limited.embed_batch([sequence[a:b]], [2])[0] for a, b in bounds]
    manual_residues = np.concatenate([p.residues[2] for p in pieces])
    np.testing.assert_allclose(rows.loc[accession, "embedding"], manual_residues.mean(0), atol=2e-6)
    stored = chunked.residues.to_pandas()
    stored = np.stack(stored[stored.accession == accession].sort_values("position").vector)
    np.testing.assert_allclose(stored, manual_residues, atol=2e-6)
    assert rows.loc[accession, "local_n"] == len(sequence)
    rows = frame(truncated).set_index("accession")
    assert rows.loc[accession, "length_policy"] == "truncate" and rows.loc[accession, "local_n"] == 50
    alone = limited.embed_batch([sequence[:50]], [2])[0]
    np.testing.assert_allclose(rows.loc[accession, "embedding"], alone.global_[2], atol=2e-6)
    assert truncated.stats[2].n == 50 + len(short[1])


def test_out_of_memory_splits_the_batch_and_retries(adapter):
    records = [r for r in RECORDS if len(r[1]) < 400][:24]
    flaky = Counting(adapter, oom_above=2)
    result = embed_record_batch(flaky, sample_batch(records), StageOptions(layers=(2,), batch_tokens=4000))
    assert max(len(call) for call in flaky.calls) <= 2
    # After the first split the budget drops, so later batches do not run out of memory again.
    lengths = [len(s) for _, s in records]

    def splits(n: int) -> int:  # out-of-memory errors for a batch of n if every batch kept the full budget
        return 0 if n <= 2 else 1 + splits(n // 2) + splits(n - n // 2)

    assert 0 < flaky.ooms < sum(splits(len(b)) for b in token_batches(lengths, 4000))
    reference = embed_record_batch(adapter, sample_batch(records), StageOptions(layers=(2,), batch_tokens=4000))
    np.testing.assert_allclose(np.stack(frame(result).embedding), np.stack(frame(reference).embedding), atol=2e-6)
    with pytest.raises(ProtisoError, match="out of memory"):
        forward_with_split(Counting(adapter, oom_above=0), ["ACDE"], [2])


def test_residue_sampling_is_seeded_and_stable(adapter):
    accessions = [f"P{i:05d}" for i in range(4000)]
    kept = [keeps_residues(a, 0.25, seed=1) for a in accessions]
    assert kept == [keeps_residues(a, 0.25, seed=1) for a in accessions]
    assert 0.22 < np.mean(kept) < 0.28
    assert kept != [keeps_residues(a, 0.25, seed=2) for a in accessions]
    records = RECORDS[:20]
    result = embed_record_batch(adapter, sample_batch(records), StageOptions(layers=(2,), residues=0.3, seed=5))
    expected = {a for a, _ in records if keeps_residues(a, 0.3, seed=5)}
    assert 0 < len(expected) < 20
    assert set(result.residues.column("accession").to_pylist()) == expected
    assert result.stats[2].n == sum(len(s) for _, s in records)  # statistics cover every protein
    none = embed_record_batch(adapter, sample_batch(records[:3]), StageOptions(layers=(2,), residues=0.0))
    assert none.residues.num_rows == 0 and none.embeddings.num_rows == 3


def test_parse_residues():
    assert parse_residues("all") == 1.0 and parse_residues("none") == 0.0 and parse_residues("0.01") == 0.01
    for bad in ("some", "1.5", "-0.1"):
        with pytest.raises(ProtisoError):
            parse_residues(bad)


def test_bad_input_is_a_protiso_error(adapter):
    with pytest.raises(ProtisoError, match="Q1"):
        embed_record_batch(adapter, sample_batch([("Q1", "ACD1E")]), StageOptions(layers=(2,)))
    with pytest.raises(ProtisoError, match="Q2: empty"):
        embed_record_batch(adapter, sample_batch([("Q2", "")]), StageOptions(layers=(2,)))
    with pytest.raises(ProtisoError, match="length policy"):
        embed_record_batch(adapter, sample_batch(RECORDS[:1]), StageOptions(layers=(2,), length_policy="x"))
    empty = embed_record_batch(adapter, sample_batch([]), StageOptions(layers=(2,)))
    assert empty.embeddings.num_rows == 0 and empty.stats == {}
    assert empty.embeddings.schema.field("embedding").type == pa.list_(pa.float32())


def _farthest_from_an_edge(length: int, bounds: list[tuple[int, int]]) -> list[int]:
    """The stated rule, by brute force: per residue, the window where it is farthest from an edge
    (ties: the earlier window)."""
    best = []
    for j in range(length):
        scores = [(min(j - a, b - 1 - j), -i) for i, (a, b) in enumerate(bounds) if a <= j < b]
        best.append(-max(scores)[1])
    return best


def test_window_rule_covers_every_residue_from_the_window_where_it_is_farthest_from_an_edge():
    assert plan_pieces(50, 50, "window") == ("none", [(0, 50)])
    assert plan_pieces(101, 50, "window") == ("window", [(0, 50), (17, 67), (34, 84), (51, 101)])
    assert window_starts(51, 50) == [0, 1] and window_starts(150, 50) == [0, 25, 50, 75, 100]
    assert stitch_ranges([(0, 50), (17, 67), (34, 84), (51, 101)]) == [(0, 34), (34, 51), (51, 68), (68, 101)]
    for limit in (1, 2, 3, 4, 5, 50, 51, 510):
        for length in sorted({limit + 1, limit + 2, 2 * limit - 1, 2 * limit, 3 * limit + 7, 1000}):
            if length <= limit:
                continue
            policy, bounds = plan_pieces(length, limit, "window")
            assert policy == "window" and all(b - a == limit for a, b in bounds)
            assert bounds[0][0] == 0 and bounds[-1][1] == length
            gaps = [b[0] - a[0] for a, b in zip(bounds, bounds[1:])]
            assert len(bounds) == -(-(length - limit) // (limit - limit // 2)) + 1
            assert 1 <= min(gaps) and max(gaps) - min(gaps) <= 1 and max(gaps) <= limit - limit // 2  # even, overlap >= L//2
            keep = stitch_ranges(bounds)
            owner = [i for i, (lo, hi) in enumerate(keep) for _ in range(lo, hi)]
            assert owner == _farthest_from_an_edge(length, bounds), (limit, length)  # a partition, by the rule
            context = [min(j - bounds[i][0], bounds[i][1] - 1 - j) for j, i in enumerate(owner)]
            inner = [c for j, c in enumerate(context) if limit // 4 <= j < length - limit // 4]
            assert min(inner) >= limit // 4  # every residue but the protein's ends has floor(limit/4) each side
    assert plan_pieces(40, 50, "skip") == ("none", [(0, 40)])
    with pytest.raises(ProtisoError, match="skip"):
        plan_pieces(101, 50, "skip")


def test_window_policy_gives_every_residue_a_vector_and_equals_plain_for_short_proteins(model_dir):
    limited = load_model(str(model_dir), device="cpu", max_residues=50)
    accession, sequence = next(r for r in RECORDS if 160 <= len(r[1]) <= 240)
    short = next(r for r in RECORDS if len(r[1]) < 50)
    batch = sample_batch([(accession, sequence), short])
    options = dict(layers=(1, 2), residues=1.0, batch_tokens=120)
    windowed = embed_record_batch(limited, batch, StageOptions(length_policy="window", **options))
    plain = embed_record_batch(limited, batch, StageOptions(length_policy="truncate", **options))
    rows = frame(windowed).set_index(["accession", "layer"])
    stored = windowed.residues.to_pandas()
    _, bounds = plan_pieces(len(sequence), 50, "window")
    keep = stitch_ranges(bounds)
    for layer in (1, 2):
        assert rows.loc[(accession, layer), "length_policy"] == "window"
        assert rows.loc[(accession, layer), "local_n"] == len(sequence)
        mine = stored[(stored.accession == accession) & (stored.layer == layer)].sort_values("position")
        assert mine.position.tolist() == list(range(1, len(sequence) + 1))  # every residue has a vector
        assert "".join(mine.residue) == sequence
        windows = [limited.embed_batch([sequence[a:b]], [layer])[0].residues[layer] for a, b in bounds]
        manual = np.concatenate([w[lo - a:hi - a] for w, (a, _), (lo, hi) in zip(windows, bounds, keep)])
        np.testing.assert_allclose(np.stack(mine.vector), manual, atol=2e-6)
        np.testing.assert_allclose(rows.loc[(accession, layer), "embedding"], manual.mean(0), atol=2e-6)
    # A protein under the limit: window == plain, bit for bit.
    a, b = frame(windowed), frame(plain)
    a, b = a[a.accession == short[0]], b[b.accession == short[0]]
    assert (a.length_policy == "none").all()
    np.testing.assert_array_equal(np.stack(a.embedding), np.stack(b.embedding))
    np.testing.assert_array_equal(a.local_isoscore.to_numpy(), b.local_isoscore.to_numpy())
    assert windowed.stats[2].n == windowed.residues_total == len(sequence) + len(short[1])
    for layer in (1, 2):  # statistics cover every stitched residue once
        vectors = np.stack(stored[stored.layer == layer].vector).astype(np.float64)
        np.testing.assert_allclose(windowed.stats[layer].sum_x, vectors.sum(0), rtol=1e-9, atol=1e-9)
