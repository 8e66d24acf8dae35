"""Warehouse jobs over stored vectors, and declarative TOML jobs that chain every job.

Each job reads the warehouse, computes with ``protiso.metrics`` (plain numpy, no DuckDB) and
commits its results with one ``runs`` row (``Warehouse.run``):

* ``isotropy``: the ``isotropy`` table (``protiso isotropy``);
* ``postprocess``: derived embedding sets (``protiso postprocess``);
* ``pair_metrics``: embedding cosine / squared distance per aligned pair (``protiso pair-metrics``);
* ``ingest_embed``: ``protiso ingest FILE --model M`` as one checked step;
* ``spec``: TOML job specs (``protiso run JOB.toml``; ``ingest/*.toml``).

The embedding job (``protiso.embedding``), alignment runs (``protiso.align``) and sequence
ingest (``protiso.sequences``) are packages of their own.
"""

from protiso.jobs.spec import Job, JobSummary, load_job, run_job

__all__ = ["Job", "JobSummary", "load_job", "run_job"]
