"""The HTML report (``protiso report``): one self-contained file built from SQL results only.

Sections come in ``sections.REGISTRY`` order; one whose data is absent says what is missing and which
command makes it. The report only reads (``sql/queries/report_*.sql``); the one reduction done here is the
PCA view's projection for drawing. No scripts, nothing outside the file: inline CSS and matplotlib SVG
(``--figures DIR`` also writes files). Every number carries ``data-metric`` / ``data-value`` attributes
for tests. Modules: ``document`` (build, render, write), ``sections``, ``common``, ``missing`` (notes fitted
to the warehouse's state), ``plots``, ``published``; templates in ``reports/``.
"""

from importlib import import_module
from typing import Any

# Loaded on first use, so that ``protiso.report.options`` (read by the CLI for its defaults) stays light.
_LAZY = {"format_number": "protiso.report.common", "ReportContext": "protiso.report.document",
         "ReportSummary": "protiso.report.document", "build_context": "protiso.report.document",
         "render": "protiso.report.document", "render_report": "protiso.report.document",
         "SECTIONS": "protiso.report.sections", "ReportOptions": "protiso.report.options"}

__all__ = ["SECTIONS", "ReportContext", "ReportOptions", "ReportSummary", "build_context", "format_number",
           "render", "render_report"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'protiso.report' has no attribute {name!r}")
