"""Vectors in other tools' files: readers for import, writers for export.

``for record in open_source("esm_out/").records(): record.names, record.global_, record.residues``.
Modules: ``source`` (``Record``, ``Source``), one per format family (``esm``, ``h5``, ``arrays``),
``readers`` (``open_source``, ``detect_format``), ``ids`` (matching ids to proteins) and ``rows`` (records -> warehouse rows). The jobs that
write are ``protiso.jobs.import_vectors`` and ``protiso.jobs.export_vectors``.
"""

from protiso.interchange.readers import detect_format, open_source
from protiso.interchange.source import FORMATS, Record, Source

__all__ = ["FORMATS", "Record", "Source", "detect_format", "open_source"]
