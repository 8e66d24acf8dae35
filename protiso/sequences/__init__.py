"""Reading sequences and annotations: streaming readers -> Arrow batches, normalisation, ingest.

``READERS`` maps each format name (``protiso ingest --format``) to its reader; every reader takes
``(path, batch_size)`` and yields :class:`~protiso.sequences.batches.Chunk` objects.
"""

from __future__ import annotations

from typing import Callable, Iterator

from protiso.sequences.batches import Chunk
from protiso.sequences.detect import FORMATS, detect_format, detect_formats
from protiso.sequences.fasta import read_fasta
from protiso.sequences.go import read_go_graph, read_go_terms, read_obo
from protiso.sequences.normalise import SequenceError, normalise_array, normalise_sequence, seq_hash
from protiso.sequences.uniprot_dat import read_dat
from protiso.sequences.uniprot_tsv import read_tsv

READERS: dict[str, Callable[..., Iterator[Chunk]]] = {
    "fasta": read_fasta,
    "dat": read_dat,
    "tsv": read_tsv,
    "go-terms": read_go_terms,
    "go-graph": read_go_graph,
    "obo": read_obo,
}
assert set(READERS) == set(FORMATS)

__all__ = [
    "Chunk", "FORMATS", "READERS", "SequenceError", "detect_format", "detect_formats", "normalise_array",
    "normalise_sequence", "seq_hash",
]
