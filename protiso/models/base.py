"""The one interface every model family implements.

An adapter turns a list of protein sequences into, per sequence and per requested
layer, one global (per-protein) vector and the per-residue vectors. Layers are
numbered 0 (embedding output) .. ``num_layers`` (last); ``None`` in a request means
the last layer. Batching by token budget, chunking of long sequences and writing to
the warehouse happen outside the adapter (see ``protiso.embedding.stage``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from protiso.errors import ProtisoError


@dataclass
class SequenceOutput:
    """Vectors for one sequence: ``global_[layer]`` is (dim,), ``residues[layer]`` is (L, dim).

    Both are float32 numpy arrays on the CPU, or float32 torch tensors left on the adapter's
    device (the stage accepts either and reduces tensors where they are, e.g. on the GPU).
    ``residues[layer][i]`` belongs to the i-th residue of the (normalised) input sequence.
    """

    global_: dict[int, np.ndarray] = field(default_factory=dict)
    residues: dict[int, np.ndarray] = field(default_factory=dict)


class ModelAdapter(ABC):
    """A loaded model that embeds protein sequences.

    Subclasses set these attributes in ``__init__``:

    name         short name recorded in every row (e.g. ``antiberty``, ``Rostlab/prot_bert``)
    revision     what identifies the weights (HF commit, or a hash of the weight file)
    dim          width of the global vector
    residue_dim  width of per-residue vectors (class default: ``dim``; ProteinBERT: 128 vs 512)
    first_layer  lowest selectable layer (0 unless the embedding output is not a layer, e.g. UniRep)
    num_layers   highest layer index (0 is the embedding layer output)
    max_residues longest sequence one forward accepts, or None for unlimited
    pooling      the rule that makes the global vector, in words (recorded per row)
    alphabet     residues the tokenizer accepts (after ``normalise``)
    """

    name: str
    revision: str
    dim: int
    num_layers: int
    max_residues: int | None
    pooling: str
    alphabet: frozenset[str]
    first_layer: int = 0

    @property
    def residue_dim(self) -> int:
        return self.__dict__.get("residue_dim", self.dim)

    @residue_dim.setter
    def residue_dim(self, value: int) -> None:
        self.__dict__["residue_dim"] = value

    def normalise(self, sequence: str) -> str:
        """Map a protein sequence to the model's alphabet (e.g. ``U Z O B -> X``). Default: identity."""
        return sequence

    def check(self, accession: str, sequence: str) -> None:
        """Raise ProtisoError if the sequence has residues the tokenizer lacks."""
        bad = sorted(set(self.normalise(sequence)) - self.alphabet)
        if bad:
            raise ProtisoError(
                f"{accession}: residues {''.join(bad)!r} are not in {self.name}'s vocabulary"
            )

    def resolve_layers(self, layers: list[int] | None) -> list[int]:
        """Turn a request (None = last; negative counts from the end) into sorted layer indices."""
        if not layers:
            return [self.num_layers]
        out = set()
        for layer in layers:
            index = layer if layer >= 0 else self.num_layers + 1 + layer
            if not self.first_layer <= index <= self.num_layers:
                raise ProtisoError(
                    f"{self.name} has layers {self.first_layer}..{self.num_layers}; layer {layer} is out of range"
                )
            out.add(index)
        return sorted(out)

    @abstractmethod
    def embed_batch(self, sequences: list[str], layers: list[int]) -> list[SequenceOutput]:
        """Embed already-normalised sequences (each at most ``max_residues`` long) at ``layers``."""
