"""The HTML report (``protiso report``): one self-contained file built from SQL results only.

Sections, in the order of ``sections.REGISTRY`` (the one list of them): the headline box (per model,
beside the paper), warehouse summary, isotropy table (with the study's published figures), covariance
spectra, PCA view, curves across layers, correlations with alignments, the comparison with the paper,
isotropy by annotation group, raw vs post-processed embeddings, and an appendix of runs and parameters.
A section whose data is absent renders a note naming what is missing and the protiso command that
produces it; ``ReportSummary`` lists the same notes.

Contract: the report only reads. Each section runs ``sql/queries/report_*.sql`` and reshapes the
rows; metrics are computed and stored by the jobs that own them (``protiso isotropy`` stores local
covariance spectra, for instance), never here; the one reduction done at report time is the PCA
view's projection of stored vectors for drawing (``sections.pca``, exact float64 from streamed statistics). The file
has no scripts and references nothing
outside itself: CSS is inline and figures are inline SVG drawn by matplotlib (``protiso.report.plots``),
which ``--figures DIR`` also writes as SVG, PNG or PDF files. Every number
shown in a table or figure carries ``data-metric`` and ``data-value`` attributes so tests can
compare it with the warehouse's SQL answer.

Modules: ``document`` (build, render, write), ``sections`` (the registry and one module per
section), ``common`` (what sections share), ``plots`` (matplotlib charts), ``published`` (the study's
figures). Templates are ``reports/report.html`` and one ``reports/_<section>.html`` per section.
"""

from protiso.report.common import format_number
from protiso.report.document import ReportContext, ReportSummary, build_context, render, render_report
from protiso.report.sections import SECTIONS

__all__ = ["SECTIONS", "ReportContext", "ReportSummary", "build_context", "format_number", "render",
           "render_report"]
