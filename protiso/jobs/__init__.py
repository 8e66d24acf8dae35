"""Warehouse jobs over stored vectors, and declarative TOML jobs that chain every job.

Each job reads the warehouse, computes with ``protiso.metrics`` and commits its results with one ``runs``
row: ``isotropy``, ``postprocess``, ``pair_metrics``, ``ingest_embed`` (``protiso ingest FILE --model M``
as one checked step), ``spec`` (``protiso run JOB.toml``), ``import_vectors`` and ``export_vectors``.
The embedding job, alignment runs and sequence ingest are packages of their own.
"""

from protiso.jobs.spec import Job, JobSummary, load_job, run_job

__all__ = ["Job", "JobSummary", "load_job", "run_job"]
