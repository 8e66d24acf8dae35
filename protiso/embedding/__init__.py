"""Embedding: proteins in the warehouse -> per-protein and per-residue vectors and their statistics.

    from protiso.embedding import EmbedOptions, embed_proteins
    summary = embed_proteins(wh, EmbedOptions("antiberty", residues="all"))

Modules, top down: ``options`` (what to embed, checked once: ``EmbedOptions``, ``prepare``),
``select`` (which proteins: every pending one, or a chosen list / predicate / seeded sample),
``lengths`` (the rule for proteins longer than the model's limit), ``job`` (plans, commits,
records), ``runners`` (where chunks run: ``LocalRunner``; the Ray runner is
``protiso.engines.ray_embed.RayRunner``), ``stage`` (one chunk of sequences -> Arrow batches,
token-budget batching) and ``collect`` (per-sequence outputs -> Arrow columns and float64
residue statistics). Model adapters live in ``protiso.models``.
"""

from protiso.embedding.job import EmbedSummary, embed_proteins, embed_warehouse, ingest_check
from protiso.embedding.options import EmbedOptions, Prepared, parse_layers, prepare
from protiso.embedding.runners import LocalRunner, Runner

__all__ = ["EmbedOptions", "EmbedSummary", "LocalRunner", "Prepared", "Runner", "embed_proteins",
           "embed_warehouse", "ingest_check", "parse_layers", "prepare"]
