"""XLNet, ESM-2, ProtT5 encoder and generic adapters on tiny hub-layout models.

Each stored vector is compared with the Hugging Face model called one sequence at a time through
its own tokenizer on the string the model card prescribes, pooled by the family's rule written
out here independently of protiso's residue masks.
"""

from __future__ import annotations

import re

import hub_models
import numpy as np
import pytest
import torch
from hub_models import FIXTURE_FASTA, read_fasta, sample_batch

from protiso.embedding.stage import StageOptions, embed_record_batch
from protiso.models.registry import load_model

RECORDS = read_fasta(FIXTURE_FASTA)
# Mixed lengths, the four with U/B/Z/X, and the three accessions sharing a sequence.
CHOSEN = RECORDS[:6] + [r for r in RECORDS if set(r[1]) - set("ACDEFGHIKLMNPQRSTVWY")] + RECORDS[-3:]


def xlnet_reference(model_dir):
    from transformers import XLNetModel, XLNetTokenizer

    model = XLNetModel.from_pretrained(str(model_dir)).eval()
    tokenizer = XLNetTokenizer.from_pretrained(str(model_dir), do_lower_case=False)

    def run(sequence: str) -> list[np.ndarray]:
        text = " ".join(re.sub(r"[UZOBX]", "<unk>", c) for c in sequence)  # ProtXLNet model card
        encoded = tokenizer(text, return_tensors="pt")
        assert tokenizer.convert_ids_to_tokens(encoded["input_ids"][0][-2:].tolist()) == ["<sep>", "<cls>"]
        with torch.no_grad():
            hidden = model(**encoded, output_hidden_states=True).hidden_states
        return [h[0, :-2].numpy() for h in hidden]  # special tokens are the last two

    return run


def esm_reference(model_dir):
    from transformers import EsmModel, EsmTokenizer

    model = EsmModel.from_pretrained(str(model_dir), add_pooling_layer=False).eval()
    tokenizer = EsmTokenizer.from_pretrained(str(model_dir))

    def run(sequence: str) -> list[np.ndarray]:
        encoded = tokenizer(sequence, return_tensors="pt")
        with torch.no_grad():
            out = model(**encoded, output_hidden_states=True)
        hidden = list(out.hidden_states[:-1]) + [out.last_hidden_state]  # after the final layer norm
        return [h[0, 1:-1].numpy() for h in hidden]  # <cls> first, <eos> last

    return run


def t5_reference(model_dir):
    from transformers import T5EncoderModel, T5Tokenizer

    model = T5EncoderModel.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    tokenizer = T5Tokenizer.from_pretrained(str(model_dir), do_lower_case=False)

    def run(sequence: str) -> list[np.ndarray]:
        encoded = tokenizer(" ".join(re.sub(r"[UZOB]", "X", sequence)), return_tensors="pt")
        assert encoded["input_ids"][0, -1].item() == tokenizer.eos_token_id
        with torch.no_grad():
            out = model(**encoded, output_hidden_states=True)
        hidden = list(out.hidden_states[:-1]) + [out.last_hidden_state]
        return [h[0, :-1].numpy() for h in hidden]  # </s> last, no start token

    return run


def generic_reference(model_dir):
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))

    def run(sequence: str) -> list[np.ndarray]:
        encoded = tokenizer(" ".join(re.sub(r"[UZOB]", "X", sequence)), return_tensors="pt",
                            return_special_tokens_mask=True)
        keep = encoded.pop("special_tokens_mask")[0] == 0
        with torch.no_grad():
            hidden = model(**encoded, output_hidden_states=True).hidden_states
        return [h[0][keep].numpy() for h in hidden]

    return run


FAMILIES = {
    "xlnet": (hub_models.protxlnet, xlnet_reference, "XLNetAdapter"),
    "esm": (hub_models.esm2, esm_reference, "ESMAdapter"),
    "t5": (hub_models.prott5_encoder, t5_reference, "T5EncoderAdapter"),
    "generic": (hub_models.protelectra, generic_reference, "GenericAdapter"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {family: builder(root / family) for family, (builder, _, _) in FAMILIES.items()}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_matches_single_sequence_reference(built, family):
    _, make_reference, adapter_class = FAMILIES[family]
    adapter = load_model(str(built[family]), device="cpu")
    assert type(adapter).__name__ == adapter_class
    reference = make_reference(built[family])
    layers = (0, 1, adapter.num_layers)
    result = embed_record_batch(adapter, sample_batch(CHOSEN),
                                StageOptions(layers=layers, residues=1.0, batch_tokens=1500))
    rows = result.embeddings.to_pandas()
    residues = result.residues.to_pandas()
    assert len(rows) == len(CHOSEN) * len(layers)
    for accession, sequence in CHOSEN:
        states = reference(sequence)
        for layer in layers:
            expected = states[layer]
            assert expected.shape == (len(sequence), adapter.dim)
            got = rows[(rows.accession == accession) & (rows.layer == layer)].embedding.iloc[0]
            np.testing.assert_allclose(got, expected.mean(axis=0), rtol=1e-4, atol=2e-5)
            mine = residues[(residues.accession == accession) & (residues.layer == layer)].sort_values("position")
            np.testing.assert_allclose(np.stack(mine.vector.to_numpy()), expected, rtol=1e-4, atol=2e-5)


def test_xlnet_pads_left_with_special_tokens_at_the_end(built):
    adapter = load_model(str(built["xlnet"]), device="cpu")
    tokenizer = adapter.tokenizer
    ids, attention, residue = adapter.codec.encode(["ACD", "ACDEFG"])
    tokens = [tokenizer.convert_ids_to_tokens(row.tolist()) for row in ids]
    assert tokens[0] == ["<pad>"] * 3 + ["▁A", "▁C", "▁D", "<sep>", "<cls>"]
    assert tokens[1][-2:] == ["<sep>", "<cls>"] and "<pad>" not in tokens[1]
    assert attention[0].tolist() == [0, 0, 0, 1, 1, 1, 1, 1]
    assert residue[0].tolist() == [False] * 3 + [True] * 3 + [False] * 2
    # X (and U Z O B through X) is <unk>: the vocabulary has only the 20 standard residues.
    ids, _, _ = adapter.codec.encode([adapter.normalise("AUXB")])
    assert tokenizer.convert_ids_to_tokens(ids[0].tolist()) == ["▁A", "<unk>", "<unk>", "<unk>", "<sep>", "<cls>"]
    # A left-padded batch gives the same vectors as each sequence alone.
    together = adapter.embed_batch(["ACDKLMNPQ", "GHW"], [2])
    alone = adapter.embed_batch(["GHW"], [2])
    np.testing.assert_allclose(together[1].residues[2], alone[0].residues[2], atol=1e-5)


def test_t5_maps_uzob_to_x_and_closes_with_eos(built):
    adapter = load_model(str(built["t5"]), device="cpu")
    assert adapter.normalise("MUZOBK") == "MXXXXK"
    ids, _, residue = adapter.codec.encode(["MXK", "M"])
    assert adapter.tokenizer.convert_ids_to_tokens(ids[0].tolist()) == ["▁M", "▁X", "▁K", "</s>"]
    assert ids[1].tolist()[1:] == [adapter.tokenizer.eos_token_id, adapter.tokenizer.pad_token_id,
                                   adapter.tokenizer.pad_token_id]
    assert adapter.max_residues is None


def test_esm_limit_and_unspaced_generic_equivalence(built):
    from protiso.models.generic import GenericAdapter

    esm = load_model(str(built["esm"]), device="cpu")
    assert esm.max_residues == 1022 and esm.codec.prefix == (0,) and esm.codec.suffix == (2,)
    generic = GenericAdapter(built["esm"], name="esm-generic", device="cpu")
    assert generic.spaced is False  # the ESM tokenizer splits residues written together
    sequences = [s for _, s in RECORDS[:4]]
    a = esm.embed_batch(sequences, [2])
    b = generic.embed_batch(sequences, [2])
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.global_[2], y.global_[2], atol=1e-6)
