"""Tiny randomly initialised models laid out as their Hugging Face hub checkpoints are.

Each builder writes the files the hub repository has (config.json with the hub's architecture
and conventions, weights, tokenizer files with the hub's vocabulary and special tokens) at
miniature width/depth, so the registry loads them exactly as it would the real checkpoint.
``fake_hub_cache`` places such a directory in a Hugging Face cache layout (refs + snapshot).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
FIXTURE_FASTA = REPO / "tests" / "fixtures" / "swissprot_embed_sample.fasta"
SHARED = REPO / ".." / "shared" / "data"

# ProtBert / ProtBert-BFD / ProtElectra vocab.txt, in the hub's order.
PROTBERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"LAGVESIKRDTPNQFYMHCWXUBZO"]
# ESM-2 vocab.txt (33 tokens).
ESM_VOCAB = ["<cls>", "<pad>", "<eos>", "<unk>", *"LAGVSERTIDPKQNFYMHWCXBUZO", ".", "-", "<null_1>", "<mask>"]
# ProtT5: <pad> </s> <unk>, then these residues as SentencePiece pieces, then 100 extra ids.
PROTT5_RESIDUES = "ALGVSREDTIPKFQNYMHWCXBOUZ"
# ProtXLNet: XLNet's special pieces, then only the 20 standard residues (no X).
XLNET_RESIDUES = "LAGVESIKRDTPNQFYMHCW"


def read_fasta(path: Path) -> list[tuple[str, str]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    records, accession, chunks = [], None, []
    with opener(path, "rt") as handle:
        for line in handle:
            if line.startswith(">"):
                if accession:
                    records.append((accession, "".join(chunks)))
                accession, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if accession:
        records.append((accession, "".join(chunks)))
    return records


def sample_batch(records: list[tuple[str, str]]):
    import pyarrow as pa

    return pa.RecordBatch.from_pydict(
        {
            "accession": [a for a, _ in records],
            "seq_hash": [hashlib.md5(s.encode()).hexdigest() for _, s in records],
            "sequence": [s for _, s in records],
        }
    )


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _spiece(path: Path, residues: str, **trainer: object) -> None:
    """Train a SentencePiece word model whose pieces are ``▁R`` for each residue, in the given order."""
    import sentencepiece as spm

    rng = random.Random(0)
    words = [r for i, r in enumerate(residues) for _ in range(400 - 10 * i)]
    rng.shuffle(words)
    text = path.with_suffix(".txt")
    text.write_text("\n".join(" ".join(words[i : i + 25]) for i in range(0, len(words), 25)), encoding="utf-8")
    specials = int(trainer.pop("specials"))
    spm.SentencePieceTrainer.train(
        input=str(text), model_prefix=str(path.with_suffix("")), vocab_size=specials + len(residues),
        model_type="word", character_coverage=1.0, hard_vocab_limit=True, minloglevel=2, **trainer,
    )
    text.unlink()
    path.with_suffix(".vocab").unlink()
    path.with_suffix(".model").rename(path)


def protbert(directory: Path, seed: int = 0, layers: int = 2) -> Path:
    """``Rostlab/prot_bert`` layout: BertForMaskedLM + vocab.txt (30 tokens), do_lower_case false."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=40000, hidden_act="gelu", hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, type_vocab_size=2, pad_token_id=0,
    )
    directory.mkdir(parents=True, exist_ok=True)
    BertForMaskedLM(config).save_pretrained(directory)
    (directory / "vocab.txt").write_text("\n".join(PROTBERT_VOCAB) + "\n", encoding="utf-8")
    _write_json(directory / "tokenizer_config.json", {"do_lower_case": False})
    _write_json(directory / "special_tokens_map.json", {
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})
    return directory


def protxlnet(directory: Path, seed: int = 0) -> Path:
    """``Rostlab/prot_xlnet`` layout: XLNetLMHeadModel + spiece.model (20 residues, no X)."""
    from transformers import XLNetConfig, XLNetLMHeadModel

    directory.mkdir(parents=True, exist_ok=True)
    _spiece(directory / "spiece.model", XLNET_RESIDUES, specials=9, unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
            control_symbols=["<cls>", "<sep>", "<pad>", "<mask>", "<eod>", "<eop>"])
    torch.manual_seed(seed)
    config = XLNetConfig(
        vocab_size=29, d_model=32, n_layer=2, n_head=4, d_inner=64, ff_activation="gelu", dropout=0.0,
        mem_len=None, pad_token_id=5, bos_token_id=1, eos_token_id=2, untie_r=True, attn_type="bi",
    )
    XLNetLMHeadModel(config).save_pretrained(directory)
    _write_json(directory / "tokenizer_config.json", {"do_lower_case": False})
    return directory


def esm2(directory: Path, seed: int = 0) -> Path:
    """``facebook/esm2_t*`` layout: EsmForMaskedLM (rotary, token dropout) + vocab.txt (33 tokens)."""
    from transformers import EsmConfig, EsmForMaskedLM

    torch.manual_seed(seed)
    config = EsmConfig(
        vocab_size=33, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        max_position_embeddings=1026, position_embedding_type="rotary", token_dropout=True,
        emb_layer_norm_before=False, mask_token_id=32, pad_token_id=1, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, layer_norm_eps=1e-5,
    )
    directory.mkdir(parents=True, exist_ok=True)
    EsmForMaskedLM(config).save_pretrained(directory)
    (directory / "vocab.txt").write_text("\n".join(ESM_VOCAB) + "\n", encoding="utf-8")
    _write_json(directory / "tokenizer_config.json", {"model_max_length": 1024})
    _write_json(directory / "special_tokens_map.json", {
        "cls_token": "<cls>", "eos_token": "<eos>", "mask_token": "<mask>", "pad_token": "<pad>", "unk_token": "<unk>"})
    return directory


def prott5_encoder(directory: Path, seed: int = 0) -> Path:
    """``Rostlab/prot_t5_xl_half_uniref50-enc`` layout: T5EncoderModel saved in fp16 + spiece.model."""
    from transformers import T5Config, T5EncoderModel

    directory.mkdir(parents=True, exist_ok=True)
    _spiece(directory / "spiece.model", PROTT5_RESIDUES, specials=3, pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=128, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, feed_forward_proj="relu",
        dropout_rate=0.0, relative_attention_num_buckets=32, is_encoder_decoder=False, use_cache=False,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    config.architectures = ["T5EncoderModel"]
    T5EncoderModel(config).half().save_pretrained(directory)
    _write_json(directory / "tokenizer_config.json", {"do_lower_case": False, "extra_ids": 100})
    _write_json(directory / "special_tokens_map.json", {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"})
    return directory


def protelectra(directory: Path, seed: int = 0) -> Path:
    """A generic encoder (``Rostlab/prot_electra_discriminator_bfd`` layout): ELECTRA + ProtBert vocab."""
    from transformers import ElectraConfig, ElectraForPreTraining

    torch.manual_seed(seed)
    config = ElectraConfig(
        vocab_size=30, embedding_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=1024, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0, pad_token_id=0,
    )
    directory.mkdir(parents=True, exist_ok=True)
    ElectraForPreTraining(config).save_pretrained(directory)
    (directory / "vocab.txt").write_text("\n".join(PROTBERT_VOCAB) + "\n", encoding="utf-8")
    _write_json(directory / "tokenizer_config.json", {"do_lower_case": False, "tokenizer_class": "ElectraTokenizer"})
    return directory


def fake_hub_cache(cache: Path, repo_id: str, source: Path, commit: str | None = None) -> Path:
    """Place ``source``'s files as the cached snapshot of ``repo_id`` (hub cache layout)."""
    commit = commit or hashlib.sha1(repo_id.encode()).hexdigest()
    root = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for file in source.iterdir():
        shutil.copy(file, snapshot / file.name)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(commit, encoding="utf-8")
    return snapshot
