"""Vectors in other tools' files: readers for import, writers for export.

    from protiso.interchange import open_source
    for record in open_source("esm_out/").records():
        record.names, record.global_, record.residues

Modules: ``source`` (``Record``, what every reader yields; ``open_source`` / ``detect_format``),
one per format family — ``esm`` (ESM ``extract.py`` directories of ``.pt`` files), ``h5``
(bio_embeddings / ProtTrans HDF5, read and written), ``arrays`` (``.npy`` + id list, ``.npz``,
Parquet / Arrow, read and written) — then ``ids`` (matching ids to proteins by accession or sequence
MD5) and ``rows`` (matched records -> ``embeddings`` / ``residues`` rows and residue statistics).
The jobs that write the warehouse or the export file are ``protiso.jobs.import_vectors`` and
``protiso.jobs.export_vectors``.
"""

from protiso.interchange.source import (
    FORMATS,
    Record,
    Source,
    detect_format,
    open_source,
)

__all__ = ["FORMATS", "Record", "Source", "detect_format", "open_source"]
