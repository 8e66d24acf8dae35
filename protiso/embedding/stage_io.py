"""The stage's contract: what one chunk is embedded with (``StageOptions``) and what comes back
(``StageResult``: Arrow batches and per-layer statistics), and which proteins keep residue vectors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa

from protiso.embedding.lengths import DEFAULT_LENGTH_POLICY
from protiso.errors import ProtisoError
from protiso.metrics.stats import SufficientStats

# Padded tokens per forward when none is given. On CPU, batches whose activations stay in the
# last-level cache run fastest: AntiBERTy on a 2-core EPYC embeds 1.18x as many residues/s with
# 2,048 as with 8,192 (its 2,048-wide FFN activations are then 16 MB rather than 64 MB). On CUDA,
# larger batches keep the GPU busy.
CPU_BATCH_TOKENS = 2048
GPU_BATCH_TOKENS = 32768


@dataclass(frozen=True)
class StageOptions:
    """What to embed. ``layers`` are resolved indices; ``residues`` is the kept fraction (0..1)."""

    layers: tuple[int, ...]
    residues: float = 0.0
    length_policy: str = DEFAULT_LENGTH_POLICY
    batch_tokens: int = CPU_BATCH_TOKENS
    seed: int = 0
    run_id: str | None = None
    embedding_set: str = "raw"
    control: str = "none"  # written in every row (protiso.embedding.controls)


@dataclass
class StageResult:
    embeddings: pa.RecordBatch
    residues: pa.RecordBatch
    stats: dict[int, SufficientStats]  # per layer, over every residue of every input row
    residues_embedded: int = 0  # residue positions run through the model (distinct sequences)
    residues_total: int = 0  # residues over all input rows (what the job's progress counts)


def parse_residues(value: str | float) -> float:
    """``all`` -> 1, ``none`` -> 0, else a fraction in [0, 1] (e.g. ``0.01``)."""
    text = str(value).strip().lower()
    if text == "all":
        return 1.0
    if text == "none":
        return 0.0
    try:
        fraction = float(text)
    except ValueError:
        fraction = -1.0
    if not 0.0 <= fraction <= 1.0:
        raise ProtisoError(f"--residues must be all, none or a fraction in [0, 1]; got {value!r}")
    return fraction


def keeps_residues(accession: str, fraction: float, seed: int) -> bool:
    """Seeded, stable choice of proteins whose residue vectors are stored."""
    if fraction >= 1.0:
        return True
    if fraction <= 0.0:
        return False
    digest = hashlib.blake2b(f"{seed}:{accession}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64 < fraction
