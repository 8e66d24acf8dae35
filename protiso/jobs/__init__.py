"""Warehouse jobs over stored vectors, and declarative TOML jobs that chain every job.

Each job reads the warehouse, computes with ``protiso.metrics`` and commits its results with one ``runs``
row: ``isotropy``, ``postprocess``, ``pair_metrics``, ``ingest_embed`` (``protiso ingest FILE --model M``
as one checked step), ``spec`` (``protiso run JOB.toml``), ``import_vectors`` and ``export_vectors``.
The embedding job, alignment runs and sequence ingest are packages of their own.
"""

from importlib import import_module
from typing import Any

__all__ = ["Job", "JobSummary", "load_job", "run_job"]


def __getattr__(name: str) -> Any:
    """``protiso.jobs.load_job`` etc., loaded on first use: ``protiso.jobs.options`` (read by the CLI for its
    defaults) stays light."""
    if name in __all__:
        return getattr(import_module("protiso.jobs.spec"), name)
    raise AttributeError(f"module 'protiso.jobs' has no attribute {name!r}")
