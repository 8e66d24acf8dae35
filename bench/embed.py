"""protiso's embedding stage vs a naive extraction loop, same model, same proteins, one run.

The naive loop is how common extraction scripts do it: transformers' BertModel as loaded, sequences
in file order, 8 at a time, padded to the longest of the 8, fp32, mean over residue tokens.
protiso's stage sorts by length, packs batches to a token budget, embeds identical sequences once,
runs the linear layers through oneDNN with GELU fused (still fp32; ``protiso.models.cpu_kernels``)
and also computes the residue statistics and per-protein local IsoScore. Both run AntiBERTy
(residues truncated to 510) on the same seeded sample of Swiss-Prot 2014 proteins made of the 20
standard residues; the global vectors of the two are compared, and residues/s of each and their
ratio are printed side by side.

    python bench/embed.py            # 2,000 proteins (long on 2 cores)
    python bench/embed.py --n 200    # a quicker look
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from protiso.embedding.stage_io import CPU_BATCH_TOKENS  # noqa: E402

FASTA = REPO / ".." / "shared" / "data" / "swissprot-2014" / "swissprot_2014.fasta.gz"
STANDARD = set("ACDEFGHIKLMNPQRSTVWY")


def sample(n: int, seed: int, fasta: Path | None = None) -> list[tuple[str, str]]:
    """A seeded reservoir sample of n standard-residue proteins from the whole FASTA."""
    rng = random.Random(seed)
    chosen: list[tuple[str, str]] = []
    seen = 0
    accession, chunks = None, []

    def offer(record: tuple[str, str]) -> None:
        nonlocal seen
        if not set(record[1]) <= STANDARD:
            return
        seen += 1
        if len(chosen) < n:
            chosen.append(record)
        elif (j := rng.randrange(seen)) < n:
            chosen[j] = record

    fasta = fasta or FASTA
    with (gzip.open(fasta, "rt") if fasta.suffix == ".gz" else open(fasta)) as handle:
        for line in handle:
            if line.startswith(">"):
                if accession:
                    offer((accession, "".join(chunks)))
                accession, chunks = line[1:].split()[0], []
            else:
                chunks.append(line.strip())
    if accession:
        offer((accession, "".join(chunks)))
    return chosen


def plain_antiberty():
    """AntiBERTy as a common script loads it: transformers' BertModel and BertTokenizer, torch kernels."""
    from transformers import BertModel, BertTokenizer

    from protiso.models.bert import antiberty_dir
    from protiso.models.hf import quiet_transformers

    root = antiberty_dir()
    with quiet_transformers():
        model = BertModel.from_pretrained(str(root / "AntiBERTy_md_smooth"), add_pooling_layer=False).eval()
    return BertTokenizer(vocab=str(root / "vocab.txt"), do_lower_case=False), model


def naive(tokenizer, model, sequences: list[str], batch_size: int = 8) -> np.ndarray:
    """The common script: file order, fixed batches, HF tokenizer padding to the longest, fp32."""
    out = []
    for start in range(0, len(sequences), batch_size):
        batch = [" ".join(s) for s in sequences[start : start + batch_size]]
        encoded = tokenizer(batch, return_tensors="pt", padding=True, return_special_tokens_mask=True)
        keep = (encoded.pop("special_tokens_mask") == 0) & (encoded["attention_mask"] == 1)
        with torch.no_grad():
            hidden = model(**encoded, output_hidden_states=True).hidden_states[-1]
        weights = keep.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1)
        for row in range(len(batch)):
            hidden[row][keep[row]].numpy()  # per-residue vectors, as scripts keep them
        out.append(pooled.numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="proteins (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-tokens", type=int, default=CPU_BATCH_TOKENS, help="protiso's CPU default")
    parser.add_argument("--rounds", type=int, default=4, help="alternate the two methods on this many slices")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from protiso.embedding.stage import StageOptions, embed_record_batch, token_batches
    from protiso.models.registry import load_model

    adapter = load_model("antiberty", device="cpu")
    tokenizer, plain = plain_antiberty()
    records = sample(args.n, args.seed)
    sequences = [s[: adapter.max_residues] for _, s in records]
    residues = sum(len(s) for s in sequences)
    batch = pa.RecordBatch.from_pydict({
        "accession": [a for a, _ in records],
        "seq_hash": [hashlib.md5(s.encode()).hexdigest() for _, s in records],
        "sequence": [s for _, s in records],
    })
    print(f"AntiBERTy on CPU ({torch.get_num_threads()} threads), {len(records)} Swiss-Prot 2014 proteins, "
          f"{residues} residues after truncation to {adapter.max_residues}; protiso's linear kernels: "
          f"{adapter.cpu_kernels} (naive: torch)", flush=True)

    # Alternate the two on slices of the sample so that a change in machine load hits both alike.
    options = StageOptions(layers=(adapter.num_layers,), residues=0.0, batch_tokens=args.batch_tokens)
    naive_s = protiso_s = 0.0
    references, results = [], []
    step = -(-len(records) // args.rounds)
    naive_cpu = protiso_cpu = 0.0
    for start in range(0, len(records), step):
        tick, cpu = time.perf_counter(), time.process_time()
        references.append(naive(tokenizer, plain, sequences[start : start + step]))
        naive_s += time.perf_counter() - tick
        naive_cpu += time.process_time() - cpu
        tick, cpu = time.perf_counter(), time.process_time()
        results.append(embed_record_batch(adapter, batch.slice(start, step), options))
        protiso_s += time.perf_counter() - tick
        protiso_cpu += time.process_time() - cpu
    reference = np.concatenate(references)
    lengths = [len(s) for s in sequences]
    padded_naive = padded_protiso = 0
    for start in range(0, len(records), step):
        part = lengths[start : start + step]
        padded_naive += sum(len(part[i : i + 8]) * (max(part[i : i + 8]) + 2) for i in range(0, len(part), 8))
        padded_protiso += sum(len(b) * (max(part[i] for i in b) + 2) for b in token_batches(part, args.batch_tokens))

    mine = np.concatenate([np.stack(r.embeddings.column("embedding").to_numpy(zero_copy_only=False))
                           for r in results])
    cos = (mine * reference).sum(1) / np.linalg.norm(mine, axis=1) / np.linalg.norm(reference, axis=1)
    print(f"{'':24}{'naive loop':>14}{'protiso':>14}")
    print(f"{'seconds':24}{naive_s:14.1f}{protiso_s:14.1f}")
    print(f"{'residues/s':24}{residues / naive_s:14.1f}{residues / protiso_s:14.1f}")
    print(f"{'CPU seconds (all threads)':24}{naive_cpu:14.1f}{protiso_cpu:14.1f}")
    print(f"{'tokens run (with padding)':24}{padded_naive:14d}{padded_protiso:14d}")
    print(f"speed-up (protiso / naive): {naive_s / protiso_s:.2f}x wall clock, "
          f"{naive_cpu / protiso_cpu:.2f}x CPU time (steadier on a shared machine)")
    print(f"global vectors agree: min cosine {cos.min():.7f}")


if __name__ == "__main__":
    main()
