"""The HTML report (``protiso report``): one self-contained file built from SQL results only.

Sections come in ``sections.REGISTRY`` order; one whose data is absent says what is missing and which
command makes it. The report only reads (``sql/queries/report_*.sql``); the one reduction done here is the
PCA view's projection for drawing. No scripts, nothing outside the file: inline CSS and matplotlib SVG
(``--figures DIR`` also writes files). Every number carries ``data-metric`` / ``data-value`` attributes
for tests. Modules: ``document`` (build, render, write), ``sections``, ``common``, ``missing`` (notes fitted
to the warehouse's state), ``plots``, ``published``; templates in ``reports/``.
"""

from protiso.report.common import format_number
from protiso.report.document import ReportContext, ReportSummary, build_context, render, render_report
from protiso.report.sections import SECTIONS

__all__ = ["SECTIONS", "ReportContext", "ReportSummary", "build_context", "format_number", "render",
           "render_report"]
