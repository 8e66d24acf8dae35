"""The embedding stage: an Arrow record batch of sequences in, Arrow record batches of vectors out.

``embed_record_batch(adapter, batch, options)`` is a pure function (no warehouse, no files), so the local
job and Ray call the same code. In: ``accession``, ``seq_hash``, ``sequence``. Out: ``embeddings`` (one row
per input row and layer), ``residues`` (the sampled proteins) and per-layer float64 residue statistics over
every input row. Each distinct sequence is embedded once, in length-sorted batches within
``batch_tokens``; a batch out of GPU memory is split and retried; long proteins follow
``protiso.embedding.lengths``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pyarrow as pa
import torch

from protiso.embedding.collect import Collector, UniqueSequence
from protiso.embedding.lengths import LENGTH_POLICIES, plan_pieces, stitch_ranges
from protiso.embedding.stage_io import StageOptions, StageResult, keeps_residues, parse_residues
from protiso.errors import ProtisoError
from protiso.models.base import ModelAdapter, SequenceOutput

__all__ = [
    "LENGTH_POLICIES",
    "StageOptions",
    "StageResult",
    "embed_record_batch",
    "forward_with_split",
    "keeps_residues",
    "parse_residues",
    "plan_pieces",
    "stitch_ranges",
    "token_batches",
]


def token_batches(lengths: list[int], batch_tokens: int, specials: int = 2) -> list[list[int]]:
    """Indices sorted by length (longest first), packed so that padded tokens <= ``batch_tokens``."""
    return list(_packed(lengths, [batch_tokens], specials))


def _packed(lengths: list[int], budget: list[int], specials: int):
    """Greedy packing of length-sorted indices; ``budget[0]`` is read at every step, so a budget
    lowered after an out-of-memory applies to the next batch."""
    current: list[int] = []
    width = 0
    for index in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        size = lengths[index] + specials
        if current and max(width, size) * (len(current) + 1) > budget[0]:
            yield current
            current, width = [], 0
        current.append(index)
        width = max(width, size)
    if current:
        yield current


def _is_oom(error: BaseException) -> bool:
    return isinstance(error, torch.OutOfMemoryError) or "out of memory" in str(error).lower()


def forward_with_split(
    adapter: ModelAdapter,
    sequences: list[str],
    layers: list[int],
    on_split: Callable[[list[str]], None] | None = None,
) -> list[SequenceOutput]:
    """``adapter.embed_batch``, halving the batch and retrying on out-of-memory.

    ``on_split`` is told each batch that had to be split (the stage then lowers its budget).
    """
    try:
        return adapter.embed_batch(sequences, layers)
    except (RuntimeError, MemoryError) as error:
        if not _is_oom(error):
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if len(sequences) == 1:
            raise ProtisoError(
                f"out of memory embedding one sequence of {len(sequences[0])} residues with {adapter.name}; "
                "use --long truncate/window with a smaller --max-residues or a device with more memory"
            ) from None
    if on_split is not None:
        on_split(sequences)
    half = len(sequences) // 2
    return forward_with_split(adapter, sequences[:half], layers, on_split) + forward_with_split(
        adapter, sequences[half:], layers, on_split
    )


@torch.inference_mode()
def embed_record_batch(
    adapter: ModelAdapter,
    batch: pa.RecordBatch | pa.Table,
    options: StageOptions,
    progress: Callable[[int], None] | None = None,
) -> StageResult:
    """Embed the sequences of ``batch``; see the module docstring. ``progress`` gets residue counts."""
    accessions = [str(a) for a in batch.column("accession").to_pylist()]
    hashes = batch.column("seq_hash").to_pylist()
    sequences = batch.column("sequence").to_pylist()
    if options.length_policy not in LENGTH_POLICIES:
        raise ProtisoError(f"the length policy (--long, --length-policy) must be one of {', '.join(LENGTH_POLICIES)}; "
                           f"got {options.length_policy!r}")
    layers = list(options.layers) or adapter.resolve_layers(None)
    uniques: dict[str, UniqueSequence] = {}
    for row, (accession, seq_hash, sequence) in enumerate(zip(accessions, hashes, sequences)):
        if not sequence:
            raise ProtisoError(f"{accession}: empty sequence")
        key = seq_hash or hashlib.md5(sequence.encode()).hexdigest()
        if key not in uniques:
            adapter.check(accession, sequence)
            uniques[key] = UniqueSequence(sequence=sequence, rows=[])
        uniques[key].rows.append(row)

    pieces: list[tuple[UniqueSequence, int, str]] = []
    for unique in uniques.values():
        unique.policy, unique.bounds = plan_pieces(len(unique.sequence), adapter.max_residues, options.length_policy)
        unique.keep = stitch_ranges(unique.bounds) if unique.policy == "window" else list(unique.bounds)
        normalised = adapter.normalise(unique.sequence)
        for index, (start, end) in enumerate(unique.bounds):
            pieces.append((unique, index, normalised[start:end]))

    collector = Collector(adapter, accessions, hashes, layers, options)
    codec = getattr(adapter, "codec", None)
    specials = len(codec.prefix) + len(codec.suffix) if codec is not None else 2
    embedded = total = 0
    budget = [options.batch_tokens]

    def shrink(failed: list[str]) -> None:  # later batches stay below the size that ran out of memory
        budget[0] = min(budget[0], max(len(s) for s in failed) * max(len(failed) // 2, 1))

    for members in _packed([len(p[2]) for p in pieces], budget, specials):
        outputs = forward_with_split(adapter, [pieces[i][2] for i in members], layers, shrink)
        done = 0
        for i, output in zip(members, outputs):
            unique, index, text = pieces[i]
            unique.parts[index] = output
            embedded += len(text)
            lo, hi = unique.keep[index]  # the residues this piece gives vectors to
            done += (hi - lo) * len(unique.rows)
            if len(unique.parts) == len(unique.bounds):
                collector.finish(unique)
        total += done
        if progress is not None:
            progress(done)
    result = collector.result()
    result.residues_embedded = embedded
    result.residues_total = total
    return result
