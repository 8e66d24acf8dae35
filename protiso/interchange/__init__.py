"""Vectors in other tools' files: readers for import, writers for export.

``for record in open_source("esm_out/").records(): record.names, record.global_, record.residues``.
Modules: ``source`` (``Record``, ``open_source``, ``detect_format``), one per format family (``esm``, ``h5``,
``arrays``), ``ids`` (matching ids to proteins) and ``rows`` (records -> warehouse rows). The jobs that
write are ``protiso.jobs.import_vectors`` and ``protiso.jobs.export_vectors``.
"""

from protiso.interchange.source import (
    FORMATS,
    Record,
    Source,
    detect_format,
    open_source,
)

__all__ = ["FORMATS", "Record", "Source", "detect_format", "open_source"]
