"""BERT family: AntiBERTy with its real weights, ProtBert / ProtBert-BFD as tiny hub-layout models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hub_models import FIXTURE_FASTA, fake_hub_cache, protbert, read_fasta, sample_batch

from protiso.embedding.stage import StageOptions, embed_record_batch
from protiso.errors import ProtisoError
from protiso.models.registry import load_model

STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def antiberty():
    return load_model("antiberty", device="cpu")


@pytest.fixture(scope="module")
def hf_antiberty():
    """The reference: transformers' own BertModel + BertTokenizer from the package's files."""
    from transformers import BertModel, BertTokenizer

    from protiso.models.bert import antiberty_dir

    root = antiberty_dir()
    model = BertModel.from_pretrained(str(root / "AntiBERTy_md_smooth")).eval()
    tokenizer = BertTokenizer.from_pretrained(str(root), do_lower_case=False)
    return model, tokenizer


def hf_single(model, tokenizer, sequence: str) -> np.ndarray:
    """Single-sequence HF forward, last layer, all tokens but [CLS] and [SEP], fp32."""
    encoded = tokenizer(" ".join(sequence), return_tensors="pt")
    with torch.no_grad():
        hidden = model(**encoded, output_hidden_states=True).hidden_states[-1][0]
    return hidden[1:-1].numpy()


def test_antiberty_stage_matches_single_sequence_hf_forward(antiberty, hf_antiberty):
    records = [r for r in read_fasta(FIXTURE_FASTA) if set(r[1]) <= STANDARD]
    # Short and long real sequences, plus the three accessions that share one sequence.
    chosen = sorted(records[:26], key=lambda r: len(r[1]))[:8] + [r for r in records if len(r[1]) > 510][:1]
    chosen += records[-3:]
    result = embed_record_batch(
        antiberty, sample_batch(chosen), StageOptions(layers=(8,), residues=1.0, batch_tokens=2048)
    )
    table = result.embeddings.to_pydict()
    residues = result.residues.to_pandas()
    assert table["accession"] == [a for a, _ in chosen]
    assert set(table["layer"]) == {8}
    for (accession, sequence), vector, policy in zip(chosen, table["embedding"], table["length_policy"]):
        kept = sequence[:510]
        reference = hf_single(*hf_antiberty, kept)
        assert policy == ("truncate" if len(sequence) > 510 else "none")
        assert cosine(np.array(vector), reference.mean(axis=0)) >= 0.99999
        mine = residues[residues.accession == accession].sort_values("position")
        assert list(mine.position) == list(range(1, len(kept) + 1))
        assert "".join(mine.residue) == kept
        stored = np.stack(mine.vector.to_numpy())
        per_residue = (stored * reference).sum(1) / np.linalg.norm(stored, axis=1) / np.linalg.norm(reference, axis=1)
        assert per_residue.min() >= 0.99999


def test_antiberty_rejects_residues_outside_its_vocabulary(antiberty):
    odd = [r for r in read_fasta(FIXTURE_FASTA) if not set(r[1]) <= STANDARD]
    assert odd
    with pytest.raises(ProtisoError, match=odd[0][0]):
        embed_record_batch(antiberty, sample_batch(odd[:1]), StageOptions(layers=(8,)))


def test_antiberty_facts(antiberty):
    assert (antiberty.name, antiberty.dim, antiberty.num_layers, antiberty.max_residues) == ("antiberty", 512, 8, 510)
    assert antiberty.revision.startswith("sha256:")
    assert antiberty.alphabet == frozenset(STANDARD)


# ---- ProtBert: tiny model, hub layout, loaded by its hub id from a (fake) local cache ----------------


def plain_bert(state: dict[str, torch.Tensor], ids: list[int], heads: int, eps: float = 1e-12) -> list[torch.Tensor]:
    """BERT forward written out in plain torch from the checkpoint's tensors (one sequence)."""
    p = {k.removeprefix("bert."): v.float() for k, v in state.items()}
    ln = torch.nn.functional.layer_norm
    x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][: len(ids)]
    x = x + p["embeddings.token_type_embeddings.weight"][0]
    d = x.shape[1]
    x = ln(x, (d,), p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"], eps)
    states = [x]
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in p:
        w = lambda name: p[f"encoder.layer.{layer}.{name}"]  # noqa: E731
        lin = lambda t, name: t @ w(name + ".weight").T + w(name + ".bias")  # noqa: E731
        split = lambda t: t.view(len(ids), heads, d // heads).transpose(0, 1)  # noqa: E731
        q, k, v = (split(lin(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
        attn = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d // heads), dim=-1)
        context = (attn @ v).transpose(0, 1).reshape(len(ids), d)
        x = ln(lin(context, "attention.output.dense") + x, (d,), w("attention.output.LayerNorm.weight"),
               w("attention.output.LayerNorm.bias"), eps)
        hidden = torch.nn.functional.gelu(lin(x, "intermediate.dense"))
        x = ln(lin(hidden, "output.dense") + x, (d,), w("output.LayerNorm.weight"), w("output.LayerNorm.bias"), eps)
        states.append(x)
        layer += 1
    return states


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    cache = root / "cache"
    fake_hub_cache(cache, "Rostlab/prot_bert", protbert(root / "prot_bert", seed=1))
    fake_hub_cache(cache, "Rostlab/prot_bert_bfd", protbert(root / "prot_bert_bfd", seed=2, layers=3))
    return cache


@pytest.mark.parametrize("repo_id", ["Rostlab/prot_bert", "Rostlab/prot_bert_bfd"])
def test_protbert_from_hub_cache_matches_plain_torch_bert(hub_cache, monkeypatch, repo_id):
    from huggingface_hub import constants
    from safetensors.torch import load_file

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    adapter = load_model(repo_id, device="cpu")
    snapshot = next((hub_cache / ("models--" + repo_id.replace("/", "--")) / "snapshots").iterdir())
    assert adapter.name == repo_id and adapter.revision == snapshot.name
    state = load_file(str(snapshot / "model.safetensors"))
    vocab = (snapshot / "vocab.txt").read_text().split()
    records = read_fasta(FIXTURE_FASTA)[:10] + [r for r in read_fasta(FIXTURE_FASTA) if set(r[1]) - STANDARD]
    layers = (0, adapter.num_layers)
    result = embed_record_batch(adapter, sample_batch(records), StageOptions(layers=layers, residues=1.0))
    rows = result.embeddings.to_pandas()
    residues = result.residues.to_pandas()
    for accession, sequence in records:
        mapped = "".join("X" if c in "UZOB" else c for c in sequence)  # ProtBert's model-card rule
        ids = [vocab.index("[CLS]")] + [vocab.index(c) for c in mapped] + [vocab.index("[SEP]")]
        states = plain_bert(state, ids, heads=4)
        for layer in layers:
            reference = states[layer][1:-1].numpy()
            got = rows[(rows.accession == accession) & (rows.layer == layer)].embedding.iloc[0]
            np.testing.assert_allclose(got, reference.mean(0), rtol=1e-4, atol=1e-5)
            mine = residues[(residues.accession == accession) & (residues.layer == layer)].sort_values("position")
            np.testing.assert_allclose(np.stack(mine.vector.to_numpy()), reference, rtol=1e-4, atol=1e-5)
            assert "".join(mine.residue) == sequence  # the stored residue letters are the originals


def test_protbert_maps_uzob_to_x(hub_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    adapter = load_model("Rostlab/prot_bert", device="cpu")
    assert adapter.normalise("AUZOBC") == "AXXXXC"
    out = adapter.embed_batch(["AXXXXC", adapter.normalise("AUZOBC")], [adapter.num_layers])
    np.testing.assert_array_equal(out[0].global_[2], out[1].global_[2])


def test_missing_hub_weights_is_one_line_error(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ProtisoError) as error:
        load_model("Rostlab/prot_bert", device="cpu")
    message = str(error.value)
    assert "\n" not in message and "Rostlab/prot_bert" in message and str(tmp_path) in message
