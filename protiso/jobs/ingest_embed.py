"""``protiso ingest FILE... [--model M]``: ingest files, then embed what is new, checked as one step.

The model, its options and the runner are checked (``protiso.embedding.prepare``: the model is
loaded) before the warehouse is opened, and the new sequences are checked against the model's
tokenizer just before the ingest commits, so a bad model, layer, weights file or residue leaves
the warehouse unchanged. The embedding then reuses the loaded model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from protiso.embedding import EmbedOptions, EmbedSummary, Runner, embed_proteins, ingest_check, prepare
from protiso.sequences.detect import detect_formats
from protiso.sequences.ingest import IngestSummary, ingest_files
from protiso.warehouse import Warehouse


@dataclass
class IngestEmbedSummary:
    ingest: IngestSummary
    embed: EmbedSummary | None

    def render(self) -> str:
        return self.ingest.render() + ("" if self.embed is None else "\n" + self.embed.render())


def ingest_and_embed(warehouse: str | Path, files: Sequence[str | Path], *, fmt: str = "auto", create: bool = True,
                     embed: EmbedOptions | None = None, runner: Runner | None = None,
                     progress: bool = True) -> IngestEmbedSummary:
    """Ingest ``files`` into ``warehouse`` (all or nothing); with ``embed``, then embed on ``runner``."""
    detect_formats([Path(f) for f in files], fmt)  # unknown formats fail here, before a warehouse is created
    prepared = None if embed is None else prepare(embed, runner)
    # A warehouse created here is removed again when the ingest fails (nothing was committed to it).
    with Warehouse.open_or_create(warehouse) if create else Warehouse.open(warehouse) as wh:
        ingested = ingest_files(wh, files, fmt=fmt, progress=progress,
                                check=None if prepared is None else ingest_check(prepared))
        embedded = None if prepared is None else embed_proteins(wh, prepared, runner=runner, progress=progress)
    return IngestEmbedSummary(ingested, embedded)
