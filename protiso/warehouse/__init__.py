"""The warehouse: one DuckDB file plus zstd Parquet parts in a directory, and everything that opens it.

    from protiso.warehouse import Warehouse
    with Warehouse.open("W") as wh:
        wh.query("SELECT count(*) FROM proteins")

Modules: ``core`` (``Warehouse``: open, migrate, views, query, ``commit``, ``run``), ``commit``
(``Commit`` and ``Run``: what a writer makes visible together), ``migrations`` (numbered
``sql/migrations``), ``udfs`` (every Python SQL function, registered on each connection),
``vectors`` (zero-copy reads of vector columns), ``matrix`` (``Warehouse.vectors`` / ``residues``: the
Parquet parts read straight into one float32 matrix), ``output`` (query results as table, CSV, JSON or
Parquet), ``resources`` (the packaged ``sql/`` and ``reports/`` files), ``connection`` (read-only or
writable connections, lock and permission errors), ``recovery`` (what a killed writer leaves:
files, ``interrupted`` runs), ``catalog`` (protiso's own objects: checks on open, ``repair``) and
``statements`` (what a user's SQL changes: ``protiso sql``'s read-only rule and guard).
"""

from protiso.warehouse.commit import Commit, Run, new_run_id, utcnow, versions
from protiso.warehouse.connection import STORAGE_VERSION
from protiso.warehouse.core import DB_FILE, PARQUET_DIR, Warehouse

__all__ = ["DB_FILE", "PARQUET_DIR", "STORAGE_VERSION", "Commit", "Run", "Warehouse", "new_run_id", "utcnow",
           "versions"]
