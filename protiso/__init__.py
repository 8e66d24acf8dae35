"""protiso: a DuckDB warehouse for the geometry of protein language model embeddings.

The library behind the CLI. Heavy modules (torch, the model code) load on first use, so
``import protiso`` and ``protiso --help`` stay fast.
"""

from importlib import import_module
from typing import Any

from protiso.errors import ProtisoError
from protiso.version import __version__
from protiso.warehouse import Warehouse

_LAZY = {
    "ingest_files": "protiso.sequences.ingest",
    "EmbedOptions": "protiso.embedding.options",
    "embed_proteins": "protiso.embedding.job",
    "load_model": "protiso.models.registry",
    "IsotropyOptions": "protiso.jobs.options",
    "compute_isotropy": "protiso.jobs.isotropy",
    "postprocess_embeddings": "protiso.jobs.postprocess",
    "AlignOptions": "protiso.align.options",
    "align": "protiso.align.run",
    "align_and_measure": "protiso.jobs.align",
    "compute_pair_metrics": "protiso.jobs.pair_metrics",
    "ImportOptions": "protiso.jobs.import_vectors",
    "import_vectors": "protiso.jobs.import_vectors",
    "ExportOptions": "protiso.jobs.options",
    "export_vectors": "protiso.jobs.export_vectors",
    "ReportOptions": "protiso.report.options",
    "render_report": "protiso.report.document",
    "load_job": "protiso.jobs.spec",
    "run_job": "protiso.jobs.spec",
}

__all__ = ["ProtisoError", "Warehouse", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'protiso' has no attribute {name!r}")
