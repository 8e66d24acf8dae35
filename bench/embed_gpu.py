"""GPU throughput of the embedding stage on a ProtBERT-sized model: residues/s and model FLOP utilisation.

A randomly initialised BERT of ProtBERT's shape (30 layers, hidden 1024, 16 heads, FFN 4096, the
ProtBert vocabulary) runs under bf16 autocast on Swiss-Prot 2014 sequences (truncated to
``--max-residues``). Reported side by side:

* the card's measured bf16 peak (a large bf16 matmul, best of several),
* the model forward alone over the stage's length-sorted, token-budget batches,
* the whole stage (forward, pooling, float64 residue statistics and per-protein IsoScore),

each as residues/s and as model FLOP utilisation (MFU): useful model FLOPs (real tokens only:
24*d^2 per token per layer for the dense layers plus 4*L*d per token per layer for attention)
divided by time and by the measured peak. Exits with a message when CUDA is unavailable.

    python bench/embed_gpu.py                  # 20,000 proteins
    python bench/embed_gpu.py --n 2000         # a quicker look
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

LAYERS, HIDDEN, HEADS, FFN = 30, 1024, 16, 4096
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"LAGVESIKRDTPNQFYMHCWXUBZO"]


def measured_peak(size: int = 8192, repeats: int = 20) -> float:
    """Best bf16 matmul FLOP/s over a few timed rounds."""
    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    best = 0.0
    for _ in range(5):
        torch.cuda.synchronize()
        tick = time.perf_counter()
        for _ in range(repeats):
            a @ b
        torch.cuda.synchronize()
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - tick))
    return best


def model_flops(lengths: list[int], specials: int = 2) -> float:
    total = 0.0
    for length in lengths:
        tokens = length + specials
        total += LAYERS * (24 * HIDDEN * HIDDEN * tokens + 4 * tokens * tokens * HIDDEN)
    return total


def build_adapter(max_residues: int):
    from transformers import BertConfig, BertModel, BertTokenizer

    from protiso.models.bert import BertAdapter

    config = BertConfig(vocab_size=len(VOCAB), hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=FFN, max_position_embeddings=40000,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    with torch.device("cuda"):
        model = BertModel(config, add_pooling_layer=False)
    vocab = Path(tempfile.mkdtemp()) / "vocab.txt"
    vocab.write_text("\n".join(VOCAB) + "\n")
    tokenizer = BertTokenizer(vocab=str(vocab), do_lower_case=False)
    return BertAdapter.from_loaded(model, tokenizer, name="protbert-sized-random", revision="random",
                                   device=torch.device("cuda"), max_residues=max_residues)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="proteins (default 20000)")
    parser.add_argument("--batch-tokens", type=int, default=65536)
    parser.add_argument("--max-residues", type=int, default=1022)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fasta", type=Path, default=None, help="FASTA(.gz) to sample (default: Swiss-Prot 2014)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("bench/embed_gpu.py needs a CUDA GPU; none is available here (torch.cuda.is_available() is False).")
        raise SystemExit(0)

    import embed as cpu_bench  # bench/embed.py: seeded sample of Swiss-Prot 2014

    from protiso.embedding.stage import StageOptions, embed_record_batch, token_batches

    torch.backends.cuda.matmul.allow_tf32 = True
    name = torch.cuda.get_device_name()
    peak = measured_peak()
    adapter = build_adapter(args.max_residues)
    records = [(a, "".join("X" if c in "UZOB" else c for c in s)) for a, s in cpu_bench.sample(args.n, args.seed, args.fasta)]
    pieces = [s[: args.max_residues] for _, s in records]
    lengths = [len(p) for p in pieces]
    residues = sum(lengths)
    flops = model_flops(lengths)
    batch = pa.RecordBatch.from_pydict({
        "accession": [a for a, _ in records],
        "seq_hash": [hashlib.md5(s.encode()).hexdigest() for _, s in records],
        "sequence": [s for _, s in records],
    })
    options = StageOptions(layers=(LAYERS,), residues=0.0, batch_tokens=args.batch_tokens)
    embed_record_batch(adapter, batch.slice(0, 64), options)  # warm-up: kernels, allocator

    batches = token_batches(lengths, args.batch_tokens, specials=2)
    encoded = [adapter.codec.encode([pieces[i] for i in b]) for b in batches]
    torch.cuda.synchronize()
    tick = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for ids, attention, _ in encoded:
            adapter.model(input_ids=ids.cuda(non_blocking=True), attention_mask=attention.cuda(non_blocking=True))
    torch.cuda.synchronize()
    forward_s = time.perf_counter() - tick

    tick = time.perf_counter()
    result = embed_record_batch(adapter, batch, options)
    torch.cuda.synchronize()
    stage_s = time.perf_counter() - tick
    assert result.embeddings.num_rows == len(records)

    print(f"{name}: measured bf16 peak {peak / 1e12:.0f} TFLOP/s; {len(records)} Swiss-Prot 2014 proteins, "
          f"{residues} residues (truncated to {args.max_residues}), {len(batches)} batches of <= "
          f"{args.batch_tokens} tokens; ProtBERT-sized BERT ({LAYERS} x {HIDDEN}, {HEADS} heads), bf16 autocast")
    print(f"{'':28}{'seconds':>10}{'residues/s':>14}{'MFU':>8}")
    for label, seconds in (("model forward only", forward_s), ("whole stage", stage_s)):
        print(f"{label:28}{seconds:10.2f}{residues / seconds:14.0f}{flops / seconds / peak:8.1%}")


if __name__ == "__main__":
    main()
