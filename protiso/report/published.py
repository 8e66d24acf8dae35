"""The study's published isotropy figures, in one place, for comparison in reports.

Source: Hakim, Roy & Rahman (2025), "A Look at the Isotropy of Pretrained Protein Language
Models". These are numbers printed in the paper, not computed by protiso; reports show them
beside the warehouse's own results and label them as published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CITATION = "Hakim, Roy & Rahman (2025), A Look at the Isotropy of Pretrained Protein Language Models"


@dataclass(frozen=True)
class PublishedFigure:
    """One published isotropy figure of one model (global scope unless ``scope`` says otherwise)."""

    key: str                    # normalised model name it matches (see ``model_key``)
    label: str                  # how the paper names the model
    scope: str                  # global | local
    isoscore: float | None
    effective_dims: int | None  # rounded up, as published
    dim: int | None
    note: str = ""


FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure("protbert", "ProtBERT", "global", 0.00165, 3, 1024),
    PublishedFigure("protbertbfd", "ProtBERT-BFD", "global", 0.00396, 6, 1024),
    PublishedFigure("protxlnet", "ProtXLNet", "global", 0.00150, 3, 1024),
    PublishedFigure("proteinbert", "ProteinBERT", "global", 0.2312, 120, 512),
    PublishedFigure("", "protein LMs, per-residue", "local", None, 14, None,
                    "about 14 effective dimensions for local (residue) embeddings"),
    PublishedFigure("bert", "BERT (NLP)", "global", 0.11, None, None, "NLP reference cited by the study"),
    PublishedFigure("gpt", "GPT (NLP)", "global", 0.18, None, None, "NLP reference cited by the study"),
)

_ORG_PREFIXES = ("rostlab",)


def model_key(name: str) -> str:
    """Normalise a model name for matching: lower case, organisation prefix and punctuation dropped.

    ``Rostlab/prot_bert_bfd`` -> ``protbertbfd``; ``ProteinBERT`` -> ``proteinbert``.
    """
    text = name.strip().lower()
    head, _, tail = text.partition("/")
    if tail and head in _ORG_PREFIXES:
        text = tail
    return re.sub(r"[^a-z0-9]", "", text)


def for_model(name: str, scope: str) -> PublishedFigure | None:
    """The published figure for a warehouse model name and scope, or None.

    Protein models match by name; local scope matches the study's shared local figure for the
    protein models it studied.
    """
    key = model_key(name)
    protein_keys = {f.key for f in FIGURES if f.scope == "global" and f.dim is not None}
    for figure in FIGURES:
        if figure.scope != scope:
            continue
        if scope == "global" and figure.key == key and figure.dim is not None:
            return figure
        if scope == "local" and key in protein_keys:
            return figure
    return None
