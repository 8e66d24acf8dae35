"""Report headline box, first on the page: per model, its controls first (``sections.controls``: real
beside shuffled-sequence and random-weights figures, the model's training data, sentences saying how much
of each effect survives), then the study's figures beside the paper's.

Per model (raw embeddings, the model's highest layer that has each figure): global IsoScore, effective
dimensions of d and mean pairwise cosine (``Source.isotropy_rows``, global scope); local isotropy as the
pooled cloud of all residues (``Source.isotropy_rows``, local scope) and as the per-protein mean +- sd
(``per_protein_local``: ``local_isotropy`` rows of the per-protein definition, read by the isotropy
section's ``local_definitions``); beside them the paper's global IsoScore and effective dims
(``published.for_model``) and its per-amino-acid figure where it applies (per-protein row, last layer,
full width). Reads, never computes; each number keeps the ``data-*`` keys of the row it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protiso.report import published
from protiso.report.common import Missing, Source, has_relation
from protiso.report.sections.controls import ControlModel, control_models
from protiso.report.sections.isotropy import local_definitions


@dataclass
class HeadlineSection:
    models: list[dict[str, Any]]        # {"model", "global", "pooled", "per_protein", "published", "published_local"}
    controls: list[ControlModel] = field(default_factory=list)
    citation: str = published.CITATION
    missing: list[Missing] = field(default_factory=list)


def _top(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    return max(rows, key=lambda r: r["layer"]) if rows else None


def per_protein_local(source: Source) -> dict[str, dict[str, Any]]:
    """The per-protein local isotropy row (mean +- sd over proteins) of each model's highest layer, by model."""
    if not has_relation(source.wh, "local_isotropy"):
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for row in local_definitions(source):
        if row["definition"] == "per_protein" and row["isoscore"] is not None:
            found.setdefault(row["model"], []).append(row)
    return {model: _top(members) for model, members in found.items()}


def headline_section(source: Source) -> HeadlineSection:
    raw = [r for r in source.isotropy_rows if r["embedding_set"] == "raw"]
    per_protein = per_protein_local(source)
    names = sorted({r["model"] for r in raw} | set(per_protein))
    models = []
    for name in names:
        mine = [r for r in raw if r["model"] == name]
        local = per_protein.get(name)
        models.append({
            "model": name,
            "global": _top([r for r in mine if r["scope"] == "global"]),
            "pooled": _top([r for r in mine if r["scope"] == "local"]),
            "per_protein": local,
            "published": published.for_model(name, "global"),
            "published_local": local["published"] if local else None,
        })
    layers = {m["model"]: m["global"]["layer"] for m in models if m["global"]}
    section = HeadlineSection(models, control_models(source, layers))
    if not any(m["global"] for m in models):
        section.missing.append(Missing.of("global isotropy of the raw embeddings", "embeddings", "isotropy"))
    return section
