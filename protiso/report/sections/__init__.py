"""The report's sections, in one registry: the order, headings, builders and templates of the page.

``REGISTRY`` is the only list of sections. ``build_context`` runs each ``Section.build`` on one
``Source`` and keeps its context under ``Section.key``; ``reports/report.html`` loops over the same
tuple for the table of contents and, for each section, writes ``<section id="KEY">``, the numbered
``Section.title`` and then includes ``Section.template`` with the section's context bound to ``s``.
The headline box comes first (the table of contents follows it) and the appendix of runs last.
A builder only reads SQL results (see ``protiso.report.common``) and returns a dataclass with a
``missing`` list; an empty list means the section had all of its data.

To add a section: write ``sections/<key>.py`` with its builder, ``reports/_<key>.html`` with its body,
and one ``Section`` entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from protiso.report.common import Source
from protiso.report.sections.appendix import appendix_section
from protiso.report.sections.correlations import correlation_section
from protiso.report.sections.groups import groups_section
from protiso.report.sections.headline import headline_section
from protiso.report.sections.isotropy import isotropy_section
from protiso.report.sections.layers import layers_section
from protiso.report.sections.paper import paper_section
from protiso.report.sections.pca import pca_section
from protiso.report.sections.postprocess import postprocess_section
from protiso.report.sections.spectra import spectra_section
from protiso.report.sections.summary import summary_section


@dataclass(frozen=True)
class Section:
    """One section of the report page."""

    key: str                            # HTML id, ``ReportContext.sections`` and ``ReportSummary.sections`` key
    title: str                          # heading (numbered by position) and table-of-contents entry
    build: Callable[[Source], Any]      # reads the warehouse; returns the context, with a ``missing`` list
    template: str                       # partial in reports/ rendering the body under the heading


REGISTRY: tuple[Section, ...] = (
    Section("headline", "Headline: each model beside its controls and the paper", headline_section, "_headline.html"),
    Section("summary", "Warehouse summary", summary_section, "_summary.html"),
    Section("isotropy", "Isotropy of each model and layer", isotropy_section, "_isotropy.html"),
    Section("spectra", "Covariance spectra", spectra_section, "_spectra.html"),
    Section("pca", "Global embeddings in two dimensions (PCA)", pca_section, "_pca.html"),
    Section("layers", "Isotropy and correlations across layers", layers_section, "_layers.html"),
    Section("correlations", "Embedding distance vs. alignment similarity", correlation_section,
            "_correlations.html"),
    Section("paper", "How this compares with the paper", paper_section, "_paper.html"),
    Section("groups", "Isotropy by annotation group", groups_section, "_groups.html"),
    Section("postprocess", "Raw vs. post-processed embeddings", postprocess_section, "_postprocess.html"),
    Section("appendix", "Appendix: runs and parameters", appendix_section, "_appendix.html"),
)
SECTIONS: tuple[str, ...] = tuple(section.key for section in REGISTRY)

__all__ = ["REGISTRY", "SECTIONS", "Section"]
