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


# At the paper's own precision (its tables give 0.0016583, 0.0039686, 0.0015023 and 0.231228).
FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure("protbert", "ProtBERT", "global", 0.0016583, 3, 1024),
    PublishedFigure("protbertbfd", "ProtBERT-BFD", "global", 0.0039686, 6, 1024),
    PublishedFigure("protxlnet", "ProtXLNet", "global", 0.0015023, 3, 1024),
    PublishedFigure("proteinbert", "ProteinBERT", "global", 0.231228, 120, 512),
    PublishedFigure("", "protein LMs, per-residue", "local", None, 14, None,
                    "about 14 effective dimensions per amino acid on average: a per-protein mean, shown beside the "
                    "per-protein definition of local isotropy at a model's last layer and full width only, never "
                    "beside the pooled cloud of all residues"),
    PublishedFigure("bert", "BERT (NLP)", "global", 0.11, None, None, "NLP reference cited by the study"),
    PublishedFigure("gpt", "GPT (NLP)", "global", 0.18, None, None, "NLP reference cited by the study"),
)

# The paper's Pearson correlation matrix for ProtBERT over its 6.4 M aligned Swiss-Prot pairs, as printed.
# Cosine similarity against squared Euclidean distance must correlate negatively for vectors of similar
# norm; the printed +0.791 is therefore cosine distance (1 - cos), which flips the sign of every cosine
# entry, or a sign slip: the report says so beside it.
CORRELATION_MODEL = "protbert"
CORRELATIONS: dict[tuple[str, str], float] = {
    ("cosine", "sq_euclidean"): 0.791,
    ("cosine", "score"): 0.014,
    ("cosine", "identity"): -0.011,
    ("sq_euclidean", "score"): -0.103,
    ("sq_euclidean", "identity"): -0.146,
    ("score", "identity"): 0.847,
}
# The study's pair sample: 6.4 M pairs, i.e. all pairs of about 3,580 proteins (3,580 x 3,579 / 2 = 6,406,410);
# 1 % of Swiss-Prot (5,164 proteins of 516,371 here) would give 13.3 M.
PAIRS = 6_400_000
SAMPLE_PROTEINS = 3580

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


# Last layer numbers of the study's models (layer 0 is the embedding output), for vectors imported
# without --num-layers: ProtBERT, ProtBERT-BFD and ProtXLNet have 30 transformer layers, ProteinBERT 6
# blocks; ESM-2 names carry theirs (esm2_t33_650M_UR50D: 33).
MODEL_LAYERS = {"protbert": 30, "protbertbfd": 30, "protxlnet": 30, "proteinbert": 6}
_ESM_LAYERS = re.compile(r"esm\w*?_t(\d+)_")


def model_layers(name: str) -> int | None:
    """The last layer number of a model known by name (None when unknown)."""
    found = _ESM_LAYERS.search(name.lower())
    return int(found.group(1)) if found else MODEL_LAYERS.get(model_key(name))


def local_figure() -> PublishedFigure:
    """The study's per-amino-acid (per-protein mean) local figure."""
    return next(figure for figure in FIGURES if figure.scope == "local")


def for_model(name: str, scope: str) -> PublishedFigure | None:
    """The published figure for a warehouse model name and scope, or None.

    Protein models match by name, global scope only: the study's local figure is a per-protein mean and
    protiso's local rows are the pooled cloud of all residues, a different quantity.
    """
    key = model_key(name)
    for figure in FIGURES:
        if scope == "global" and figure.scope == "global" and figure.key == key and figure.dim is not None:
            return figure
    return None


# What each known model was trained on (its paper's pre-training data), shown beside its headline row:
# a model trained on antibodies alone is not a general protein model. Matched on ``model_key`` by prefix,
# longest first (ProtBERT-BFD before ProtBERT).
TRAINING_DOMAINS: dict[str, str] = {
    "antiberty": "antibody sequences only (OAS)",
    "unirep": "UniRef50",
    "protbertbfd": "BFD",
    "protbert": "UniRef100",
    "protxlnet": "UniRef100",
    "proteinbert": "UniRef90 + GO annotations",
    "esm2": "UniRef50 (sampled through UniRef90)",
    "facebookesm2": "UniRef50 (sampled through UniRef90)",
}


def training_domain(name: str) -> str | None:
    """The pre-training data of a model known by name, or None."""
    key = model_key(name)
    for prefix in sorted(TRAINING_DOMAINS, key=len, reverse=True):
        if key.startswith(prefix):
            return TRAINING_DOMAINS[prefix]
    return None
